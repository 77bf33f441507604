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
 * Beside it: pool-types.ts (defaults, options, events, records), pool-torrent.ts (a torrent's view),
 * address-book.ts (reconnects and backoff: which addresses to dial when), connection-rules.ts (which of two
 * connections to one peer survives; self-connections), pool-stats.ts (stats()), pool-encryption.ts (MSE/PE: the
 * `secure` option, the plaintext fallback).
 */
import { Emitter } from '../util/emitter.js'
import { Wire } from '../wire/wire.js'
import type { ByteStream, WireType } from '../wire/types.js'
import type { ExtendedHandshake } from '../wire/extension.js'
import { createTransport } from '#transport'
import { TransportError } from './errors.js'
import { addressKey, normalizeHost, parseAddress } from './address.js'
import { dialOrder, dialPeer, type DialResult } from './dialer.js'
import type { EncryptionMode, IncomingConnection, Transport, TransportKind } from './types.js'
import { AddressBook, handOver, link } from './address-book.js'
import { duplicateLoser, ownDial } from './connection-rules.js'
import { PoolTorrent } from './pool-torrent.js'
import { bump, PoolCounters, type PoolStats } from './pool-stats.js'
import { outgoingStream, PLAIN, secureLevel, type ConnEncryption, type Secure } from './pool-encryption.js'
import {
  DEFAULT_BACKOFF, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNS, DEFAULT_MAX_CONNS_PER_TORRENT, DEFAULT_MAX_HALF_OPEN,
  DEFAULT_STABLE_AFTER, type Blocklist, type Conn, type PeerRecord, type PoolEvents, type PoolOptions,
  type PoolTorrentOptions, type TorrentState
} from './pool-types.js'

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

export class ConnectionPool extends Emitter<PoolEvents> {
  readonly maxConns: number
  readonly maxConnsPerTorrent: number
  readonly maxHalfOpen: number
  readonly connectTimeout: number
  readonly backoff: readonly number[]
  readonly stableAfter: number
  readonly preferUtp: boolean
  /** MSE/PE: 0 plaintext dials, 1 MSE dials with plaintext fallback, 2 RC4 only (pool-encryption.ts). */
  readonly secure: Secure
  blocklist: Blocklist | null
  destroyed = false

  private readonly transport: Transport
  private readonly opts: PoolOptions
  private readonly now: () => number
  private readonly torrents = new Map<string, TorrentState>()
  private readonly conns = new Set<Conn>()
  private readonly book: AddressBook
  private halfOpen = 0
  private rr = 0
  private draining = false
  private destroyPromise: Promise<void> | null = null
  private readonly counters = new PoolCounters()
  private readonly connOf = new WeakMap<Wire, Conn>()

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
    this.secure = secureLevel(opts.secure)
    this.blocklist = opts.blocklist ?? null
    this.now = opts.now ?? Date.now
    this.book = new AddressBook({
      transport: this.transport, backoff: this.backoff, stableAfter: this.stableAfter, now: this.now, onDue: () => this.drain()
    })
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
    this.book.close()
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
    return this.counters.snapshot(this.conns, this.torrents.values(), this.halfOpen)
  }

  /**
   * How a wire of this pool carries its bytes: 'plaintext' (no MSE), 'mse-plaintext' (an MSE handshake, then
   * plaintext) or 'mse-rc4'; null for a wire not from this pool or while its MSE handshake runs.
   */
  encryption (wire: Wire): EncryptionMode | null {
    const c = this.connOf.get(wire)
    if (c === undefined) return null
    return c.mse === null ? 'plaintext' : c.mse.mode
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
    if (!this.book.add(t, a)) return false
    this.drain()
    return true
  }

  /** @internal */
  _removePeer (t: TorrentState, address: string | { host: string, port: number }): void {
    this.book.remove(t, address)
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
      this.book.armTimer(this.torrents.values(), now)
    } finally {
      this.draining = false
    }
  }

  private nextCandidate (t: TorrentState, now: number): PeerRecord | null {
    if (t.conns.size + t.dialing >= t.maxConns) return null
    for (const rec of t.peers.values()) {
      if (rec.state !== 'queued' && !(rec.state === 'waiting' && rec.nextAttempt <= now)) continue
      if (this.book.isSelf(rec.key)) {
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
    if (this.book.recordFailure(rec)) this.givenUp(t, rec)
  }

  private givenUp (t: TorrentState, rec: PeerRecord): void {
    t.handle.emit('peerGivenUp', rec.key)
    this.emit('peerGivenUp', rec.key, t.infoHash)
  }

  private onDialed (t: TorrentState, rec: PeerRecord, res: DialResult): void {
    this.halfOpen--
    t.dialing--
    rec.abort = null
    const { socket, kind } = res
    if (this.destroyed || t.removed || rec.removed || this.book.isSelf(rec.key)) {
      socket.destroy()
      if (!rec.removed && this.book.isSelf(rec.key)) rec.state = 'self'
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
    const { stream, enc } = outgoingStream(this.transport, this.secure, rec, kind, socket, t.infoHash)
    const conn = this.makeConn(stream, type, kind, ip, rec.port, true, t, enc)
    conn.localPort = socket.localPort
    link(rec, conn)
    conn.wire.once('handshake', (_ih: string, pid: string) => this.onOutgoingHandshake(conn, pid))
    if (this.runHook(t, conn)) conn.wire.handshake(t.infoHash, t.peerIdBytes, t.flags)
    this.drain()
  }

  // ------------------------------------------------------------------ connections

  private makeConn (stream: ByteStream, type: WireType, kind: TransportKind | null, ip: string, port: number,
    outgoing: boolean, t: TorrentState | null, enc: ConnEncryption = PLAIN): Conn {
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
      peerId: null, handshaked: false, readyAt: 0, rejected: false, noReconnect: false, ...enc
    }
    this.conns.add(conn)
    this.connOf.set(wire, conn)
    t?.conns.add(conn)
    wire.once('ready', () => this.onReady(conn))
    wire.once('close', (reason?: Error) => this.onClose(conn, reason))
    return conn
  }

  private onIncoming (c: IncomingConnection): void {
    const type: WireType = c.kind === 'tcp' ? 'tcpIncoming' : 'utpIncoming'
    // Peers that open with an MSE/PE handshake (libtorrent, Transmission, webtorrent's default) are accepted too.
    const mse = this.transport.acceptEncrypted?.(c.socket, () => this.torrents.keys(), { rc4Only: this.secure === 2 }) ?? null
    const conn = this.acceptStream(mse ?? c.socket, type, c.kind, c.remoteAddress, c.remotePort, { ...PLAIN, mse })
    if (conn !== null) conn.localPort = c.socket.localPort
  }

  private acceptStream (stream: ByteStream, type: WireType, kind: TransportKind | null, remoteAddress: string,
    remotePort: number, enc: ConnEncryption = PLAIN): Conn | null {
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
    const conn = this.makeConn(stream, type, kind, ip, remotePort, false, null, enc)
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
      link(rec, conn)
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
    // Match it to our dial (see connection-rules.ts).
    const c = ownDial(t, conn, this.port)
    if (c !== null) {
      this.markSelf(c.peer!.key, t)
      this.reject(c, 'ERR_POOL_SELF_CONNECTION', 'connected to ourselves')
    }
    // Let the dialing side see its own peer id, for when the two cannot be matched here (NAT hairpin).
    conn.rejected = true
    conn.wire.handshake(t.infoHash, t.peerIdBytes, t.flags)
    this.reject(conn, 'ERR_POOL_SELF_CONNECTION', 'connected to ourselves')
  }

  private markSelf (key: string, t: TorrentState): void {
    if (!this.book.markSelf(key, this.torrents.values())) return
    this.counters.selfConnections++
    this.emit('selfConnection', key, t.infoHash)
  }

  /** Registers `conn` under its peer id; returns false when `conn` lost to an existing connection. */
  private resolveDuplicate (t: TorrentState, conn: Conn, pid: string): boolean {
    const other = t.byPeerId.get(pid)
    if (other === undefined || other === conn || other.wire.destroyed) {
      t.byPeerId.set(pid, conn)
      return true
    }
    const loser = duplicateLoser(t, conn, other, pid, this.port)
    const winner = loser === conn ? other : conn
    t.byPeerId.set(pid, winner)
    handOver(loser, winner)
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
    this.counters.ready(conn)
    if (conn.peer !== null && conn.outgoing && conn.kind !== null) {
      conn.peer.lastKind = conn.kind
      conn.peer.switched = false
      if (conn.fallback) conn.peer.plaintextFailures = 0
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
    this.counters.closed(conn, reason)
    if (t !== null) {
      t.conns.delete(conn)
      if (conn.peerId !== null && t.byPeerId.get(conn.peerId) === conn) t.byPeerId.delete(conn.peerId)
      if (conn.readyAt > 0) t.handle.emit('wireClose', conn.wire, reason)
    }
    this.emit('wireClose', conn.wire, reason, t?.infoHash ?? null)
    const rec = conn.peer
    if (rec !== null && rec.conn === conn && t !== null) {
      rec.conn = null
      if (!this.destroyed && !t.removed && !rec.removed && this.book.closed(rec, conn, reason)) this.givenUp(t, rec)
    }
    this.drain()
  }
}
