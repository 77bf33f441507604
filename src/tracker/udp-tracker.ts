/**
 * UDP tracker protocol (BEP 15, with BEP 41 URL data), multiplexed: one UdpTrackerSocket per client serves every
 * torrent and tracker over one datagram socket per address family, routing answers by transaction id.
 *
 *  - connect → connection id, cached per tracker endpoint and reused for 60 s (BEP 15: the client may use it for
 *    one minute); an expired id is renewed before the next packet, including between retransmissions; concurrent
 *    requests to one endpoint share one connect exchange;
 *  - every packet gets a fresh random transaction id; answers with another id, another action, another source
 *    endpoint, or too short for their action are ignored (an attacker or a stale answer cannot complete a request);
 *  - retransmission: an unanswered packet is sent again after 15·2^n s, n = 0, 1, … up to `maxRetransmits`
 *    (BEP 15 says up to 8; per-request callers may lower it), then the request fails with ERR_TRACKER_TIMEOUT;
 *  - an error packet (action 3) fails the request with its message (ERR_TRACKER_FAILURE) and drops the cached id;
 *  - IPv4 trackers answer 6-byte peers, trackers reached over IPv6 answer 18-byte peers;
 *  - scrape: up to 74 info-hashes per packet (BEP 15's limit), more are split.
 */
import { decodeCompactPeers } from './compact.js'
import { parseIPv4, parseIPv6 } from '../util/ip.js'
import { TrackerError } from './errors.js'
import { randomU32, toHex, UNKNOWN_LEFT } from './util.js'
import { createUdpSocket, lookupHost, type DatagramSocket, type ResolvedHost } from './platform.js'
import { realTimers } from './timers.js'
import type { AnnounceRequest, AnnounceResponse, ScrapeResult, Timers } from './types.js'
import { parseTrackerUrl } from './url.js'

const PROTOCOL_ID = 0x41727101980n
const ACTION_CONNECT = 0
const ACTION_ANNOUNCE = 1
const ACTION_SCRAPE = 2
const ACTION_ERROR = 3
const EVENTS: Record<string, number> = { completed: 1, started: 2, stopped: 3 }
/** BEP 15: "up to about 74 torrents can be scraped at once". */
export const UDP_SCRAPE_MAX = 74
export const UDP_RETRANSMIT_BASE = 15_000
export const UDP_MAX_RETRANSMITS = 8
export const UDP_CONNECTION_ID_TTL = 60_000

export interface UdpTrackerSocketOptions {
  timers?: Timers
  /** First retransmission timeout in ms (BEP 15: 15 s); the n-th waits base·2^n. */
  retransmitBase?: number
  /** Highest n (BEP 15: 8). */
  maxRetransmits?: number
  /** How long a connection id is reused (BEP 15: 1 minute). */
  connectionIdTtl?: number
  /** Datagram socket factory (tests may inject one); default: the platform's (node:dgram). */
  createSocket?: (family: 4 | 6) => DatagramSocket
  /** Host name resolution; default: the platform's (dns.lookup). */
  lookup?: (host: string) => Promise<ResolvedHost>
}

export interface UdpRequestOptions {
  signal?: AbortSignal
  /** Lower the retransmission limit for this request (e.g. a `stopped` announce). */
  maxRetransmits?: number
}

interface Txn {
  expect: number
  minLength: number
  address: string
  port: number
  done: (result: Uint8Array | Error | typeof TIMEOUT) => void
}

const TIMEOUT = Symbol('timeout')

export class UdpTrackerSocket {
  private readonly timers: Timers
  private readonly base: number
  private readonly maxRetransmits: number
  private readonly ttl: number
  private readonly makeSocket: (family: 4 | 6) => DatagramSocket
  private readonly lookup: (host: string) => Promise<ResolvedHost>
  private readonly sockets = new Map<4 | 6, DatagramSocket>()
  private readonly pending = new Map<number, Txn>()
  private readonly connIds = new Map<string, { id: Uint8Array, at: number }>()
  /** Connect exchanges in flight per endpoint: concurrent requests to one tracker share one connect. */
  private readonly connecting = new Map<string, Promise<Uint8Array | typeof TIMEOUT>>()
  private closed = false

