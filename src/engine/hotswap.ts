/**
 * Hotswap (webtorrent's idea, with its thresholds): a peer that is slow, or snubbed, loses its outstanding
 * requests in a piece to an idle peer at least twice as fast, instead of both waiting for it (or endgame
 * duplicating its blocks). This module picks the piece and the peer to take it from; the swarm moves the
 * requests.
 */
import type { ActivePiece } from './piece-table.js'
import type { SwarmPeer } from './types.js'

// 3 blocks/s: slower than that a 256 KiB piece takes over 5 s from one peer.
const HOTSWAP_SLOW_SPEED = 3 * 16 * 1024
// The taker must have shown at least a block per second, so a peer that just connected does not take pieces.
export const HOTSWAP_MIN_TAKER_SPEED = 16 * 1024
// Only requests outstanding this long move: a peer's fresh requests (its meter may not show its rate yet) stay,
// so two peers cannot take a piece back and forth.
const HOTSWAP_MIN_AGE_MS = 2000

export interface HotswapChoice {
  piece: ActivePiece
  victim: SwarmPeer
}

/**
 * Among `pieces` that `eligible` allows, the one whose slowest holder (other than `taker`) `taker` should take
 * over: a holder that is snubbed, or below HOTSWAP_SLOW_SPEED and at most half `takerSpeed`, with a request in
 * the piece older than HOTSWAP_MIN_AGE_MS. The slowest holder loses; among equals, the earliest piece.
 */
export function findHotswap (taker: SwarmPeer, takerSpeed: number, pieces: Iterable<ActivePiece>,
  eligible: (piece: ActivePiece) => boolean, snubbed: (peer: SwarmPeer) => boolean, now = Date.now()): HotswapChoice | null {
  if (takerSpeed < HOTSWAP_MIN_TAKER_SPEED) return null
  const before = now - HOTSWAP_MIN_AGE_MS
  let best: HotswapChoice | null = null
  let bestSpeed = Infinity
  for (const piece of pieces) {
    if (!eligible(piece)) continue
    for (const other of piece.requestersOf()) {
      if (other === taker) continue
      const isSnubbed = snubbed(other)
      const s = isSnubbed ? 0 : other.downloadSpeed()
      if (!isSnubbed && (s >= HOTSWAP_SLOW_SPEED || 2 * s > takerSpeed)) continue
      if (s > bestSpeed || (s === bestSpeed && best !== null && piece.index >= best.piece.index)) continue
      if (!hasOldRequest(other, piece.index, before)) continue
      best = { piece, victim: other }
      bestSpeed = s
    }
  }
  return best
}

/** `wire` has a request in piece `index` made before `before` (ms). Requests iterate oldest first. */
function hasOldRequest (wire: SwarmPeer, index: number, before: number): boolean {
  for (const r of wire.requests) {
    if (r.time > before) return false
    if (r.index === index) return true
  }
  return false
}
