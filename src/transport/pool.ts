/**
 * The connection pool: one per client. It owns the listening transports (TCP + uTP on one port), dials the
 * addresses torrents give it, routes incoming connections to their torrent by the info-hash in the peer's
 * handshake, enforces connection limits, and drops self- and duplicate connections. It knows nothing about
 * pieces or storage: a torrent registers with `addTorrent(infoHash, {peerId, onWire, ...})` and receives wires
 * whose handshakes are done ('wire' events / `onReady`).
 *
 * Lifecycle of a connection:
 *   outgoing: dial (TCP, then uTP on failure; see dialer.ts) → Wire(tcpOutgoing|utpOutgoing) → onWire(wire)
 *             → our handshake → the peer's handshake (self / duplicate checks) → 'ready' → torrent.
 *   incoming: accept (blocklist, global limit) → Wire(tcpIncoming|utpIncoming) → the peer's handshake names
 *             the torrent (unknown → ERR_POOL_UNKNOWN_INFO_HASH; self; torrent full; duplicate) → onWire(wire)
 *             → our handshake → 'ready' → torrent.
 *
 * Reconnects (per address, per torrent). A failed attempt (connect error/timeout, or a close before the
 * handshakes completed) and a close of an established connection both count as a failure; the k-th
 * consecutive failure waits `backoff[k-1]` before the next attempt: by default 1 s, 5 s, 15 s (webtorrent's
 * schedule), then 30 s, 60 s; after the 6th consecutive failure the address is given up ('peerGivenUp') until
 * it is added again (e.g. by the next tracker announce). A connection that stayed up for `stableAfter` (60 s)
 * resets the count first, so a good peer that drops after an hour is redialed after 1 s. Addresses are not
 * redialed after: a self-connection (never dialed again by this pool), a protocol violation or a ban by the
 * engine (ERR_PEER_BANNED: corrupt data, case 29) (banned for the torrent; an incoming connection whose
 * extended handshake names a banned listen address is refused with ERR_POOL_BANNED), a duplicate (the peer is
 * connected through the other connection), the blocklist, removePeer.
 *
 * Duplicates (same peer id in one torrent), libtorrent's rule (peer_list.cpp, new_connection): if both
 * connections have the same direction, the newer one is closed. If one is ours and one is theirs (both sides
 * dialed at once), the side with the lower listen port keeps its outgoing connection, so both ends close the
 * same TCP/uTP connection; equal ports (different hosts) fall back to the lower peer id keeping its outgoing.
 * The loser is closed with ERR_POOL_DUPLICATE.
 *
 * Self-connections (the peer id in the handshake is ours: a tracker gave us our own address): both ends are
 * closed with ERR_POOL_SELF_CONNECTION and the dialed address is remembered so it is never dialed again. The
 * incoming side answers with our handshake before closing, so the dialing side sees its own peer id even
 * when the two cannot be matched by port (NAT hairpin).
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError, WireProtocolError } from '../errors.js'
import { Wire } from '../wire/wire.js'
import type { ByteStream, WireOptions, WireType } from '../wire/types.js'
import type { ExtendedHandshake } from '../wire/extension.js'
import { createTransport } from '#transport'
import { TransportError } from './errors.js'
import { addressKey, normalizeHost, parseAddress } from './address.js'
import { dialOrder, dialPeer, type DialResult } from './dialer.js'
import type { IncomingConnection, Transport, TransportKind } from './types.js'

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

export interface PoolStats {
  /** Wires open (handshaking or ready), all torrents, plus unrouted incoming ones. */
  connections: number
  /** Dials whose connect is pending. */
  halfOpen: number
  /** Incoming wires whose handshake has not named a torrent yet. */
  unrouted: number
  torrents: Record<string, { wires: number, connecting: number, peers: number }>
  /** Wire closes by reason code ('CLEAN' for none): protocol violations, timeouts, pool decisions. */
  closes: Record<string, number>
  /** Failed dial attempts by code (ERR_TRANSPORT_*), counting each address attempt once. */
  dialFailures: Record<string, number>
  /** Incoming sockets refused before a wire was made (ERR_POOL_BLOCKED, ERR_POOL_FULL). */
  refused: Record<string, number>
  /** Wires closed for a protocol violation (a WireProtocolError reason). */
  violations: number
  /** Addresses refused by the blocklist (dials and accepts). */
  blocked: number
  selfConnections: number
  duplicates: number
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

