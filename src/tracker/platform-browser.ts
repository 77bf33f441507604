/**
 * Browser side of "#tracker-platform": fetch for HTTP(S) trackers (the browser decompresses; we count the
 * decompressed bytes), the global WebSocket, and no UDP (browsers cannot send datagrams).
 */
import { TrackerError } from './errors.js'
import { iterateReadable, readLimited } from '../util/read-limited.js'
import type { DatagramSocket, HttpGetOptions, HttpResult, ResolvedHost, WebSocketConstructor } from './platform.js'

export const udpSupported = false

export function createUdpSocket (_family: 4 | 6): DatagramSocket {
  throw new TrackerError('ERR_TRACKER_UNSUPPORTED', 'UDP trackers are not available in browsers')
}

export async function lookupHost (_host: string): Promise<ResolvedHost> {
  throw new TrackerError('ERR_TRACKER_UNSUPPORTED', 'UDP trackers are not available in browsers')
}

export const WebSocketImpl: WebSocketConstructor | undefined =
  typeof globalThis.WebSocket === 'function' ? globalThis.WebSocket as unknown as WebSocketConstructor : undefined

export async function httpGet (url: string, opts: HttpGetOptions): Promise<HttpResult> {
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  // Redirects are followed by the browser (which applies its own origin rules); credentials never sent.
  const res = await fetch(url, { signal, redirect: 'follow', credentials: 'omit', cache: 'no-store' })
  if (res.status !== 200) {
    res.body?.cancel().catch(() => {})
    return { status: res.status, body: new Uint8Array(0) }
  }
  const declared = Number(res.headers.get('content-length'))
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity'
  if (!encoded && Number.isFinite(declared) && declared > opts.maxBytes) {
    res.body?.cancel().catch(() => {})
    throw new TrackerError('ERR_TRACKER_TOO_LARGE', `${url}: response of ${declared} bytes is over the ${opts.maxBytes}-byte limit`)
  }
  if (res.body === null) return { status: 200, body: new Uint8Array(0) }
  const body = await readLimited(iterateReadable(res.body), opts.maxBytes,
    () => new TrackerError('ERR_TRACKER_TOO_LARGE', `${url}: response is over the ${opts.maxBytes}-byte limit`))
  return { status: 200, body }
}
