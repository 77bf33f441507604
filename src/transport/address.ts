/** Peer addresses: 'host:port' / '[v6]:port' parsing and the normal form used as map keys. */

export interface PeerAddress {
  host: string
  port: number
  /** Normal form 'host:port' ('[v6]:port' for IPv6), used as the address book key. */
  key: string
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/** Drops the IPv4-mapped IPv6 prefix (a dual-stack TCP server reports '::ffff:1.2.3.4') and lowercases IPv6. */
export function normalizeHost (host: string): string {
  let h = host.trim()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  const lower = h.toLowerCase()
  if (lower.startsWith('::ffff:') && V4.test(lower.slice(7))) return lower.slice(7)
  return lower
}

export function isIPv4 (host: string): boolean {
  const m = V4.exec(host)
  return m !== null && m.slice(1).every(x => Number(x) <= 255)
}

export function isIPv6 (host: string): boolean {
  return host.includes(':')
}

export function addressKey (host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}

/** Parses 'host:port', '[v6]:port' or {host, port}; null when malformed or the port is out of range. */
export function parseAddress (addr: string | { host: string, port: number }): PeerAddress | null {
  let host: string
  let port: number
  if (typeof addr === 'string') {
    const s = addr.trim()
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s)
    if (m === null) return null
    host = m[1]
    port = Number(m[2])
  } else if (addr !== null && typeof addr === 'object' && typeof addr.host === 'string') {
    host = addr.host
    port = addr.port
  } else {
    return null
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null
  host = normalizeHost(host)
  if (host === '' || /\s/.test(host)) return null
  if (V4.test(host) && !isIPv4(host)) return null
  if (host === '0.0.0.0' || host === '::') return null
  return { host, port, key: addressKey(host, port) }
}
