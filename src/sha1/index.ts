/**
 * The SHA-1 seam: one API, the fastest engine measured for this runtime behind it (`npm run bench`,
 * bench/sha1.bench.ts):
 *  - Node: node:crypto (OpenSSL with SHA-NI) is faster than any WASM SHA-1 at every size measured, so `auto`
 *    uses it; WASM stays selectable.
 *  - Browsers: WASM. crypto.subtle.digest is async-only and measured slower (150-230 MB/s) than the kernel.
 */
import { nativeEngine } from '#sha1-native'
import { WasmTorrentError } from '../errors.js'
import { wasmSha1, wasmSha1Batch, WasmSha1Hasher } from './wasm-sha1.js'
import type { Sha1Engine, Sha1Hasher } from './types.js'

export type { Sha1Engine, Sha1Hasher } from './types.js'

export const wasmEngine: Sha1Engine = {
  name: 'wasm',
  digest: wasmSha1,
  digestBatch: wasmSha1Batch,
  createHasher: () => new WasmSha1Hasher()
}

const engines = new Map<string, Sha1Engine>([['wasm', wasmEngine]])
if (nativeEngine) engines.set(nativeEngine.name, nativeEngine)

let current: Sha1Engine = nativeEngine ?? wasmEngine

const HEX = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16))

export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]]
  return s
}

export interface Sha1 {
  /** 20-byte SHA-1 digest of `data`. */
  (data: Uint8Array): Uint8Array
  /** Lower-case hex digest. */
  hex (data: Uint8Array): string
  /**
   * Batch: for one buffer, the digests of its consecutive `itemLen`-byte items (the last may be shorter),
   * concatenated (20 bytes each); for an array of buffers, one digest per buffer.
   */
  batch: {
    (data: Uint8Array, itemLen: number): Uint8Array
    (items: readonly Uint8Array[]): Uint8Array[]
  }
  /** An incremental hasher: update() as blocks arrive, digest() once. */
  create (): Sha1Hasher
  /** Name of the engine in use ('node:crypto' or 'wasm'). */
  readonly engine: string
  /** Engines available in this runtime. */
  readonly engines: string[]
  /** Chooses an engine by name, or 'auto' for the fastest measured one. */
  use (name: string): void
}

function batch (data: Uint8Array, itemLen: number): Uint8Array
function batch (items: readonly Uint8Array[]): Uint8Array[]
function batch (data: Uint8Array | readonly Uint8Array[], itemLen?: number): Uint8Array | Uint8Array[] {
  if (Array.isArray(data)) return data.map(d => current.digest(d))
  if (!(typeof itemLen === 'number' && itemLen > 0 && Number.isInteger(itemLen))) {
    throw new WasmTorrentError('ERR_SHA1_ITEM_LENGTH', 'sha1.batch needs a positive integer item length')
  }
  return current.digestBatch(data as Uint8Array, itemLen)
}

export const sha1: Sha1 = Object.defineProperties(
  (data: Uint8Array): Uint8Array => current.digest(data),
  {
    hex: { value: (data: Uint8Array) => toHex(current.digest(data)) },
    batch: { value: batch },
    create: { value: () => current.createHasher() },
    engine: { get: () => current.name },
    engines: { get: () => [...engines.keys()] },
    use: {
      value: (name: string) => {
        const e = name === 'auto' ? (nativeEngine ?? wasmEngine) : engines.get(name)
        if (!e) throw new WasmTorrentError('ERR_SHA1_ENGINE', `no SHA-1 engine named ${name} in this runtime`)
        current = e
      }
    }
  }
) as Sha1
