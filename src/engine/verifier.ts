/**
 * Piece verification seam. `verify` takes ownership of `data` until it resolves (the Node implementation
 * moves the buffer to a worker thread and back, so no byte is copied) and returns the buffer to use after.
 * With `blockLength` > 0 it also returns per-block digests, for smart ban.
 */
export interface VerifyResult {
  digest: Uint8Array
  data: Uint8Array
  /** 20-byte digests of consecutive blockLength blocks, when asked for. */
  blocks: Uint8Array | null
}

export interface PieceVerifier {
  verify (data: Uint8Array, blockLength: number): Promise<VerifyResult>
  /** Prepares for work (starts worker threads) before the first piece arrives; optional. */
  warm?: () => void
}