interface Conn {
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

interface PeerRecord {
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
  abort: AbortController | null
  conn: Conn | null
  removed: boolean
}

interface TorrentState {
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

function toId (v: string | Uint8Array, what: string): { hex: string, bytes: Uint8Array } {
  if (v instanceof Uint8Array && v.length === 20) {
    return { hex: Array.from(v, b => b.toString(16).padStart(2, '0')).join(''), bytes: v.slice() }
  }
  if (typeof v === 'string' && /^[0-9a-fA-F]{40}$/.test(v)) {
    const hex = v.toLowerCase()
    return { hex, bytes: Uint8Array.from(hex.match(/../g)!, h => parseInt(h, 16)) }
  }
  throw new TransportError('ERR_POOL_INVALID_ARGUMENT', `${what} must be 20 bytes or 40 hex characters`)
}

function bump (counts: Record<string, number>, code: string): void {
  counts[code] = (counts[code] ?? 0) + 1
}

/** A torrent's view of the pool, returned by `pool.addTorrent()`. */
export class PoolTorrent extends Emitter<PoolTorrentEvents> {
  readonly infoHash: string
  private readonly pool: ConnectionPool
  /** @internal */
  readonly state: TorrentState

  /** @internal */
  constructor (pool: ConnectionPool, state: TorrentState) {
    super()
    this.pool = pool
    this.state = state
    this.infoHash = state.infoHash
  }

  get peerId (): string {
    return this.state.peerIdHex
  }

  /**
   * Adds an address to dial ('host:port', '[v6]:port' or {host, port}). Returns true when it was queued (or
   * requeued after being given up); false when invalid ('invalidPeer'), blocked ('blockedPeer'), our own
   * address, banned, or already known and active.
   */
  addPeer (address: string | { host: string, port: number }): boolean {
    return this.pool._addPeer(this.state, address)
  }

  /** Forgets an address: cancels its dial and closes its connection (no reason: a clean close). */
  removePeer (address: string | { host: string, port: number }): void {
    this.pool._removePeer(this.state, address)
  }

  /** Sets the piece count (magnet metadata arrived): used for new wires and given to open ones. */
  setPieces (n: number): void {
    if (this.state.pieces !== undefined) return
    this.state.pieces = n
    for (const c of this.state.conns) c.wire.setPieces(n)
  }

  /** Wires whose handshakes are done. */
  get wires (): Wire[] {
    const out: Wire[] = []
    for (const c of this.state.conns) if (c.readyAt > 0 && !c.wire.destroyed) out.push(c.wire)
    return out
  }

  /** Connections counted against the limit: ready, handshaking and dialing. */
  get numConns (): number {
    return this.state.conns.size + this.state.dialing
  }

  /** The address book entry for `address`, or null. */
  peer (address: string | { host: string, port: number }): PeerInfo | null {
    const a = parseAddress(address)
    const rec = a === null ? undefined : this.state.peers.get(a.key)
    if (rec === undefined) return null
    return { address: rec.key, state: rec.state, failures: rec.failures, nextAttempt: rec.nextAttempt, transport: rec.lastKind }
  }

  get peers (): PeerInfo[] {
    return [...this.state.peers.values()].map(r => ({
      address: r.key, state: r.state, failures: r.failures, nextAttempt: r.nextAttempt, transport: r.lastKind
    }))
  }

  /** Unregisters the torrent: cancels its dials and closes its wires (ERR_POOL_TORRENT_REMOVED). */
  destroy (): void {
    this.pool.removeTorrent(this.infoHash)
  }

