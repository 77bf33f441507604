/** HTTP tracker client against a local HTTP server with crafted answers (127.0.0.1 only). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { lookup } from 'node:dns/promises'
import { gzipSync, deflateSync, createGzip } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import { encodeCompactPeers, httpAnnounce, httpScrape, TrackerError, type AnnounceRequest } from '../src/tracker/index.js'
import { httpGet as fetchGet } from '../src/tracker/platform-browser.js'

const IH = Uint8Array.from({ length: 20 }, (_, i) => 200 - i)
const PID = new TextEncoder().encode('-WW0001-000000000001')
const REQ: AnnounceRequest = { infoHash: IH, peerId: PID, port: 6881, uploaded: 0, downloaded: 0, left: 1000, numwant: 50, key: 0x12345678, event: 'started' }

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void
let server: Server
let base: string
let handler: Handler = (_req, res) => res.end()
const seen: URL[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    seen.push(url)
    handler(req, res, url)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

async function err (p: Promise<unknown>): Promise<TrackerError> {
  try { await p } catch (e) { return e as TrackerError }
  throw new Error('did not reject')
}

/** info_hash as the server received it (raw bytes from the percent-escaped query). */
function rawParam (url: URL, name: string): Uint8Array {
  const m = new RegExp(`[?&]${name}=([^&]*)`).exec(url.search)!
  return new Uint8Array(Buffer.from(unescape(m[1]), 'latin1'))
}

