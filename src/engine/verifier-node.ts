// Node: verification on the shared hashing worker pool (one thread per core, node:crypto SHA-1), so the
// main thread only moves buffers; with write targets the worker also writes a piece that passes. Small pieces
// are hashed inline: a worker round trip (~50 us measured for postMessage both ways) costs more than hashing
// 64 KiB at ~1.7 GB/s.
import { availableParallelism } from 'node:os'
import { sha1 } from '../sha1/index.js'
import { hashPool } from '../worker/hash-pool.js'
import type { PieceVerifier, VerifyResult } from './verifier.js'
import type { VerifyTask } from '../worker/hash-worker.js'

const INLINE_BELOW = 64 * 1024
// Verification uses at most all cores but one: the main thread (network, framing) needs a core of its own, and
// one worker hashes ~1.7 GB/s. Measured on 2 cores: a second verifying worker only competed with the main thread
// (more CPU and ~10 MB more RSS for the same speed).
const VERIFY_WORKERS = Math.max(1, availableParallelism() - 1)

export function createVerifier (): PieceVerifier {
  return {
    warm () { hashPool().warm() },
    async verify (data, blockLength, writeTo) {
      if (data.length < INLINE_BELOW || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) {
        return { digest: sha1(data), data, blocks: blockLength > 0 ? sha1.batch(data, blockLength) : null, written: false }
      }
      const task: VerifyTask = { type: 'verify', data, blockLength, expected: writeTo?.expected.slice(), targets: writeTo?.targets }
      // (slice: a view posted to a thread takes its whole underlying buffer with it, here every piece's hash)
      return await hashPool().run<VerifyResult>(task, [data.buffer as ArrayBuffer], VERIFY_WORKERS)
    }
  }
}