  get destroyed (): boolean {
    return this.state.removed
  }
}

export class ConnectionPool extends Emitter<PoolEvents> {
  readonly maxConns: number
  readonly maxConnsPerTorrent: number
  readonly maxHalfOpen: number
  readonly connectTimeout: number
  readonly backoff: readonly number[]
  readonly stableAfter: number
  readonly preferUtp: boolean
  blocklist: Blocklist | null
  destroyed = false

  private readonly transport: Transport
  private readonly opts: PoolOptions
  private readonly now: () => number
  private readonly torrents = new Map<string, TorrentState>()
  private readonly conns = new Set<Conn>()
  private readonly selfAddrs = new Set<string>()
  private halfOpen = 0
  private rr = 0
  private draining = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private timerAt = Infinity
  private destroyPromise: Promise<void> | null = null
  private readonly counters = {
    closes: {} as Record<string, number>,
    dialFailures: {} as Record<string, number>,
    refused: {} as Record<string, number>,
    violations: 0,
    blocked: 0,
    selfConnections: 0,
    duplicates: 0
  }

  constructor (opts: PoolOptions = {}) {
    super()
    this.opts = opts
    this.transport = opts.transport ?? createTransport({ utp: opts.utp })
    this.maxConns = opts.maxConns ?? DEFAULT_MAX_CONNS
    this.maxConnsPerTorrent = opts.maxConnsPerTorrent ?? DEFAULT_MAX_CONNS_PER_TORRENT
    this.maxHalfOpen = opts.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN
    this.connectTimeout = opts.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.stableAfter = opts.stableAfter ?? DEFAULT_STABLE_AFTER
    this.preferUtp = opts.preferUtp ?? false
    this.blocklist = opts.blocklist ?? null
    this.now = opts.now ?? Date.now
  }

  /** The shared TCP/uTP listen port, 0 until `listen()` resolves. */
  get port (): number {
    return this.transport.port
  }

  /** uTP is on (enabled, and the native uTP module available). */
  get utp (): boolean {
    return this.transport.utp
  }

  /** Starts accepting TCP and uTP connections on one port; resolves with it. */
  async listen (port = this.opts.port ?? 0): Promise<number> {
    if (this.destroyed) throw new TransportError('ERR_POOL_DESTROYED', 'pool destroyed')
    const p = await this.transport.listen(port, this.opts.host, c => this.onIncoming(c))
    if (this.destroyed) return p
    this.emit('listening', p)
    return p
  }

  addTorrent (infoHash: string | Uint8Array, opts: PoolTorrentOptions): PoolTorrent {
    if (this.destroyed) throw new TransportError('ERR_POOL_DESTROYED', 'pool destroyed')
    const ih = toId(infoHash, 'infoHash').hex
    if (this.torrents.has(ih)) throw new TransportError('ERR_POOL_TORRENT_EXISTS', `torrent ${ih} is already registered`)
    const pid = toId(opts.peerId, 'peerId')
    const state: TorrentState = {
      infoHash: ih,
      peerIdHex: pid.hex,
      peerIdBytes: pid.bytes,
      pieces: opts.pieces,
      maxConns: opts.maxConns ?? this.maxConnsPerTorrent,
      flags: opts.handshakeFlags,
      opts,
      peers: new Map(),
      conns: new Set(),
      byPeerId: new Map(),
      dialing: 0,
      removed: false,
      handle: null as unknown as PoolTorrent
    }
    state.handle = new PoolTorrent(this, state)
    this.torrents.set(ih, state)
    return state.handle
  }

  getTorrent (infoHash: string): PoolTorrent | null {
    return this.torrents.get(infoHash.toLowerCase())?.handle ?? null
  }

  removeTorrent (infoHash: string): void {
    const t = this.torrents.get(infoHash.toLowerCase())
    if (t === undefined) return
    t.removed = true
    this.torrents.delete(t.infoHash)
    for (const rec of t.peers.values()) rec.abort?.abort()
    for (const c of [...t.conns]) {
      c.rejected = true
      c.wire.destroy(new TransportError('ERR_POOL_TORRENT_REMOVED', 'torrent removed'))
    }
    this.drain()
  }

