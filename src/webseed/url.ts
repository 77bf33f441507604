/**
 * Web seed URL checks (bad-input case 26), following libtorrent's `ssrf_mitigation` for web seeds:
 *  - only http: and https: are fetched (file:, ftp:, data:, javascript:, ... are refused);
 *  - host names with an IDNA label ("xn--") or non-ASCII characters are refused (libtorrent `allow_idna` = false);
 *  - a web seed on a local address (loopback, private, link-local, unique-local; see isLocalAddress) must not
 *    have a query string: a query-string URL is the shape of a request to a local web application;
 *  - a redirect from a public address to a local one is refused.
 * Literal hosts (and "localhost") are checked here; host names are checked on their resolved addresses before
 * each request in Node (web-seed.ts with platform-node.ts, which also pins the connection to the checked
 * addresses so a second DNS answer cannot differ). Browsers cannot resolve names: there only literal hosts are
 * checked, and the browser's own private-network rules apply.
 *
 * Unlike trackers, a loopback web seed needs no particular path (libtorrent's "/announce" rule is a tracker rule):
 * http://127.0.0.1:8000/file works as long as it has no query string.
 */
import { parseIPv4, parseIPv6 } from '../util/ip.js'
import { WebSeedError } from './errors.js'

export interface WebSeedUrl {
  /** The URL as given (trimmed). */
  url: string
  parsed: URL
  /** Lower-case host, IPv6 without brackets. */
  host: string
  /** The host is an IP literal. */
  literal: boolean
  /** The host is known to be local without resolving it (a local literal, localhost). */
  local: boolean
}

/** Parses and checks a web seed URL; throws WebSeedError (ERR_WEBSEED_URL or ERR_WEBSEED_SSRF). */
export function parseWebSeedUrl (raw: string): WebSeedUrl {
  const url = typeof raw === 'string' ? raw.trim() : ''
  const fail = (code: string, why: string): never => {
    throw new WebSeedError(code, `web seed ${JSON.stringify(url)}: ${why}`, { url, fatal: true })
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1].toLowerCase()
  if (scheme === undefined) fail('ERR_WEBSEED_URL', 'not an absolute URL')
  if (scheme !== 'http' && scheme !== 'https') fail('ERR_WEBSEED_URL', `unsupported scheme ${scheme as string}: (only http and https)`)
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return fail('ERR_WEBSEED_URL', 'malformed URL')
  }
  if (u.username !== '' || u.password !== '') fail('ERR_WEBSEED_URL', 'credentials in the URL are refused')
  const host = hostOf(u)
  if (host === '') fail('ERR_WEBSEED_URL', 'no host')
  const literal = isIpLiteral(host)
  if (!literal) {
    // WHATWG URL already applied IDNA (punycode) to non-ASCII names: refuse those and any "xn--" label.
    if (!/^[a-z0-9._-]+$/.test(host)) fail('ERR_WEBSEED_SSRF', 'host name is not plain ASCII')
    if (host.split('.').some(l => l.startsWith('xn--'))) fail('ERR_WEBSEED_SSRF', 'IDNA host names are refused')
  }
  const local = isLocalHost(host)
  if (local && hasQuery(u)) fail('ERR_WEBSEED_SSRF', 'a web seed on a local address must not have a query string')
  return { url, parsed: u, host, literal, local }
}

/** The URL has a query string, even an empty one ("?" alone, which URL.search reports as ''). */
export function hasQuery (u: URL): boolean {
  const h = u.href
  const hash = h.indexOf('#')
  return (hash < 0 ? h : h.slice(0, hash)).includes('?')
}

/** Lower-case host of a URL, IPv6 without brackets. */
export function hostOf (u: URL): string {
  let host = u.hostname.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return host
}

export function isIpLiteral (host: string): boolean {
  return parseIPv4(host) !== null || parseIPv6(host) !== null
}

/** Local by name or literal: localhost, *.localhost, and the addresses of isLocalAddress. */
export function isLocalHost (host: string): boolean {
  let h = host.toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.endsWith('.')) h = h.slice(0, -1)
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  return isLocalAddress(h)
}