  constructor (opts: UdpTrackerSocketOptions = {}) {
    this.timers = opts.timers ?? realTimers
    this.base = opts.retransmitBase ?? UDP_RETRANSMIT_BASE
    this.maxRetransmits = opts.maxRetransmits ?? UDP_MAX_RETRANSMITS
    this.ttl = opts.connectionIdTtl ?? UDP_CONNECTION_ID_TTL
    this.makeSocket = opts.createSocket ?? createUdpSocket
    this.lookup = opts.lookup ?? lookupHost
  }

  get destroyed (): boolean { return this.closed }

  /** Number of requests waiting for an answer (for tests and stats). */
  get pendingCount (): number { return this.pending.size }

  async announce (url: string, req: AnnounceRequest, opts: UdpRequestOptions = {}): Promise<AnnounceResponse> {
    const ep = await this.endpoint(url)
    const t = ep.tracker
    const urlData = t.path === '/' || t.path === '/announce' ? undefined : new TextEncoder().encode(t.path)
    const payload = await this.request(ep, ACTION_ANNOUNCE, 20, (connId, tid) => announcePacket(connId, tid, req, urlData), opts)
    const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    return {
      interval: v.getUint32(8),
      incomplete: v.getUint32(12),
      complete: v.getUint32(16),
      peers: decodeCompactPeers(payload.subarray(20), ep.family)
    }
  }

  async scrape (url: string, infoHashes: Uint8Array[], opts: UdpRequestOptions = {}): Promise<ScrapeResult[]> {
    const ep = await this.endpoint(url)
    const out: ScrapeResult[] = []
    for (let i = 0; i < infoHashes.length; i += UDP_SCRAPE_MAX) {
      const batch = infoHashes.slice(i, i + UDP_SCRAPE_MAX)
      const payload = await this.request(ep, ACTION_SCRAPE, 8, (connId, tid) => scrapePacket(connId, tid, batch), opts)
      const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
      // A tracker may answer fewer entries than asked (truncated packet): take what is there.
      for (let k = 0; k < batch.length && 8 + 12 * (k + 1) <= payload.length; k++) {
        const o = 8 + 12 * k
        out.push({ infoHash: toHex(batch[k]), complete: v.getUint32(o), downloaded: v.getUint32(o + 4), incomplete: v.getUint32(o + 8) })
      }
    }
    return out
  }

  /** Fails pending requests with ERR_TRACKER_ABORTED and closes the sockets. */
  close (): void {
    if (this.closed) return
    this.closed = true
    for (const txn of [...this.pending.values()]) txn.done(new TrackerError('ERR_TRACKER_ABORTED', 'UDP tracker socket closed'))
    this.pending.clear()
    for (const s of this.sockets.values()) s.close()
    this.sockets.clear()
    this.connIds.clear()
  }

  private async endpoint (url: string): Promise<{ tracker: ReturnType<typeof parseTrackerUrl>, address: string, family: 4 | 6, key: string }> {
    if (this.closed) throw new TrackerError('ERR_TRACKER_ABORTED', 'UDP tracker socket closed', { announce: url })
    const tracker = parseTrackerUrl(url)
    if (tracker.kind !== 'udp') throw new TrackerError('ERR_TRACKER_URL', `${url} is not a UDP tracker`, { announce: url })
    let resolved: ResolvedHost
    if (parseIPv4(tracker.host) !== null) resolved = { address: tracker.host, family: 4 }
    else if (parseIPv6(tracker.host) !== null) resolved = { address: tracker.host, family: 6 }
    else {
      try {
        resolved = await this.lookup(tracker.host)
      } catch (err) {
        if (err instanceof TrackerError) throw err
        throw new TrackerError('ERR_TRACKER_NETWORK', `${url}: cannot resolve ${tracker.host}: ${(err as Error).message}`, { cause: err, announce: url })
      }
    }
    const key = resolved.family === 6 ? `[${resolved.address}]:${tracker.port}` : `${resolved.address}:${tracker.port}`
    return { tracker, address: resolved.address, family: resolved.family, key }
  }

