/** The platform seam for hashing pieces ("#piece-hasher" in package.json). */
export { createPieceHasher } from '#piece-hasher'

/** A file range to read, or bytes already read. File ranges exist only where file paths do (Node). */
export type HashPart = { path: string, offset: number, length: number } | { bytes: Uint8Array }

export interface PieceHasher {
  /**
   * SHA-1 digests (20 bytes each, concatenated) of the concatenated parts cut into `pieceLength` pieces (the
   * last may be short). Byte parts are handed over: the caller must not reuse their buffers.
   */
  hash (parts: HashPart[], pieceLength: number): Promise<Uint8Array>
  /** Jobs worth keeping in flight (the caller queues at most twice this). */
  readonly parallelism: number
}
