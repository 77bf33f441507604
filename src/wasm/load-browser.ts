// Browsers: never compile synchronously on the main thread. The kernels are usable once `ready` resolves;
// until then kernel-backed calls throw WasmNotReadyError.
import { instantiate } from '@assemblyscript/loader'
import { wasmBytes } from './binary.js'
import { setKernels } from './instance.js'
import type { Kernels } from './kernels.js'

export const ready: Promise<void> = instantiate(wasmBytes(), {}).then(({ exports }) => {
  setKernels(exports as unknown as Kernels)
})
