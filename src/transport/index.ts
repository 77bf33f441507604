/** Transports (TCP, uTP) and the per-client connection pool. */
export { ConnectionPool } from './pool.js'
export { PoolTorrent } from './pool-torrent.js'
export {
  DEFAULT_MAX_CONNS, DEFAULT_MAX_CONNS_PER_TORRENT, DEFAULT_MAX_HALF_OPEN, DEFAULT_CONNECT_TIMEOUT, DEFAULT_BACKOFF,
  DEFAULT_STABLE_AFTER
} from './pool-types.js'
export type {
  PoolOptions, PoolTorrentOptions, PoolEvents, PoolTorrentEvents, PeerInfo, PeerState, Blocklist, HandshakeFlags
} from './pool-types.js'
export type { PoolStats } from './pool-stats.js'
export { TransportError } from './errors.js'
export { createTransport, UTP_SUPPORT } from '#transport'
export type {
  Transport, TransportKind, TransportOptions, TransportSocket, IncomingConnection, DialOptions, EncryptionMode, EncryptedSocket
} from './types.js'
export { parseAddress, normalizeHost } from './address.js'
export type { PeerAddress } from './address.js'
