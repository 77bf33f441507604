/**
 * Node transports ("#transport", node condition): TCP via node:net and uTP via utp-native, listening on one
 * port number.
 */
import type { Server, Socket } from 'node:net'
import { TransportError } from './errors.js'
import { closeTcp, dialTcp, listenTcp } from './tcp.js'
import { bindUtp, closeUtp, dialUtp, loadUtp, type UtpConnection, type UtpSocket } from './utp.js'
import type {
  DialOptions, EncryptedSocket, IncomingConnection, Transport, TransportKind, TransportOptions, TransportSocket
} from './types.js'
import { normalizeHost } from './address.js'
import { MseResponder } from '../mse/responder.js'
import { MseInitiator } from '../mse/initiator.js'

// Bounded retries when listen(0) gets a TCP port whose UDP twin is taken: a handful of collisions in a row
// means something is wrong (a port-range exhaustion), not bad luck.
const DEFAULT_LISTEN_ATTEMPTS = 10

/** Whether utp-native loads on this platform (webtorrent's UTP_SUPPORT). */
export const UTP_SUPPORT: boolean = loadUtp() !== null

export class NodeTransport implements Transport {
  readonly tcp = true
  readonly utp: boolean
  port = 0
  private server: Server | null = null
  private udp: UtpSocket | null = null
  private readonly listenAttempts: number
  private closed = false
  private listening = false

  constructor (opts: TransportOptions = {}) {
    this.utp = opts.utp !== false && UTP_SUPPORT
    this.listenAttempts = opts.listenAttempts ?? DEFAULT_LISTEN_ATTEMPTS
  }

  acceptEncrypted (socket: TransportSocket, infoHashes: () => Iterable<string>, opts: { rc4Only?: boolean } = {}): EncryptedSocket {
    return new MseResponder(socket, { infoHashes, rc4Only: opts.rc4Only })
  }

  dialEncrypted (socket: TransportSocket, opts: { infoHash: string, rc4Only?: boolean }): EncryptedSocket {
    return new MseInitiator(socket, opts)
  }

  async listen (port: number, host: string | undefined, onConnection: (c: IncomingConnection) => void): Promise<number> {
    if (this.closed) throw new TransportError('ERR_TRANSPORT_LISTEN', 'transport is closed')
    if (this.listening) throw new TransportError('ERR_TRANSPORT_LISTEN', 'listen() was already called')
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TransportError('ERR_TRANSPORT_LISTEN', `bad port ${port}`)
    this.listening = true
    try {
      return await this.bindBoth(port, host, onConnection)
    } catch (err) {
      this.listening = false
      throw err
    }
  }

  private async bindBoth (port: number, host: string | undefined, onConnection: (c: IncomingConnection) => void): Promise<number> {
    const onTcp = (s: Socket): void => {
      onConnection({ kind: 'tcp', socket: s, remoteAddress: normalizeHost(s.remoteAddress ?? ''), remotePort: s.remotePort ?? 0 })
    }
    const onUtp = (c: UtpConnection): void => {
      c.localPort = this.port
      onConnection({ kind: 'utp', socket: c, remoteAddress: normalizeHost(c.remoteAddress ?? ''), remotePort: c.remotePort ?? 0 })
    }
    const attempts = port === 0 ? this.listenAttempts : 1
    let lastErr: unknown
    for (let i = 0; i < attempts; i++) {
      let server: Server
      try {
        server = await listenTcp(port, host, onTcp)
      } catch (err) {
        throw new TransportError('ERR_TRANSPORT_LISTEN', `cannot listen on tcp port ${port}: ${(err as Error).message}`, { cause: err })
      }
      const bound = (server.address() as { port: number }).port
      if (this.closed) {
        await closeTcp(server)
        break
      }
      if (!this.utp) {
        this.server = server
        this.port = bound
        return bound
      }
      try {
        // utp-native is IPv4 only: a dual-stack TCP host ('::' or none) pairs with 0.0.0.0.
        const udpHost = host !== undefined && !host.includes(':') ? host : '0.0.0.0'
        const udp = await bindUtp(bound, udpHost, onUtp)
        if (this.closed) {
          await Promise.all([closeTcp(server), closeUtp(udp)])
          break
        }
        this.udp = udp
        this.server = server
        this.port = bound
        return bound
      } catch (err) {
        lastErr = err
        await closeTcp(server)
      }
      if (this.closed) break
    }
    if (this.closed) throw new TransportError('ERR_TRANSPORT_LISTEN', 'transport closed while listening')
    throw new TransportError('ERR_TRANSPORT_LISTEN',
      `cannot bind uTP on the TCP port (${attempts} attempt${attempts > 1 ? 's' : ''}): ${(lastErr as Error)?.message}`, { cause: lastErr })
  }

  dial (kind: TransportKind, host: string, port: number, opts: DialOptions): Promise<TransportSocket> {
    if (this.closed) return Promise.reject(new TransportError('ERR_TRANSPORT_ABORTED', 'transport is closed'))
    if (kind === 'tcp') {
      return dialTcp(host, port, opts)
    }
    if (!this.utp) return Promise.reject(new TransportError('ERR_TRANSPORT_UNSUPPORTED', 'uTP is turned off'))
    if (this.udp === null) return Promise.reject(new TransportError('ERR_TRANSPORT_UNSUPPORTED', 'uTP dials need the pool to listen first'))
    if (host.includes(':')) return Promise.reject(new TransportError('ERR_TRANSPORT_UNSUPPORTED', 'uTP (utp-native) is IPv4 only'))
    return dialUtp(this.udp, host, port, opts)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const tasks: Array<Promise<void>> = []
    if (this.server !== null) tasks.push(closeTcp(this.server))
    if (this.udp !== null) tasks.push(closeUtp(this.udp))
    this.server = null
    this.udp = null
    await Promise.all(tasks)
  }
}

export function createTransport (opts?: TransportOptions): Transport {
  return new NodeTransport(opts)
}
