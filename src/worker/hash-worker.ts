/**
 * Worker entry for the hashing pool (pool.ts protocol). Task types: 'hash' (hash-job.ts) and 'verify'
 * (a downloaded piece, transferred in and back out). Built by tsup to
 * dist/hash-worker.js; spawned from sources through spawn.ts.
 */
import { parentPort } from 'node:worker_threads'
import { runHashJob, type HashJob } from './hash-job.js'
import { sha1 } from '../sha1/index.js'

/** Piece verification: the piece's digest, and per-block digests when blockLength > 0 (smart ban). */
export interface VerifyTask {
  type: 'verify'
  data: Uint8Array
  blockLength: number
}

const port = parentPort
if (!port) throw new Error('hash-worker must run in a worker thread')

port.on('message', ({ id, task }: { id: number, task: HashJob | VerifyTask }) => {
  try {
    if (task.type === 'verify') {
      // The piece was transferred here; hash it, then transfer it back with the result.
      const { data, blockLength } = task
      const digest = sha1(data)
      const blocks = blockLength > 0 ? sha1.batch(data, blockLength) : null
      const transfer = [data.buffer as ArrayBuffer]
      if (blocks) transfer.push(blocks.buffer as ArrayBuffer)
      port.postMessage({ id, result: { digest, data, blocks } }, transfer)
      return
    }
    if (task.type !== 'hash') throw new Error(`unknown task type ${String((task as { type: unknown }).type)}`)
    let digests = runHashJob(task)
    if (digests.byteOffset !== 0 || digests.byteLength !== digests.buffer.byteLength) digests = digests.slice()
    port.postMessage({ id, result: digests }, [digests.buffer as ArrayBuffer])
  } catch (err) {
    const e = err as { code?: string, message?: string, name?: string }
    port.postMessage({ id, error: { code: e.code ?? 'ERR_WORKER_TASK', message: e.message ?? String(err), name: e.name } })
  }
})

// Tell the pool this worker listens (it queues tasks until then: pool.ts).
port.postMessage({ ready: true })
