/**
 * Piece verification seam. `verify` takes ownership of `data` until it resolves (the Node implementation
 * moves the buffer to a worker thread and back, so no byte is copied) and returns the buffer to use after.
 * With `blockLength` > 0 it also returns per-block digests, for smart ban.
 *
 * With `writeTo` (a store's delegated write targets, see ChunkStore.putDelegated) a verifier that runs on
 * another thread also writes the piece there when its digest equals `expected`: hashing and writing then
 * take one trip off the main thread, with no main-thread turn between them. `written` says whether it did;
 * a verifier that hashes inline never writes, and the caller stores the piece itself.
 */
import type { DelegatedWrite, WriteTarget } from '../storage/index.js'

export interface VerifyResult extends DelegatedWrite {
  digest: Uint8Array
  data: Uint8Array
  /** 20-byte digests of consecutive blockLength blocks, when asked for. */
  blocks: Uint8Array | null
}

export interface VerifyWrite {
  /** The piece's expected SHA-1: the write happens only when the digest equals it. */
  expected: Uint8Array
  targets: readonly WriteTarget[]
}

export interface PieceVerifier {
  verify (data: Uint8Array, blockLength: number, writeTo?: VerifyWrite): Promise<VerifyResult>
  /** Prepares for work (starts worker threads) before the first piece arrives; optional. */
  warm?: () => void
}
