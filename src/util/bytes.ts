/** Same length and bytes (digests, ids): a plain loop, allocation-free, fine for the 20-byte values it compares. */
export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
