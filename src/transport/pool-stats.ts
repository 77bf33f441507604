/**
 * What the connection pool reports about itself (`pool.stats()`): its connections now, and counters of why
 * wires closed, dials failed and accepts were refused, since the pool was made.
 */
import { WireProtocolError, type WasmTorrentError } from '../errors.js'
import { encryptionLabel, mseFailed, mseFailureCode } from './pool-encryption.js'
import type { Conn, TorrentState } from './pool-types.js'

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
  /**
   * Wires that completed their handshakes, by direction and how their bytes travel (MSE/PE, see
   * pool-encryption.ts): 'mse-rc4', 'mse-plaintext' (MSE handshake, then plaintext), 'plaintext' (no MSE),
   * and for outgoing ones 'plaintext-fallback' (plaintext because MSE failed with that address).
   */
  encryption: { outgoing: Record<string, number>, incoming: Record<string, number> }
  /** Outgoing MSE handshakes that failed, by code (ERR_MSE_*, or the wire's reason, e.g. a handshake timeout). */
  mseFailures: Record<string, number>
}

export function bump (counts: Record<string, number>, code: string): void {
  counts[code] = (counts[code] ?? 0) + 1
}

/** The pool's running counts (PoolStats without its snapshot of the connections). */
export class PoolCounters {
  readonly closes: Record<string, number> = {}
  readonly dialFailures: Record<string, number> = {}
  readonly refused: Record<string, number> = {}
  violations = 0
  blocked = 0
  selfConnections = 0
  duplicates = 0
  readonly encryption: PoolStats['encryption'] = { outgoing: {}, incoming: {} }
  readonly mseFailures: Record<string, number> = {}

  /** `conn` completed its handshakes. */
  ready (conn: Conn): void {
    bump(conn.outgoing ? this.encryption.outgoing : this.encryption.incoming, encryptionLabel(conn))
  }

  /** `conn` closed for `reason`. */
  closed (conn: Conn, reason: Error | undefined): void {
    bump(this.closes, (reason as WasmTorrentError | undefined)?.code ?? 'CLEAN')
    if (reason instanceof WireProtocolError) this.violations++
    if (mseFailed(conn)) bump(this.mseFailures, mseFailureCode(conn, reason))
  }

  /** The counters (copied) with the connections of `conns` and `torrents`. */
  snapshot (conns: ReadonlySet<Conn>, torrents: Iterable<TorrentState>, halfOpen: number): PoolStats {
    const byTorrent: PoolStats['torrents'] = {}
    for (const t of torrents) {
      let wires = 0
      for (const c of t.conns) if (c.readyAt > 0) wires++
      byTorrent[t.infoHash] = { wires, connecting: t.conns.size - wires + t.dialing, peers: t.peers.size }
    }
    let unrouted = 0
    for (const c of conns) if (c.torrent === null) unrouted++
    return {
      connections: conns.size,
      halfOpen,
      unrouted,
      torrents: byTorrent,
      closes: { ...this.closes },
      dialFailures: { ...this.dialFailures },
      refused: { ...this.refused },
      violations: this.violations,
      blocked: this.blocked,
      selfConnections: this.selfConnections,
      duplicates: this.duplicates,
      encryption: { outgoing: { ...this.encryption.outgoing }, incoming: { ...this.encryption.incoming } },
      mseFailures: { ...this.mseFailures }
    }
  }
}
