/**
 * Worker entry for the hashing pool (pool.ts protocol). Task types: 'hash' (hash-job.ts) and 'verify' (a
 * downloaded piece, transferred in and back out, and written to disk here when the store handed out its file).
 * Built by tsup to dist/hash-worker.js; spawned from sources through spawn.ts.
 */
import { writeSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { runHashJob, type HashJob } from './hash-job.js'
import { sha1 } from '../sha1/index.js'
import { bytesEqual } from '../util/bytes.js'

/**
 * Piece verification: the piece's digest, and per-block digests when blockLength > 0 (smart ban). With
 * `targets` (descriptors the main thread holds open for the task's duration) the piece is also written there
 * when its digest equals `expected`.
 */
export interface VerifyTask {
  type: 'verify'
  data: Uint8Array
  blockLength: number
  expected?: Uint8Array
  targets?: ReadonlyArray<{ fd: number, offset: number, length: number, position: number }>
}

/** Positioned writes of `data`; an errno-style failure is reported, not thrown (the piece goes back either way). */
function writeTargets (data: Uint8Array, targets: NonNullable<VerifyTask['targets']>): { code?: string, message: string } | undefined {
  try {
    for (const t of targets) {
      for (let done = 0; done < t.length;) done += writeSync(t.fd, data, t.offset + done, t.length - done, t.position + done)
    }
    return undefined
  } catch (err) {
    const e = err as { code?: string, message?: string }
    return { code: e.code, message: e.message ?? String(err) }
  }
}

const port = parentPort
if (!port) throw new Error('hash-worker must run in a worker thread')

port.on('message', ({ id, task }: { id: number, task: HashJob | VerifyTask }) => {
  try {
    if (task.type === 'verify') {
      // The piece was transferred here; hash it, then transfer it back with the result.
      const { data, blockLength, expected, targets } = task
      const digest = sha1(data)
      const blocks = blockLength > 0 ? sha1.batch(data, blockLength) : null
      const write = targets !== undefined && expected !== undefined && bytesEqual(digest, expected)
      const writeError = write ? writeTargets(data, targets) : undefined
      const transfer = [data.buffer as ArrayBuffer]
      if (blocks) transfer.push(blocks.buffer as ArrayBuffer)
      port.postMessage({ id, result: { digest, data, blocks, written: write && writeError === undefined, writeError } }, transfer)
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