/**
 * Addresses on this host or the local network (libtorrent's is_local plus a little): IPv4 0/8, 10/8, 100.64/10
 * (carrier-grade NAT), 127/8, 169.254/16, 172.16/12, 192.168/16; IPv6 ::, ::1, fc00::/7 (unique local),
 * fe80::/10 (link-local), fec0::/10 (site-local), and the IPv4-mapped / IPv4-compatible forms of the IPv4 ones.
 */
export function isLocalAddress (address: string): boolean {
  const v4 = parseIPv4(address)
  if (v4 !== null) return isLocalV4(v4)
  const v6 = parseIPv6(address)
  if (v6 === null) return false
  const zero10 = v6.slice(0, 10).every(b => b === 0)
  if (zero10 && v6[10] === 0xff && v6[11] === 0xff) return isLocalV4(v6.slice(12)) // ::ffff:a.b.c.d
  if (zero10 && v6[10] === 0 && v6[11] === 0) {
    if (v6.slice(12, 15).every(b => b === 0) && v6[15] <= 1) return true // :: and ::1
    return isLocalV4(v6.slice(12)) // deprecated ::a.b.c.d
  }
  if ((v6[0] & 0xfe) === 0xfc) return true // fc00::/7
  if (v6[0] === 0xfe && (v6[1] & 0xc0) === 0x80) return true // fe80::/10
  if (v6[0] === 0xfe && (v6[1] & 0xc0) === 0xc0) return true // fec0::/10
  return false
}

function isLocalV4 (b: number[]): boolean {
  const [a, c] = b
  return a === 0 || a === 10 || a === 127 || (a === 100 && (c & 0xc0) === 64) || (a === 169 && c === 254) ||
    (a === 172 && (c & 0xf0) === 16) || (a === 192 && c === 168)
}

/**
 * The SSRF rules for one request hop. `addresses`: what the hop's host resolves to (null when unknown: a
 * browser, where only literal hosts and localhost can be judged). `originLocal`: whether the first hop was
 * local (null on the first hop). Returns whether this hop is local; throws ERR_WEBSEED_SSRF.
 */
export function checkHop (u: URL, addresses: readonly string[] | null, originLocal: boolean | null, webSeed: string): boolean {
  const host = hostOf(u)
  const anyLocal = isLocalHost(host) || (addresses !== null && addresses.some(isLocalAddress))
  const fail = (why: string): never => {
    throw new WebSeedError('ERR_WEBSEED_SSRF', `web seed ${webSeed}: ${why}`, { url: u.toString(), fatal: true })
  }
  if (anyLocal && hasQuery(u)) fail(`${host} is a local address and the URL has a query string`)
  if (originLocal === false && anyLocal) fail(`redirect from a public address to the local address ${host} refused`)
  if (originLocal !== null) return originLocal
  // The origin counts as local only when all its addresses are (then redirects to local ones are allowed).
  if (isLocalHost(host)) return true
  return addresses !== null && addresses.length > 0 && addresses.every(isLocalAddress)
}

/** Checks a redirect target's shape (scheme, host name) like a web seed URL; the SSRF hop rules follow. */
export function checkRedirectTarget (location: string, base: string, webSeed: string): URL {
  let next: URL
  try {
    next = new URL(location, base)
  } catch {
    throw new WebSeedError('ERR_WEBSEED_REDIRECT', `web seed ${webSeed}: bad redirect location`, { url: base, fatal: true })
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new WebSeedError('ERR_WEBSEED_SSRF', `web seed ${webSeed}: redirect to a ${next.protocol} URL refused`, { url: base, fatal: true })
  }
  next.hash = ''
  // Host name rules (IDNA, non-ASCII) without the query rule, which checkHop applies with the resolved addresses.
  const bare = new URL(next.toString())
  bare.search = ''
  try {
    parseWebSeedUrl(bare.toString())
  } catch (err) {
    const e = err as WebSeedError
    throw new WebSeedError(e.code === 'ERR_WEBSEED_URL' ? 'ERR_WEBSEED_REDIRECT' : e.code,
      `web seed ${webSeed}: redirect refused: ${e.message}`, { url: base, fatal: true, cause: err })
  }
  return next
}
