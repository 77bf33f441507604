/**
 * A web seed's HTTP side (BEP 19): one ranged GET of one file part, streamed into its run's buffer.
 *
 * Responses: 206 with a Content-Range naming exactly the requested bytes and the file's size from the torrent,
 * or 200 when the range is the whole file; Content-Length, when present, must match; no content encoding; the
 * body is streamed into place and counted: more bytes than requested stop the request at the chunk that passes
 * the end (nothing past it is kept), fewer is an error. No headers within `timeoutMs`, or a body that stalls
 * for `timeoutMs`, is a timeout.
 *
 * Redirects (Node): followed here, at most `maxRedirects` hops, each hop checked again (scheme, host name, the
 * local-address rules of url.ts on its resolved addresses). A redirect target that answered is remembered per
 * file URL and used directly next time (forgotten on any error). Browsers: fetch follows redirects itself; the
 * final URL is checked.
 */
import { WebSeedError } from './errors.js'
import type { Run } from './batching.js'
import type { RangePart } from './layout.js'
import type { RangeResponse, WebSeedHttp } from './platform.js'
import { checkHop, checkRedirectTarget, hostOf, isIpLiteral } from './url.js'

// HTTP statuses that do not mean the server is broken for this torrent: back off and retry.
const RETRYABLE_STATUS = new Set([403, 404, 408, 425, 429])

/** What the web seed does with what arrives. */
export interface FetchHooks {
  /** Bytes [from, from + n) of the run's buffer arrived. */
  progress (run: Run, from: number, n: number): void
  /** A part arrived whole: the server answered well. */
  answered (): void
  /** The web seed was destroyed: stop reading. */
  closed (): boolean
}

export class RangeFetcher {
  /** The web seed URL (SSRF checks compare every hop with it). */
  private readonly url: string
  private readonly http: WebSeedHttp
  private readonly timeoutMs: number
  private readonly maxRedirects: number
  private readonly userAgent: string
  private readonly hooks: FetchHooks
  /** File URL -> the redirect target that last answered it, and whether the original host was local. */
  private readonly redirects = new Map<string, { target: string, originLocal: boolean }>()

  constructor (url: string, http: WebSeedHttp, opts: { timeoutMs: number, maxRedirects: number, userAgent: string },
    hooks: FetchHooks) {
    this.url = url
    this.http = http
    this.timeoutMs = opts.timeoutMs
    this.maxRedirects = opts.maxRedirects
    this.userAgent = opts.userAgent
    this.hooks = hooks
  }

  /** Forgets the redirect target remembered for `fileUrl` (it may be what failed: start from the top). */
  forget (fileUrl: string): void {
    this.redirects.delete(fileUrl)
  }

  /** One ranged GET of one file part into the run's buffer. */
  async fetchPart (run: Run, part: RangePart): Promise<void> {
    const url = part.url!
    const watchdog = new AbortController()
    const signal = AbortSignal.any([run.controller.signal, watchdog.signal])
    let last = Date.now()
    let timedOut = false
    let timer: ReturnType<typeof setTimeout> | null = null
    const arm = (ms: number): void => {
      timer = setTimeout(() => {
        const idle = Date.now() - last
        if (idle < this.timeoutMs) { arm(this.timeoutMs - idle); return }
        timedOut = true
        watchdog.abort()
      }, ms)
    }
    arm(this.timeoutMs)
    let res: RangeResponse | null = null
    try {
      res = await this.open(url, part, signal)
      last = Date.now()
      this.checkResponse(res, part, url)
      let received = 0
      for await (const chunk of res.body) {
        last = Date.now()
        if (run.over) return
        const room = part.length - received
        if (chunk.length > room) {
          if (room > 0) {
            run.buffer.set(chunk.subarray(0, room), part.bufOffset + received)
            received += room
          }
          throw new WebSeedError('ERR_WEBSEED_LENGTH', `${url}: the body is longer than the ${part.length} bytes requested`, { url, fatal: true })
        }
        run.buffer.set(chunk, part.bufOffset + received)
        // The whole part is here: the server answered well (reset before the last blocks are handed over).
        if (chunk.length === room) this.hooks.answered()
        this.hooks.progress(run, part.bufOffset + received, chunk.length)
        received += chunk.length
        if (this.hooks.closed()) return
      }
      if (received < part.length) {
        throw new WebSeedError('ERR_WEBSEED_LENGTH', `${url}: the body ended after ${received} of ${part.length} bytes`, { url })
      }
    } catch (err) {
      res?.cancel()
      if (timedOut) throw new WebSeedError('ERR_WEBSEED_TIMEOUT', `${url}: nothing received for ${this.timeoutMs} ms`, { url, cause: err })
      throw err
    } finally {
      if (timer !== null) clearTimeout(timer)
    }
  }

