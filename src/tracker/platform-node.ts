/**
 * Node side of "#tracker-platform": undici for HTTP(S) trackers and WebSocket trackers, node:dgram for UDP.
 *
 * HTTP bodies are decompressed here (gzip/deflate; we ask for gzip like libtorrent) and counted after
 * decompression, so a gzip bomb stops at the limit with ERR_TRACKER_TOO_LARGE (bad-input case 24) and never
 * buffers more than the limit plus one zlib chunk. With `refuseLoopback`, the connection's DNS answers are
 * filtered: a host name that resolves only to loopback addresses is refused (libtorrent's ssrf_mitigation checks
 * the resolved endpoints the same way).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { lookup as dnsLookupAsync } from 'node:dns/promises'
import type { Readable } from 'node:stream'
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib'
import { undici } from '../util/lazy-node.js'
import { TrackerError } from './errors.js'
import type { DatagramSocket, HttpGetOptions, HttpResult, ResolvedHost, WebSocketConstructor } from './platform.js'
import { isLoopbackAddress } from './url.js'

export const udpSupported = true

// Node 20 has no global WebSocket without --experimental-websocket; undici's is the same implementation,
// loaded when the first socket is made (a constructor that returns an object makes `new` yield that object).
function UndiciWebSocket (url: string, protocols?: string | string[]): unknown {
  return new (undici().WebSocket)(url, protocols)
}
export const WebSocketImpl: WebSocketConstructor | undefined =
  (typeof globalThis.WebSocket === 'function' ? globalThis.WebSocket : UndiciWebSocket) as unknown as WebSocketConstructor

export function createUdpSocket (family: 4 | 6): DatagramSocket {
  const sock: UdpSocket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 })
  let bound = false
  let closed = false
  return {
    send (data, port, address) {
      if (closed) return
      // The first send binds an ephemeral port on all addresses; replies are matched by transaction id and source.
      bound = true
      sock.send(data, port, address)
    },
    onMessage (fn) {
      sock.on('message', (msg, rinfo) => fn(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port }))
    },
    onError (fn) { sock.on('error', fn) },
    ref () { if (bound && !closed) sock.ref() },
    unref () { if (bound && !closed) sock.unref() },
    close () {
      if (closed) return
      closed = true
      try { sock.close() } catch { /* never bound */ }
    }
  }
}

export async function lookupHost (host: string): Promise<ResolvedHost> {
  const r = await dnsLookupAsync(host)
  return { address: r.address, family: r.family === 6 ? 6 : 4 }
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void

/** dns.lookup for net.connect that drops loopback answers (SSRF mitigation for non-/announce paths). */
function lookupRefusingLoopback (hostname: string, options: { all?: boolean } & Record<string, unknown>, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addrs) => {
    if (err) return callback(err, '')
    const allowed = (addrs as LookupAddress[]).filter(a => !isLoopbackAddress(a.address))
    if (allowed.length === 0) {
      return callback(new TrackerError('ERR_TRACKER_SSRF', `${hostname} resolves to a loopback address and the tracker path is not /announce`), '')
    }
    if (options.all) callback(null, allowed)
    else callback(null, allowed[0].address, allowed[0].family)
  })
}

function discard (body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

export async function httpGet (url: string, opts: HttpGetOptions): Promise<HttpResult> {
  const connect: Record<string, unknown> = { timeout: opts.timeoutMs }
  if (opts.refuseLoopback) connect.lookup = lookupRefusingLoopback
  const agent = new (undici().Agent)({ connect })
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  try {
    const res = await undici().request(url, {
      dispatcher: agent,
      method: 'GET',
      headers: { 'user-agent': opts.userAgent, 'accept-encoding': 'gzip, deflate' },
      signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs
    })
    const body = res.body as unknown as Readable
    if (res.statusCode >= 300 && res.statusCode < 400) {
      discard(body)
      const loc = res.headers.location
      return { status: res.statusCode, location: Array.isArray(loc) ? loc[0] : loc, body: new Uint8Array(0) }
    }
    if (res.statusCode !== 200) {
      discard(body)
      return { status: res.statusCode, body: new Uint8Array(0) }
    }
    const encodingHeader = res.headers['content-encoding']
    const encoding = (Array.isArray(encodingHeader) ? encodingHeader.join(',') : encodingHeader ?? 'identity').trim().toLowerCase()
    const declared = Number(res.headers['content-length'])
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard(body)
      throw new TrackerError('ERR_TRACKER_TOO_LARGE', `${url}: response of ${declared} bytes is over the ${opts.maxBytes}-byte limit`)
    }
    let source: Readable = body
    let zlib: Gunzip | Inflate | undefined
    if (encoding === 'gzip' || encoding === 'x-gzip') zlib = createGunzip()
    else if (encoding === 'deflate') zlib = createInflate()
    else if (encoding !== 'identity' && encoding !== '') {
      discard(body)
      throw new TrackerError('ERR_TRACKER_RESPONSE', `${url}: unsupported content-encoding ${encoding}`)
    }
    if (zlib !== undefined) {
      const z = zlib
      body.on('error', err => z.destroy(err))
      z.on('error', () => discard(body))
      source = body.pipe(z)
    }
    const parts: Uint8Array[] = []
    let total = 0
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        total += chunk.length
        if (total > opts.maxBytes) {
          throw new TrackerError('ERR_TRACKER_TOO_LARGE', `${url}: response is over the ${opts.maxBytes}-byte limit` +
            (zlib !== undefined ? ' after decompression' : ''))
        }
        parts.push(chunk)
      }
    } catch (err) {
      discard(body)
      zlib?.destroy()
      if (err instanceof TrackerError) throw err
      if (zlib !== undefined && (err as { code?: string }).code?.startsWith('Z_')) {
        throw new TrackerError('ERR_TRACKER_RESPONSE', `${url}: bad ${encoding} body: ${(err as Error).message}`, { cause: err })
      }
      throw err
    }
    const out = new Uint8Array(total)
    let o = 0
    for (const p of parts) { out.set(p, o); o += p.length }
    return { status: 200, body: out }
  } catch (err) {
    // undici wraps connector errors; surface our SSRF refusal as itself.
    const cause = (err as { cause?: unknown }).cause
    if (!(err instanceof TrackerError) && cause instanceof TrackerError) throw cause
    throw err
  } finally {
    agent.destroy().catch(() => {})
  }
}
