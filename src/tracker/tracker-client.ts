/**
 * Per-torrent tracker orchestration: which trackers to announce to, when, with which event. Which trackers
 * are announced to in parallel and which are backups (BEP 12 tiers, three modes): announce-policy.ts; when
 * (intervals, backoff after failures): announce-timing.ts. This file drives them and talks to the trackers.
 *
 * Events: `started` on the first announce to a tracker (repeated until one succeeds), `completed` once to
 * trackers that saw us start incomplete (complete()), `stopped` to every tracker that saw `started` (stop()),
 * none otherwise. UDP requests use BEP 15 retransmission, limited to n ≤ `udpMaxRetransmits` (default 2:
 * 15+30+60 s) per attempt because the backoff retries anyway and a tier must fail over in reasonable time.
 *
 * Peers are emitted one by one as {host, port, announce}; de-duplication across trackers and block lists belong to
 * the discovery layer. This class never touches DHT/PEX/LSD; for private torrents see private.ts.
 */
import { Emitter } from '../util/emitter.js'
import { promote } from './announce-list.js'
import { announceSlots, trackerStatus, trackerTiers, type Entry, type Slot, type TrackerStatus } from './announce-policy.js'
import {
  clearSlotTimer, DEFAULT_INTERVAL, DEFAULT_MIN_INTERVAL, DEFAULT_STOP_TIMEOUT, MIN_ANNOUNCE_INTERVAL, scheduleSlot,
  timeoutSignal, trackerBackoff
} from './announce-timing.js'
import { asTrackerError, TrackerError } from './errors.js'
import { DEFAULT_HTTP_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, httpAnnounce, httpScrape } from './http-tracker.js'
import { realTimers } from './timers.js'
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse, ScrapeResult, Timers } from './types.js'
import { UdpTrackerSocket } from './udp-tracker.js'
import { id20, randomU32, toHex } from './util.js'
import { WsTrackerPool, type RtcOffer, type WsTrackerConnection } from './ws-tracker.js'

/** BEP 3 suggests 50 and webtorrent asks for 50 (libtorrent 200): more than a 55-connection client can use. */
export const DEFAULT_NUMWANT = 50
export const DEFAULT_UDP_MAX_RETRANSMITS = 2
/** WebRTC offers per announce, as bittorrent-tracker's client. */
export const MAX_WS_OFFERS = 5

export interface TrackerStats {
  uploaded: number
  downloaded: number
  /** null while unknown (no metadata yet). */
  left: number | null
}

/** A WebRTC layer that makes offers for WebSocket announces (comes with the browser work). */
export interface RtcSignaling {
  createOffers (count: number): Promise<RtcOffer[]>
}

export interface TrackerClientOptions {
  /** v1 info-hash: 40 hex characters or 20 bytes. */
  infoHash: string | Uint8Array
  /** Our peer id: 40 hex characters, 20 bytes, or a 20-character binary string. */
  peerId: string | Uint8Array
  /** Our listening port. */
  port: number
  /** A flat list (one tier per URL) or BEP 12 tiers. */
  announce?: ReadonlyArray<string | readonly string[]> | string
  getStats?: () => TrackerStats
  numwant?: number
  /** 32-bit announce key; random per TrackerClient unless given (pass one per client session to share it). */
  key?: number
  announceToAllTiers?: boolean
  announceToAllTrackers?: boolean
  /** Floor for the announce interval, seconds (300). */
  minAnnounceInterval?: number
  /** Interval when the tracker gives none, seconds (1800). */
  defaultInterval?: number
  /** How long stop() waits for `stopped` answers, ms (5000). */
  stopTimeout?: number
  /** HTTP and WebSocket request timeout, ms (30000). */
  requestTimeout?: number
  /** HTTP response limit after decompression (1 MiB). */
  maxResponseBytes?: number
  /** BEP 15 retransmissions per UDP announce attempt (2). */
  udpMaxRetransmits?: number
  /** Shared client-level UDP socket; one is created (and closed by destroy()) when absent. */
  udp?: UdpTrackerSocket
  /** Shared client-level WebSocket connections; created (and closed by destroy()) when absent. */
  ws?: WsTrackerPool
  rtc?: RtcSignaling
  timers?: Timers
  /** For the tier shuffle (tests make it deterministic). */
  random?: () => number
  userAgent?: string
}

