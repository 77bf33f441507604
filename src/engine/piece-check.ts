/**
 * Checking and storing a complete piece: the verifier hashes it (on a worker thread in Node) and, when its digest
 * is the expected one, it is stored. Where the store lets the verifier's thread write (ChunkStore.putDelegated,
 * the Node fs store) both happen in one trip off the main thread. Written one after another by the main thread
 * instead, each write waited for a turn of a busy event loop: on a 1 GiB download pieces queued for the disk most
 * of the time while every thread had time to spare. Elsewhere the piece is stored with put().
 */
import { bytesEqual } from '../util/bytes.js'
import type { WriteTarget } from '../storage/index.js'
import type { PieceStore } from './types.js'
import type { PieceVerifier, VerifyResult } from './verifier.js'

export interface PieceCheck {
  /** The piece's buffer to use from now on (the verifier may have moved it to a worker and back). */
  data: Uint8Array
  /** The digest is the expected one. */
  passed: boolean
  /** Per-block digests, when asked for (smart ban). */
  blocks: Uint8Array | null
  /** The piece passed but could not be stored (a StorageError: full disk, no permission …). */
  storeError: Error | null
}

/**
 * Checks `data` against `expected` and stores it when it passes. Rejects only when the piece could not be checked
 * at all (a verifier worker that died, a file that could not be opened for the verifier): then `data` may be
 * gone with the worker.
 */
export async function checkPiece (verifier: PieceVerifier, store: PieceStore, index: number, data: Uint8Array,
  expected: Uint8Array, blockLength: number): Promise<PieceCheck> {
  const verify = (targets: readonly WriteTarget[] | null) =>
    verifier.verify(data, blockLength, targets === null ? undefined : { expected, targets })
  const res: VerifyResult & { error?: Error } = store.putDelegated !== undefined
    ? await store.putDelegated(index, data, verify)
    : await verify(null)
  const passed = bytesEqual(res.digest, expected)
  let storeError: Error | null = res.error ?? null
  if (passed && storeError === null && !res.written) {
    try {
      await store.put(index, res.data)
    } catch (err) {
      storeError = err as Error
    }
  }
  return { data: res.data, passed, blocks: res.blocks, storeError }
}
