/**
 * The connection pool's vocabulary: its default limits (and why they are what they are), the options of the
 * pool and of a torrent registered with it, the states of its address book, its events, and the records it
 * keeps per connection, per address and per torrent (internal: not exported from index.ts).
 */
import type { Wire } from '../wire/wire.js'
import type { WireOptions } from '../wire/types.js'
import type { TransportError } from './errors.js'
import type { EncryptedSocket, Transport, TransportKind } from './types.js'
import type { PoolTorrent } from './pool-torrent.js'

/**
 * Global connection limit. Each connection is a file descriptor plus ~100 KiB of socket buffers; 500 stays
 * under half of Linux's common 1024 soft fd limit, leaving room for storage files, trackers, DHT and the
 * HTTP server, and still covers 9 torrents at webtorrent's 55 each. (libtorrent's connections_limit is 200.)
 */
export const DEFAULT_MAX_CONNS = 500
/** Per-torrent limit: webtorrent's maxConns default. */
export const DEFAULT_MAX_CONNS_PER_TORRENT = 55
/**
 * Dials in flight at once (connect not yet answered). Many half-open connects look like a port scan to home
 * routers and some ISPs and fill NAT tables; 25 keeps a new torrent's start fast (a full 55 in two or three
 * round trips) without that. libtorrent paces by connection_speed (30 attempts per second) instead.
 */
export const DEFAULT_MAX_HALF_OPEN = 25
/** Per-transport connect timeout (webtorrent: 5 s for TCP and uTP). A TCP-then-uTP dial takes at most 2×. */
export const DEFAULT_CONNECT_TIMEOUT = 5000
/** Delay before retry k (after the k-th consecutive failure); give up after backoff.length + 1 failures. */
export const DEFAULT_BACKOFF: readonly number[] = [1000, 5000, 15000, 30000, 60000]
/** A connection that lasted this long resets its address's failure count. */
export const DEFAULT_STABLE_AFTER = 60_000

export type Blocklist = (ip: string) => boolean

export interface HandshakeFlags { extended?: boolean, fast?: boolean, dht?: boolean }

export interface PoolOptions {
  /** Listen port for `listen()` without an argument (0: any free port). */
  port?: number
  /** Listen host (default: all interfaces; TCP dual-stack, uTP 0.0.0.0). */
  host?: string
  /** uTP on (default true where the native uTP module loads). false: no UDP socket, TCP only. */
  utp?: boolean
  /** Dial uTP first, TCP on failure (default false: TCP first, uTP on failure). */
  preferUtp?: boolean
  maxConns?: number
  maxConnsPerTorrent?: number
  maxHalfOpen?: number
  /** ms per transport attempt. */
  connectTimeout?: number
  /** ms for the peer's handshake (Wire's handshakeTimeout, default 10 s). */
  handshakeTimeout?: number
  backoff?: readonly number[]
  stableAfter?: number
  /** Called with each IP (normalized, no brackets, IPv4-mapped unwrapped) before dialing and on accept. */
  blocklist?: Blocklist
  /** Passed to every Wire (clientVersion, timeouts, maxPeerRequests, ...). */
  wire?: Omit<WireOptions, 'type' | 'remoteAddress' | 'remotePort' | 'pieces' | 'listenPort'>
  /**
   * MSE/PE protocol encryption (webtorrent's `secure`; see pool-encryption.ts). 0: dials are plaintext;
   * 1 (default): dials open with MSE offering plaintext or RC4, and an address whose MSE handshake fails is
   * redialed once at once in plaintext (remembered when that works); 2: RC4 only, both ways: dials offer only
   * RC4 and never fall back, incoming plaintext handshakes and offers without RC4 are refused. Incoming MSE
   * handshakes are answered in every mode. Needs a transport with MSE (Node); ignored otherwise.
   */
  secure?: 0 | 1 | 2
  /** Replaces the platform transport ("#transport"); `utp` is then the transport's business. */
  transport?: Transport
  /** Clock for backoff bookkeeping (ms). */
  now?: () => number
}

export interface PoolTorrentOptions {
  /** Our peer id for this torrent (40 hex chars or 20 bytes). */
  peerId: string | Uint8Array
  /** Piece count when the metadata is known (set later with setPieces for magnets). */
  pieces?: number
  /** Connection limit for this torrent (default: the pool's maxConnsPerTorrent). */
  maxConns?: number
  /** Reserved-bit flags of our handshake (default: extended and fast on, dht off). */
  handshakeFlags?: HandshakeFlags
  /** Called with each new wire of this torrent before our handshake is sent: `wire.use(...)` extensions here. */
  onWire?: (wire: Wire) => void
  /** Called with each wire whose handshakes are done (also emitted as 'wire'). */
  onReady?: (wire: Wire) => void
}

