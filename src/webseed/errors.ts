/**
 * Typed errors of web seeds (BEP 19). Codes are stable; messages are for humans.
 *  - ERR_WEBSEED_URL        the web seed URL (or a redirect's Location) is malformed or not http(s)
 *  - ERR_WEBSEED_SSRF       refused by SSRF mitigation: IDNA / non-ASCII host, a local address with a query
 *                           string, a redirect from a public address to a local one (bad-input case 26)
 *  - ERR_WEBSEED_REDIRECT   too many redirects, or a redirect without a usable Location
 *  - ERR_WEBSEED_HTTP       the server answered with an error status (`status` says which)
 *  - ERR_WEBSEED_RESPONSE   the response does not answer the range asked for: wrong or missing Content-Range,
 *                           200 with a whole file for a partial range (no range support), wrong Content-Length,
 *                           a content encoding, a file of another size than the torrent says
 *  - ERR_WEBSEED_LENGTH     the body is longer than requested (stopped at once) or ends early
 *  - ERR_WEBSEED_TIMEOUT    no headers, or no body bytes, within the timeout
 *  - ERR_WEBSEED_NETWORK    connection / DNS / socket error
 *  - ERR_WEBSEED_FAILED     (close reason) too many consecutive failures; `cause` is the last one
 *  - ERR_WEBSEED_BACKOFF    a queued request was given back because the web seed is backing off after an error
 *  - ERR_WEBSEED_CANCELLED  the request was cancelled (cancel())
 *  - ERR_WEBSEED_CLOSED     the web seed was destroyed with the request pending
 *  - ERR_WEBSEED_LAYOUT     the torrent layout given to the web seed is inconsistent
 *  - ERR_WEBSEED_BANNED     (WebSeedSet) the URL belongs to a web seed banned for bad data
 *  - ERR_WEBSEED_HANDLER    (close reason) one of our own listeners threw while handling a block
 * A web seed banned by the engine's smart ban closes with the engine's ERR_PEER_BANNED.
 */
import { WasmTorrentError } from '../errors.js'

export class WebSeedError extends WasmTorrentError {
  /** The web seed (or request) URL the error is about. */
  url?: string
  /** HTTP status, for ERR_WEBSEED_HTTP. */
  status?: number
  /**
   * The server cannot serve this torrent correctly (retrying will not help): the web seed is destroyed at once
   * instead of backing off.
   */
  fatal: boolean

  constructor (code: string, message: string, options?: { cause?: unknown, url?: string, status?: number, fatal?: boolean }) {
    super(code, message, options)
    this.name = 'WebSeedError'
    if (options?.url !== undefined) this.url = options.url
    if (options?.status !== undefined) this.status = options.status
    this.fatal = options?.fatal ?? false
  }
}

/** Wraps anything thrown by the HTTP layer into a WebSeedError. */
export function asWebSeedError (err: unknown, url: string): WebSeedError {
  if (err instanceof WebSeedError) return err
  const e = err as { name?: string, message?: string, code?: string, cause?: unknown } | undefined
  if (e?.cause instanceof WebSeedError) return e.cause
  const code = e?.code ?? ''
  if (e?.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new WebSeedError('ERR_WEBSEED_TIMEOUT', `${url}: timed out`, { cause: err, url })
  }
  return new WebSeedError('ERR_WEBSEED_NETWORK', `${url}: ${e?.message ?? String(err)}`, { cause: err, url })
}
