/**
 * Long-lived regions of kernel memory for bitfields and availability counts: allocated with the kernels'
 * TLSF `alloc`, freed by the owner's destroy(), with a FinalizationRegistry as a safety net for owners that
 * are dropped without destroy(). The registry holds only pointers, never the owner.
 */
import { WasmTorrentError } from '../errors.js'
import { wasm, u8 } from '../wasm/index.js'

function freeQuietly (ptr: number): void {
  try {
    wasm().free(ptr)
  } catch {
    // Nothing to do: a finalizer must not throw, and the kernels cannot be gone once a region exists.
  }
}

const registry = new FinalizationRegistry<number>(freeQuietly)

/** Allocates `size` zeroed bytes (16-byte aligned) and frees them if `owner` is collected first. */
export function allocTracked (owner: object, size: number): number {
  // TLSF hands out at least 12 bytes; asking for 0 would still return a block, but keep it explicit.
  const ptr = wasm().alloc(Math.max(size, 1))
  // alloc may have grown memory: take the view only now.
  u8().fill(0, ptr, ptr + size)
  registry.register(owner, ptr, owner)
  return ptr
}

/** Frees every region registered for `owner` (pass them all: unregister drops the owner's entries). */
export function freeTracked (owner: object, ptrs: number[]): void {
  registry.unregister(owner)
  const k = wasm()
  for (const p of ptrs) if (p !== 0) k.free(p)
}

export function destroyedError (what: string): WasmTorrentError {
  return new WasmTorrentError('ERR_BITFIELD_DESTROYED', `${what} was used after destroy()`)
}
