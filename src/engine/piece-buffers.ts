/**
 * Buffers for pieces being downloaded, reused once a piece is stored or dropped, so a steady download does not
 * allocate (and the OS zero and map) a buffer per piece. Up to POOL_BYTES are kept: a download's queue of pieces
 * waiting for the disk plus a full pipeline of active pieces. The pool only holds buffers that were in use at
 * once, so it never raises the peak; with 32 buffers of 256 KiB, fresh allocations and their page faults were
 * ~4% of the main thread on a 1 GiB download.
 */
const POOL_BYTES = 24 * 1024 * 1024

export class PieceBuffers {
  private readonly pieceLength: number
  private readonly free: Uint8Array[] = []

  constructor (pieceLength: number) {
    this.pieceLength = pieceLength
  }

  /** A buffer of `length` bytes (a reused one for full-length pieces when there is one; contents undefined). */
  take (length: number): Uint8Array {
    return (length === this.pieceLength ? this.free.pop() : undefined) ?? new Uint8Array(length)
  }

  /** Back for reuse. A buffer moved to a worker and lost with it (length 0) or a short last piece is dropped. */
  give (buf: Uint8Array): void {
    if (buf.length === this.pieceLength && (this.free.length + 1) * buf.length <= POOL_BYTES) this.free.push(buf)
  }
}