/**
 * Address book states. queued: waiting for a free slot; dialing; connected (through an outgoing connection,
 * or an incoming one matched by the peer's `p` listen port); waiting: backing off; idle: not dialed unless
 * added again (given up, or connected through a duplicate that was closed); banned: protocol violation;
 * self: our own address.
 */
export type PeerState = 'queued' | 'dialing' | 'connected' | 'waiting' | 'idle' | 'banned' | 'self'

export interface PeerInfo {
  address: string
  state: PeerState
  failures: number
  /** When the next attempt may start (ms, pool clock), for 'waiting'. */
  nextAttempt: number
  /** The transport that last connected. */
  transport: TransportKind | null
}

export interface PoolEvents {
  [event: string]: (...args: any[]) => void
  listening: (port: number) => void
  /** A wire whose handshakes are done, handed to its torrent. */
  wire: (wire: Wire, infoHash: string) => void
  /** A wire closed (every wire, ready or not); infoHash null when it never named a known torrent. */
  wireClose: (wire: Wire, reason: Error | undefined, infoHash: string | null) => void
  blockedPeer: (address: string, infoHash: string | null) => void
  invalidPeer: (address: unknown, infoHash: string) => void
  dialFailed: (address: string, err: TransportError, infoHash: string) => void
  peerGivenUp: (address: string, infoHash: string) => void
  selfConnection: (address: string, infoHash: string) => void
}

export interface PoolTorrentEvents {
  [event: string]: (...args: any[]) => void
  wire: (wire: Wire) => void
  wireClose: (wire: Wire, reason: Error | undefined) => void
  blockedPeer: (address: string) => void
  invalidPeer: (address: unknown) => void
  dialFailed: (address: string, err: TransportError) => void
  peerGivenUp: (address: string) => void
}

/** How a connection's bytes travel (MSE/PE, pool-encryption.ts). */
export interface ConnEncryption {
  /** The MSE wrapper of the connection (incoming on a transport with MSE; outgoing dialed with MSE), else null. */
  mse: EncryptedSocket | null
  /** An outgoing MSE dial whose failure may be retried in plaintext (secure 1). */
  mayFallBack: boolean
  /** An outgoing plaintext dial made because MSE failed with the address (now or before). */
  fallback: boolean
}

/** One wire of the pool, from accept or dial until it closes (internal, as the two records below). */
export interface Conn extends ConnEncryption {
  wire: Wire
  outgoing: boolean
  kind: TransportKind | null
  torrent: TorrentState | null
  /** The address book entry this connection serves (outgoing, or incoming matched by listen port). */
  peer: PeerRecord | null
  localPort: number | undefined
  remoteAddress: string
  /** The peer's listen port from its extended handshake (`p`). */
  peerListenPort: number
  peerId: string | null
  handshaked: boolean
  readyAt: number
  /** Closed by a pool decision: never delivered, not redialed. */
  rejected: boolean
  noReconnect: boolean
}

/** An address book entry: one address of one torrent (see address-book.ts). */
export interface PeerRecord {
  key: string
  host: string
  port: number
  state: PeerState
  failures: number
  nextAttempt: number
  /** The transport whose connection last completed the handshakes: tried first. */
  lastKind: TransportKind | null
  /** Transport to try first on the next attempt (after a connection closed before the peer's handshake). */
  nextKind: TransportKind | null
  /** This round already switched transport once. */
  switched: boolean
  /** This round already redialed in plaintext at once after an MSE failure. */
  plaintextRetried: boolean
  /**
   * secure 1: the transport over which this address is dialed in plaintext from now on. Set when an MSE
   * handshake over it fails (not only once a plaintext dial worked: a peer that just dropped our MSE connection
   * may refuse the immediate plaintext redial too, Transmission does while it tears the first one down).
   * Cleared after two plaintext dials over it in a row failed before the peer's handshake
   * (`plaintextFailures`): the peer may require encryption and the MSE failure was a passing one. Per
   * transport, because a transport the peer closes at once (libtorrent with incoming TCP off) fails MSE and
   * plaintext alike, which says nothing about the other transport.
   */
  plaintextOn: TransportKind | null
  plaintextFailures: number
  abort: AbortController | null
  conn: Conn | null
  removed: boolean
}

/** A torrent registered with the pool; its PoolTorrent is `handle`. */
export interface TorrentState {
  infoHash: string
  peerIdHex: string
  peerIdBytes: Uint8Array
  pieces: number | undefined
  maxConns: number
  flags: HandshakeFlags | undefined
  opts: PoolTorrentOptions
  peers: Map<string, PeerRecord>
  conns: Set<Conn>
  byPeerId: Map<string, Conn>
  dialing: number
  removed: boolean
  handle: PoolTorrent
}