  /**
   * Hands the pool a connected stream from elsewhere (a WebRTC data channel, a test socket): it is treated as
   * an incoming connection (routed by the info-hash in the peer's handshake). Blocklist and global limit apply
   * when `remoteAddress` is given.
   */
  accept (stream: ByteStream, info: { type: WireType, remoteAddress?: string, remotePort?: number }): Wire | null {
    return this.acceptStream(stream, info.type, null, info.remoteAddress ?? '', info.remotePort ?? 0)?.wire ?? null
  }

  /** Closes every wire (ERR_POOL_DESTROYED), cancels dials and timers, stops listening. */
  destroy (): Promise<void> {
    if (this.destroyPromise !== null) return this.destroyPromise
    this.destroyed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const t of this.torrents.values()) {
      t.removed = true
      for (const rec of t.peers.values()) rec.abort?.abort()
    }
    for (const c of [...this.conns]) {
      c.rejected = true
      c.wire.destroy(new TransportError('ERR_POOL_DESTROYED', 'pool destroyed'))
    }
    this.torrents.clear()
    this.destroyPromise = this.transport.close()
    return this.destroyPromise
  }

  stats (): PoolStats {
    const torrents: PoolStats['torrents'] = {}
    for (const t of this.torrents.values()) {
      let wires = 0
      for (const c of t.conns) if (c.readyAt > 0) wires++
      torrents[t.infoHash] = { wires, connecting: t.conns.size - wires + t.dialing, peers: t.peers.size }
    }
    let unrouted = 0
    for (const c of this.conns) if (c.torrent === null) unrouted++
    const k = this.counters
    return {
      connections: this.conns.size,
      halfOpen: this.halfOpen,
      unrouted,
      torrents,
      closes: { ...k.closes },
      dialFailures: { ...k.dialFailures },
      refused: { ...k.refused },
      violations: k.violations,
      blocked: k.blocked,
      selfConnections: k.selfConnections,
      duplicates: k.duplicates
    }
  }

  // ------------------------------------------------------------------ address book (PoolTorrent calls these)

  /** @internal */
  _addPeer (t: TorrentState, address: string | { host: string, port: number }): boolean {
    if (t.removed || this.destroyed) return false
    const a = parseAddress(address)
    if (a === null) {
      t.handle.emit('invalidPeer', address)
      this.emit('invalidPeer', address, t.infoHash)
      return false
    }
    if (this.isBlocked(a.host)) {
      this.onBlocked(a.key, t)
      return false
    }
    if (this.selfAddrs.has(a.key)) return false
    let rec = t.peers.get(a.key)
    if (rec !== undefined) {
      if (rec.state !== 'idle' || rec.conn !== null) return false
      rec.state = 'queued'
      rec.failures = 0
    } else {
      rec = {
        key: a.key, host: a.host, port: a.port, state: 'queued', failures: 0, nextAttempt: 0, lastKind: null,
        nextKind: null, switched: false, abort: null, conn: null, removed: false
      }
      t.peers.set(a.key, rec)
      // Already connected to us from that address (its extended handshake told us its listen port)?
      for (const c of t.conns) {
        if (!c.outgoing && c.peer === null && c.remoteAddress === a.host && c.peerListenPort === a.port) {
          this.link(rec, c)
          break
        }
      }
    }
    this.drain()
    return true
  }

  /** @internal */
  _removePeer (t: TorrentState, address: string | { host: string, port: number }): void {
    const a = parseAddress(address)
    const rec = a === null ? undefined : t.peers.get(a.key)
    if (rec === undefined) return
    rec.removed = true
    t.peers.delete(rec.key)
    rec.abort?.abort()
    if (rec.conn !== null) {
      rec.conn.rejected = true
      rec.conn.wire.destroy()
    }
  }

  // ------------------------------------------------------------------ dialing

  private isBlocked (ip: string): boolean {
    if (this.blocklist === null) return false
    try {
      return this.blocklist(normalizeHost(ip)) === true
    } catch {
      return false
    }
  }

