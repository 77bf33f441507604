/**
 * A BEP 19 web seed as a peer of the engine: `swarm.addWire(webSeed)` treats it like a wire (the members of
 * SwarmPeer). It has every piece (peerPieces is full once setPieces() is called), never chokes us except while
 * backing off after an error, never requests anything from us (the upload-side methods are no-ops) and answers
 * block requests with HTTP range requests.
 *
 * Batching: block requests are queued and, on the next microtask, contiguous queued blocks (in torrent byte
 * order, across piece boundaries) are joined into one run of at most `maxRequestBytes` (default: the larger of
 * one piece and 1 MiB). A run becomes one ranged GET per file it touches (web-seed layout.ts); pad-file parts
 * are zeros and are never requested. At most `maxWebConns` GETs are in flight. While GETs are in flight a new run
 * is only started once at least `minRequestBytes` (default one piece, at most maxRequestBytes) are queued, so the
 * engine's one-block-at-a-time refills become large requests instead of 16 KiB ones; with nothing in flight
 * whatever is queued goes at once. Blocks are handed to the engine as soon as their bytes have arrived.
 *
 * Pipeline: the engine sizes a peer's pipeline from its measured rate, capped by the peer's `reqq`; a web seed
 * reports reqq = (maxWebConns + 1) runs of maxRequestBytes, bounded to [64, 500] blocks: enough for every
 * connection to carry a full run with the next run queued.
 *
 * Errors and retries: a failed GET fails the blocks of its run with a WebSeedError (the engine re-requests them,
 * from this or another peer). Errors marked fatal (SSRF refusals, bad redirects, a server without range
 * support, a wrong Content-Range/Content-Length, a body longer than asked, 401/407/410/416 and other 4xx except
 * 403/404/408/429) destroy the web seed at once with that error. Other errors (network, timeout, 403/404/408/429/
 * 5xx, a body that ends early) make the web seed back off: it chokes (so the engine stops asking it), gives
 * back its queued blocks (ERR_WEBSEED_BACKOFF), and unchokes after retryDelayMs * 2^(n-1) (n consecutive
 * failures, capped at maxRetryDelayMs); after maxFailures consecutive failures it is destroyed with
 * ERR_WEBSEED_FAILED. Any successful GET resets the count.
 *
 * HTTP (range-fetch.ts): each part is one ranged GET, its response checked against the torrent (206/200,
 * Content-Range, Content-Length), redirects followed with the SSRF checks of url.ts on every hop. Batching into
 * runs: batching.ts.
 *
 * Bad data (case 27): a web seed's blocks are all its own, so a piece it served alone that fails its hash check
 * is blamed on it by the engine's smart ban, which destroys it with ERR_PEER_BANNED; a piece it served in part
 * bans it once the piece passes from someone else. WebSeedSet (manager.ts) then never re-adds that URL.
 */
import { Emitter } from '../util/emitter.js'
import { Bitfield } from '../bitfield/index.js'
import { SpeedMeter } from '../wire/speed.js'
import { requestKey, type PendingRequest, type RequestCallback } from '../wire/requests.js'
import type { ExtendedHandshake } from '../wire/extension.js'
import type { WireEvents } from '../wire/types.js'
import { sha1 } from '../sha1/index.js'
import { BLOCK_LENGTH } from '../engine/piece-table.js'
import { WebSeedError, asWebSeedError } from './errors.js'
import { WebSeedLayout, type RangePart, type WebSeedTorrent } from './layout.js'
import { createWebSeedHttp, type WebSeedHttp } from './platform.js'
import { parseWebSeedUrl } from './url.js'
import { BLOCK_DONE, BLOCK_QUEUED, BLOCK_SENT, BlockQueue, type BlockRequest, type Run } from './batching.js'
import { RangeFetcher } from './range-fetch.js'

