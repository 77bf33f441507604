/**
 * A wire's outgoing bytes: messages queued during one turn of the event loop leave in a few large writes.
 *
 * - Runs of one batchable kind (haves, requests, cancels, rejects) are encoded by the WASM batch encoders in
 *   one call per run; everything else is a ready-made segment (a piece block is sent as is, never copied
 *   into a message of its own).
 * - At the end of the turn (a microtask) segments are concatenated into writes of at most WRITE_COALESCE
 *   bytes, in buffers from a process-wide pool returned by the stream's write callback.
 */
import { encodeCancels, encodeHaves, encodeRejects, encodeRequests } from '../wire-codec/index.js'
import type { ByteStream } from './types.js'

// Outgoing messages of one turn are concatenated into writes of at most this many bytes.
// Measured on loopback TCP: 256 KiB writes move ~1.9x the bytes per CPU-second of 16 KiB writes.
const WRITE_COALESCE = 256 * 1024
// Output buffers shared by all wires of the process, recycled after each write completes. 64 x 256 KiB bounds
// what sits idle in the pool at 16 MiB.
const OUT_POOL_SIZE = 64
const outPool: Uint8Array[] = []
// Writes smaller than this (a leecher's batch of requests, haves) get an exact-size buffer: taking a pooled
// 256 KiB buffer for them grew the pool, and a downloader's RSS, by up to 16 MiB for a few KiB of messages.
const POOLED_WRITE_MIN = 32 * 1024

/** Batchable message kinds (their BEP 3 / BEP 6 ids). */
export const RUN_HAVE = 4
export const RUN_REQUEST = 6
export const RUN_CANCEL = 8
export const RUN_REJECT = 16

export class Outbox {
  /** Bytes handed to the stream. */
  bytesSent = 0
  /** Date.now() of the last write (keep-alive timing). */
  lastSent = Date.now()
  private readonly stream: ByteStream
  private segments: Uint8Array[] = []
  private runKind = 0
  /** u32 values of the current run: one per have, triples otherwise. */
  private run: number[] = []
  private scheduled = false

  constructor (stream: ByteStream) {
    this.stream = stream
  }

  /** Queues encoded messages (one segment or several, in order). */
  push (...segments: Uint8Array[]): void {
    this.endRun()
    for (const s of segments) this.segments.push(s)
    this.schedule()
  }

  /** Queues a batchable message; consecutive ones of a kind are encoded in one call. */
  queue (kind: number, a: number, b: number, c: number): void {
    if (this.runKind !== kind) this.endRun()
    this.runKind = kind
    if (kind === RUN_HAVE) this.run.push(a)
    else this.run.push(a, b, c)
    this.schedule()
  }

  private endRun (): void {
    if (this.run.length === 0) return
    const k = this.runKind
    this.segments.push(k === RUN_HAVE ? encodeHaves(this.run) : k === RUN_REQUEST ? encodeRequests(this.run) : k === RUN_CANCEL ? encodeCancels(this.run) : encodeRejects(this.run))
    this.run = []
    this.runKind = 0
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => this.flush())
  }

  /** Writes what is queued now (the end of the turn does it otherwise). */
  flush (): void {
    this.scheduled = false
    this.endRun()
    const segs = this.segments
    if (segs.length === 0) return
    this.segments = []
    this.lastSent = Date.now()
    // One contiguous write per group of up to WRITE_COALESCE bytes: measured cheaper in CPU than a corked
    // writev of many small segments (Node's per-chunk bookkeeping), at the cost of one memcpy.
    let i = 0
    while (i < segs.length) {
      let j = i
      let n = 0
      while (j < segs.length && (j === i || n + segs[j].length <= WRITE_COALESCE)) n += segs[j++].length
      this.bytesSent += n
      if (j - i === 1) {
        this.stream.write(segs[i])
      } else {
        // A pooled buffer, back in the pool once the stream has taken the bytes (the write callback):
        // a steady transfer allocates nothing here.
        const pooled = n >= POOLED_WRITE_MIN && n <= WRITE_COALESCE
        const buf = pooled ? (outPool.pop() ?? new Uint8Array(WRITE_COALESCE)) : new Uint8Array(n)
        let off = 0
        for (let k = i; k < j; k++) { buf.set(segs[k], off); off += segs[k].length }
        if (pooled) this.stream.write(buf.subarray(0, n), () => { if (outPool.length < OUT_POOL_SIZE) outPool.push(buf) })
        else this.stream.write(buf)
      }
      i = j
    }
  }
}