  private onBlocked (address: string, t: TorrentState | null): void {
    this.counters.blocked++
    t?.handle.emit('blockedPeer', address)
    this.emit('blockedPeer', address, t?.infoHash ?? null)
  }

  private total (): number {
    return this.conns.size + this.halfOpen
  }

  /** Starts as many dials as the limits allow, round-robin over torrents; arms the backoff timer. */
  private drain (): void {
    if (this.destroyed || this.draining) return
    this.draining = true
    try {
      const now = this.now()
      const list = [...this.torrents.values()]
      let idle = 0
      let i = list.length > 0 ? this.rr % list.length : 0
      while (idle < list.length && this.halfOpen < this.maxHalfOpen && this.total() < this.maxConns) {
        const t = list[i]
        i = (i + 1) % list.length
        const rec = this.nextCandidate(t, now)
        if (rec === null) {
          idle++
          continue
        }
        idle = 0
        this.startDial(t, rec)
      }
      this.rr = i
      this.armTimer(now)
    } finally {
      this.draining = false
    }
  }

  private nextCandidate (t: TorrentState, now: number): PeerRecord | null {
    if (t.conns.size + t.dialing >= t.maxConns) return null
    for (const rec of t.peers.values()) {
      if (rec.state !== 'queued' && !(rec.state === 'waiting' && rec.nextAttempt <= now)) continue
      if (this.selfAddrs.has(rec.key)) {
        rec.state = 'self'
        continue
      }
      if (this.isBlocked(rec.host)) {
        rec.state = 'idle'
        this.onBlocked(rec.key, t)
        continue
      }
      return rec
    }
    return null
  }

