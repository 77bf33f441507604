/**
 * HTTP(S) tracker client (BEP 3, BEP 7 peers6, BEP 23 compact, BEP 48 scrape), platform-neutral: the transfer
 * itself is platform.httpGet (undici in Node, fetch in browsers).
 *
 * Requests carry compact=1 and no_peer_id=1 (answers may still be dict lists: both are parsed, plus peers6),
 * key (8 upper-case hex digits, constant per client), numwant, the tracker id echo, and the event.
 * Redirects (at most 5) are followed here so every hop is re-checked: only http(s), no IDNA host, and the
 * loopback-path SSRF rule (see url.ts).
 */
import { bencode, type BencodeValue } from '../bencode/index.js'
import { ready } from '../wasm/index.js'
import { decodeCompactPeers } from './compact.js'
import { asTrackerError, TrackerError } from './errors.js'
import { httpGet } from './platform.js'
import type { AnnounceRequest, AnnounceResponse, ScrapeResult, TrackerPeer } from './types.js'
import { toHex, UNKNOWN_LEFT } from './util.js'
import { isLoopbackHost, loopbackPathAllowed, parseTrackerUrl, scrapeUrlFor } from './url.js'

/** libtorrent's tracker_maximum_response_length: 1 MiB, counted after decompression. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
/** libtorrent's tracker_completion_timeout (30 s). */
export const DEFAULT_HTTP_TIMEOUT = 30_000
export const MAX_REDIRECTS = 5

export interface HttpTrackerOptions {
  maxResponseBytes?: number
  timeoutMs?: number
  signal?: AbortSignal
  userAgent?: string
}

type Dict = Record<string, BencodeValue>

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** Percent-encodes raw bytes (info_hash, peer_id, tracker id) the way trackers expect. */
export function escapeBytes (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    s += b < 128 && UNRESERVED.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return s
}

export function formatKey (key: number): string {
  return (key >>> 0).toString(16).toUpperCase().padStart(8, '0')
}

/** The full announce URL for a request. */
export function buildAnnounceUrl (announce: string, req: AnnounceRequest): string {
  const left = req.left ?? UNKNOWN_LEFT
  let q = `info_hash=${escapeBytes(req.infoHash)}&peer_id=${escapeBytes(req.peerId)}&port=${req.port}` +
    `&uploaded=${Math.max(0, Math.floor(req.uploaded))}&downloaded=${Math.max(0, Math.floor(req.downloaded))}` +
    `&left=${Math.max(0, Math.floor(left))}&corrupt=0&key=${formatKey(req.key)}`
  if (req.event !== undefined) q += `&event=${req.event}`
  q += `&numwant=${req.event === 'stopped' ? 0 : req.numwant}&compact=1&no_peer_id=1`
  if (req.trackerId !== undefined && req.trackerId.length > 0) q += `&trackerid=${escapeBytes(req.trackerId)}`
  return withQuery(announce, q)
}

