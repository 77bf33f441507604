/**
 * A small pool of worker threads running one entry module (src/worker/<entry>.ts). Used for piece hashing
 * when creating torrents and for piece verification: callers send plain messages and get the worker's answer
 * back as a promise.
 *
 * - Tasks wait in one queue and go to a worker that has said it is ready, never to one still starting: a
 *   worker takes ~50-500 ms to start, and tasks queued behind its start-up would finish after later tasks.
 * - A ready worker holds at most MAX_IN_FLIGHT tasks, so it never waits for the main thread.
 * - Workers start lazily (or with warm(n)), up to `size` (one per core by default), one more only when every
 *   ready worker is full and tasks still wait.
 * - Idle workers are unref'd, so an idle pool never keeps the process alive; `destroy()` ends them.
 * - A worker that dies fails its tasks with ERR_WORKER_FAILED and is replaced on the next task.
 * Protocol: the worker posts `{ ready: true }` once it listens; the pool posts `{ id, task }`; the worker
 * answers `{ id, result }` or `{ id, error: {code, message} }`.
 * Node only (node:worker_threads); reached through package.json import conditions.
 */
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { WasmTorrentError } from '../errors.js'
import { spawnWorker } from './spawn.js'

// Tasks a ready worker holds at once. Enough that it never idles while the main thread is busy elsewhere
// (with 2, measured on a 250 MB/s download, verification fell behind and 100 MB of pieces queued up).
const MAX_IN_FLIGHT = 8

interface Task {
  id: number
  task: unknown
  transfer: ArrayBuffer[]
  maxWorkers: number
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

interface Slot {
  worker: Worker
  ready: boolean
  pending: Map<number, Task>
}

export interface WorkerReply {
  id?: number
  ready?: boolean
  result?: unknown
  error?: { code?: string, message: string, name?: string }
}

export class WorkerPool {
  readonly entry: string
  readonly size: number
  private slots: Slot[] = []
  private readonly queue: Task[] = []
  private nextId = 1
  private destroyed = false

  constructor (entry: string, size = availableParallelism()) {
    this.entry = entry
    this.size = Math.max(1, size)
  }

  /**
   * Runs `task` on a worker; `transfer` lists ArrayBuffers to move instead of copy. `maxWorkers` caps how many
   * workers this task may make the pool start (it still runs on any that exist).
   */
  run<T> (task: unknown, transfer: ArrayBuffer[] = [], maxWorkers = this.size): Promise<T> {
    if (this.destroyed) return Promise.reject(new WasmTorrentError('ERR_WORKER_POOL_DESTROYED', 'the worker pool was destroyed'))
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, transfer, maxWorkers, resolve: resolve as (v: unknown) => void, reject })
      this.dispatch()
    })
  }

  /**
   * Starts `n` workers now (idle, unref'd; default 1, at most `size`), so the first tasks do not wait for
   * start-up. Batch work that will keep every core busy (createTorrent) warms them all.
   */
  warm (n = 1): void {
    while (!this.destroyed && this.slots.length < Math.min(n, this.size)) this.spawn()
  }

  /** Tasks queued or in flight. */
  get busy (): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.pending.size, 0)
  }

  async destroy (): Promise<void> {
    this.destroyed = true
    const slots = this.slots
    this.slots = []
    const err = new WasmTorrentError('ERR_WORKER_POOL_DESTROYED', 'the worker pool was destroyed')
    for (const t of this.queue.splice(0)) t.reject(err)
    // Tasks in flight fail only once their worker has stopped: a task may be using resources its caller holds
    // for it (a verify task writes through file descriptors the store keeps open until the task settles).
    await Promise.all(slots.map(async s => {
      await s.worker.terminate()
      this.fail(s, err)
    }))
  }

  private dispatch (): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined
      for (const s of this.slots) if (s.ready && (!best || s.pending.size < best.pending.size)) best = s
      if (best === undefined || best.pending.size >= MAX_IN_FLIGHT) break
      const t = this.queue.shift()!
      best.pending.set(t.id, t)
      if (best.pending.size === 1) best.worker.ref()
      best.worker.postMessage({ id: t.id, task: t.task }, t.transfer)
    }
    // Work still waiting with every ready worker full and none starting: one more worker, if allowed. Starting
    // one costs ~0.1 CPU-s (Node's internal module compile in the new thread) and one thread hashes ~1.7 GB/s:
    // verification at download speeds stays on one worker (on 2 cores a second only competed with the main
    // thread). Batch callers that will use every core (createTorrent) warm them all up front.
    if (this.queue.length > 0 && this.slots.length < Math.min(this.size, this.queue[0].maxWorkers) && this.slots.every(s => s.ready)) this.spawn()
  }

  private spawn (): Slot {
    const worker = spawnWorker(this.entry)
    const slot: Slot = { worker, ready: false, pending: new Map() }
    // Ref'd while starting with tasks waiting (the process must not exit under them); see dispatch for later.
    if (this.queue.length === 0) worker.unref()
    worker.on('message', (msg: WorkerReply) => {
      if (msg.ready === true) {
        slot.ready = true
        if (slot.pending.size === 0) worker.unref()
        this.dispatch()
        return
      }
      const p = msg.id === undefined ? undefined : slot.pending.get(msg.id)
      if (!p) return
      slot.pending.delete(p.id)
      if (slot.pending.size === 0) worker.unref()
      if (msg.error) {
        const err = new WasmTorrentError(msg.error.code ?? 'ERR_WORKER_TASK', msg.error.message)
        if (msg.error.name) err.name = msg.error.name
        p.reject(err)
      } else {
        p.resolve(msg.result)
      }
      this.dispatch()
    })
    worker.on('error', err => this.remove(slot, err))
    worker.on('exit', code => this.remove(slot, new Error(`worker exited with code ${code}`)))
    this.slots.push(slot)
    return slot
  }

  private remove (slot: Slot, cause: unknown): void {
    const i = this.slots.indexOf(slot)
    if (i >= 0) this.slots.splice(i, 1)
    // (Ended by destroy(): its tasks fail as destroyed, not as a crash.)
    const err = this.destroyed
      ? new WasmTorrentError('ERR_WORKER_POOL_DESTROYED', 'the worker pool was destroyed')
      : new WasmTorrentError('ERR_WORKER_FAILED', `${this.entry} worker failed: ${(cause as Error)?.message ?? cause}`, { cause })
    this.fail(slot, err)
    if (this.destroyed || this.queue.length === 0) return
    if (!slot.ready && this.slots.length === 0) {
      // It died before it could start (a bad entry, no memory): fail what waits rather than respawn in a loop.
      for (const t of this.queue.splice(0)) t.reject(err)
      return
    }
    this.dispatch()
    if (this.queue.length > 0 && this.slots.length === 0) this.spawn()
  }

  private fail (slot: Slot, err: Error): void {
    for (const p of slot.pending.values()) p.reject(err)
    slot.pending.clear()
  }
}
