/**
 * The IPv4 default gateway, from the routing table: NAT-PMP (RFC 6886) talks to it on UDP 5351. Pure parsers,
 * so they are tested without a network; platform-node.ts reads the sources.
 *
 * Linux: /proc/net/route (no process spawned). Its Destination/Gateway/Mask columns are the 32-bit address
 * printed as hex in host byte order, i.e. reversed on little-endian machines: 0100A8C0 = 192.168.0.1.
 * Elsewhere: `route -n get default` (macOS, BSD) prints "gateway: A.B.C.D".
 */

const RTF_UP = 0x1
const RTF_GATEWAY = 0x2

function hexToIPv4 (hex: string, littleEndian: boolean): string | null {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) return null
  const n = parseInt(hex, 16)
  const b = [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
  if (littleEndian) b.reverse()
  return b.join('.')
}

/**
 * The gateway of the best (lowest metric) default route in /proc/net/route text, or null.
 * `littleEndian` is the host's byte order (os.endianness() === 'LE').
 */
export function parseProcNetRoute (text: string, littleEndian = true): string | null {
  let best: { gw: string, metric: number } | null = null
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 8) continue
    const [, dest, gw, flagsHex, , , metricStr, mask] = f
    const flags = parseInt(flagsHex, 16)
    if (!(flags & RTF_UP) || !(flags & RTF_GATEWAY)) continue
    if (dest !== '00000000' || mask !== '00000000') continue
    const ip = hexToIPv4(gw, littleEndian)
    if (ip === null || ip === '0.0.0.0') continue
    const metric = Number(metricStr)
    if (best === null || metric < best.metric) best = { gw: ip, metric }
  }
  return best?.gw ?? null
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/

/** The gateway in `ip -4 route show default` output ("default via A.B.C.D dev ..."), or null. */
export function parseIpRouteDefault (text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /^default\s+via\s+(\S+)/.exec(line.trim())
    if (m !== null && IPV4.test(m[1])) return m[1]
  }
  return null
}

/** The gateway in `route -n get default` output (macOS/BSD: "gateway: A.B.C.D"), or null. */
export function parseRouteGetDefault (text: string): string | null {
  const m = /^\s*gateway:\s*(\S+)\s*$/m.exec(text)
  return m !== null && IPV4.test(m[1]) ? m[1] : null
}
