/**
 * The WebTorrent WebSocket tracker protocol (as spoken by bittorrent-tracker's server, wt-tracker, aquatic_ws):
 * JSON text messages over one WebSocket per tracker URL, shared by every torrent of a client (WsTrackerPool).
 *
 *   → {action:'announce', info_hash, peer_id, numwant, uploaded, downloaded, left, event?, trackerid?, offers?}
 *   ← {action:'announce', info_hash, interval, complete, incomplete, ['tracker id'], ['failure reason'], ['warning message']}
 *   ← {action:'announce', info_hash, peer_id, offer, offer_id}       (another peer's WebRTC offer, relayed)
 *   → {action:'announce', info_hash, peer_id, to_peer_id, answer, offer_id}   (our answer; the tracker does not reply)
 *   ← {action:'announce', info_hash, peer_id, answer, offer_id}      (the answer to one of our offers)
 *   → {action:'scrape', info_hash: [..]}   ← {action:'scrape', files: {<info_hash>: {complete, incomplete, downloaded}}}
 * info_hash, peer_id, offer_id are 20-byte "binary strings" (one char per byte). The protocol has no transaction
 * ids: announce answers are matched to requests by info_hash in order, scrape answers in order.
 *
 * The tracker hands out no addresses, only offers: a peer that announces with `offers` gets them forwarded to up
 * to that many peers of the swarm. Without a WebRTC layer (it comes with the browser work) we announce with
 * numwant 0 and no offers, which registers us (counts, scrape) without asking anyone for a connection; offers
 * that others send us are reported as `signal` events and are dropped when nobody answers them (the offering
 * peer times them out, 50 s in bittorrent-tracker's client). A caller with WebRTC passes `offers` and answers
 * through `sendAnswer`.
 */
import { TrackerError } from './errors.js'
import { WebSocketImpl, type WebSocketConstructor, type WebSocketLike } from './platform.js'
import { realTimers } from './timers.js'
import type { AnnounceRequest, AnnounceResponse, ScrapeResult, Timers } from './types.js'
import { fromBinaryString, toBinaryString, toHex, UNKNOWN_LEFT } from './util.js'

export const DEFAULT_WS_TIMEOUT = 30_000

export interface RtcOffer {
  /** 20 random bytes naming the offer. */
  offerId: Uint8Array
  /** The session description, passed through as JSON (e.g. {type:'offer', sdp}). */
  offer: unknown
}

/** Offers and answers the tracker relays between peers of a swarm. */
export interface WsSignalMessage {
  type: 'offer' | 'answer'
  /** Info-hash, hex. */
  infoHash: string
  /** The remote peer's id, hex. */
  peerId: string
  offerId: Uint8Array
  /** The offer or answer description. */
  data: unknown
}

export interface WsTrackerOptions {
  WebSocket?: WebSocketConstructor
  timers?: Timers
  /** ms for opening the socket and for each answer (default 30 s). */
  timeoutMs?: number
}

interface Waiter {
  resolve: (msg: Record<string, unknown>) => void
  reject: (err: Error) => void
  timer: unknown
}

const OPEN = 1

/** One WebSocket to one tracker, opened on demand and reopened by the next request after it closes. */
export class WsTrackerConnection {
  readonly url: string
  private readonly WS: WebSocketConstructor | undefined
  private readonly timers: Timers
  private readonly timeoutMs: number
  private socket: WebSocketLike | null = null
  private opening: Promise<WebSocketLike> | null = null
  private readonly announces = new Map<string, Waiter[]>()
  private readonly scrapes: Waiter[] = []
  private readonly listeners = new Map<string, Set<(m: WsSignalMessage) => void>>()
  private readonly closeListeners = new Set<() => void>()
  private closed = false
  /** Users of this connection (TrackerClients); the pool closes it when the count drops to 0. */
  refs = 0

  constructor (url: string, opts: WsTrackerOptions = {}) {
    this.url = url
    this.WS = opts.WebSocket ?? WebSocketImpl
    this.timers = opts.timers ?? realTimers
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_WS_TIMEOUT
  }

