/**
 * A small pool of worker threads running one entry module (src/worker/<entry>.ts). Used for piece hashing
 * when creating torrents, and meant for piece verification later: callers send plain messages and get the
 * worker's answer back as a promise.
 *
 * - Workers start lazily on the first task, one per core by default (os.availableParallelism()).
 * - Each task goes to the worker with the fewest tasks in flight; callers bound how many they queue.
 * - Idle workers are unref'd, so an idle pool never keeps the process alive; `destroy()` ends them.
 * - A worker that dies fails its tasks with ERR_WORKER_FAILED and is replaced on the next task.
 * Protocol: the pool posts `{ id, task }`; the worker answers `{ id, result }` or `{ id, error: {code, message} }`.
 * Node only (node:worker_threads); reached through package.json import conditions.
 */
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { WasmTorrentError } from '../errors.js'
import { spawnWorker } from './spawn.js'

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

interface Slot {
  worker: Worker
  pending: Map<number, Pending>
}

export interface WorkerReply {
  id: number
  result?: unknown
  error?: { code?: string, message: string, name?: string }
}

export class WorkerPool {
  readonly entry: string
  readonly size: number
  private slots: Slot[] = []
  private nextId = 1
  private destroyed = false

  constructor (entry: string, size = availableParallelism()) {
    this.entry = entry
    this.size = Math.max(1, size)
  }

  /** Runs `task` on a worker; `transfer` lists ArrayBuffers to move instead of copy. */
  run<T> (task: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.destroyed) return Promise.reject(new WasmTorrentError('ERR_WORKER_POOL_DESTROYED', 'the worker pool was destroyed'))
    const slot = this.pick()
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      if (slot.pending.size === 1) slot.worker.ref()
      slot.worker.postMessage({ id, task }, transfer)
    })
  }

  /**
   * Starts every worker now (idle, unref'd), so the first tasks do not queue behind worker start-up (~50-500 ms
   * each) while a started worker sits idle.
   */
  warm (): void {
    while (!this.destroyed && this.slots.length < this.size) this.spawn()
  }

  /** Tasks in flight over all workers. */
  get busy (): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0)
  }

  async destroy (): Promise<void> {
    this.destroyed = true
    const slots = this.slots
    this.slots = []
    await Promise.all(slots.map(s => {
      this.fail(s, new WasmTorrentError('ERR_WORKER_POOL_DESTROYED', 'the worker pool was destroyed'))
      return s.worker.terminate()
    }))
  }

  private pick (): Slot {
    let best: Slot | undefined
    for (const s of this.slots) if (!best || s.pending.size < best.pending.size) best = s
    if (best && (best.pending.size === 0 || this.slots.length >= this.size)) return best
    return this.spawn()
  }

  private spawn (): Slot {
    const worker = spawnWorker(this.entry)
    const slot: Slot = { worker, pending: new Map() }
    worker.unref()
    worker.on('message', (msg: WorkerReply) => {
      const p = slot.pending.get(msg.id)
      if (!p) return
      slot.pending.delete(msg.id)
      if (slot.pending.size === 0) worker.unref()
      if (msg.error) {
        const err = new WasmTorrentError(msg.error.code ?? 'ERR_WORKER_TASK', msg.error.message)
        if (msg.error.name) err.name = msg.error.name
        p.reject(err)
      } else {
        p.resolve(msg.result)
      }
    })
    worker.on('error', err => this.remove(slot, err))
    worker.on('exit', code => this.remove(slot, new Error(`worker exited with code ${code}`)))
    this.slots.push(slot)
    return slot
  }

  private remove (slot: Slot, cause: unknown): void {
    const i = this.slots.indexOf(slot)
    if (i >= 0) this.slots.splice(i, 1)
    this.fail(slot, new WasmTorrentError('ERR_WORKER_FAILED', `${this.entry} worker failed: ${(cause as Error)?.message ?? cause}`, { cause }))
  }

  private fail (slot: Slot, err: Error): void {
    for (const p of slot.pending.values()) p.reject(err)
    slot.pending.clear()
  }
}
