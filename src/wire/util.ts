import { WasmTorrentError } from '../errors.js'

/** A 20-byte id from 40 hex chars or bytes. */
export function fromHexOrBytes (v: string | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length === 20) return v
  } else if (typeof v === 'string' && /^[0-9a-fA-F]{40}$/.test(v)) {
    const out = new Uint8Array(20)
    for (let i = 0; i < 20; i++) out[i] = parseInt(v.slice(i * 2, i * 2 + 2), 16)
    return out
  }
  throw new WasmTorrentError('ERR_WIRE_INVALID_FIELD', `${what} must be 20 bytes or 40 hex characters`)
}
