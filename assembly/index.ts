// wasmtorrent kernels: pure functions over linear memory. No I/O and no imports but `abort`.
//
// Memory ownership: TypeScript owns every region it passes in. It gets long-lived regions (per-peer
// bitfields, availability counts, scratch buffers) from `alloc`/`free` below, which use the runtime's
// TLSF allocator. Kernels never allocate; the few fixed scratch areas they need are static data.

export { bdecode, bdecodeErrorPos, bdecodeEnd } from './bencode'
export { sha1Init, sha1Blocks, sha1Final, sha1, sha1Batch } from './sha1'
export {
  bfGet, bfSet, bfClear, bfPopcount, bfAnd, bfAndNot, bfOr, bfFirstAnd, bfCountAnd, bfSpareBitsClear,
  bfSetAll
} from './bitfield'
export { availAddBitfield, availAddAll, pickRarest, pickSequential } from './rarity'
export {
  frameScan, frameConsumed, frameCount, frameErrorPos, frameNeed, encodeTriples, encodeHaves
} from './framing'

export function alloc (size: usize): usize {
  return heap.alloc(size)
}

export function free (ptr: usize): void {
  heap.free(ptr)
}
