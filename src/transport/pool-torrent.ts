/**
 * A torrent's view of the connection pool (`pool.addTorrent()` returns one): it adds and removes the addresses
 * to dial, sets the piece count once the metadata is known, and lists the torrent's wires and its address book.
 * Its wires arrive as 'wire' events; the pool (pool.ts) does the dialing, routing and limits.
 */
import { Emitter } from '../util/emitter.js'
import type { Wire } from '../wire/wire.js'
import { parseAddress } from './address.js'
import type { ConnectionPool } from './pool.js'
import type { PeerInfo, PoolTorrentEvents, TorrentState } from './pool-types.js'

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
