/**
 * Browser side of "#webseed-platform": fetch. Browsers follow redirects themselves (a cross-origin redirect
 * cannot be inspected), cannot resolve names, and apply their own private-network rules; the caller still checks
 * the final URL of a redirected response. Content-Range is only readable when the server exposes it
 * (Access-Control-Expose-Headers); without it the body length is checked alone.
 */
import { iterateReadable } from '../util/read-limited.js'
import type { RangeRequest, RangeResponse, WebSeedHttp, WebSeedHttpOptions } from './platform.js'

export function createWebSeedHttp (_opts: WebSeedHttpOptions): WebSeedHttp {
  return {
    followsRedirects: true,
    seesAllHeaders: false,

    async resolve (_host: string): Promise<string[] | null> {
      return null
    },

    async get (req: RangeRequest): Promise<RangeResponse> {
      // A single "bytes=a-b" range is a CORS-safelisted request header: no preflight. User-Agent cannot be set.
      const res = await fetch(req.url, {
        headers: { range: `bytes=${req.start}-${req.end}` },
        signal: req.signal,
        redirect: 'follow',
        credentials: 'omit',
        cache: 'no-store'
      })
      const stream = res.body
      return {
        status: res.status,
        header: (name: string) => res.headers.get(name),
        url: res.url || req.url,
        redirected: res.redirected,
        body: stream === null ? empty() : iterateReadable(stream),
        cancel () {
          stream?.cancel().catch(() => {})
        }
      }
    },

    close () {}
  }
}

async function * empty (): AsyncGenerator<Uint8Array> {}