  private socket (family: 4 | 6): DatagramSocket {
    let s = this.sockets.get(family)
    if (s === undefined) {
      s = this.makeSocket(family)
      s.onMessage((data, from) => this.onMessage(data, from))
      s.onError(() => { /* send failures surface as timeouts */ })
      this.sockets.set(family, s)
    }
    return s
  }

  private async request (ep: { tracker: { url: string, port: number }, address: string, family: 4 | 6, key: string },
    action: number, minLength: number, build: (connId: Uint8Array, tid: number) => Uint8Array, opts: UdpRequestOptions): Promise<Uint8Array> {
    const url = ep.tracker.url
    const max = Math.min(opts.maxRetransmits ?? this.maxRetransmits, this.maxRetransmits)
    for (let n = 0; ; n++) {
      const timeout = this.base * 2 ** n
      let conn = this.connIds.get(ep.key)
      if (conn !== undefined && this.timers.now() - conn.at >= this.ttl) {
        this.connIds.delete(ep.key)
        conn = undefined
      }
      let res: Uint8Array | typeof TIMEOUT
      if (conn === undefined) {
        res = await abortable(this.connect(ep, timeout), opts.signal, url)
        if (res !== TIMEOUT) {
          // The connect round trip does not use up this attempt: the request follows right away with the new id.
          conn = { id: res.slice(8, 16), at: this.timers.now() }
          this.connIds.set(ep.key, conn)
        }
      }
      if (conn !== undefined) {
        const id = conn.id
        res = await this.exchange(ep, action, minLength, tid => build(id, tid), timeout, opts.signal)
        if (res !== TIMEOUT) return res
      }
      if (n >= max) throw new TrackerError('ERR_TRACKER_TIMEOUT', `${url}: no answer after ${n + 1} tries`, { announce: url })
    }
  }

  private connect (ep: { tracker: { url: string, port: number }, address: string, family: 4 | 6, key: string }, timeoutMs: number): Promise<Uint8Array | typeof TIMEOUT> {
    let p = this.connecting.get(ep.key)
    if (p === undefined) {
      // No signal: one waiter giving up must not cancel the connect for the others (close() still ends it).
      const started = this.exchange(ep, ACTION_CONNECT, 16, tid => connectPacket(tid), timeoutMs)
      p = started
      this.connecting.set(ep.key, started)
      const clear = (): void => { if (this.connecting.get(ep.key) === started) this.connecting.delete(ep.key) }
      started.then(clear, clear)
    }
    return p
  }

  /** Sends one packet under a fresh transaction id and waits for its answer, the timeout, or the abort. */
  private exchange (ep: { tracker: { url: string, port: number }, address: string, family: 4 | 6, key: string }, action: number,
    minLength: number, build: (tid: number) => Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array | typeof TIMEOUT> {
    const url = ep.tracker.url
    if (this.closed) return Promise.reject(new TrackerError('ERR_TRACKER_ABORTED', 'UDP tracker socket closed', { announce: url }))
    if (signal?.aborted) return Promise.reject(new TrackerError('ERR_TRACKER_ABORTED', `${url}: request aborted`, { announce: url }))
    let tid = randomU32()
    while (this.pending.has(tid)) tid = randomU32()
    const sock = this.socket(ep.family)
    return new Promise((resolve, reject) => {
      const onAbort = (): void => finish(new TrackerError('ERR_TRACKER_ABORTED', `${url}: request aborted`, { announce: url }))
      const timer = this.timers.setTimeout(() => finish(TIMEOUT), timeoutMs)
      const finish = (r: Uint8Array | Error | typeof TIMEOUT): void => {
        if (this.pending.get(tid) !== txn) return
        this.pending.delete(tid)
        this.timers.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (this.pending.size === 0) for (const s of this.sockets.values()) s.unref()
        if (r instanceof Error) {
          if (r instanceof TrackerError && r.code === 'ERR_TRACKER_FAILURE') this.connIds.delete(ep.key)
          if (r instanceof TrackerError && r.announce === undefined) r.announce = url
          reject(r)
        } else {
          resolve(r)
        }
      }
      const txn: Txn = { expect: action, minLength, address: ep.address, port: ep.tracker.port, done: finish }
      this.pending.set(tid, txn)
      signal?.addEventListener('abort', onAbort)
      sock.send(build(tid), ep.tracker.port, ep.address)
      sock.ref()
    })
  }

  private onMessage (data: Uint8Array, from: { address: string, port: number }): void {
    if (data.length < 8) return
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength)
    const action = v.getUint32(0)
    const txn = this.pending.get(v.getUint32(4))
    if (txn === undefined) return
    if (from.port !== txn.port || !sameAddress(from.address, txn.address)) return
    if (action === ACTION_ERROR) {
      const msg = new TextDecoder().decode(data.subarray(8)).replace(/\0+$/, '')
      txn.done(new TrackerError('ERR_TRACKER_FAILURE', msg === '' ? 'tracker error' : msg))
      return
    }
    if (action !== txn.expect || data.length < txn.minLength) return
    txn.done(data.slice())
  }
}

