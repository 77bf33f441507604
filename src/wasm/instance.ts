/**
 * The one kernel instance of this process or worker, and views of its memory.
 *
 * Views are cached and refreshed when memory grows (growth detaches the old ArrayBuffer): always get them
 * through u8()/i32()/u32() after any call that may allocate, never keep one across such a call.
 */
import { WasmNotReadyError } from '../errors.js'
import type { Kernels } from './kernels.js'

let kernels: Kernels | null = null
let memory: WebAssembly.Memory | null = null
let buffer: ArrayBuffer | null = null
let view8: Uint8Array = new Uint8Array(0)
let view32: Int32Array = new Int32Array(0)
let viewU32: Uint32Array = new Uint32Array(0)

export function setKernels (k: Kernels): void {
  kernels = k
  memory = k.memory
  refresh()
}

/** The kernels; throws WasmNotReadyError before the instance exists (browsers: before `ready`). */
export function wasm (): Kernels {
  if (kernels === null) throw new WasmNotReadyError()
  return kernels
}

export function isLoaded (): boolean {
  return kernels !== null
}

function refresh (): void {
  buffer = memory!.buffer
  view8 = new Uint8Array(buffer)
  view32 = new Int32Array(buffer)
  viewU32 = new Uint32Array(buffer)
}

export function u8 (): Uint8Array {
  if (memory!.buffer !== buffer) refresh()
  return view8
}

export function i32 (): Int32Array {
  if (memory!.buffer !== buffer) refresh()
  return view32
}

export function u32 (): Uint32Array {
  if (memory!.buffer !== buffer) refresh()
  return viewU32
}

/**
 * A reusable region of kernel memory that grows on demand. Used for per-call scratch (inputs, tapes,
 * records). Regions above `retainLimit` bytes are released after use so one huge input does not pin memory.
 */
export class Region {
  ptr = 0
  size = 0
  private readonly retainLimit: number

  constructor (retainLimit = 1 << 20) {
    this.retainLimit = retainLimit
  }

  /** Ensures at least `size` bytes; returns the pointer (16-byte aligned). Contents are not preserved. */
  ensure (size: number): number {
    if (size > this.size) {
      const k = wasm()
      if (this.ptr !== 0) k.free(this.ptr)
      // Round up to a power of two (min 256 B) so a stream of growing inputs reallocates rarely.
      let cap = 256
      while (cap < size) cap *= 2
      this.ptr = k.alloc(cap)
      this.size = cap
    }
    return this.ptr
  }

  /** Releases the region if it grew beyond the retain limit. */
  trim (): void {
    if (this.size > this.retainLimit) {
      wasm().free(this.ptr)
      this.ptr = 0
      this.size = 0
    }
  }
}