  get connected (): boolean { return this.socket !== null && this.socket.readyState === OPEN }

  /**
   * Offers and answers for `infoHash` (hex) go to `fn`; `onDrop` runs when an open socket closes on its own (the
   * tracker then forgets our announces, and offers stop coming until we announce again). Returns the
   * unsubscribe function.
   */
  subscribe (infoHash: string, fn: (m: WsSignalMessage) => void, onDrop?: () => void): () => void {
    let set = this.listeners.get(infoHash)
    if (set === undefined) this.listeners.set(infoHash, set = new Set())
    set.add(fn)
    if (onDrop !== undefined) this.closeListeners.add(onDrop)
    return () => {
      set.delete(fn)
      if (set.size === 0 && this.listeners.get(infoHash) === set) this.listeners.delete(infoHash)
      if (onDrop !== undefined) this.closeListeners.delete(onDrop)
    }
  }

  async announce (req: AnnounceRequest, opts: { offers?: RtcOffer[], signal?: AbortSignal } = {}): Promise<AnnounceResponse> {
    const ih = toBinaryString(req.infoHash)
    const msg: Record<string, unknown> = {
      action: 'announce',
      info_hash: ih,
      peer_id: toBinaryString(req.peerId),
      uploaded: Math.max(0, Math.floor(req.uploaded)),
      downloaded: Math.max(0, Math.floor(req.downloaded)),
      // JSON has no Infinity and the tracker reads null as 0 (a seeder): send libtorrent's stand-in instead.
      left: Math.max(0, Math.floor(req.left ?? UNKNOWN_LEFT))
    }
    if (req.event !== undefined) msg.event = req.event
    if (req.trackerId !== undefined) msg.trackerid = toBinaryString(req.trackerId)
    if (req.event === 'stopped' || req.event === 'completed') {
      // Like bittorrent-tracker's client: no offers with these events.
      msg.numwant = 0
    } else {
      const offers = opts.offers ?? []
      msg.numwant = offers.length
      msg.offers = offers.map(o => ({ offer: o.offer, offer_id: toBinaryString(o.offerId) }))
    }
    const answer = await this.call(msg, this.queue(toHex(req.infoHash)), opts.signal)
    const failure = answer['failure reason']
    if (typeof failure === 'string') throw new TrackerError('ERR_TRACKER_FAILURE', `${this.url}: ${failure}`, { announce: this.url })
    const out: AnnounceResponse = { peers: [] }
    const n = (v: unknown): number | undefined => typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined
    if (n(answer.interval) !== undefined) out.interval = n(answer.interval)
    if (n(answer['min interval']) !== undefined) out.minInterval = n(answer['min interval'])
    if (n(answer.complete) !== undefined) out.complete = n(answer.complete)
    if (n(answer.incomplete) !== undefined) out.incomplete = n(answer.incomplete)
    if (typeof answer['tracker id'] === 'string' && answer['tracker id'] !== '') out.trackerId = fromBinaryString(answer['tracker id'])
    if (typeof answer['warning message'] === 'string') out.warning = answer['warning message']
    return out
  }

  async scrape (infoHashes: Uint8Array[], opts: { signal?: AbortSignal } = {}): Promise<ScrapeResult[]> {
    const answer = await this.call({ action: 'scrape', info_hash: infoHashes.map(toBinaryString) }, this.scrapes, opts.signal)
    const failure = answer['failure reason']
    if (typeof failure === 'string') throw new TrackerError('ERR_TRACKER_FAILURE', `${this.url}: ${failure}`, { announce: this.url })
    const files = answer.files
    if (files === null || typeof files !== 'object') {
      throw new TrackerError('ERR_TRACKER_RESPONSE', `${this.url}: scrape answer has no files`, { announce: this.url })
    }
    const out: ScrapeResult[] = []
    for (const ih of infoHashes) {
      const f = (files as Record<string, Record<string, unknown>>)[toBinaryString(ih)]
      if (f === null || typeof f !== 'object') continue
      const n = (v: unknown): number => typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0
      out.push({ infoHash: toHex(ih), complete: n(f.complete), incomplete: n(f.incomplete), downloaded: n(f.downloaded) })
    }
    return out
  }

