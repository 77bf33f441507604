/**
 * Tracker URL checks (bad-input case 26) and BEP 48 scrape URLs.
 *
 * We contact only http:, https:, udp:, ws: and wss: trackers; anything else (file:, ftp:, data:, javascript:, ...)
 * is refused. SSRF mitigation follows libtorrent's `ssrf_mitigation` (on by default there; src/http_tracker_connection.cpp):
 *  - an HTTP(S) tracker URL whose query string already carries tracker arguments (info_hash, event, port, left,
 *    key, uploaded, downloaded, corrupt, peer_id; case-insensitive) is refused;
 *  - an HTTP(S) tracker that is, or resolves to, a loopback address is refused unless its path starts with
 *    "/announce" (libtorrent compares the first 9 characters, so /announce.php passes). Literal hosts are checked
 *    here; host names are checked again on the resolved addresses (Node: see platform-node.ts), as libtorrent does;
 *  - host names with an IDNA label ("xn--"), and non-ASCII host names, are refused (libtorrent `allow_idna` = false).
 * libtorrent applies the loopback rule to HTTP trackers only (UDP/WS requests cannot be shaped into arbitrary HTTP
 * requests to a local service); so do we.
 */
import { TrackerError } from './errors.js'
import { parseIPv4, parseIPv6 } from '../util/ip.js'

export type TrackerKind = 'http' | 'udp' | 'ws'

export interface TrackerUrl {
  /** The URL as given (trimmed). */
  url: string
  kind: TrackerKind
  /** 'http:' | 'https:' | 'udp:' | 'ws:' | 'wss:' */
  protocol: string
  /** Host name or address, IPv6 without brackets, lower case. */
  host: string
  /** Port (the scheme default when absent; UDP trackers must name one). */
  port: number
  /** Path and query, e.g. '/announce?passkey=x'. */
  path: string
  pathname: string
}

const KINDS: Record<string, TrackerKind> = { 'http:': 'http', 'https:': 'http', 'udp:': 'udp', 'ws:': 'ws', 'wss:': 'ws' }
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 }
const TRACKER_ARGS = new Set(['info_hash', 'event', 'port', 'left', 'key', 'uploaded', 'downloaded', 'corrupt', 'peer_id'])

/** Parses and checks an announce URL; throws TrackerError (ERR_TRACKER_URL or ERR_TRACKER_SSRF). */
export function parseTrackerUrl (raw: string): TrackerUrl {
  const url = typeof raw === 'string' ? raw.trim() : ''
  const fail = (code: string, why: string): never => { throw new TrackerError(code, `tracker ${JSON.stringify(url)}: ${why}`, { announce: url }) }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1].toLowerCase()
  if (scheme === undefined) fail('ERR_TRACKER_URL', 'not an absolute URL')
  const protocol = scheme + ':'
  const kind = KINDS[protocol]
  if (kind === undefined) fail('ERR_TRACKER_URL', `unsupported scheme ${protocol} (only http, https, udp, ws, wss)`)
  let u: URL
  try {
    // WHATWG URL treats udp: as an opaque ("non-special") scheme: parse it as http to get host/port/path.
    u = new URL(kind === 'udp' ? 'http:' + url.slice(protocol.length) : url)
  } catch {
    return fail('ERR_TRACKER_URL', 'malformed URL')
  }
  let host = u.hostname.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (host === '') fail('ERR_TRACKER_URL', 'no host')
  const literal = parseIPv4(host) !== null || parseIPv6(host) !== null
  if (!literal) {
    // The http-parsed URL already applied IDNA (punycode) to non-ASCII names: refuse those and any "xn--" label.
    if (!/^[a-z0-9._-]+$/.test(host)) fail('ERR_TRACKER_SSRF', 'host name is not plain ASCII')
    if (host.split('.').some(l => l.startsWith('xn--'))) fail('ERR_TRACKER_SSRF', 'IDNA host names are refused')
  }
  let port = u.port === '' ? DEFAULT_PORTS[protocol] : Number(u.port)
  if (kind === 'udp' && u.port === '') fail('ERR_TRACKER_URL', 'a UDP tracker URL must name a port')
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) fail('ERR_TRACKER_URL', 'bad port')
  port = port as number
  const pathname = u.pathname === '' ? '/' : u.pathname
  if (kind === 'http') {
    if (hasTrackerQueryArgs(u.search)) fail('ERR_TRACKER_SSRF', 'the query string already carries tracker arguments')
    if (isLoopbackHost(host) && !loopbackPathAllowed(pathname)) {
      fail('ERR_TRACKER_SSRF', 'a tracker on a loopback address must use an /announce path')
    }
  }
  return { url, kind, protocol, host, port, path: pathname + u.search, pathname }
}

/** True for query strings that already hold one of the arguments a tracker client adds (libtorrent's list). */
export function hasTrackerQueryArgs (search: string): boolean {
  const q = search.startsWith('?') ? search.slice(1) : search
  if (q === '') return false
  return q.split('&').some(arg => TRACKER_ARGS.has(arg.split('=')[0].toLowerCase()))
}

/** libtorrent: a loopback tracker's path must start with "/announce". */
export function loopbackPathAllowed (pathname: string): boolean {
  return pathname.startsWith('/announce')
}

/** Loopback by name or literal: localhost, *.localhost, and the addresses of isLoopbackAddress. */
export function isLoopbackHost (host: string): boolean {
  let h = host.toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.endsWith('.')) h = h.slice(0, -1)
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  return isLoopbackAddress(h)
}

/**
 * Loopback literal addresses (what a resolver returns): 127.0.0.0/8, ::1, their IPv4-mapped forms, and also
 * 0.0.0.0/8 and :: (connecting to "this host" reaches local services on Linux; stricter than libtorrent).
 */
export function isLoopbackAddress (address: string): boolean {
  const v4 = parseIPv4(address)
  if (v4 !== null) return v4[0] === 127 || v4[0] === 0
  const v6 = parseIPv6(address)
  if (v6 === null) return false
  if (v6.slice(0, 15).every(b => b === 0) && (v6[15] === 1 || v6[15] === 0)) return true
  const mapped = v6.slice(0, 10).every(b => b === 0) && v6[10] === 0xff && v6[11] === 0xff
  return mapped && (v6[12] === 127 || v6[12] === 0)
}

/**
 * BEP 48 scrape URL of an HTTP(S) announce URL: the last path component must start with "announce", which becomes
 * "scrape" (…/announce.php?x=1 → …/scrape.php?x=1). null when the tracker has no scrape convention.
 */
export function scrapeUrlFor (announce: string): string | null {
  let u: URL
  try { u = new URL(announce) } catch { return null }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
  const slash = u.pathname.lastIndexOf('/')
  const last = u.pathname.slice(slash + 1)
  if (!last.startsWith('announce')) return null
  u.pathname = u.pathname.slice(0, slash + 1) + 'scrape' + last.slice('announce'.length)
  return u.toString()
}
