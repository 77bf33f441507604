/** The functions exported by build/wasmtorrent.wasm (see assembly/). Pointers and sizes are byte offsets. */
export interface Kernels {
  readonly memory: WebAssembly.Memory
  alloc (size: number): number
  free (ptr: number): void

  bdecode (input: number, len: number, tape: number, tapeCap: number, stack: number, maxDepth: number, opts: number): number
  bdecodeErrorPos (): number
  bdecodeEnd (): number

  sha1Init (state: number): void
  sha1Blocks (state: number, data: number, nblocks: number): void
  sha1Final (state: number, data: number, len: number, totalLo: number, totalHi: number, out: number): void
  sha1 (data: number, len: number, out: number): void
  sha1Batch (data: number, itemLen: number, count: number, out: number): void

  bfGet (bf: number, i: number): number
  bfSet (bf: number, i: number): void
  bfClear (bf: number, i: number): void
  bfSetAll (bf: number, nbits: number): void
  bfPopcount (bf: number, nbits: number): number
  bfAnd (dst: number, a: number, b: number, nbytes: number): void
  bfAndNot (dst: number, a: number, b: number, nbytes: number): void
  bfOr (dst: number, a: number, b: number, nbytes: number): void
  bfFirstAnd (a: number, b: number, nbytes: number): number
  bfCountAnd (a: number, b: number, nbytes: number): number
  bfSpareBitsClear (bf: number, nbits: number): number

  availAddBitfield (avail: number, bf: number, npieces: number, delta: number): void
  availAddAll (avail: number, npieces: number, delta: number): void
  pickRarest (peer: number, want: number, prio: number, avail: number, npieces: number, seed: number): number
  pickSequential (peer: number, want: number, prio: number, npieces: number, cursor: number, topPrio: number): number

  frameScan (buf: number, len: number, maxLen: number, out: number, outCap: number, splitMin: number): number
  frameConsumed (): number
  frameCount (): number
  frameErrorPos (): number
  frameNeed (): number
  encodeTriples (out: number, src: number, count: number, id: number): number
  encodeHaves (out: number, src: number, count: number): number
}
