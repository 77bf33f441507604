/**
 * Compact peer lists (BEP 23 IPv4: 4-byte address + 2-byte port; BEP 7 IPv6: 16 + 2 bytes), as found in HTTP
 * `peers` / `peers6` strings and in UDP announce responses. A trailing partial entry is ignored (as libtorrent
 * does); entries with port 0 or an unspecified address are dropped.
 */
import type { TrackerPeer } from './types.js'

export function decodeCompactPeers (bytes: Uint8Array, family: 4 | 6 = 4): TrackerPeer[] {
  const size = family === 4 ? 6 : 18
  const out: TrackerPeer[] = []
  for (let i = 0; i + size <= bytes.length; i += size) {
    const port = (bytes[i + size - 2] << 8) | bytes[i + size - 1]
    const host = family === 4 ? ipv4ToString(bytes, i) : ipv6ToString(bytes, i)
    if (port === 0 || host === '0.0.0.0' || host === '::') continue
    out.push({ host, port })
  }
  return out
}

/** Compact form of IPv4 (`family` 4) or IPv6 (6) peers; entries of the other family are skipped. */
export function encodeCompactPeers (peers: Iterable<TrackerPeer>, family: 4 | 6 = 4): Uint8Array {
  const parts: number[] = []
  for (const p of peers) {
    const addr = family === 4 ? parseIPv4(p.host) : parseIPv6(p.host)
    if (addr === null) continue
    parts.push(...addr, (p.port >> 8) & 255, p.port & 255)
  }
  return Uint8Array.from(parts)
}

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