  /** Sends our answer to a relayed offer (the tracker forwards it to `toPeerId`; it sends us nothing back). */
  sendAnswer (infoHash: Uint8Array, peerId: Uint8Array, toPeerId: Uint8Array, offerId: Uint8Array, answer: unknown): void {
    if (!this.connected) return
    this.socket!.send(JSON.stringify({
      action: 'announce',
      info_hash: toBinaryString(infoHash),
      peer_id: toBinaryString(peerId),
      to_peer_id: toBinaryString(toPeerId),
      answer,
      offer_id: toBinaryString(offerId)
    }))
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.fail(new TrackerError('ERR_TRACKER_ABORTED', `${this.url}: tracker connection closed`, { announce: this.url }))
    this.listeners.clear()
    this.closeListeners.clear()
    const s = this.socket
    this.socket = null
    if (s !== null) try { s.close(1000) } catch { /* already closing */ }
  }

  private queue (infoHash: string): Waiter[] {
    let q = this.announces.get(infoHash)
    if (q === undefined) this.announces.set(infoHash, q = [])
    return q
  }

  private async call (msg: Record<string, unknown>, queue: Waiter[], signal?: AbortSignal): Promise<Record<string, unknown>> {
    if (signal?.aborted) throw new TrackerError('ERR_TRACKER_ABORTED', `${this.url}: request aborted`, { announce: this.url })
    const socket = await this.open(signal)
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      const onAbort = (): void => done(new TrackerError('ERR_TRACKER_ABORTED', `${this.url}: request aborted`, { announce: this.url }))
      const done = (r: Record<string, unknown> | Error): void => {
        const i = queue.indexOf(w)
        if (i < 0) return
        queue.splice(i, 1)
        this.timers.clearTimeout(w.timer)
        signal?.removeEventListener('abort', onAbort)
        if (r instanceof Error) reject(r)
        else resolve(r)
      }
      const w: Waiter = {
        resolve: done,
        reject: done,
        timer: this.timers.setTimeout(() => done(new TrackerError('ERR_TRACKER_TIMEOUT', `${this.url}: no answer`, { announce: this.url })), this.timeoutMs)
      }
      queue.push(w)
      signal?.addEventListener('abort', onAbort)
      try {
        socket.send(JSON.stringify(msg))
      } catch (err) {
        done(new TrackerError('ERR_TRACKER_NETWORK', `${this.url}: ${(err as Error).message}`, { cause: err, announce: this.url }))
      }
    })
  }

  private open (signal?: AbortSignal): Promise<WebSocketLike> {
    if (this.closed) return Promise.reject(new TrackerError('ERR_TRACKER_ABORTED', `${this.url}: tracker connection closed`, { announce: this.url }))
    if (this.socket !== null && this.socket.readyState === OPEN) return Promise.resolve(this.socket)
    if (this.opening !== null) return this.opening
    const WS = this.WS
    if (WS === undefined) return Promise.reject(new TrackerError('ERR_TRACKER_UNSUPPORTED', 'no WebSocket implementation on this platform', { announce: this.url }))
    this.opening = new Promise<WebSocketLike>((resolve, reject) => {
      let ws: WebSocketLike
      try {
        ws = new WS(this.url)
      } catch (err) {
        reject(new TrackerError('ERR_TRACKER_NETWORK', `${this.url}: ${(err as Error).message}`, { cause: err, announce: this.url }))
        return
      }
      this.socket = ws
      const timer = this.timers.setTimeout(() => fail(new TrackerError('ERR_TRACKER_TIMEOUT', `${this.url}: could not connect`, { announce: this.url })), this.timeoutMs)
      const onAbort = (): void => fail(new TrackerError('ERR_TRACKER_ABORTED', `${this.url}: request aborted`, { announce: this.url }))
      signal?.addEventListener('abort', onAbort)
      let settled = false
      const settle = (): void => {
        settled = true
        this.timers.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.opening = null
      }
      const fail = (err: Error): void => {
        if (settled) return
        settle()
        if (this.socket === ws) this.socket = null
        try { ws.close() } catch { /* not open */ }
        reject(err)
      }
      ws.addEventListener('open', () => {
        if (settled) return
        settle()
        if (this.closed) { try { ws.close(1000) } catch {} reject(new TrackerError('ERR_TRACKER_ABORTED', `${this.url}: tracker connection closed`, { announce: this.url })); return }
        resolve(ws)
      })
      ws.addEventListener('message', (ev: { data: unknown }) => { if (this.socket === ws) this.onMessage(ev.data) })
      ws.addEventListener('error', () => {
        if (!settled) fail(new TrackerError('ERR_TRACKER_NETWORK', `${this.url}: WebSocket error`, { announce: this.url }))
      })
      ws.addEventListener('close', () => {
        if (!settled) { fail(new TrackerError('ERR_TRACKER_NETWORK', `${this.url}: WebSocket closed`, { announce: this.url })); return }
        if (this.socket !== ws) return
        this.socket = null
        this.fail(new TrackerError('ERR_TRACKER_NETWORK', `${this.url}: WebSocket closed`, { announce: this.url }))
        for (const fn of [...this.closeListeners]) fn()
      })
    })
    return this.opening
  }

  private fail (err: TrackerError): void {
    for (const q of [...this.announces.values(), this.scrapes]) for (const w of [...q]) w.reject(err)
  }

  private onMessage (data: unknown): void {
    if (typeof data !== 'string') return // the protocol is text-only
    let msg: Record<string, unknown>
    try {
      const v: unknown = JSON.parse(data)
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return
      msg = v as Record<string, unknown>
    } catch {
      return
    }
    const ih = typeof msg.info_hash === 'string' && msg.info_hash.length === 20 ? toHex(fromBinaryString(msg.info_hash)) : undefined
    if (msg.action === 'announce' && ih !== undefined && (msg.offer !== undefined || msg.answer !== undefined)) {
      if (typeof msg.peer_id !== 'string' || msg.peer_id.length !== 20 || typeof msg.offer_id !== 'string' || msg.offer_id.length !== 20) return
      const m: WsSignalMessage = {
        type: msg.offer !== undefined ? 'offer' : 'answer',
        infoHash: ih,
        peerId: toHex(fromBinaryString(msg.peer_id)),
        offerId: fromBinaryString(msg.offer_id),
        data: msg.offer !== undefined ? msg.offer : msg.answer
      }
      for (const fn of [...(this.listeners.get(ih) ?? [])]) fn(m)
      return
    }
    if (msg.action === 'announce' && ih !== undefined) {
      this.announces.get(ih)?.[0]?.resolve(msg)
      return
    }
    if (msg.action === 'scrape') {
      this.scrapes[0]?.resolve(msg)
      return
    }
    if (typeof msg['failure reason'] === 'string') {
      // A request the tracker could not even parse: no info_hash to route by; fail the oldest request.
      const oldest = [...this.announces.values(), this.scrapes].find(q => q.length > 0)?.[0]
      oldest?.resolve(msg)
    }
  }
}

/** One WsTrackerConnection per tracker URL, shared by all torrents of a client. */
export class WsTrackerPool {
  private readonly conns = new Map<string, WsTrackerConnection>()
  private readonly opts: WsTrackerOptions

  constructor (opts: WsTrackerOptions = {}) {
    this.opts = opts
  }

  get supported (): boolean { return (this.opts.WebSocket ?? WebSocketImpl) !== undefined }

  acquire (url: string): WsTrackerConnection {
    let c = this.conns.get(url)
    if (c === undefined) this.conns.set(url, c = new WsTrackerConnection(url, this.opts))
    c.refs++
    return c
  }

  release (conn: WsTrackerConnection): void {
    if (--conn.refs > 0) return
    if (this.conns.get(conn.url) === conn) this.conns.delete(conn.url)
    conn.close()
  }

  close (): void {
    for (const c of this.conns.values()) c.close()
    this.conns.clear()
  }
}
