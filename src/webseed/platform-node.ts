/**
 * Node side of "#webseed-platform": undici with one Agent per web seed (keep-alive, at most `connections`
 * sockets per origin). Redirects are not followed here (the caller checks each hop). Host names are resolved by
 * resolve(), which the caller checks against the SSRF rules before every request; the Agent's DNS lookup then
 * answers only from those pinned, checked addresses, so the connection cannot go somewhere else.
 */
import { lookup as dnsLookupAsync } from 'node:dns/promises'
import type { LookupAddress } from 'node:dns'
import type { Readable } from 'node:stream'
import { undici } from '../util/lazy-node.js'
import { WebSeedError } from './errors.js'
import type { RangeRequest, RangeResponse, WebSeedHttp, WebSeedHttpOptions } from './platform.js'
import { isIpLiteral, isLocalAddress } from './url.js'

// Re-resolve a host after this long (CDNs rotate addresses); the new answer is checked again.
const PIN_TTL_MS = 60_000

interface Pin {
  addrs: LookupAddress[]
  local: boolean
  time: number
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void

function normalizeHost (h: string): string {
  let s = h.toLowerCase()
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1)
  return s
}

export function createWebSeedHttp (opts: WebSeedHttpOptions): WebSeedHttp {
  const pins = new Map<string, Pin>()
  const lookup = (hostname: string, options: { all?: boolean, family?: number | string } & Record<string, unknown>, callback: LookupCallback): void => {
    const pin = pins.get(normalizeHost(hostname))
    const fam = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0)
    const addrs = pin === undefined ? [] : pin.addrs.filter(a => fam !== 4 && fam !== 6 ? true : a.family === fam)
    if (addrs.length === 0) {
      const err = new WebSeedError('ERR_WEBSEED_SSRF', `${hostname}: no checked address to connect to`, { fatal: true })
      callback(err, '')
      return
    }
    if (options.all === true) callback(null, addrs)
    else callback(null, addrs[0].address, addrs[0].family)
  }
  const agent = new (undici().Agent)({
    connections: opts.connections,
    connect: { lookup, timeout: opts.timeoutMs } as Record<string, unknown>,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs
  })

  return {
    followsRedirects: false,
    seesAllHeaders: true,

    async resolve (host: string): Promise<string[] | null> {
      const h = normalizeHost(host)
      if (isIpLiteral(h)) return [h]
      const old = pins.get(h)
      if (old !== undefined && Date.now() - old.time < PIN_TTL_MS) return old.addrs.map(a => a.address)
      const addrs = await dnsLookupAsync(h, { all: true, verbatim: true })
      if (addrs.length === 0) throw new WebSeedError('ERR_WEBSEED_NETWORK', `${host}: no address`)
      const local = addrs.some(a => isLocalAddress(a.address))
      if (old !== undefined && old.local !== local) {
        throw new WebSeedError('ERR_WEBSEED_SSRF', `${host} moved between public and local addresses`, { fatal: true })
      }
      pins.set(h, { addrs, local, time: Date.now() })
      return addrs.map(a => a.address)
    },

    async get (req: RangeRequest): Promise<RangeResponse> {
      const res = await undici().request(req.url, {
        dispatcher: agent,
        method: 'GET',
        headers: { range: `bytes=${req.start}-${req.end}`, 'user-agent': req.userAgent, 'accept-encoding': 'identity' },
        signal: req.signal
      })
      const body = res.body as unknown as Readable
      return {
        status: res.statusCode,
        header (name: string): string | null {
          const v = res.headers[name]
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v)
        },
        url: req.url,
        redirected: false,
        body: body as unknown as AsyncIterable<Uint8Array>,
        cancel () {
          body.on('error', () => {})
          body.destroy()
        }
      }
    },

    close () {
      agent.destroy().catch(() => {})
    }
  }
}