function withQuery (url: string, q: string): string {
  const hash = url.indexOf('#')
  const base = hash >= 0 ? url.slice(0, hash) : url
  return base + (base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?') + q
}

export async function httpAnnounce (announce: string, req: AnnounceRequest, opts: HttpTrackerOptions = {}): Promise<AnnounceResponse> {
  const t = parseTrackerUrl(announce)
  if (t.kind !== 'http') throw new TrackerError('ERR_TRACKER_URL', `${announce} is not an HTTP tracker`, { announce })
  try {
    const body = await getFollowing(buildAnnounceUrl(t.url, req), announce, opts, false)
    await ready
    return parseAnnounceResponse(body, announce)
  } catch (err) {
    throw asTrackerError(err, announce)
  }
}

/** BEP 48 scrape of one or more info-hashes. Entries the tracker does not list are left out of the result. */
export async function httpScrape (announce: string, infoHashes: Uint8Array[], opts: HttpTrackerOptions = {}): Promise<ScrapeResult[]> {
  const t = parseTrackerUrl(announce)
  if (t.kind !== 'http') throw new TrackerError('ERR_TRACKER_URL', `${announce} is not an HTTP tracker`, { announce })
  const scrape = scrapeUrlFor(t.url)
  if (scrape === null) throw new TrackerError('ERR_TRACKER_NO_SCRAPE', `${announce} has no scrape URL (BEP 48)`, { announce })
  const q = infoHashes.map(h => `info_hash=${escapeBytes(h)}`).join('&')
  try {
    const body = await getFollowing(withQuery(scrape, q), announce, opts, true)
    await ready
    return parseScrapeResponse(body, infoHashes, announce)
  } catch (err) {
    throw asTrackerError(err, announce)
  }
}

/**
 * libtorrent's loopback rule looks at the request path, which would refuse every scrape of a loopback tracker
 * (/scrape never starts with /announce). We also accept /scrape… for scrape requests: the scrape URL is derived
 * from an announce URL that passed the rule, so it has the same fixed, tracker-shaped form.
 */
function pathAllowed (pathname: string, scrape: boolean): boolean {
  return loopbackPathAllowed(pathname) || (scrape && pathname.startsWith('/scrape'))
}

async function getFollowing (first: string, announce: string, opts: HttpTrackerOptions, scrape: boolean): Promise<Uint8Array> {
  let url = first
  for (let hop = 0; ; hop++) {
    const res = await httpGet(url, {
      maxBytes: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      timeoutMs: opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT,
      signal: opts.signal,
      refuseLoopback: !pathAllowed(new URL(url).pathname, scrape),
      userAgent: opts.userAgent ?? 'wasmtorrent'
    })
    if (res.status === 200) return res.body
    if (res.status >= 300 && res.status < 400 && res.location !== undefined) {
      if (hop >= MAX_REDIRECTS) throw new TrackerError('ERR_TRACKER_HTTP', `${announce}: too many redirects`, { announce })
      let next: URL
      try { next = new URL(res.location, url) } catch {
        throw new TrackerError('ERR_TRACKER_HTTP', `${announce}: bad redirect location`, { announce })
      }
      checkRedirect(next, announce, scrape)
      url = next.toString()
      continue
    }
    throw new TrackerError('ERR_TRACKER_HTTP', `${announce}: HTTP ${res.status}`, { announce })
  }
}

/** Every redirect hop gets the URL checks again (scheme, host name, loopback path); its query is ours. */
function checkRedirect (next: URL, announce: string, scrape: boolean): void {
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new TrackerError('ERR_TRACKER_SSRF', `${announce}: redirect to a ${next.protocol} URL refused`, { announce })
  }
  const bare = new URL(next.toString())
  bare.search = ''
  bare.pathname = '/announce'
  parseTrackerUrl(bare.toString()) // host checks (IDNA, non-ASCII, port)
  if (isLoopbackHost(next.hostname) && !pathAllowed(next.pathname, scrape)) {
    throw new TrackerError('ERR_TRACKER_SSRF', `${announce}: redirect to ${next.pathname} on a loopback address refused`, { announce })
  }
}

function num (v: BencodeValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined
  if (typeof v === 'bigint') return v >= 0n ? Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : v) : undefined
  return undefined
}

const utf8 = new TextDecoder()

function text (v: BencodeValue | undefined): string | undefined {
  if (v instanceof Uint8Array) return utf8.decode(v)
  if (typeof v === 'string') return v
  return undefined
}

function decodeDict (body: Uint8Array, announce: string): Dict {
  let value: BencodeValue
  try {
    value = bencode.decodePrefix(body).value
  } catch (err) {
    throw new TrackerError('ERR_TRACKER_RESPONSE', `${announce}: response is not bencoded: ${(err as Error).message}`, { cause: err, announce })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new TrackerError('ERR_TRACKER_RESPONSE', `${announce}: response is not a dictionary`, { announce })
  }
  return value as Dict
}

