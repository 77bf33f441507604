/**
 * A web seed's request batching: the engine's block requests wait in a queue, and contiguous queued blocks (in
 * torrent byte order, across piece boundaries) are taken together as one run, fetched with one ranged GET per
 * file it touches (web-seed.ts says when runs are formed and how large they may be).
 */
import type { PendingRequest } from '../wire/requests.js'
import type { RangePart } from './layout.js'

export const BLOCK_QUEUED = 0
export const BLOCK_SENT = 1
export const BLOCK_DONE = 2

export interface BlockRequest extends PendingRequest {
  /** Byte offset in the torrent. */
  offset: number
  state: number
  /** Bytes of this block not arrived yet (while sent). */
  remaining: number
  run: Run | null
}

/** Contiguous blocks fetched together. */
export interface Run {
  start: number
  buffer: Uint8Array
  blocks: BlockRequest[]
  /** Blocks still waiting for bytes. */
  live: number
  /** Parts (one per file) not started yet. */
  parts: RangePart[]
  /** GETs of this run in flight. */
  active: number
  controller: AbortController
  /** The run failed or was abandoned (every block cancelled, web seed destroyed): its errors are not reported. */
  over: boolean
}

/** Queued blocks by torrent offset (insertion-ordered: the first is the oldest) and by end offset. */
export class BlockQueue {
  private readonly byStart = new Map<number, BlockRequest>()
  private readonly byEnd = new Map<number, BlockRequest>()
  /** Bytes queued. */
  bytes = 0

  get size (): number {
    return this.byStart.size
  }

  /** The queued blocks, oldest first. */
  blocks (): IterableIterator<BlockRequest> {
    return this.byStart.values()
  }

  add (b: BlockRequest): void {
    this.byStart.set(b.offset, b)
    this.byEnd.set(b.offset + b.length, b)
    this.bytes += b.length
  }

  remove (b: BlockRequest): void {
    this.byStart.delete(b.offset)
    this.byEnd.delete(b.offset + b.length)
    this.bytes -= b.length
  }

  clear (): void {
    this.byStart.clear()
    this.byEnd.clear()
    this.bytes = 0
  }

  /**
   * Takes the oldest queued block and the queued blocks contiguous with it, `maxBytes` at most, into a new run
   * (its blocks sent, its parts not planned yet). The queue must not be empty.
   */
  takeRun (maxBytes: number): Run {
    const first = this.byStart.values().next().value as BlockRequest
    const before: BlockRequest[] = []
    const after: BlockRequest[] = [first]
    let total = first.length
    let start = first.offset
    let end = first.offset + first.length
    for (;;) {
      const prev = this.byEnd.get(start)
      if (prev === undefined || total + prev.length > maxBytes) break
      before.push(prev)
      total += prev.length
      start = prev.offset
    }
    for (;;) {
      const next = this.byStart.get(end)
      if (next === undefined || total + next.length > maxBytes) break
      after.push(next)
      total += next.length
      end = next.offset + next.length
    }
    const blocks = before.reverse().concat(after)
    const run: Run = {
      start,
      buffer: new Uint8Array(total),
      blocks,
      live: blocks.length,
      parts: [],
      active: 0,
      controller: new AbortController(),
      over: false
    }
    for (const b of blocks) {
      this.remove(b)
      b.state = BLOCK_SENT
      b.run = run
    }
    return run
  }
}