export const DEFAULT_MAX_WEB_CONNS = 4
const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_MAX_FAILURES = 5
const DEFAULT_RETRY_DELAY_MS = 2_000
const DEFAULT_MAX_RETRY_DELAY_MS = 60_000
const DEFAULT_MAX_REDIRECTS = 5
const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
// Bounds of the reqq we report (the engine caps pipelines at 500 blocks; 64 blocks = 1 MiB).
const MIN_REQQ = 64
const MAX_REQQ = 500

export interface WebSeedOptions {
  /** HTTP requests in flight at once to this web seed (webtorrent's maxWebConns, default 4). */
  maxWebConns?: number
  /** ms without response headers, or between body bytes, before a request times out (default 30 s). */
  timeoutMs?: number
  /** Consecutive failed requests before the web seed is destroyed (default 5). */
  maxFailures?: number
  /** First backoff after a failure, doubled per consecutive failure (default 2 s), up to maxRetryDelayMs (60 s). */
  retryDelayMs?: number
  maxRetryDelayMs?: number
  /** Redirect hops followed per request (default 5). */
  maxRedirects?: number
  /** Largest run of blocks fetched by one request (default max(pieceLength, 1 MiB)). */
  maxRequestBytes?: number
  /** Smallest run started while other requests are in flight (default min(pieceLength, maxRequestBytes)). */
  minRequestBytes?: number
  userAgent?: string
  /**
   * The HTTP layer (default: the platform's, undici in Node, fetch in browsers), for tests. It is closed when the
   * web seed is destroyed: give each web seed its own.
   */
  http?: WebSeedHttp
}

export class WebSeed extends Emitter<WireEvents> {
  readonly type = 'webSeed' as const
  /** The web seed URL as given. */
  readonly url: string
  readonly remoteAddress: string
  readonly remotePort: number
  /** Hex SHA-1 of the URL (what webtorrent uses as a web seed's peer id). */
  readonly peerId: string
  readonly peerIdBytes: Uint8Array

  amChoking = true
  amInterested = false
  /** True only while backing off after an error. */
  peerChoking = false
  peerInterested = false
  readonly peerAllowedFast = new Set<number>()
  readonly hasFast = false
  readonly hasExtended = false
  peerExtendedHandshake: ExtendedHandshake
  peerPieces: Bitfield | null = null
  readonly maxWebConns: number

  downloaded = 0
  uploaded = 0
  /** Why the web seed closed (a coded error), or null while open or after a clean destroy(). */
  closeReason: Error | null = null
  destroyed = false
  /** Consecutive failed requests. */
  failures = 0

  readonly layout: WebSeedLayout
  private readonly http: WebSeedHttp
  private readonly fetcher: RangeFetcher
  private readonly maxFailures: number
  private readonly retryDelayMs: number
  private readonly maxRetryDelayMs: number
  private readonly maxRunBytes: number
  private readonly minRunBytes: number
  private readonly meter = new SpeedMeter()
  /** Every block requested and not answered yet (queued or sent), in request order. */
  private readonly pending = new Map<number, BlockRequest>()
  private readonly queue = new BlockQueue()
  /** Runs with parts not started yet, oldest first. */
  private readonly startable: Run[] = []
  private readonly runs = new Set<Run>()
  private inFlight = 0
  private pumpScheduled = false
  private backoffTimer: ReturnType<typeof setTimeout> | null = null

