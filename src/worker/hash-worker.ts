/**
 * Worker entry for the hashing pool (pool.ts protocol). Task types: 'hash' (hash-job.ts). Built by tsup to
 * dist/hash-worker.js; spawned from sources through spawn.ts.
 */
import { parentPort } from 'node:worker_threads'
import { runHashJob, type HashJob } from './hash-job.js'

const port = parentPort
if (!port) throw new Error('hash-worker must run in a worker thread')

port.on('message', ({ id, task }: { id: number, task: HashJob }) => {
  try {
    if (task.type !== 'hash') throw new Error(`unknown task type ${String(task.type)}`)
    let digests = runHashJob(task)
    if (digests.byteOffset !== 0 || digests.byteLength !== digests.buffer.byteLength) digests = digests.slice()
    port.postMessage({ id, result: digests }, [digests.buffer as ArrayBuffer])
  } catch (err) {
    const e = err as { code?: string, message?: string, name?: string }
    port.postMessage({ id, error: { code: e.code ?? 'ERR_WORKER_TASK', message: e.message ?? String(err), name: e.name } })
  }
})
