/** TCP over node:net (Node only; reached through "#transport" → node.ts). */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { TransportError, connectError } from './errors.js'
import type { DialOptions } from './types.js'

// Node's own read size for sockets: large enough for 4 blocks per read, small enough for many connections.
const READ_BUFFER_SIZE = 64 * 1024

/** Listens on `port` (0: any free port); rejects with the OS error (EADDRINUSE, EACCES, ...). */
export function listenTcp (port: number, host: string | undefined, onSocket: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true }, onSocket)
    const onError = (err: Error): void => { server.close(); reject(err) }
    server.once('error', onError)
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError)
      // A listening server errors only on accept failures (EMFILE); it keeps listening.
      server.on('error', () => {})
      resolve(server)
    })
  })
}

export function closeTcp (server: Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()))
}

/** One TCP connect with a timeout; the socket comes back connected with Nagle off. */
export function dialTcp (host: string, port: number, opts: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const what = `tcp ${host}:${port}`
    if (opts.signal?.aborted) return reject(new TransportError('ERR_TRANSPORT_ABORTED', `${what}: aborted`))
    // Reads go into one buffer per connection (onread) instead of a fresh 64 KiB Buffer per read: no allocation
    // and no GC pressure from external memory on the download path. The chunks are re-emitted as 'data' and
    // are only valid during the event (transientChunks): the Wire's framer copies what it keeps, and piece
    // blocks go straight to their piece buffers.
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE)
    const socket: Socket & { transientChunks?: boolean } = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array): boolean => { socket.emit('data', new Uint8Array(buf.buffer, buf.byteOffset, n)); return true } }
    })
    socket.transientChunks = true
    let done = false
    const finish = (err: TransportError | null): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      socket.off('connect', onConnect)
      if (err === null) {
        socket.off('error', onError)
        resolve(socket)
      } else {
        socket.destroy()
        reject(err)
      }
    }
    const onConnect = (): void => finish(null)
    const onError = (err: Error): void => finish(connectError(err, what))
    const onAbort = (): void => finish(new TransportError('ERR_TRANSPORT_ABORTED', `${what}: aborted`))
    const timer = setTimeout(() => finish(new TransportError('ERR_TRANSPORT_CONNECT_TIMEOUT', `${what}: no connection within ${opts.timeout} ms`)), opts.timeout)
    socket.once('connect', onConnect)
    socket.on('error', onError)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
  })
}
