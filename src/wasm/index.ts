// Platform-specific loading is chosen by package.json "imports" conditions: node -> synchronous,
// everything else -> asynchronous behind `ready`.
export { ready } from '#wasm-load'
export { wasm, isLoaded, u8, i32, u32, Region } from './instance.js'
export type { Kernels } from './kernels.js'
