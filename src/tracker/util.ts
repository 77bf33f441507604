/** Small byte helpers shared by the tracker clients. */
import { TrackerError } from './errors.js'

/** What libtorrent reports as `left` while the torrent's size is unknown (a magnet without metadata). */
export const UNKNOWN_LEFT = 16 * 1024

export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** A 20-byte id from 40 hex characters, 20 raw bytes, or a 20-character binary (latin1) string. */
export function id20 (v: string | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== 20) throw new TrackerError('ERR_TRACKER_OPTIONS', `${what} must be 20 bytes`)
    return v.slice()
  }
  if (typeof v === 'string' && /^[0-9a-fA-F]{40}$/.test(v)) {
    const out = new Uint8Array(20)
    for (let i = 0; i < 20; i++) out[i] = parseInt(v.slice(2 * i, 2 * i + 2), 16)
    return out
  }
  if (typeof v === 'string' && v.length === 20 && [...v].every(c => c.charCodeAt(0) < 256)) return fromBinaryString(v)
  throw new TrackerError('ERR_TRACKER_OPTIONS', `${what} must be 40 hex characters or 20 bytes`)
}

/** Bytes as a "binary string" (one char per byte, code 0-255): the WebTorrent WebSocket protocol's encoding. */
export function toBinaryString (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return s
}

export function fromBinaryString (s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 255
  return out
}

export function randomU32 (): number {
  const a = new Uint32Array(1)
  crypto.getRandomValues(a)
  return a[0]
}