function failureOf (d: Dict, announce: string): TrackerError | null {
  const reason = text(d['failure reason'])
  if (reason === undefined) return null
  const err = new TrackerError('ERR_TRACKER_FAILURE', `${announce}: ${reason}`, { announce })
  // BEP 31 "retry in" (minutes or "never"); a failure may also carry "min interval".
  const retryIn = d['retry in']
  if (text(retryIn) === 'never') err.retryNever = true
  const minutes = num(retryIn)
  const wait = Math.max(minutes !== undefined ? minutes * 60 : 0, num(d['min interval']) ?? 0)
  if (wait > 0) err.retryAfter = wait
  return err
}

export function parseAnnounceResponse (body: Uint8Array, announce = 'tracker'): AnnounceResponse {
  const d = decodeDict(body, announce)
  const failure = failureOf(d, announce)
  if (failure !== null) throw failure
  const out: AnnounceResponse = { peers: [] }
  const interval = num(d.interval)
  if (interval !== undefined) out.interval = interval
  const minInterval = num(d['min interval'])
  if (minInterval !== undefined) out.minInterval = minInterval
  const complete = num(d.complete)
  if (complete !== undefined) out.complete = complete
  const incomplete = num(d.incomplete)
  if (incomplete !== undefined) out.incomplete = incomplete
  const downloaded = num(d.downloaded)
  if (downloaded !== undefined) out.downloaded = downloaded
  const trackerId = d['tracker id']
  if (trackerId instanceof Uint8Array && trackerId.length > 0) out.trackerId = trackerId.slice()
  const warning = text(d['warning message'])
  if (warning !== undefined) out.warning = warning
  const peers = d.peers
  if (peers instanceof Uint8Array) out.peers.push(...decodeCompactPeers(peers, 4))
  else if (Array.isArray(peers)) out.peers.push(...dictPeers(peers))
  const peers6 = d.peers6
  if (peers6 instanceof Uint8Array) out.peers.push(...decodeCompactPeers(peers6, 6))
  return out
}

/** Non-compact peer list: dicts with `ip` (address or DNS name) and `port`; malformed entries are skipped. */
function dictPeers (list: BencodeValue[]): TrackerPeer[] {
  const out: TrackerPeer[] = []
  for (const p of list) {
    if (p === null || typeof p !== 'object' || Array.isArray(p) || p instanceof Uint8Array) continue
    const d = p as Dict
    let host = text(d.ip)?.trim()
    const port = num(d.port)
    if (host === undefined || host === '' || port === undefined || port < 1 || port > 65535) continue
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    if (!/^[0-9A-Za-z.:_-]+$/.test(host) || host.length > 253) continue
    if (host === '0.0.0.0' || host === '::') continue
    out.push({ host, port })
  }
  return out
}

/**
 * The key our bencode decoder gives a 20-byte binary dict key: its UTF-8 text when that is valid, else its hex
 * (the npm `bencode` convention, see bencode/decode.ts).
 */
export function binaryKey (bytes: Uint8Array): string {
  const s = utf8.decode(bytes)
  return s.includes('\uFFFD') ? toHex(bytes) : s
}

export function parseScrapeResponse (body: Uint8Array, infoHashes: Uint8Array[], announce = 'tracker'): ScrapeResult[] {
  const d = decodeDict(body, announce)
  const failure = failureOf(d, announce)
  if (failure !== null) throw failure
  const files = d.files
  if (files === null || typeof files !== 'object' || Array.isArray(files) || files instanceof Uint8Array) {
    throw new TrackerError('ERR_TRACKER_RESPONSE', `${announce}: scrape response has no files dictionary`, { announce })
  }
  const out: ScrapeResult[] = []
  for (const ih of infoHashes) {
    const e = (files as Dict)[binaryKey(ih)]
    if (e === null || typeof e !== 'object' || Array.isArray(e) || e instanceof Uint8Array) continue
    const f = e as Dict
    out.push({ infoHash: toHex(ih), complete: num(f.complete) ?? 0, incomplete: num(f.incomplete) ?? 0, downloaded: num(f.downloaded) ?? 0 })
  }
  return out
}
