/**
 * The peer's block requests we have not answered yet (the other side of requests.ts, which holds ours), and the
 * rules for them: a request the peer cancels is still owed an answer under BEP 6 (a reject), a choke drops every
 * request but those in allowed-fast pieces (each owed a reject under BEP 6), and invalid requests are counted
 * towards a disconnect. The wire sends the rejects and pieces; this only keeps the books.
 */
import { requestKey } from './requests.js'

// Invalid requests (out of range, pieces we lack, zero length) tolerated before disconnecting (case 19).
export const MAX_BAD_REQUESTS = 20

/** What the peer's answer to a request should be once the engine responds. */
export type Owed = 'piece' | 'reject' | 'nothing'

export class PeerRequests {
  /** key -> length while live, -length once the peer cancelled it. */
  private readonly table = new Map<number, number>()
  private bad = 0

  get size (): number {
    return this.table.size
  }

  has (index: number, begin: number): boolean {
    return this.table.has(requestKey(index, begin))
  }

  add (index: number, begin: number, length: number): void {
    this.table.set(requestKey(index, begin), length)
  }

  /** The peer cancelled it: still owed a reject (BEP 6) instead of the piece. */
  cancel (index: number, begin: number): void {
    const key = requestKey(index, begin)
    const len = this.table.get(key)
    if (len !== undefined && len > 0) this.table.set(key, -len)
  }

  /** The engine answered: removes the request and says what to send ('nothing' once choked or closed meanwhile). */
  settle (index: number, begin: number): Owed {
    const key = requestKey(index, begin)
    const len = this.table.get(key)
    if (len === undefined) return 'nothing'
    this.table.delete(key)
    return len < 0 ? 'reject' : 'piece'
  }

  /** We choke: drops every request outside `keep` (allowed-fast pieces); calls `dropped` for each. */
  choke (keep: ReadonlySet<number>, dropped: (index: number, begin: number, length: number) => void): void {
    for (const [key, len] of this.table) {
      const index = Math.floor(key / 0x100000000)
      if (keep.has(index)) continue
      this.table.delete(key)
      dropped(index, key % 0x100000000, Math.abs(len))
    }
  }

  /** Counts an invalid request; true once there were more than MAX_BAD_REQUESTS. */
  countBad (): boolean {
    return ++this.bad > MAX_BAD_REQUESTS
  }

  clear (): void {
    this.table.clear()
  }
}