describe('HTTP tracker client', () => {
  it('sends the BEP 3 parameters and parses compact peers', async () => {
    handler = (_req, res) => res.end(bencode.encode({ interval: 900, complete: 2, incomplete: 1, peers: encodeCompactPeers([{ host: '10.1.2.3', port: 51413 }]) }))
    seen.length = 0
    const r = await httpAnnounce(`${base}/announce`, REQ)
    expect(r).toMatchObject({ interval: 900, complete: 2, incomplete: 1, peers: [{ host: '10.1.2.3', port: 51413 }] })
    const q = seen[0]
    expect(q.pathname).toBe('/announce')
    expect(rawParam(q, 'info_hash')).toEqual(IH)
    expect(rawParam(q, 'peer_id')).toEqual(PID)
    expect(Object.fromEntries([...q.searchParams].filter(([k]) => !['info_hash', 'peer_id'].includes(k)))).toEqual({
      port: '6881', uploaded: '0', downloaded: '0', left: '1000', corrupt: '0', key: '12345678', event: 'started',
      numwant: '50', compact: '1', no_peer_id: '1'
    })
  })

  it('parses dictionary peer lists and peers6', async () => {
    handler = (_req, res) => res.end(bencode.encode({
      interval: 60,
      peers: [{ ip: '192.0.2.1', port: 1000, 'peer id': 'p'.repeat(20) }],
      peers6: encodeCompactPeers([{ host: '2001:db8::7', port: 2000 }], 6)
    }))
    const r = await httpAnnounce(`${base}/announce`, REQ)
    expect(r.peers).toEqual([{ host: '192.0.2.1', port: 1000 }, { host: '2001:db8::7', port: 2000 }])
  })

  it('reports a failure reason', async () => {
    handler = (_req, res) => res.end(bencode.encode({ 'failure reason': 'torrent not registered' }))
    const e = await err(httpAnnounce(`${base}/announce`, REQ))
    expect(e.code).toBe('ERR_TRACKER_FAILURE')
    expect(e.message).toContain('torrent not registered')
  })

  it('reports HTTP errors and non-bencoded bodies', async () => {
    handler = (_req, res) => { res.statusCode = 503; res.end('busy') }
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_HTTP')
    handler = (_req, res) => res.end('<html>hello</html>')
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_RESPONSE')
  })

  it('decompresses gzip and deflate answers', async () => {
    const body = bencode.encode({ interval: 1234, peers: encodeCompactPeers([{ host: '1.1.1.1', port: 1 }]) })
    handler = (_req, res) => { res.setHeader('content-encoding', 'gzip'); res.end(gzipSync(body)) }
    expect((await httpAnnounce(`${base}/announce`, REQ)).interval).toBe(1234)
    handler = (_req, res) => { res.setHeader('content-encoding', 'deflate'); res.end(deflateSync(body)) }
    expect((await httpAnnounce(`${base}/announce`, REQ)).peers).toEqual([{ host: '1.1.1.1', port: 1 }])
  })

  it('stops a gzip bomb at 1 MiB after decompression (case 24)', async () => {
    const bomb = gzipSync(new Uint8Array(32 * 1024 * 1024), { level: 9 }) // ~32 KB on the wire, 32 MiB inflated
    expect(bomb.length).toBeLessThan(200_000)
    handler = (_req, res) => { res.setHeader('content-encoding', 'gzip'); res.end(bomb) }
    const t0 = Date.now()
    const e = await err(httpAnnounce(`${base}/announce`, REQ))
    expect(e.code).toBe('ERR_TRACKER_TOO_LARGE')
    expect(e.message).toContain('after decompression')
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('stops a streamed gzip bomb without content-length', async () => {
    handler = (_req, res) => {
      res.setHeader('content-encoding', 'gzip')
      const z = createGzip()
      z.pipe(res)
      const chunk = new Uint8Array(1024 * 1024)
      let n = 0
      const write = (): void => { while (n < 64 && z.write(chunk)) n++; if (n < 64) z.once('drain', write); else z.end() }
      res.on('close', () => { n = 64; z.destroy() })
      write()
    }
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_TOO_LARGE')
  })

  it('refuses oversized plain answers, declared or streamed, and honours a lower limit', async () => {
    const big = new Uint8Array(1024 * 1024 + 1).fill(0x61)
    handler = (_req, res) => res.end(big)
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_TOO_LARGE')
    handler = (_req, res) => { res.write(big.subarray(0, 600_000)); res.end(big.subarray(600_000)) } // chunked, no length
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_TOO_LARGE')
    handler = (_req, res) => res.end(bencode.encode({ interval: 1, peers: new Uint8Array(600) }))
    expect((await err(httpAnnounce(`${base}/announce`, REQ, { maxResponseBytes: 500 }))).code).toBe('ERR_TRACKER_TOO_LARGE')
    // exactly at the limit is fine
    const exact = bencode.encode({ interval: 7, peers: new Uint8Array(6) })
    handler = (_req, res) => res.end(exact)
    expect((await httpAnnounce(`${base}/announce`, REQ, { maxResponseBytes: exact.length })).interval).toBe(7)
  })

  it('times out', async () => {
    handler = () => { /* never answers */ }
    const e = await err(httpAnnounce(`${base}/announce`, REQ, { timeoutMs: 200 }))
    expect(e).toBeInstanceOf(TrackerError)
    expect(e.code).toBe('ERR_TRACKER_TIMEOUT')
  })

  it('follows redirects, re-checking each hop (case 26)', async () => {
    handler = (_req, res, url) => {
      if (url.pathname === '/announce') { res.statusCode = 302; res.setHeader('location', '/announce2' + url.search); res.end(); return }
      if (url.pathname === '/announce2') { res.end(bencode.encode({ interval: 77, peers: new Uint8Array(0) })); return }
      res.statusCode = 404
      res.end()
    }
    expect((await httpAnnounce(`${base}/announce`, REQ)).interval).toBe(77)
    // A redirect to a non-/announce path on a loopback host is refused before any request is made.
    handler = (_req, res, url) => {
      if (url.pathname === '/announce') { res.statusCode = 307; res.setHeader('location', '/admin/delete-everything'); res.end(); return }
      res.statusCode = 500
      res.end('must not be reached')
    }
    seen.length = 0
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_SSRF')
    expect(seen.map(u => u.pathname)).toEqual(['/announce'])
    handler = (_req, res) => { res.statusCode = 301; res.setHeader('location', 'file:///etc/passwd'); res.end() }
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_SSRF')
    handler = (_req, res, url) => { res.statusCode = 302; res.setHeader('location', url.pathname + '?x' + url.search.length); res.end() }
    expect((await err(httpAnnounce(`${base}/announce`, REQ))).code).toBe('ERR_TRACKER_HTTP') // redirect loop
  })

  it('refuses loopback trackers with other paths, before connecting', async () => {
    seen.length = 0
    expect((await err(httpAnnounce(`${base}/admin`, REQ))).code).toBe('ERR_TRACKER_SSRF')
    expect((await err(httpAnnounce(`http://localhost:${new URL(base).port}/x`, REQ))).code).toBe('ERR_TRACKER_SSRF')
    expect(seen).toHaveLength(0)
  })

  it('refuses a host name that resolves to loopback when the path is not /announce (checked on the DNS answer)', async (ctx) => {
    // /etc/hosts here maps extra names to 127.0.0.1; skip where it does not.
    const names = ['vm', 'runsc']
    let name: string | undefined
    for (const n of names) {
      try { if ((await lookup(n)).address.startsWith('127.')) { name = n; break } } catch {}
    }
    if (name === undefined) { ctx.skip(); return }
    handler = (_req, res) => res.end(bencode.encode({ interval: 5, peers: new Uint8Array(0) }))
    seen.length = 0
    const port = new URL(base).port
    expect((await err(httpAnnounce(`http://${name}:${port}/tracker`, REQ))).code).toBe('ERR_TRACKER_SSRF')
    expect(seen).toHaveLength(0)
    expect((await httpAnnounce(`http://${name}:${port}/announce`, REQ)).interval).toBe(5)
  })

  it('scrapes per BEP 48 (loopback /scrape derived from /announce is allowed)', async () => {
    const ih2 = new Uint8Array(20).fill(0x41)
    handler = (_req, res, url) => {
      expect(url.pathname).toBe('/scrape')
      const te = new TextEncoder()
      const str = (b: Uint8Array): number[] => [...te.encode(`${b.length}:`), ...b]
      res.end(Uint8Array.from([...te.encode('d5:filesd'), ...str(ih2), ...bencode.encode({ complete: 5, downloaded: 50, incomplete: 6 }),
        ...str(IH), ...bencode.encode({ complete: 1, downloaded: 2, incomplete: 3 }), ...te.encode('ee')]))
    }
    seen.length = 0
    const r = await httpScrape(`${base}/announce`, [IH, ih2])
    expect(r).toEqual([
      { infoHash: Buffer.from(IH).toString('hex'), complete: 1, incomplete: 3, downloaded: 2 },
      { infoHash: Buffer.from(ih2).toString('hex'), complete: 5, incomplete: 6, downloaded: 50 }
    ])
    expect(seen[0].search.split('&').filter(p => p.includes('info_hash'))).toHaveLength(2)
    expect((await err(httpScrape(`http://tracker.invalid/tracker.php`, [IH]))).code).toBe('ERR_TRACKER_NO_SCRAPE')
  })

  it('browser transport (fetch): counts the decompressed bytes too', async () => {
    const opts = { maxBytes: 1024 * 1024, timeoutMs: 5000, refuseLoopback: false, userAgent: 'test' }
    handler = (_req, res) => { res.setHeader('content-encoding', 'gzip'); res.end(gzipSync(new Uint8Array(8 * 1024 * 1024))) }
    const e = await err(fetchGet(`${base}/announce`, opts))
    expect(e.code).toBe('ERR_TRACKER_TOO_LARGE')
    handler = (_req, res) => { res.setHeader('content-encoding', 'gzip'); res.end(gzipSync(new Uint8Array(1000).fill(1))) }
    expect((await fetchGet(`${base}/announce`, opts)).body).toEqual(new Uint8Array(1000).fill(1))
    handler = (_req, res) => { res.statusCode = 404; res.end('x') }
    expect((await fetchGet(`${base}/announce`, opts)).status).toBe(404)
  })
})
