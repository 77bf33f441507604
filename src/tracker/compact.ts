/**
 * Compact peer lists (BEP 23 IPv4: 4-byte address + 2-byte port; BEP 7 IPv6: 16 + 2 bytes), as found in HTTP
 * `peers` / `peers6` strings and in UDP announce responses. A trailing partial entry is ignored (as libtorrent
 * does); entries with port 0 or an unspecified address are dropped.
 */
import type { TrackerPeer } from './types.js'
import { ipv4ToString, ipv6ToString, parseIPv4, parseIPv6 } from '../util/ip.js'

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
