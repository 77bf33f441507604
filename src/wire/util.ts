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

/** An IPv4 or IPv6 address as 4 or 16 bytes (for `yourip`), or null. */
export function peerAddressBytes (addr: string | undefined): Uint8Array | null {
  if (!addr) return null
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4)
  if (m) return new Uint8Array([+m[1], +m[2], +m[3], +m[4]])
  if (!addr.includes(':')) return null
  const [head, tail = ''] = addr.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  if (!addr.includes('::') && h.length !== 8) return null
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  if (groups.length !== 8 || groups.some(g => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[i * 2] = v >> 8; out[i * 2 + 1] = v & 255 })
  return out
}