  /** Throws WebSeedError (ERR_WEBSEED_URL / ERR_WEBSEED_SSRF / ERR_WEBSEED_LAYOUT) for a URL or layout it refuses. */
  constructor (url: string, torrent: WebSeedTorrent, opts: WebSeedOptions = {}) {
    super()
    const checked = parseWebSeedUrl(url)
    this.url = checked.url
    this.layout = new WebSeedLayout(torrent, checked.parsed)
    this.remoteAddress = checked.host
    this.remotePort = checked.parsed.port !== '' ? Number(checked.parsed.port) : checked.parsed.protocol === 'https:' ? 443 : 80
    this.peerIdBytes = sha1(new TextEncoder().encode(this.url))
    this.peerId = sha1.hex(new TextEncoder().encode(this.url))
    this.maxWebConns = Math.max(1, Math.floor(opts.maxWebConns ?? DEFAULT_MAX_WEB_CONNS))
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.maxFailures = Math.max(1, opts.maxFailures ?? DEFAULT_MAX_FAILURES)
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS
    const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS
    this.maxRunBytes = Math.max(BLOCK_LENGTH, opts.maxRequestBytes ?? Math.max(torrent.pieceLength, DEFAULT_MAX_REQUEST_BYTES))
    this.minRunBytes = Math.min(this.maxRunBytes, opts.minRequestBytes ?? torrent.pieceLength)
    const userAgent = opts.userAgent ?? 'wasmtorrent'
    const blocksPerRun = Math.ceil(this.maxRunBytes / BLOCK_LENGTH)
    const reqq = Math.max(MIN_REQQ, Math.min(MAX_REQQ, (this.maxWebConns + 1) * blocksPerRun))
    this.peerExtendedHandshake = { reqq, v: 'BEP 19 web seed' }
    this.http = opts.http ?? createWebSeedHttp({ connections: this.maxWebConns, timeoutMs })
    this.fetcher = new RangeFetcher(this.url, this.http, { timeoutMs, maxRedirects, userAgent }, {
      progress: (run, from, n) => this.progress(run, from, n),
      answered: () => { this.failures = 0 },
      closed: () => this.destroyed
    })
  }

