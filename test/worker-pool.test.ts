import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { WorkerPool } from '../src/worker/pool.js'
import type { VerifyResult } from '../src/engine/verifier.js'

const pools: WorkerPool[] = []
afterEach(async () => { for (const p of pools.splice(0)) await p.destroy() })
const newPool = (entry: string, size: number): WorkerPool => { const p = new WorkerPool(entry, size); pools.push(p); return p }

function piece (i: number, len = 256 * 1024): Uint8Array {
  const b = new Uint8Array(len)
  for (let k = 0; k < len; k += 997) b[k] = (i * 31 + k) & 0xff
  return b
}
const sha1hex = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('WorkerPool (hash-worker)', () => {
  it('runs a burst of verify tasks on up to `size` workers; every answer belongs to its task', async () => {
    const pool = newPool('hash-worker', 2)
    const inputs = Array.from({ length: 40 }, (_, i) => piece(i))
    const expected = inputs.map(sha1hex)
    const results = await Promise.all(inputs.map(d => pool.run<VerifyResult>({ type: 'verify', data: d, blockLength: 0 }, [d.buffer as ArrayBuffer])))
    expect(results.map(r => hex(r.digest))).toEqual(expected)
    // The buffers came back (transferred out and in), intact.
    expect(results.map(r => sha1hex(r.data))).toEqual(expected)
    expect(pool.busy).toBe(0)
  })

  it('a single task starts one worker only (more start only when the queue stays full)', async () => {
    const pool = newPool('hash-worker', 4)
    const d = piece(1)
    await pool.run({ type: 'verify', data: d, blockLength: 0 }, [d.buffer as ArrayBuffer])
    expect((pool as unknown as { slots: unknown[] }).slots.length).toBe(1)
  })

  it('a caller that keeps a deep queue gets every worker; warm(n) starts n at once', async () => {
    const pool = newPool('hash-worker', 2)
    let next = 0
    const one = async (): Promise<void> => {
      while (next < 30) {
        const d = piece(next++)
        await pool.run({ type: 'verify', data: d, blockLength: 0 }, [d.buffer as ArrayBuffer])
      }
    }
    await Promise.all(Array.from({ length: 10 }, one))
    expect((pool as unknown as { slots: unknown[] }).slots.length).toBe(2)
    const warmed = newPool('hash-worker', 3)
    warmed.warm(3)
    expect((warmed as unknown as { slots: unknown[] }).slots.length).toBe(3)
    warmed.warm(5) // never more than size
    expect((warmed as unknown as { slots: unknown[] }).slots.length).toBe(3)
  })

  it('maxWorkers caps the workers a task can start (verification keeps a core for the main thread)', async () => {
    const pool = newPool('hash-worker', 4)
    const tasks = Array.from({ length: 30 }, (_, i) => { const d = piece(i); return pool.run({ type: 'verify', data: d, blockLength: 0 }, [d.buffer as ArrayBuffer], 1) })
    await Promise.all(tasks)
    expect((pool as unknown as { slots: unknown[] }).slots.length).toBe(1)
  })

  it('a worker that dies fails its tasks with ERR_WORKER_FAILED; the next task gets a new worker', async () => {
    const pool = newPool('hash-worker', 1)
    pool.warm()
    const d0 = piece(0)
    await pool.run({ type: 'verify', data: d0, blockLength: 0 }, [d0.buffer as ArrayBuffer])
    const slots = (pool as unknown as { slots: Array<{ worker: { terminate (): Promise<number> } }> }).slots
    const big = piece(2, 64 * 1024 * 1024) // long enough to be in flight when the worker is killed
    const inFlight = pool.run({ type: 'verify', data: big, blockLength: 16384 }, [big.buffer as ArrayBuffer])
    await slots[0].worker.terminate()
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_WORKER_FAILED' })
    const d1 = piece(1)
    const r = await pool.run<VerifyResult>({ type: 'verify', data: d1, blockLength: 0 }, [d1.buffer as ArrayBuffer])
    expect(hex(r.digest)).toBe(sha1hex(piece(1)))
  })

  it('an entry that cannot start fails the queued tasks instead of respawning forever', async () => {
    const pool = newPool('no-such-worker', 2)
    await expect(pool.run({ type: 'verify' })).rejects.toMatchObject({ code: 'ERR_WORKER_FAILED' })
  })

  it('destroy() rejects queued and in-flight tasks with ERR_WORKER_POOL_DESTROYED', async () => {
    const pool = newPool('hash-worker', 1)
    const tasks = Array.from({ length: 6 }, (_, i) => { const d = piece(i); return pool.run({ type: 'verify', data: d, blockLength: 0 }, [d.buffer as ArrayBuffer]) })
    const settled = Promise.allSettled(tasks)
    await pool.destroy()
    const out = await settled
    expect(out.every(o => o.status === 'rejected' && (o.reason as { code?: string }).code === 'ERR_WORKER_POOL_DESTROYED')).toBe(true)
    await expect(pool.run({ type: 'verify' })).rejects.toMatchObject({ code: 'ERR_WORKER_POOL_DESTROYED' })
  })

  it('destroy() fails a task in flight only after its worker has stopped (it may be writing through the caller\'s descriptors)', async () => {
    const pool = newPool('hash-worker', 1)
    pool.warm(1)
    const slot = (pool as unknown as { slots: Array<{ ready: boolean, worker: { once: (e: string, f: () => void) => void } }> }).slots[0]
    while (!slot.ready) await new Promise(resolve => setTimeout(resolve, 5))
    const order: string[] = []
    slot.worker.once('exit', () => order.push('exit'))
    const d = new Uint8Array(64 * 1024 * 1024) // ~40 ms of hashing: still running when destroy() is called
    const task = pool.run({ type: 'verify', data: d, blockLength: 0 }, [d.buffer as ArrayBuffer]).catch((e: { code?: string }) => order.push(`rejected ${e.code}`))
    expect(pool.busy).toBe(1) // dispatched, in flight
    await pool.destroy()
    await task
    expect(order).toEqual(['exit', 'rejected ERR_WORKER_POOL_DESTROYED'])
  })
})
