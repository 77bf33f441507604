/**
 * Outgoing block requests of one wire: pending ones keyed by (piece, begin) for O(1) matching of incoming
 * pieces, and recently cancelled or timed-out ones, whose late pieces are dropped quietly instead of being
 * taken as unrequested (a cancel races the piece already on its way).
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
  /** Cancelled or timed out: key -> Date.now() when given up. */
  private readonly abandoned = new Map<number, number>()

  get size (): number {
    return this.pending.size
  }

  add (req: PendingRequest): boolean {
    const key = requestKey(req.index, req.begin)
    if (this.pending.has(key)) return false
    this.abandoned.delete(key)
    this.pending.set(key, req)
    return true
  }

  /** Removes and returns the pending request for (index, begin), or undefined. */
  take (index: number, begin: number): PendingRequest | undefined {
    const key = requestKey(index, begin)
    const req = this.pending.get(key)
    if (req !== undefined) this.pending.delete(key)
    return req
  }

  /** True (and forgets it) when (index, begin) was cancelled or timed out: a late answer, not a violation. */
  takeAbandoned (index: number, begin: number): boolean {
    return this.abandoned.delete(requestKey(index, begin))
  }

  /** Gives up a pending request (cancel or timeout); its late piece or reject will be dropped quietly. */
  abandon (index: number, begin: number, now: number): PendingRequest | undefined {
    const req = this.take(index, begin)
    if (req !== undefined) this.abandoned.set(requestKey(index, begin), now)
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
    for (const [key, t] of this.abandoned) {
      if (now - t < ttlMs) break
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
