/**
 * Outgoing block requests of one wire: pending ones keyed by (piece, begin) for O(1) matching of incoming
 * pieces, and recently cancelled or timed-out ones, whose late pieces are dropped quietly instead of being
 * taken as unrequested (a cancel races the piece already on its way).
 *
 * A block cancelled and then requested again from the same peer is owed two answers (BEP 6: a cancelled
 * request is still answered, by the piece or a reject): the abandoned entry is kept (counted) when the block is
 * requested again, so the second answer is not taken for a protocol violation.
 */
import { WasmTorrentError } from '../errors.js'

export type RequestCallback = (err: Error | null, block?: Uint8Array) => void

export interface PendingRequest {
  index: number
  begin: number
  length: number
  /** Date.now() when sent. */
  time: number
  callback: RequestCallback | undefined
}

/** (piece, begin) as one number: piece < 2^21 (libtorrent's piece limit) and begin < 2^32 fit below 2^53. */
export function requestKey (index: number, begin: number): number {
  return index * 0x100000000 + begin
}

export class RequestTable {
  /** Insertion-ordered, so the first entry is the oldest. */
  readonly pending = new Map<number, PendingRequest>()
  /** Cancelled or timed out: key -> when last given up (Date.now()) and how many answers are still owed. */
  private readonly abandoned = new Map<number, { time: number, count: number }>()

  get size (): number {
    return this.pending.size
  }

  add (req: PendingRequest): boolean {
    const key = requestKey(req.index, req.begin)
    if (this.pending.has(key)) return false
    this.pending.set(key, req)
    return true
  }

  /** The pending request for (index, begin), left in place, or undefined. */
  peek (index: number, begin: number): PendingRequest | undefined {
    return this.pending.get(requestKey(index, begin))
  }

  /** Removes and returns the pending request for (index, begin), or undefined. */
  take (index: number, begin: number): PendingRequest | undefined {
    const key = requestKey(index, begin)
    const req = this.pending.get(key)
    if (req !== undefined) this.pending.delete(key)
    return req
  }

  /** True (and forgets one) when (index, begin) was cancelled or timed out: a late answer, not a violation. */
  takeAbandoned (index: number, begin: number): boolean {
    const key = requestKey(index, begin)
    const a = this.abandoned.get(key)
    if (a === undefined) return false
    if (--a.count === 0) this.abandoned.delete(key)
    return true
  }

  /** Gives up a pending request (cancel or timeout); its late piece or reject will be dropped quietly. */
  abandon (index: number, begin: number, now: number): PendingRequest | undefined {
    const req = this.take(index, begin)
    if (req !== undefined) {
      const key = requestKey(index, begin)
      const count = (this.abandoned.get(key)?.count ?? 0) + 1
      this.abandoned.delete(key) // re-inserted last: the map stays in time order for prune()
      this.abandoned.set(key, { time: now, count })
    }
    return req
  }

  /** Pending requests older than `timeoutMs`, oldest first (they are not removed). */
  expired (now: number, timeoutMs: number): PendingRequest[] {
    const out: PendingRequest[] = []
    for (const req of this.pending.values()) {
      if (now - req.time < timeoutMs) break
      out.push(req)
    }
    return out
  }

  /** Forgets abandoned keys older than `ttlMs`. */
  prune (now: number, ttlMs: number): void {
    for (const [key, a] of this.abandoned) {
      if (now - a.time < ttlMs) break
      this.abandoned.delete(key)
    }
  }

  /** Fails and removes every pending request. */
  failAll (err: Error): void {
    const reqs = [...this.pending.values()]
    this.pending.clear()
    for (const r of reqs) r.callback?.(err)
  }
}

export function requestError (code: string, message: string): WasmTorrentError {
  return new WasmTorrentError(code, message)
}