  /** One timer for the earliest future retry; records already due wait for a free slot (no busy loop). */
  private armTimer (now: number): void {
    let next = Infinity
    for (const t of this.torrents.values()) {
      for (const rec of t.peers.values()) {
        if (rec.state === 'waiting' && rec.nextAttempt > now && rec.nextAttempt < next) next = rec.nextAttempt
      }
    }
    if (next === this.timerAt && this.timer !== null) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.timerAt = next
    if (next === Infinity) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.timerAt = Infinity
      this.drain()
    }, Math.max(0, next - now))
    // Pending retries alone never keep the process alive.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private startDial (t: TorrentState, rec: PeerRecord): void {
    rec.state = 'dialing'
    t.dialing++
    this.halfOpen++
    const ac = new AbortController()
    rec.abort = ac
    const order = dialOrder(this.transport, rec.host, { preferUtp: this.preferUtp, last: rec.nextKind ?? rec.lastKind ?? undefined })
    rec.nextKind = null
    dialPeer(this.transport, rec.host, rec.port, order, this.connectTimeout, ac.signal).then(
      res => this.onDialed(t, rec, res),
      err => this.onDialFailed(t, rec, err as TransportError))
  }

  private onDialFailed (t: TorrentState, rec: PeerRecord, err: TransportError): void {
    this.halfOpen--
    t.dialing--
    rec.abort = null
    if (this.destroyed || t.removed || rec.removed) return this.drain()
    bump(this.counters.dialFailures, err.code ?? 'ERR_TRANSPORT_CONNECT')
    t.handle.emit('dialFailed', rec.key, err)
    this.emit('dialFailed', rec.key, err, t.infoHash)
    this.recordFailure(t, rec)
    this.drain()
  }

  private recordFailure (t: TorrentState, rec: PeerRecord): void {
    rec.switched = false
    rec.failures++
    if (rec.failures > this.backoff.length) {
      rec.state = 'idle'
      t.handle.emit('peerGivenUp', rec.key)
      this.emit('peerGivenUp', rec.key, t.infoHash)
      return
    }
    rec.state = 'waiting'
    rec.nextAttempt = this.now() + this.backoff[rec.failures - 1]
  }

  private onDialed (t: TorrentState, rec: PeerRecord, res: DialResult): void {
    this.halfOpen--
    t.dialing--
    rec.abort = null
    const { socket, kind } = res
    if (this.destroyed || t.removed || rec.removed || this.selfAddrs.has(rec.key)) {
      socket.destroy()
      if (!rec.removed && this.selfAddrs.has(rec.key)) rec.state = 'self'
      return this.drain()
    }
    const ip = normalizeHost(socket.remoteAddress ?? rec.host)
    if (this.isBlocked(ip)) {
      socket.destroy()
      rec.state = 'idle'
      this.onBlocked(rec.key, t)
      return this.drain()
    }
    const type: WireType = kind === 'tcp' ? 'tcpOutgoing' : 'utpOutgoing'
    const conn = this.makeConn(socket, type, kind, ip, rec.port, true, t)
    conn.localPort = socket.localPort
    this.link(rec, conn)
    conn.wire.once('handshake', (_ih: string, pid: string) => this.onOutgoingHandshake(conn, pid))
    if (this.runHook(t, conn)) conn.wire.handshake(t.infoHash, t.peerIdBytes, t.flags)
    this.drain()
  }

  /**
   * A connection that closed before the peer's handshake arrived is retried at once over the other transport,
   * once per round, without counting a failure: some peers accept one protocol and drop it (libtorrent with
   * incoming TCP disabled still accepts TCP and closes it), as libtorrent itself retries a failed uTP
   * connection over TCP at once.
   */
  private switchTransport (rec: PeerRecord, conn: Conn): boolean {
    if (!conn.outgoing || conn.handshaked || conn.kind === null || rec.switched) return false
    const other: TransportKind = conn.kind === 'tcp' ? 'utp' : 'tcp'
    if (!dialOrder(this.transport, rec.host, { last: other }).includes(other)) return false
    rec.switched = true
    rec.nextKind = other
    return true
  }

  private link (rec: PeerRecord, conn: Conn): void {
    rec.conn = conn
    rec.state = 'connected'
    if (conn.peer === null) conn.peer = rec
  }

  // ------------------------------------------------------------------ connections

  private makeConn (stream: ByteStream, type: WireType, kind: TransportKind | null, ip: string, port: number,
    outgoing: boolean, t: TorrentState | null): Conn {
    const wire = new Wire(stream, {
      ...this.opts.wire,
      handshakeTimeout: this.opts.handshakeTimeout ?? this.opts.wire?.handshakeTimeout,
      type,
      remoteAddress: ip || undefined,
      remotePort: port || undefined,
      pieces: t?.pieces,
      listenPort: this.port || undefined
    })
    const conn: Conn = {
      wire, outgoing, kind, torrent: t, peer: null, localPort: undefined, remoteAddress: ip, peerListenPort: 0,
      peerId: null, handshaked: false, readyAt: 0, rejected: false, noReconnect: false
    }
    this.conns.add(conn)
    t?.conns.add(conn)
    wire.once('ready', () => this.onReady(conn))
    wire.once('close', (reason?: Error) => this.onClose(conn, reason))
    return conn
  }

  private onIncoming (c: IncomingConnection): void {
    const type: WireType = c.kind === 'tcp' ? 'tcpIncoming' : 'utpIncoming'
    const conn = this.acceptStream(c.socket, type, c.kind, c.remoteAddress, c.remotePort)
    if (conn !== null) conn.localPort = c.socket.localPort
  }

  private acceptStream (stream: ByteStream, type: WireType, kind: TransportKind | null, remoteAddress: string,
    remotePort: number): Conn | null {
    const ip = normalizeHost(remoteAddress)
    const refuse = (code: string): null => {
      bump(this.counters.refused, code)
      try { stream.destroy() } catch {}
      return null
    }
    if (this.destroyed) return refuse('ERR_POOL_DESTROYED')
    if (ip !== '' && this.isBlocked(ip)) {
      this.onBlocked(addressKey(ip, remotePort), null)
      return refuse('ERR_POOL_BLOCKED')
    }
    if (this.total() >= this.maxConns) return refuse('ERR_POOL_FULL')
    const conn = this.makeConn(stream, type, kind, ip, remotePort, false, null)
    conn.wire.once('handshake', (ih: string, pid: string) => this.onIncomingHandshake(conn, ih, pid))
    return conn
  }

  private reject (conn: Conn, code: string, message: string): void {
    conn.rejected = true
    conn.noReconnect = true
    conn.wire.destroy(new TransportError(code, message))
  }

  private runHook (t: TorrentState, conn: Conn): boolean {
    try {
      t.opts.onWire?.(conn.wire)
    } catch (err) {
      conn.rejected = true
      conn.wire.destroy(new TransportError('ERR_POOL_HOOK', 'onWire threw: ' + (err as Error)?.message, { cause: err }))
      return false
    }
    return !conn.wire.destroyed
  }

  private onIncomingHandshake (conn: Conn, ih: string, pid: string): void {
    conn.handshaked = true
    conn.peerId = pid
    const t = this.torrents.get(ih)
    if (t === undefined) return this.reject(conn, 'ERR_POOL_UNKNOWN_INFO_HASH', `no torrent ${ih}`)
    if (pid === t.peerIdHex) return this.onSelfIncoming(conn, t)
    if (t.conns.size + t.dialing >= t.maxConns) return this.reject(conn, 'ERR_POOL_TORRENT_FULL', `torrent ${ih} has ${t.maxConns} connections`)
    conn.torrent = t
    t.conns.add(conn)
    if (!this.resolveDuplicate(t, conn, pid)) return
    if (t.pieces !== undefined) conn.wire.setPieces(t.pieces)
    conn.wire.on('extended', (name: string, payload: unknown) => {
      if (name === 'handshake') this.onIncomingExtendedHandshake(conn, payload as ExtendedHandshake)
    })
    if (this.runHook(t, conn)) conn.wire.handshake(ih, t.peerIdBytes, t.flags)
  }

  /** The peer's listen port (`p`) ties an incoming connection to its address book entry: no redial needed. */
  private onIncomingExtendedHandshake (conn: Conn, hs: ExtendedHandshake): void {
    const p = hs.p
    const t = conn.torrent
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535 || t === null || conn.remoteAddress === '') return
    conn.peerListenPort = p
    if (conn.peer !== null) return
    const rec = t.peers.get(addressKey(conn.remoteAddress, p))
    if (rec?.state === 'banned') return this.reject(conn, 'ERR_POOL_BANNED', `peer ${rec.key} is banned`)
    if (rec !== undefined && rec.conn === null && rec.state !== 'dialing' && rec.state !== 'self') {
      this.link(rec, conn)
    }
  }

  private onOutgoingHandshake (conn: Conn, pid: string): void {
    conn.handshaked = true
    conn.peerId = pid
    const t = conn.torrent!
    if (pid === t.peerIdHex) {
      if (conn.peer !== null) this.markSelf(conn.peer.key, t)
      return this.reject(conn, 'ERR_POOL_SELF_CONNECTION', 'connected to ourselves')
    }
    this.resolveDuplicate(t, conn, pid)
  }

  private onSelfIncoming (conn: Conn, t: TorrentState): void {
    // Match it to our dial: the incoming connection's remote end is our outgoing connection's local end
    // (TCP: the ephemeral port; uTP: the shared UDP port, dialed at our own port number).
    for (const c of t.conns) {
      if (!c.outgoing || c.handshaked || c.kind !== conn.kind || c.peer === null) continue
      if (c.localPort !== conn.wire.remotePort) continue
      if (c.kind === 'utp' && c.peer.port !== this.port) continue
      this.markSelf(c.peer.key, t)
      this.reject(c, 'ERR_POOL_SELF_CONNECTION', 'connected to ourselves')
      break
    }
    // Let the dialing side see its own peer id, for when the two cannot be matched here (NAT hairpin).
    conn.rejected = true
    conn.wire.handshake(t.infoHash, t.peerIdBytes, t.flags)
    this.reject(conn, 'ERR_POOL_SELF_CONNECTION', 'connected to ourselves')
  }

  private markSelf (key: string, t: TorrentState): void {
    if (this.selfAddrs.has(key)) return
    this.selfAddrs.add(key)
    this.counters.selfConnections++
    for (const tt of this.torrents.values()) {
      const rec = tt.peers.get(key)
      if (rec !== undefined && rec.state !== 'dialing') rec.state = 'self'
    }
    this.emit('selfConnection', key, t.infoHash)
  }

  /** Registers `conn` under its peer id; returns false when `conn` lost to an existing connection. */
  private resolveDuplicate (t: TorrentState, conn: Conn, pid: string): boolean {
    const other = t.byPeerId.get(pid)
    if (other === undefined || other === conn || other.wire.destroyed) {
      t.byPeerId.set(pid, conn)
      return true
    }
    let loser: Conn
    if (other.outgoing === conn.outgoing) {
      loser = conn
    } else {
      const out = conn.outgoing ? conn : other
      const ourPort = this.port
      const theirPort = out.peer?.port ?? out.wire.remotePort ?? 0
      const keepOutgoing = ourPort !== 0 && theirPort !== 0 && ourPort !== theirPort ? ourPort < theirPort : t.peerIdHex < pid
      loser = keepOutgoing ? (conn.outgoing ? other : conn) : out
    }
    const winner = loser === conn ? other : conn
    t.byPeerId.set(pid, winner)
    // The loser's address stays connected, through the winner (its close then leaves the address alone).
    const rec = loser.peer
    if (rec !== null && rec.conn === loser) {
      if (winner.peer === null || winner.peer === rec) {
        winner.peer = rec
        rec.conn = winner
      } else {
        rec.conn = null
        rec.state = 'idle'
      }
    }
    this.counters.duplicates++
    // An incoming loser still answers with our handshake, so the dialer learns it reached a known peer id and
    // resolves the duplicate the same way instead of counting a failed dial.
    if (!loser.outgoing && !loser.rejected && loser.torrent !== null) {
      loser.rejected = true
      loser.wire.handshake(t.infoHash, t.peerIdBytes, t.flags)
    }
    this.reject(loser, 'ERR_POOL_DUPLICATE', `already connected to peer ${pid}`)
    return loser !== conn
  }

  private onReady (conn: Conn): void {
    if (conn.rejected || conn.wire.destroyed || conn.readyAt > 0) return
    const t = conn.torrent
    if (t === null || t.removed) return
    conn.readyAt = this.now()
    if (conn.peer !== null && conn.outgoing && conn.kind !== null) {
      conn.peer.lastKind = conn.kind
      conn.peer.switched = false
    }
    try {
      t.opts.onReady?.(conn.wire)
    } finally {
      t.handle.emit('wire', conn.wire)
      this.emit('wire', conn.wire, t.infoHash)
    }
  }

  private onClose (conn: Conn, reason: Error | undefined): void {
    this.conns.delete(conn)
    const t = conn.torrent
    bump(this.counters.closes, (reason as WasmTorrentError | undefined)?.code ?? 'CLEAN')
    if (reason instanceof WireProtocolError) this.counters.violations++
    if (t !== null) {
      t.conns.delete(conn)
      if (conn.peerId !== null && t.byPeerId.get(conn.peerId) === conn) t.byPeerId.delete(conn.peerId)
      if (conn.readyAt > 0) t.handle.emit('wireClose', conn.wire, reason)
    }
    this.emit('wireClose', conn.wire, reason, t?.infoHash ?? null)
    const rec = conn.peer
    if (rec !== null && rec.conn === conn && t !== null) {
      rec.conn = null
      if (!this.destroyed && !t.removed && !rec.removed) {
        if (this.selfAddrs.has(rec.key)) rec.state = 'self'
        else if (reason instanceof WireProtocolError || (reason as WasmTorrentError | undefined)?.code === 'ERR_PEER_BANNED') rec.state = 'banned'
        else if (conn.noReconnect) rec.state = 'idle'
        else if (this.switchTransport(rec, conn)) rec.state = 'queued'
        else {
          if (conn.readyAt > 0 && this.now() - conn.readyAt >= this.stableAfter) rec.failures = 0
          this.recordFailure(t, rec)
        }
      }
    }
    this.drain()
  }
}
