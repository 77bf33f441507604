/**
 * IP address text <-> bytes, shared by the tracker compact codec, PEX, the wire's `yourip` and the discovery
 * layer. IPv6 text is RFC 5952 (lower case, the longest run of two or more zero groups as `::`); IPv4-mapped
 * IPv6 addresses are shown as dotted IPv4.
 */

export function ipv4ToString (b: Uint8Array, o = 0): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`
}

/** RFC 5952 text of 16 bytes at `o` (longest zero run compressed; IPv4-mapped addresses become dotted IPv4). */
export function ipv6ToString (b: Uint8Array, o = 0): string {
  let mapped = true
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) mapped = false
  if (mapped && b[o + 10] === 0xff && b[o + 11] === 0xff) return ipv4ToString(b, o + 12)
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push((b[o + 2 * i] << 8) | b[o + 2 * i + 1])
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':')
}

export function parseIPv4 (s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (m === null) return null
  const out = m.slice(1).map(Number)
  return out.every(x => x <= 255) ? out : null
}

/** 16 bytes of an IPv6 address in text form (with `::` and an optional dotted IPv4 tail), or null. */
export function parseIPv6 (input: string): number[] | null {
  let s = input
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1)
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  if (!s.includes(':')) return null
  const lastColon = s.lastIndexOf(':')
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1))
    if (v4 === null) return null
    s = s.slice(0, lastColon + 1) + ((v4[0] << 8) | v4[1]).toString(16) + ':' + ((v4[2] << 8) | v4[3]).toString(16)
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const parse = (h: string): number[] | null => {
    if (h === '') return []
    const out: number[] = []
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null
      out.push(parseInt(g, 16))
    }
    return out
  }
  const head = parse(halves[0])
  const rest = halves.length === 2 ? parse(halves[1]) : []
  if (head === null || rest === null) return null
  const want = 8
  let groups: number[]
  if (halves.length === 2) {
    const fill = want - head.length - rest.length
    if (fill < 1) return null
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest]
  } else {
    if (head.length !== want) return null
    groups = head
  }
  const bytes: number[] = []
  for (const g of groups) bytes.push(g >> 8, g & 255)
  return bytes
}

/** An address as 4 (IPv4, including IPv4-mapped IPv6 text) or 16 (IPv6) bytes, or null when not an IP literal. */
export function ipToBytes (host: string): Uint8Array | null {
  if (typeof host !== 'string') return null
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const v4 = parseIPv4(h.toLowerCase().startsWith('::ffff:') ? h.slice(7) : h)
  if (v4 !== null) return Uint8Array.from(v4)
  const v6 = parseIPv6(h)
  return v6 === null ? null : Uint8Array.from(v6)
}

/** Text of a 4- or 16-byte address. */
export function bytesToIp (b: Uint8Array): string {
  return b.length === 4 ? ipv4ToString(b) : ipv6ToString(b)
}
