/**
 * Typed errors of the tracker layer. Codes are stable; messages are for humans.
 *  - ERR_TRACKER_URL          the announce URL is malformed or uses a scheme we never contact (file:, ftp:, ...)
 *  - ERR_TRACKER_SSRF         refused by SSRF mitigation (loopback tracker whose path is not /announce..., tracker
 *                             arguments baked into the URL's query string, IDNA host name)
 *  - ERR_TRACKER_UNSUPPORTED  the platform cannot speak this protocol (UDP trackers in browsers, no WebSocket)
 *  - ERR_TRACKER_FAILURE      the tracker answered with a failure reason (BEP 3) or a UDP error packet (BEP 15)
 *  - ERR_TRACKER_RESPONSE     the response is malformed (not bencode / not a dict / bad JSON / short packet)
 *  - ERR_TRACKER_TOO_LARGE    the response passed the size limit (1 MiB after decompression by default)
 *  - ERR_TRACKER_HTTP         the HTTP status was not 200, or a redirect could not be followed
 *  - ERR_TRACKER_TIMEOUT      no answer in time
 *  - ERR_TRACKER_NETWORK      connection / DNS / socket error
 *  - ERR_TRACKER_NO_SCRAPE    the tracker has no scrape URL (BEP 48: the path does not end in /announce...)
 *  - ERR_TRACKER_ABORTED      the request was cancelled (stop/destroy)
 *  - ERR_TRACKER_WARNING      (emitted, not thrown) the tracker answered with a `warning message`
 *  - ERR_TRACKER_OPTIONS      bad TrackerClient options (ids, port) or start() during stop()
 *  - ERR_TRACKER_DESTROYED    the TrackerClient was destroyed
 */
import { WasmTorrentError } from '../errors.js'

export class TrackerError extends WasmTorrentError {
  /** The announce URL the error is about, when there is one. */
  announce?: string
  /** Seconds the tracker asked us to wait before retrying (failure responses with `min interval` / `retry in`). */
  retryAfter?: number
  /** BEP 31 `retry in: never`: the tracker asked never to be contacted again for this torrent. */
  retryNever?: boolean

  constructor (code: string, message: string, options?: { cause?: unknown, announce?: string }) {
    super(code, message, options)
    this.name = 'TrackerError'
    if (options?.announce !== undefined) this.announce = options.announce
  }
}

/** Wraps anything thrown into a TrackerError tagged with the announce URL. */
export function asTrackerError (err: unknown, announce: string): TrackerError {
  if (err instanceof TrackerError) {
    if (err.announce === undefined) err.announce = announce
    return err
  }
  const e = err as { name?: string, message?: string } | undefined
  if (e?.name === 'AbortError') return new TrackerError('ERR_TRACKER_ABORTED', `${announce}: request aborted`, { cause: err, announce })
  if (e?.name === 'TimeoutError') return new TrackerError('ERR_TRACKER_TIMEOUT', `${announce}: timed out`, { cause: err, announce })
  return new TrackerError('ERR_TRACKER_NETWORK', `${announce}: ${e?.message ?? String(err)}`, { cause: err, announce })
}
