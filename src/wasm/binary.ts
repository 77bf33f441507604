import { WASM_BASE64 } from './binary.generated.js'

/** The kernel module's bytes (embedded at build time by scripts/build-wasm.mjs). */
export function wasmBytes (): Uint8Array {
  const bin = atob(WASM_BASE64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
