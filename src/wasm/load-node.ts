// Node (and Node worker threads): compile and instantiate synchronously at import, so the kernels are usable
// as soon as the module is loaded. `ready` is already resolved.
import { instantiateSync } from '@assemblyscript/loader'
import { wasmBytes } from './binary.js'
import { setKernels } from './instance.js'
import type { Kernels } from './kernels.js'

const { exports } = instantiateSync(wasmBytes(), {})
setKernels(exports as unknown as Kernels)

export const ready: Promise<void> = Promise.resolve()
