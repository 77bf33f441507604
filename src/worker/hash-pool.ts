/** The process-wide hashing pool (lazily started, idle workers never keep the process alive). Node only. */
import { WorkerPool } from './pool.js'

let pool: WorkerPool | undefined

export function hashPool (): WorkerPool {
  pool ??= new WorkerPool('hash-worker')
  return pool
}

/** Ends the hashing workers (a later task starts new ones). */
export async function destroyHashPool (): Promise<void> {
  const p = pool
  pool = undefined
  await p?.destroy()
}