/** `p`, or ERR_TRACKER_ABORTED as soon as `signal` fires (p itself keeps running). */
function abortable<T> (p: Promise<T>, signal: AbortSignal | undefined, url: string): Promise<T> {
  if (signal === undefined) return p
  const aborted = (): TrackerError => new TrackerError('ERR_TRACKER_ABORTED', `${url}: request aborted`, { announce: url })
  if (signal.aborted) return Promise.reject(aborted())
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted())
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(v => { signal.removeEventListener('abort', onAbort); resolve(v) },
      e => { signal.removeEventListener('abort', onAbort); reject(e) })
  })
}

function sameAddress (a: string, b: string): boolean {
  const norm = (s: string): string => {
    const x = s.toLowerCase()
    return x.startsWith('::ffff:') && x.includes('.') ? x.slice(7) : x
  }
  if (norm(a) === norm(b)) return true
  const a6 = parseIPv6(a)
  const b6 = parseIPv6(b)
  return a6 !== null && b6 !== null && a6.every((x, i) => x === b6[i])
}

function connectPacket (tid: number): Uint8Array {
  const b = new Uint8Array(16)
  const v = new DataView(b.buffer)
  v.setBigUint64(0, PROTOCOL_ID)
  v.setUint32(8, ACTION_CONNECT)
  v.setUint32(12, tid)
  return b
}

function u64 (n: number): bigint {
  return BigInt(Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(n))))
}

function announcePacket (connId: Uint8Array, tid: number, req: AnnounceRequest, urlData?: Uint8Array): Uint8Array {
  // BEP 41: URLData options (type 2, length ≤ 255 each) carry the tracker URL's path and query.
  let extra = 0
  if (urlData !== undefined) extra = urlData.length + 2 * Math.ceil(urlData.length / 255)
  const b = new Uint8Array(98 + extra)
  const v = new DataView(b.buffer)
  b.set(connId, 0)
  v.setUint32(8, ACTION_ANNOUNCE)
  v.setUint32(12, tid)
  b.set(req.infoHash.subarray(0, 20), 16)
  b.set(req.peerId.subarray(0, 20), 36)
  v.setBigUint64(56, u64(req.downloaded))
  v.setBigUint64(64, u64(req.left ?? UNKNOWN_LEFT))
  v.setBigUint64(72, u64(req.uploaded))
  v.setUint32(80, req.event === undefined ? 0 : EVENTS[req.event])
  v.setUint32(84, 0) // IP: the sender's
  v.setUint32(88, req.key >>> 0)
  v.setInt32(92, req.event === 'stopped' ? 0 : req.numwant)
  v.setUint16(96, req.port)
  if (urlData !== undefined) {
    let o = 98
    for (let i = 0; i < urlData.length; i += 255) {
      const chunk = urlData.subarray(i, i + 255)
      b[o++] = 2
      b[o++] = chunk.length
      b.set(chunk, o)
      o += chunk.length
    }
  }
  return b
}

function scrapePacket (connId: Uint8Array, tid: number, hashes: Uint8Array[]): Uint8Array {
  const b = new Uint8Array(16 + 20 * hashes.length)
  const v = new DataView(b.buffer)
  b.set(connId, 0)
  v.setUint32(8, ACTION_SCRAPE)
  v.setUint32(12, tid)
  hashes.forEach((h, i) => b.set(h.subarray(0, 20), 16 + 20 * i))
  return b
}