  /** Sends the GET, following redirects (Node) with the SSRF checks on every hop. */
  private async open (fileUrl: string, part: RangePart, signal: AbortSignal): Promise<RangeResponse> {
    const cached = this.redirects.get(fileUrl)
    let current = cached?.target ?? fileUrl
    let originLocal: boolean | null = cached?.originLocal ?? null
    for (let hop = 0; ; hop++) {
      const u = new URL(current)
      const host = hostOf(u)
      const addresses = isIpLiteral(host) ? [host] : await raceAbort(this.http.resolve(host), signal)
      originLocal = checkHop(u, addresses, originLocal, this.url)
      const res = await this.http.get({ url: current, start: part.start, end: part.start + part.length - 1, signal, userAgent: this.userAgent })
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        res.cancel()
        const location = res.header('location')
        if (location === null) {
          throw new WebSeedError('ERR_WEBSEED_REDIRECT', `${current}: HTTP ${res.status} without a Location`, { url: current, fatal: true })
        }
        if (hop >= this.maxRedirects) {
          throw new WebSeedError('ERR_WEBSEED_REDIRECT', `${fileUrl}: more than ${this.maxRedirects} redirects`, { url: current, fatal: true })
        }
        current = checkRedirectTarget(location, current, this.url).toString()
        continue
      }
      if (res.redirected) {
        try {
          checkHop(new URL(res.url), null, originLocal, this.url)
        } catch (err) {
          res.cancel()
          throw err
        }
      }
      if (current !== fileUrl && res.status >= 200 && res.status < 300) this.redirects.set(fileUrl, { target: current, originLocal })
      return res
    }
  }

  /** Status and headers must describe exactly the requested bytes of the right file. */
  private checkResponse (res: RangeResponse, part: RangePart, url: string): void {
    const bad = (why: string): never => {
      throw new WebSeedError('ERR_WEBSEED_RESPONSE', `${url}: ${why}`, { url, fatal: true })
    }
    const { status } = res
    const end = part.start + part.length - 1
    if (status === 206) {
      const cr = res.header('content-range')
      if (cr === null) {
        // Browsers hide Content-Range from cross-origin responses unless the server exposes it.
        if (this.http.seesAllHeaders) bad('206 without a Content-Range')
      } else {
        const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(cr)
        if (m === null) bad(`unreadable Content-Range ${JSON.stringify(cr)}`)
        const [, a, b, total] = m as RegExpExecArray
        if (Number(a) !== part.start || Number(b) !== end) bad(`Content-Range ${cr} for bytes ${part.start}-${end}`)
        if (total !== '*' && Number(total) !== part.fileLength) bad(`the file has ${total} bytes, the torrent says ${part.fileLength}`)
      }
    } else if (status === 200) {
      if (part.start !== 0 || part.length !== part.fileLength) bad('answered a range request with the whole file (no range support)')
    } else if (status >= 200 && status < 300) {
      bad(`unexpected HTTP ${status}`)
    } else {
      res.cancel()
      const fatal = !(RETRYABLE_STATUS.has(status) || status >= 500)
      throw new WebSeedError('ERR_WEBSEED_HTTP', `${url}: HTTP ${status}`, { url, status, fatal })
    }
    const encoding = res.header('content-encoding')
    if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') bad(`content encoding ${encoding}`)
    const cl = res.header('content-length')
    if (cl !== null && Number(cl) !== part.length) bad(`Content-Length ${cl} for ${part.length} bytes`)
  }
}

function raceAbort<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(v => { signal.removeEventListener('abort', onAbort); resolve(v) },
      e => { signal.removeEventListener('abort', onAbort); reject(e) })
  })
}