export interface TrackerPeerEvent {
  host: string
  port: number
  /** The tracker that gave it. */
  announce: string
}

export interface TrackerUpdateEvent {
  announce: string
  complete?: number
  incomplete?: number
  /** Seconds until the next regular announce (after the floor). */
  interval: number
}

export interface TrackerScrapeEvent extends ScrapeResult {
  announce: string
}

export interface TrackerSignalEvent {
  announce: string
  type: 'offer' | 'answer'
  /** Remote peer id, hex. */
  peerId: string
  offerId: Uint8Array
  data: unknown
  /** For offers: sends our answer back through the tracker. */
  answer?: (answer: unknown) => void
}

export interface TrackerClientEvents {
  [k: string]: (...args: any[]) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  peer: (peer: TrackerPeerEvent) => void
  warning: (err: TrackerError) => void
  update: (info: TrackerUpdateEvent) => void
  scrape: (info: TrackerScrapeEvent) => void
  signal: (sig: TrackerSignalEvent) => void
}

type State = 'idle' | 'running' | 'stopping' | 'destroyed'

export class TrackerClient extends Emitter<TrackerClientEvents> {
  readonly infoHash: string
  readonly key: number
  private readonly infoHashBytes: Uint8Array
  private readonly peerId: Uint8Array
  private readonly port: number
  private readonly numwant: number
  private readonly getStats: () => TrackerStats
  private readonly timers: Timers
  private readonly floor: number
  private readonly defaultInterval: number
  private readonly stopTimeout: number
  private readonly requestTimeout: number
  private readonly maxResponseBytes: number
  private readonly udpMaxRetransmits: number
  private readonly userAgent: string
  private readonly rtc?: RtcSignaling
  private readonly tiers: Entry[][]
  private readonly slots: Slot[]
  private readonly rejected: TrackerError[]
  private udpSocket?: UdpTrackerSocket
  private readonly ownUdp: boolean
  private wsPool?: WsTrackerPool
  private readonly ownWs: boolean
  private state: State = 'idle'
  private completed = false
  private abort = new AbortController()

  constructor (opts: TrackerClientOptions) {
    super()
    this.infoHashBytes = id20(opts.infoHash, 'infoHash')
    this.infoHash = toHex(this.infoHashBytes)
    this.peerId = id20(opts.peerId, 'peerId')
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new TrackerError('ERR_TRACKER_OPTIONS', 'port must be an integer from 0 to 65535')
    }
    this.port = opts.port
    this.numwant = opts.numwant ?? DEFAULT_NUMWANT
    this.key = (opts.key ?? randomU32()) >>> 0
    this.getStats = opts.getStats ?? (() => ({ uploaded: 0, downloaded: 0, left: null }))
    this.timers = opts.timers ?? realTimers
    this.floor = opts.minAnnounceInterval ?? MIN_ANNOUNCE_INTERVAL
    this.defaultInterval = opts.defaultInterval ?? DEFAULT_INTERVAL
    this.stopTimeout = opts.stopTimeout ?? DEFAULT_STOP_TIMEOUT
    this.requestTimeout = opts.requestTimeout ?? DEFAULT_HTTP_TIMEOUT
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    this.udpMaxRetransmits = opts.udpMaxRetransmits ?? DEFAULT_UDP_MAX_RETRANSMITS
    this.userAgent = opts.userAgent ?? 'wasmtorrent'
    this.rtc = opts.rtc
    this.udpSocket = opts.udp
    this.ownUdp = opts.udp === undefined
    this.wsPool = opts.ws
    this.ownWs = opts.ws === undefined

