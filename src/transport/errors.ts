/**
 * Typed errors of the transport layer and the connection pool. `code` is stable (see src/errors.ts):
 *
 * Transports (dialing / listening):
 *   ERR_TRANSPORT_LISTEN           could not bind the TCP listener or the uTP socket on the port
 *   ERR_TRANSPORT_CONNECT_TIMEOUT  no connection within the connect timeout
 *   ERR_TRANSPORT_CONNECT_REFUSED  the peer refused (TCP RST / uTP reset)
 *   ERR_TRANSPORT_CONNECT          any other connect failure (unreachable, DNS, ...); `cause` has the OS error
 *   ERR_TRANSPORT_ABORTED          the dial was cancelled (torrent removed, pool destroyed)
 *   ERR_TRANSPORT_UNSUPPORTED      this platform / configuration has no such transport (browser, `utp: false`)
 *
 * Pool decisions (the `reason` a wire is closed with):
 *   ERR_POOL_UNKNOWN_INFO_HASH     an incoming handshake names a torrent we do not have
 *   ERR_POOL_SELF_CONNECTION       the peer id is ours: we dialed ourselves
 *   ERR_POOL_DUPLICATE             a second connection to a peer id we are already connected to
 *   ERR_POOL_TORRENT_FULL          the torrent's connection limit is reached
 *   ERR_POOL_FULL                  the pool's global connection limit is reached
 *   ERR_POOL_BLOCKED               the blocklist hook refused the address
 *   ERR_POOL_TORRENT_REMOVED       the torrent was removed from the pool
 *   ERR_POOL_DESTROYED             the pool was destroyed
 *   ERR_POOL_HOOK                  the torrent's onWire hook threw
 */
import { WasmTorrentError } from '../errors.js'

export class TransportError extends WasmTorrentError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'TransportError'
  }
}

/** A Node / libutp socket error as a TransportError (refused, timed out, or other). */
export function connectError (err: unknown, what: string): TransportError {
  if (err instanceof TransportError) return err
  const code = (err as { code?: string } | null)?.code
  const msg = (err as Error | null)?.message ?? String(err)
  if (code === 'ECONNREFUSED' || code === 'UTP_ECONNREFUSED' || code === 'UTP_ECONNRESET' || code === 'ECONNRESET') {
    return new TransportError('ERR_TRANSPORT_CONNECT_REFUSED', `${what}: connection refused`, { cause: err })
  }
  if (code === 'ETIMEDOUT' || code === 'UTP_ETIMEDOUT') {
    return new TransportError('ERR_TRANSPORT_CONNECT_TIMEOUT', `${what}: timed out`, { cause: err })
  }
  return new TransportError('ERR_TRANSPORT_CONNECT', `${what}: ${msg}`, { cause: err })
}
