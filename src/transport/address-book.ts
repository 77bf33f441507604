/**
 * The connection pool's address book: the addresses each torrent was given, their states (PeerState), when a
 * failed address may be dialed again, and the addresses never to dial again. The pool (pool.ts) picks the
 * due addresses, dials them and reports back here.
 *
 * Reconnects (per address, per torrent). A failed attempt (connect error/timeout, or a close before the
 * handshakes completed) and a close of an established connection both count as a failure (not the immediate
 * retries: over the other transport, switchTransport below, and in plaintext after a failed MSE handshake,
 * pool-encryption.ts); the k-th consecutive failure waits `backoff[k-1]` before the next attempt: by default 1 s, 5 s, 15 s (webtorrent's
 * schedule), then 30 s, 60 s; after the 6th consecutive failure the address is given up ('peerGivenUp') until
 * it is added again (e.g. by the next tracker announce). A connection that stayed up for `stableAfter` (60 s)
 * resets the count first, so a good peer that drops after an hour is redialed after 1 s. Addresses are not
 * redialed after: a self-connection (never dialed again by this pool), a protocol violation or a ban by the
 * engine (ERR_PEER_BANNED: corrupt data, case 29) (banned for the torrent; an incoming connection whose
 * extended handshake names a banned listen address is refused with ERR_POOL_BANNED), a duplicate (the peer is
 * connected through the other connection), the blocklist, removePeer.
 */
import { WireProtocolError, type WasmTorrentError } from '../errors.js'
import { parseAddress, type PeerAddress } from './address.js'
import { dialOrder } from './dialer.js'
import type { Transport, TransportKind } from './types.js'
import type { Conn, PeerRecord, TorrentState } from './pool-types.js'
import { plaintextRetry } from './pool-encryption.js'

export class AddressBook {
  private readonly transport: Transport
  private readonly backoff: readonly number[]
  private readonly stableAfter: number
  private readonly now: () => number
  /** Called when the earliest backed-off address is due. */
  private readonly onDue: () => void
  /** Our own addresses (a tracker gave us our own address): never dialed again, for any torrent. */
  private readonly selfAddrs = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private timerAt = Infinity

  constructor (opts: { transport: Transport, backoff: readonly number[], stableAfter: number, now: () => number,
    onDue: () => void }) {
    this.transport = opts.transport
    this.backoff = opts.backoff
    this.stableAfter = opts.stableAfter
    this.now = opts.now
    this.onDue = opts.onDue
  }

  isSelf (key: string): boolean {
    return this.selfAddrs.has(key)
  }

  /**
   * Queues an address for `t` (requeues it after it was given up). False when it is our own address, or
   * already known and active.
   */
  add (t: TorrentState, a: PeerAddress): boolean {
    if (this.selfAddrs.has(a.key)) return false
    let rec = t.peers.get(a.key)
    if (rec !== undefined) {
      if (rec.state !== 'idle' || rec.conn !== null) return false
      rec.state = 'queued'
      rec.failures = 0
    } else {
      rec = {
        key: a.key, host: a.host, port: a.port, state: 'queued', failures: 0, nextAttempt: 0, lastKind: null,
        nextKind: null, switched: false, plaintextRetried: false, plaintextOn: null, plaintextFailures: 0,
        abort: null, conn: null, removed: false
      }
      t.peers.set(a.key, rec)
      // Already connected to us from that address (its extended handshake told us its listen port)?
      for (const c of t.conns) {
        if (!c.outgoing && c.peer === null && c.remoteAddress === a.host && c.peerListenPort === a.port) {
          link(rec, c)
          break
        }
      }
    }
    return true
  }

  /** Forgets an address: cancels its dial and closes its connection (no reason: a clean close). */
  remove (t: TorrentState, address: string | { host: string, port: number }): void {
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

  /** Counts a failure: the address waits its backoff step, or is given up (returns true) after the last one. */
  recordFailure (rec: PeerRecord): boolean {
    rec.switched = false
    rec.plaintextRetried = false
    rec.failures++
    if (rec.failures > this.backoff.length) {
      rec.state = 'idle'
      return true
    }
    rec.state = 'waiting'
    rec.nextAttempt = this.now() + this.backoff[rec.failures - 1]
    return false
  }

  /**
   * The connection that served `rec` closed for `reason`: sets what happens to the address next. Returns true
   * when it was given up.
   */
  closed (rec: PeerRecord, conn: Conn, reason: Error | undefined): boolean {
    if (this.selfAddrs.has(rec.key)) rec.state = 'self'
    else if (reason instanceof WireProtocolError || (reason as WasmTorrentError | undefined)?.code === 'ERR_PEER_BANNED') rec.state = 'banned'
    else if (conn.noReconnect) rec.state = 'idle'
    else if (plaintextRetry(rec, conn) || this.switchTransport(rec, conn)) rec.state = 'queued'
    else {
      if (conn.readyAt > 0 && this.now() - conn.readyAt >= this.stableAfter) rec.failures = 0
      return this.recordFailure(rec)
    }
    return false
  }

  /**
   * Remembers `key` as our own address and marks it so in every torrent. False when it was known already.
   */
  markSelf (key: string, torrents: Iterable<TorrentState>): boolean {
    if (this.selfAddrs.has(key)) return false
    this.selfAddrs.add(key)
    for (const tt of torrents) {
      const rec = tt.peers.get(key)
      if (rec !== undefined && rec.state !== 'dialing') rec.state = 'self'
    }
    return true
  }

  /** One timer for the earliest future retry; records already due wait for a free slot (no busy loop). */
  armTimer (torrents: Iterable<TorrentState>, now: number): void {
    let next = Infinity
    for (const t of torrents) {
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
      this.onDue()
    }, Math.max(0, next - now))
    // Pending retries alone never keep the process alive.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  /** Stops the retry timer (the pool is destroyed). */
  close (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
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
}

/** `conn` serves the address `rec`: the address is connected. */
export function link (rec: PeerRecord, conn: Conn): void {
  rec.conn = conn
  rec.state = 'connected'
  if (conn.peer === null) conn.peer = rec
}

/**
 * Of two connections to one peer, `loser` is closed: its address stays connected, through the winner (the
 * loser's close then leaves the address alone).
 */
export function handOver (loser: Conn, winner: Conn): void {
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
}
