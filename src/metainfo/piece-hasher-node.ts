/**
 * Node ("#piece-hasher", node condition): hash jobs run on the worker pool (one thread per core, node:crypto
 * SHA-1 through the seam); each worker reads its own file ranges, so file data never crosses threads. Inputs
 * under INLINE_BYTES are hashed on the calling thread: starting workers would cost more than the hashing.
 */
import { hashPool } from '../worker/hash-pool.js'
import { runHashJob, type HashJob } from '../worker/hash-job.js'
import { WasmTorrentError } from '../errors.js'
import { CreateTorrentError } from './errors.js'
import type { HashPart, PieceHasher } from './piece-hasher.js'

/** Below this many bytes (known up front) hashing stays on the calling thread. */
export const INLINE_BYTES = 4 * 1024 * 1024

function asCreateError (err: unknown): unknown {
  if (err instanceof WasmTorrentError && err.code.startsWith('ERR_CREATE_')) {
    return new CreateTorrentError(err.code, err.message, { cause: err })
  }
  const e = err as { code?: unknown, message?: string }
  if (err instanceof Error && typeof e.code === 'string' && e.code.startsWith('ERR_CREATE_')) {
    return new CreateTorrentError(e.code, err.message, { cause: err })
  }
  return err
}

export function createPieceHasher (estimatedBytes: number, opts: { inline?: boolean } = {}): PieceHasher {
  const inline = opts.inline ?? estimatedBytes < INLINE_BYTES
  if (inline) {
    return {
      parallelism: 1,
      async hash (parts: HashPart[], pieceLength: number) {
        try {
          return runHashJob({ type: 'hash', pieceLength, parts })
        } catch (err) {
          throw asCreateError(err)
        }
      }
    }
  }
  const pool = hashPool()
  pool.warm(pool.size) // every core hashes: the caller keeps 2 x parallelism + 1 jobs queued
  return {
    parallelism: pool.size,
    async hash (parts: HashPart[], pieceLength: number) {
      const job: HashJob = { type: 'hash', pieceLength, parts }
      const transfer: ArrayBuffer[] = []
      for (const p of parts) if ('bytes' in p) transfer.push(p.bytes.buffer as ArrayBuffer)
      try {
        return await pool.run<Uint8Array>(job, [...new Set(transfer)])
      } catch (err) {
        throw asCreateError(err)
      }
    }
  }
}
