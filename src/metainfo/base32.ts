/** RFC 4648 base32 (the alphabet of 32-character btih info-hashes in magnet links). */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Decodes base32 (case-insensitive, no padding); returns null for a character outside the alphabet. */
export function base32Decode (s: string): Uint8Array | null {
  const out = new Uint8Array(Math.floor((s.length * 5) / 8))
  let bits = 0
  let value = 0
  let o = 0
  for (let i = 0; i < s.length; i++) {
    const v = ALPHABET.indexOf(s[i].toUpperCase())
    if (v < 0) return null
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      out[o++] = (value >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  return out
}

export function base32Encode (b: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (let i = 0; i < b.length; i++) {
    value = (value << 8) | b[i]
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}
