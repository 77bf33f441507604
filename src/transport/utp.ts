/**
 * uTP (BEP 29) over utp-native 2.5.3 (libutp; N-API prebuilds for linux-x64/darwin/win32 inside the package,
 * no install script needed). Node only, reached through "#transport" → node.ts.
 *
 * One UDP socket per pool both accepts and dials, bound to the same port number as the TCP listener, as
 * libtorrent does: peers that learn our port from a tracker can reach us over either protocol.
 *
 * Notes on utp-native found while testing here:
 * - libutp handles its timers every 500 ms, so a closed connection reports 'close' up to ~0.5 s later, and a
 *   connection whose peer has vanished lingers ~30 s before libutp frees it (see closeUtp).
 * - ICMP port-unreachable is not reported: dialing a port with no uTP listener only fails by our timeout.
 * - allowHalfOpen must be false, or a connection the peer ended stays open until we end it too.
 */
import { createRequire } from 'node:module'
import { TransportError, connectError } from './errors.js'
import type { DialOptions, TransportSocket } from './types.js'

/** The parts of a utp-native connection (a readable-stream Duplex) used here. */
export interface UtpConnection extends TransportSocket {
  remoteAddress: string
  remotePort: number
  destroyed: boolean
  on (event: string, fn: (...args: any[]) => void): this
  once (event: string, fn: (...args: any[]) => void): this
  off (event: string, fn: (...args: any[]) => void): this
  destroy (err?: Error): void
}

/** The parts of a utp-native socket used here. */
export interface UtpSocket {
  setRecvBufferSize (n: number): number
  setSendBufferSize (n: number): number
  on (event: 'connection', fn: (c: UtpConnection) => void): this
  on (event: 'error', fn: (err: Error) => void): this
  once (event: 'listening' | 'close', fn: () => void): this
  once (event: 'error', fn: (err: Error) => void): this
  off (event: string, fn: (...args: any[]) => void): this
  listen (port: number, host: string, cb?: () => void): void
  connect (port: number, host: string): UtpConnection
  address (): { address: string, port: number }
  close (cb?: () => void): void
  unref (): void
  connections: UtpConnection[]
}

/**
 * UDP socket buffers, webtorrent's size. With Linux's default (~208 KiB) the receive buffer overflows on bursts
 * and libutp backs off: a 64 MiB download from libtorrent over uTP on loopback took ~8 s instead of ~2 s.
 */
const UDP_BUFFER_SIZE = 1024 * 1024

type UtpFactory = (opts?: { allowHalfOpen?: boolean }) => UtpSocket

let factory: UtpFactory | null | undefined

/** utp-native's constructor, or null when the native module cannot load on this platform. */
export function loadUtp (): UtpFactory | null {
  if (factory === undefined) {
    try {
      factory = createRequire(import.meta.url)('utp-native') as UtpFactory
    } catch {
      factory = null
    }
  }
  return factory
}

/** Binds a uTP socket on `port` and starts accepting; rejects with the bind error (EADDRINUSE, ...). */
export function bindUtp (port: number, host: string, onConnection: (c: UtpConnection) => void): Promise<UtpSocket> {
  const create = loadUtp()
  if (create === null) return Promise.reject(new TransportError('ERR_TRANSPORT_UNSUPPORTED', 'utp-native is not available'))
  return new Promise((resolve, reject) => {
    const sock = create({ allowHalfOpen: false })
    const onError = (err: Error): void => {
      sock.off('listening', onListening)
      sock.close()
      reject(err)
    }
    const onListening = (): void => {
      sock.off('error', onError)
      try {
        sock.setRecvBufferSize(UDP_BUFFER_SIZE)
        sock.setSendBufferSize(UDP_BUFFER_SIZE)
      } catch {} // capped or refused by the OS: slower, still working
      sock.on('error', () => {}) // read errors after binding: libutp keeps going
      sock.on('connection', onConnection)
      resolve(sock)
    }
    sock.once('error', onError)
    sock.once('listening', onListening)
    sock.listen(port, host)
  })
}

/**
 * Closes the socket promptly. utp-native's close() waits until libutp has freed every connection, which takes
 * until the peer acknowledges our FIN (the next 500 ms tick) or ~30 s when the peer is gone; and a process that
 * exits while connections are closing on an unref'd socket crashes in native code (SIGSEGV, seen here with
 * 2.5.3). So: close every connection (utp_close sends the FIN at once, with uv_udp_try_send), take them off the
 * socket's list so close() proceeds, and let utp_destroy free them; each still reports 'close'. This relies on
 * utp-native 2.5.3 internals (`connections`, unordered-set `_index`), pinned in package.json.
 *
 * It runs from setImmediate, never synchronously: a caller may be inside a libutp callback (an 'end' or 'data'
 * event, and the promise jobs that run when it returns), and libutp keeps processing that packet afterwards;
 * if it then sends an ACK on the closed UDP handle, libuv silently binds a new socket to it and aborts on
 * `uv__udp_finish_close: Assertion handle->io_watcher.fd == -1`.
 */
export function closeUtp (sock: UtpSocket): Promise<void> {
  return new Promise(resolve => {
    setImmediate(() => {
      for (const c of sock.connections.slice()) {
        c.on('error', () => {})
        c.destroy()
      }
      for (const c of sock.connections.splice(0)) (c as unknown as { _index: number })._index = -1
      // close() still waits for UDP sends queued through socket.send (unused here); never hang on them.
      const timer = setTimeout(resolve, 2000)
      ;(timer as { unref?: () => void }).unref?.()
      sock.close(() => { clearTimeout(timer); resolve() })
    })
  })
}

/** One uTP connect from the shared socket, with a timeout. */
export function dialUtp (sock: UtpSocket, host: string, port: number, opts: DialOptions): Promise<UtpConnection> {
  return new Promise((resolve, reject) => {
    const what = `utp ${host}:${port}`
    if (opts.signal?.aborted) return reject(new TransportError('ERR_TRANSPORT_ABORTED', `${what}: aborted`))
    let conn: UtpConnection
    try {
      conn = sock.connect(port, host)
    } catch (err) {
      return reject(connectError(err, what))
    }
    let done = false
    const finish = (err: TransportError | null): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      conn.off('connect', onConnect)
      conn.off('close', onClose)
      if (err === null) {
        conn.off('error', onError)
        conn.localPort = sock.address().port
        resolve(conn)
      } else {
        // libutp may still report an error for this connection after we gave up on it.
        conn.on('error', () => {})
        conn.destroy()
        reject(err)
      }
    }
    const onConnect = (): void => finish(null)
    const onError = (err: Error): void => finish(connectError(err, what))
    const onAbort = (): void => finish(new TransportError('ERR_TRANSPORT_ABORTED', `${what}: aborted`))
    const onClose = (): void => finish(new TransportError('ERR_TRANSPORT_CONNECT', `${what}: closed while connecting`))
    const timer = setTimeout(() => finish(new TransportError('ERR_TRANSPORT_CONNECT_TIMEOUT', `${what}: no connection within ${opts.timeout} ms`)), opts.timeout)
    conn.once('connect', onConnect)
    conn.once('close', onClose)
    conn.on('error', onError)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
  })
}
