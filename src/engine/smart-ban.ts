/**
 * Smart ban (libtorrent's idea; bad-input case 29): when a piece fails its hash check, remember a digest of
 * every block and who sent it. When the piece later passes, compare each remembered block with the verified
 * data: the senders of blocks that differ sent bad data and are banned; peers whose blocks were right are
 * cleared, even though they were part of a failed piece.
 */
import type { SwarmPeer } from './types.js'

interface BlockRecord {
  wire: SwarmPeer
  block: number
  digest: Uint8Array
}

// Failed attempts remembered per piece; past this a piece's oldest records are dropped (memory bound: a piece
// that keeps failing from many peers).
const MAX_RECORDS_PER_PIECE = 4096

export class SmartBan {
  private readonly history = new Map<number, BlockRecord[]>()

  hasHistory (index: number): boolean {
    return this.history.has(index)
  }

  /** True when `wire` sent blocks of a failed attempt at `index` (prefer others for that piece). */
  suspects (index: number, wire: SwarmPeer): boolean {
    return this.history.get(index)?.some(r => r.wire === wire) === true
  }

  /**
   * Records a failed attempt; `digests` are the 20-byte SHA-1s of its blocks. Returns the wire to ban when one
   * wire sent every block (no good copy is needed to blame it), else null.
   */
  onFail (index: number, senders: Array<SwarmPeer | null>, digests: Uint8Array): SwarmPeer | null {
    let list = this.history.get(index)
    if (!list) this.history.set(index, list = [])
    const first = senders[0]
    let single = first !== null
    for (let b = 0; b < senders.length; b++) {
      const w = senders[b]
      if (w === null) continue
      if (w !== first) single = false
      list.push({ wire: w, block: b, digest: digests.slice(b * 20, b * 20 + 20) })
    }
    if (list.length > MAX_RECORDS_PER_PIECE) list.splice(0, list.length - MAX_RECORDS_PER_PIECE)
    return single ? first : null
  }

  /** The piece passed with these block digests: returns the wires that had sent differing blocks. */
  onPass (index: number, digests: Uint8Array): Set<SwarmPeer> {
    const bad = new Set<SwarmPeer>()
    const list = this.history.get(index)
    this.history.delete(index)
    if (!list) return bad
    for (const r of list) {
      const at = r.block * 20
      for (let k = 0; k < 20; k++) {
        if (r.digest[k] !== digests[at + k]) { bad.add(r.wire); break }
      }
    }
    return bad
  }
}