    const { tiers, rejected } = trackerTiers(opts)
    this.rejected = rejected
    this.tiers = tiers
    this.slots = announceSlots(tiers, opts)
  }

  /** The usable announce URLs, tier by tier, in current (shuffled, promoted) order. */
  get announce (): string[] {
    return this.tiers.flat().map(e => e.t.url)
  }

  get running (): boolean { return this.state === 'running' }

  get destroyed (): boolean { return this.state === 'destroyed' }

  /** Per-tracker state, tier by tier. */
  status (): TrackerStatus[] {
    return this.tiers.flat().map(e => trackerStatus(e))
  }

  /** Starts announcing (`started`); refused URLs are reported as warnings now. */
  start (): void {
    if (this.state === 'destroyed') throw new TrackerError('ERR_TRACKER_DESTROYED', 'tracker client is destroyed')
    if (this.state === 'running') return
    if (this.state === 'stopping') throw new TrackerError('ERR_TRACKER_OPTIONS', 'stop() has not finished')
    this.state = 'running'
    for (const err of this.rejected.splice(0)) this.emit('warning', err)
    for (const s of this.slots) void this.runSlot(s)
  }

  /** The download finished: sends `completed` now to the trackers that saw us start incomplete. */
  complete (): void {
    this.completed = true
    if (this.state !== 'running') return
    for (const s of this.slots) void this.runSlot(s)
  }

  /**
   * Announces now (no event), e.g. when more peers are wanted. A tracker's `min interval` is honoured (the
   * announce is deferred until it passes), and so is the backoff of a failing tracker, unless
   * `ignoreMinInterval` (libtorrent's force_reannounce flag).
   */
  update (opts: { ignoreMinInterval?: boolean } = {}): void {
    if (this.state !== 'running') return
    const now = this.timers.now()
    for (const s of this.slots) {
      if (opts.ignoreMinInterval === true) { void this.runSlot(s); continue }
      if (s.fails > 0) {
        if (!s.hasTimer || s.nextAt <= now) void this.runSlot(s) // else: the backoff timer stays
        continue
      }
      if (s.minAt <= now) void this.runSlot(s)
      else if (!s.busy && (!s.hasTimer || s.nextAt > s.minAt)) this.schedule(s, s.minAt - now)
    }
  }

  /**
   * Sends `stopped` to every tracker that saw `started` and waits for the answers, at most `stopTimeout` ms.
   * Never rejects. The client can be start()ed again afterwards.
   */
  async stop (): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'stopping'
    for (const s of this.slots) this.clearTimer(s)
    const targets = this.tiers.flat().filter(e => (e.startSent || e.updating) && !e.disabled)
    this.abort.abort()
    this.abort = new AbortController()
    const deadline = timeoutSignal(this.timers, this.stopTimeout)
    const signal = AbortSignal.any([this.abort.signal, deadline.signal])
    await Promise.allSettled(targets.map(e => this.announceTo(e, 'stopped', signal)))
    deadline.cancel()
    for (const e of this.tiers.flat()) {
      e.startSent = false
      e.completeSent = false
      e.working = false
      e.nextAnnounce = undefined
    }
    for (const s of this.slots) { s.fails = 0; s.rerun = false }
    if (this.state === 'stopping') this.state = 'idle'
  }

  /** Scrapes every tracker that supports it (BEP 48 / BEP 15 / WebSocket); results also come as `scrape` events. */
  async scrape (): Promise<TrackerScrapeEvent[]> {
    if (this.state === 'destroyed') throw new TrackerError('ERR_TRACKER_DESTROYED', 'tracker client is destroyed')
    const signal = this.abort.signal
    const results = await Promise.all(this.tiers.flat().filter(e => !e.disabled).map(async e => {
      try {
        const r = await this.scrapeOne(e, signal)
        if (r === null) return null
        const ev: TrackerScrapeEvent = { ...r, announce: e.t.url }
        e.complete = r.complete
        e.incomplete = r.incomplete
        if (this.state !== 'destroyed') this.emit('scrape', ev)
        return ev
      } catch (err) {
        const te = asTrackerError(err, e.t.url)
        if (te.code === 'ERR_TRACKER_NO_SCRAPE') return null
        if (this.state !== 'destroyed' && te.code !== 'ERR_TRACKER_ABORTED') this.emit('warning', te)
        return null
      }
    }))
    return results.filter((r): r is TrackerScrapeEvent => r !== null)
  }

  /** Stops everything at once (no `stopped` is sent: await stop() first for that) and frees owned sockets. */
  destroy (): void {
    if (this.state === 'destroyed') return
    this.state = 'destroyed'
    for (const s of this.slots) this.clearTimer(s)
    this.abort.abort()
    for (const e of this.tiers.flat()) {
      e.unsubscribe?.()
      e.unsubscribe = undefined
      if (e.ws !== undefined) {
        this.wsPool?.release(e.ws)
        e.ws = undefined
      }
    }
    if (this.ownUdp) this.udpSocket?.close()
    if (this.ownWs) this.wsPool?.close()
  }

  private clearTimer (s: Slot): void {
    clearSlotTimer(this.timers, s)
  }

  private schedule (s: Slot, delayMs: number): void {
    scheduleSlot(this.timers, s, delayMs, () => { void this.runSlot(s) })
  }

  private eventFor (e: Entry): AnnounceEvent | undefined {
    if (!e.startSent) return 'started'
    if (this.completed && !e.completeSent) return 'completed'
    return undefined
  }

  private async runSlot (s: Slot): Promise<void> {
    if (this.state !== 'running') return
    if (s.busy) {
      s.rerun = true
      return
    }
    this.clearTimer(s)
    s.busy = true
    const signal = this.abort.signal
    try {
      let retryAfter = 0
      // A snapshot: promotion may reorder the tier while we walk it.
      for (const e of s.tiers.flat()) {
        if (e.disabled) continue
        if (this.state !== 'running' || signal.aborted) return
        const event = this.eventFor(e)
        const leftAtSend = this.getStats().left
        let res: AnnounceResponse
        try {
          res = await this.announceTo(e, event, signal)
        } catch (err) {
          if (this.state !== 'running' || signal.aborted) return
          const te = asTrackerError(err, e.t.url)
          e.fails++
          e.working = false
          e.lastError = te.message
          if (te.retryNever === true) e.disabled = true
          if (te.retryAfter !== undefined) retryAfter = Math.max(retryAfter, te.retryAfter)
          this.emit('warning', te)
          continue
        }
        if (this.state !== 'running' || signal.aborted) return
        this.onAnswer(s, e, event, leftAtSend, res)
        return
      }
      if (s.tiers.flat().every(e => e.disabled)) return
      s.fails++
      this.schedule(s, Math.max(trackerBackoff(s.fails), retryAfter) * 1000)
    } finally {
      s.busy = false
      if (s.rerun) {
        s.rerun = false
        if (this.state === 'running') void this.runSlot(s)
      }
    }
  }

  private onAnswer (s: Slot, e: Entry, event: AnnounceEvent | undefined, leftAtSend: number | null, res: AnnounceResponse): void {
    e.fails = 0
    s.fails = 0
    e.working = true
    e.lastError = undefined
    if (event === 'started') {
      e.startSent = true
      // Started as a seed: a later `completed` would be a lie.
      if (leftAtSend === 0) e.completeSent = true
    }
    if (event === 'completed') e.completeSent = true
    if (res.trackerId !== undefined) e.trackerId = res.trackerId
    const interval = Math.max(res.interval ?? this.defaultInterval, this.floor)
    e.interval = interval
    e.minInterval = res.minInterval ?? DEFAULT_MIN_INTERVAL
    if (res.complete !== undefined) e.complete = res.complete
    if (res.incomplete !== undefined) e.incomplete = res.incomplete
    promote(this.tiers[e.tier], e)
    s.minAt = this.timers.now() + e.minInterval * 1000
    this.schedule(s, interval * 1000)
    // A `completed` that became due while this announce was in flight goes out now.
    if (this.completed && !e.completeSent) s.rerun = true
    if (res.warning !== undefined) {
      this.emit('warning', new TrackerError('ERR_TRACKER_WARNING', `${e.t.url}: ${res.warning}`, { announce: e.t.url }))
    }
    this.emit('update', { announce: e.t.url, complete: res.complete, incomplete: res.incomplete, interval })
    const seen = new Set<string>()
    for (const p of res.peers) {
      const k = `${p.host}|${p.port}`
      if (seen.has(k)) continue
      seen.add(k)
      if (this.state !== 'running') return
      this.emit('peer', { host: p.host, port: p.port, announce: e.t.url })
    }
  }

  private request (e: Entry, event: AnnounceEvent | undefined): AnnounceRequest {
    const st = this.getStats()
    const req: AnnounceRequest = {
      infoHash: this.infoHashBytes,
      peerId: this.peerId,
      port: this.port,
      uploaded: st.uploaded,
      downloaded: st.downloaded,
      left: st.left,
      numwant: event === 'stopped' ? 0 : this.numwant,
      key: this.key
    }
    if (event !== undefined) req.event = event
    if (e.trackerId !== undefined) req.trackerId = e.trackerId
    return req
  }

  private udp (): UdpTrackerSocket {
    if (this.udpSocket === undefined) this.udpSocket = new UdpTrackerSocket({ timers: this.timers })
    return this.udpSocket
  }

  private wsConn (e: Entry): WsTrackerConnection {
    if (e.ws === undefined) {
      if (this.wsPool === undefined) this.wsPool = new WsTrackerPool({ timers: this.timers, timeoutMs: this.requestTimeout })
      const conn = this.wsPool.acquire(e.t.url)
      e.ws = conn
      e.unsubscribe = conn.subscribe(this.infoHash, m => {
        if (this.state === 'destroyed' || m.peerId === toHex(this.peerId)) return
        const sig: TrackerSignalEvent = { announce: e.t.url, type: m.type, peerId: m.peerId, offerId: m.offerId, data: m.data }
        if (m.type === 'offer') {
          const to = id20(m.peerId, 'peerId')
          sig.answer = answer => conn.sendAnswer(this.infoHashBytes, this.peerId, to, m.offerId, answer)
        }
        this.emit('signal', sig)
      }, () => this.onWsDrop(e))
    }
    return e.ws
  }

  /**
   * A WebSocket tracker dropped the connection: it forgot our announce, so no offers reach us until the next
   * one. Announce again after the first backoff step (17 s) unless something is due sooner; a failing
   * reconnect then backs off as usual.
   */
  private onWsDrop (e: Entry): void {
    if (this.state !== 'running' || !e.working) return
    e.working = false
    const s = this.slots.find(x => x.tiers.some(t => t.includes(e)))
    if (s === undefined || s.busy) return
    const delay = trackerBackoff(1) * 1000
    if (!s.hasTimer || (e.nextAnnounce ?? Infinity) > this.timers.now() + delay) this.schedule(s, delay)
  }

  private async announceTo (e: Entry, event: AnnounceEvent | undefined, signal: AbortSignal): Promise<AnnounceResponse> {
    const req = this.request(e, event)
    e.updating = true
    try {
      switch (e.t.kind) {
        case 'http':
          return await httpAnnounce(e.t.url, req, { signal, timeoutMs: this.requestTimeout, maxResponseBytes: this.maxResponseBytes, userAgent: this.userAgent })
        case 'udp':
          return await this.udp().announce(e.t.url, req, { signal, maxRetransmits: event === 'stopped' ? 0 : this.udpMaxRetransmits })
        case 'ws': {
          const conn = this.wsConn(e)
          let offers: RtcOffer[] | undefined
          if (this.rtc !== undefined && event !== 'stopped' && event !== 'completed') {
            offers = await this.rtc.createOffers(Math.min(this.numwant, MAX_WS_OFFERS))
          }
          return await conn.announce(req, { offers, signal })
        }
      }
    } finally {
      e.updating = false
    }
  }

  private async scrapeOne (e: Entry, signal: AbortSignal): Promise<ScrapeResult | null> {
    const hashes = [this.infoHashBytes]
    let list: ScrapeResult[]
    switch (e.t.kind) {
      case 'http':
        list = await httpScrape(e.t.url, hashes, { signal, timeoutMs: this.requestTimeout, maxResponseBytes: this.maxResponseBytes, userAgent: this.userAgent })
        break
      case 'udp':
        list = await this.udp().scrape(e.t.url, hashes, { signal, maxRetransmits: this.udpMaxRetransmits })
        break
      case 'ws':
        list = await this.wsConn(e).scrape(hashes, { signal })
        break
    }
    const r = list.find(x => x.infoHash === this.infoHash)
    if (r === undefined) throw new TrackerError('ERR_TRACKER_RESPONSE', `${e.t.url}: scrape answer has no entry for ${this.infoHash}`, { announce: e.t.url })
    return r
  }
}