  // SwarmPeer picks on/once from Wire, so their return type is Wire: typed loosely here so a WebSeed fits.
  override on<K extends keyof WireEvents> (event: K, fn: WireEvents[K]): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    return super.on(event, fn)
  }

  override once<K extends keyof WireEvents> (event: K, fn: WireEvents[K]): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    return super.once(event, fn)
  }

  // ------------------------------------------------------------------ the peer's side of the wire

  /** Called by the swarm with the piece count: the web seed has every piece. */
  setPieces (n: number): void {
    if (this.peerPieces !== null || this.destroyed) return
    if (n !== this.layout.pieceCount) {
      this.destroy(new WebSeedError('ERR_WEBSEED_LAYOUT', `the torrent has ${n} pieces, its layout ${this.layout.pieceCount}`, { url: this.url, fatal: true }))
      return
    }
    this.peerPieces = new Bitfield(n).setAll()
  }

  get pieceCount (): number {
    return this.peerPieces === null ? -1 : this.layout.pieceCount
  }

  interested (): void {
    this.amInterested = true
  }

  uninterested (): void {
    this.amInterested = false
  }

  // Upload side: a web seed never asks us for anything.
  choke (): void {}
  unchoke (): void {}
  have (_index: number): void {}
  bitfield (_bf: Bitfield | Uint8Array): void {}
  haveAll (): void {}
  haveNone (): void {}

  get requestCount (): number {
    return this.pending.size
  }

  /** Requests not answered yet (queued or in flight), oldest first. */
  get requests (): IterableIterator<PendingRequest> {
    return this.pending.values()
  }

  downloadSpeed (): number {
    return this.meter.rate()
  }

  uploadSpeed (): number {
    return 0
  }

  /**
   * Requests a block. Returns false (callback not called) when destroyed, backing off, the block is out of
   * range or already requested. The callback gets the block or a WebSeedError (ERR_WEBSEED_*).
   */
  request (index: number, begin: number, length: number, callback?: RequestCallback): boolean {
    if (this.destroyed || this.peerChoking || this.peerPieces === null) return false
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.pieceCount) return false
    if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length <= 0 || begin + length > this.layout.pieceLengthOf(index)) return false
    const key = requestKey(index, begin)
    if (this.pending.has(key)) return false
    const offset = index * this.layout.pieceLength + begin
    const b: BlockRequest = { index, begin, length, time: Date.now(), callback, offset, state: BLOCK_QUEUED, remaining: length, run: null }
    this.pending.set(key, b)
    this.queue.add(b)
    this.schedulePump()
    return true
  }

  /** Cancels a request: its callback gets ERR_WEBSEED_CANCELLED; bytes arriving for it later are dropped. */
  cancel (index: number, begin: number, _length: number): void {
    const key = requestKey(index, begin)
    const b = this.pending.get(key)
    if (b === undefined) return
    this.pending.delete(key)
    if (b.state === BLOCK_QUEUED) {
      this.queue.remove(b)
    } else if (b.state === BLOCK_SENT && b.run !== null) {
      const run = b.run
      if (--run.live === 0) this.endRun(run) // nobody wants the rest: stop its requests
    }
    b.state = BLOCK_DONE
    b.callback?.(new WebSeedError('ERR_WEBSEED_CANCELLED', 'request cancelled', { url: this.url }))
  }

  /** Closes the web seed; pending requests fail with ERR_WEBSEED_CLOSED. `err` records why (closeReason). */
  destroy (err?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    this.closeReason = err ?? null
    this.peerChoking = true
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer)
    this.backoffTimer = null
    for (const run of [...this.runs]) this.endRun(run)
    const closed = new WebSeedError('ERR_WEBSEED_CLOSED', 'web seed closed', { url: this.url, cause: err })
    const blocks = [...this.pending.values()]
    this.pending.clear()
    this.queue.clear()
    for (const b of blocks) {
      b.state = BLOCK_DONE
      b.callback?.(closed)
    }
    this.http.close()
    // Listeners of 'close' may still read peerPieces (to subtract it from availability): free it after.
    try {
      this.emit('close', err)
    } finally {
      this.peerPieces?.destroy()
    }
  }

  // ------------------------------------------------------------------ scheduling

  private schedulePump (): void {
    if (this.pumpScheduled || this.destroyed) return
    this.pumpScheduled = true
    queueMicrotask(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  /** Starts GETs while connections are free: parts of runs already formed first, then new runs. */
  private pump (): void {
    while (!this.destroyed) {
      if (this.inFlight < this.maxWebConns) {
        const run = this.nextStartable()
        if (run !== null) {
          this.startGet(run, run.parts.shift()!)
          continue
        }
      }
      if (this.inFlight >= this.maxWebConns || this.peerChoking || this.queue.size === 0) break
      if (this.inFlight > 0 && this.queue.bytes < this.minRunBytes) break
      this.formRun()
    }
  }

  private nextStartable (): Run | null {
    while (this.startable.length > 0) {
      const run = this.startable[0]
      if (!run.over && run.parts.length > 0) return run
      this.startable.shift()
    }
    return null
  }

  /** Takes the oldest queued block and the queued blocks contiguous with it into one run. */
  private formRun (): void {
    const run = this.queue.takeRun(this.maxRunBytes)
    this.runs.add(run)
    const parts = this.layout.plan(run.start, run.buffer.length)
    run.parts = parts.filter(p => p.file >= 0)
    if (run.parts.length > 0) this.startable.push(run)
    // Pad files are zeros: their bytes are "here" already (the buffer is zero-filled).
    for (const p of parts) if (p.file < 0) this.progress(run, p.bufOffset, p.length)
    if (run.live === 0 || run.parts.length === 0) this.endRun(run)
  }

  /** Bytes [from, from + n) of the run's buffer arrived: hands over every block now complete. */
  private progress (run: Run, from: number, n: number): void {
    const to = from + n
    for (const b of run.blocks) {
      if (b.state !== BLOCK_SENT) continue
      const bs = b.offset - run.start
      const be = bs + b.length
      if (be <= from) continue
      if (bs >= to) break
      b.remaining -= Math.min(be, to) - Math.max(bs, from)
      if (b.remaining === 0) this.deliver(run, b, run.buffer.subarray(bs, be))
      if (this.destroyed || run.over) return
    }
  }

  private deliver (run: Run, b: BlockRequest, data: Uint8Array): void {
    b.state = BLOCK_DONE
    run.live--
    this.pending.delete(requestKey(b.index, b.begin))
    this.downloaded += data.length
    this.meter.add(data.length)
    try {
      this.emit('download', data.length)
      this.emit('piece', b.index, b.begin, data)
      b.callback?.(null, data)
    } catch (err) {
      // A listener's bug, not the server's: close like a Wire does (ERR_WIRE_HANDLER), never blame the web seed.
      this.destroy(new WebSeedError('ERR_WEBSEED_HANDLER', `a block handler threw: ${String(err)}`, { cause: err, url: this.url }))
    }
  }

  /** The run is finished or abandoned: stop its requests and forget it. */
  private endRun (run: Run): void {
    if (run.over) return
    run.over = true
    run.parts = []
    this.runs.delete(run)
    if (run.active > 0) run.controller.abort()
  }

  private startGet (run: Run, part: RangePart): void {
    this.inFlight++
    run.active++
    this.fetcher.fetchPart(run, part).catch((err: unknown) => this.onRunError(run, part, err)).finally(() => {
      this.inFlight--
      run.active--
      if (run.active === 0 && run.parts.length === 0) this.endRun(run)
      this.pump()
    }).catch((err: unknown) => {
      // Only a listener of ours can throw here (an error callback, 'choke'/'close' listeners): close, as above.
      this.destroy(new WebSeedError('ERR_WEBSEED_HANDLER', `a handler threw: ${String(err)}`, { cause: err, url: this.url }))
    })
  }

  private onRunError (run: Run, part: RangePart, error: unknown): void {
    if (run.over || this.destroyed) return // abandoned (cancelled, destroyed): not the server's fault
    const err = asWebSeedError(error, this.url)
    this.fetcher.forget(part.url!) // a remembered redirect target may be what failed: start from the top
    this.endRun(run)
    const failed = run.blocks.filter(b => b.state === BLOCK_SENT)
    const fatal = err.fatal || this.failures + 1 >= this.maxFailures
    if (!fatal) this.backoff()
    for (const b of failed) {
      b.state = BLOCK_DONE
      this.pending.delete(requestKey(b.index, b.begin))
      b.callback?.(err)
    }
    if (err.code === 'ERR_WEBSEED_TIMEOUT' && failed.length > 0) this.emit('timeout', failed[0].index, failed[0].begin, failed[0].length)
    if (err.fatal) {
      this.destroy(err)
    } else if (++this.failures >= this.maxFailures) {
      this.destroy(new WebSeedError('ERR_WEBSEED_FAILED', `web seed ${this.url}: ${this.failures} failures in a row, the last: ${err.message}`, { url: this.url, cause: err }))
    }
  }

  /** Chokes for retryDelayMs * 2^(failures so far), giving queued blocks back to the engine. */
  private backoff (): void {
    const delay = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** this.failures)
    if (!this.peerChoking) {
      this.peerChoking = true
      this.emit('choke')
    }
    const given = [...this.queue.blocks()]
    for (const b of given) {
      this.queue.remove(b)
      this.pending.delete(requestKey(b.index, b.begin))
      b.state = BLOCK_DONE
    }
    const err = new WebSeedError('ERR_WEBSEED_BACKOFF', `web seed ${this.url} is backing off after an error`, { url: this.url })
    for (const b of given) b.callback?.(err)
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer)
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null
      if (this.destroyed) return
      this.peerChoking = false
      this.emit('unchoke')
    }, delay)
    const t = this.backoffTimer as { unref?: () => void }
    if (typeof t.unref === 'function') t.unref()
  }
}
