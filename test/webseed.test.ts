import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSeed, type WebSeedError, type WebSeedHttp, type WebSeedOptions, type RangeResponse } from '../src/webseed/index.js'
import { WebSeedServer } from './helpers/webseed-server.js'
import { buildTorrent, serveTorrent, type TestTorrent } from './helpers/webseed-torrent.js'

const BLOCK = 16384

let server: WebSeedServer
const seeds: WebSeed[] = []

beforeAll(async () => { server = await WebSeedServer.start() })
afterAll(async () => { await server.close() })
afterEach(() => {
  for (const s of seeds.splice(0)) s.destroy()
  server.files.clear()
  server.redirects.clear()
  server.mode = 'ok'
  server.modeFor = undefined
  server.delayMs = 0
  server.resetStats()
})

function seed (url: string, t: TestTorrent, opts: WebSeedOptions = {}): WebSeed {
  const ws = new WebSeed(url, t.torrent, opts)
  ws.setPieces(t.n)
  seeds.push(ws)
  return ws
}

interface Answer { err: WebSeedError | null, data?: Uint8Array }

function get (ws: WebSeed, index: number, begin: number, length: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const ok = ws.request(index, begin, length, (err, data) => resolve({ err: err as WebSeedError | null, data }))
    if (!ok) reject(new Error(`request ${index}:${begin} refused`))
  })
}

/** Requests every block of the given pieces (in this tick, so they can be batched). */
function getPieces (ws: WebSeed, t: TestTorrent, pieces: number[]): Promise<Answer[]> {
  const out: Array<Promise<Answer>> = []
  for (const i of pieces) {
    const len = Math.min(t.torrent.pieceLength, t.torrent.length - i * t.torrent.pieceLength)
    for (let b = 0; b < len; b += BLOCK) out.push(get(ws, i, b, Math.min(BLOCK, len - b)))
  }
  return Promise.all(out)
}

function expectPieces (answers: Answer[], t: TestTorrent, pieces: number[]): void {
  let k = 0
  for (const i of pieces) {
    const len = Math.min(t.torrent.pieceLength, t.torrent.length - i * t.torrent.pieceLength)
    for (let b = 0; b < len; b += BLOCK) {
      const a = answers[k++]
      expect(a.err).toBeNull()
      const start = i * t.torrent.pieceLength + b
      expect(Buffer.from(a.data!).equals(Buffer.from(t.data.subarray(start, start + Math.min(BLOCK, len - b))))).toBe(true)
    }
  }
}

const closed = (ws: WebSeed) => new Promise<Error | undefined>(resolve => ws.once('close', resolve))

describe('WebSeed: ranged GETs', () => {
  it('single-file: one GET per piece, byte-identical blocks', async () => {
    const PL = 64 * 1024
    const t = buildTorrent('one.bin', [{ path: [], length: 5 * PL + 1234 }], PL, 3, true)
    serveTorrent(server, t, '/seed/', true)
    const ws = seed(server.origin + '/seed/one.bin', t)
    for (let i = 0; i < t.n; i++) {
      expectPieces(await getPieces(ws, t, [i]), t, [i])
    }
    expect(server.log.map(r => [r.path, r.start, r.end, r.status])).toEqual(
      Array.from({ length: t.n }, (_, i) => ['/seed/one.bin', i * PL, Math.min((i + 1) * PL, t.data.length) - 1, 206]))
    expect(ws.downloaded).toBe(t.data.length)
    expect(ws.requestCount).toBe(0)
  })

  it('a URL ending in / gets the name (single-file)', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('with space ü.bin', [{ path: [], length: PL }], PL, 4, true)
    serveTorrent(server, t, '/dir/', true)
    const ws = seed(server.origin + '/dir/', t)
    expectPieces(await getPieces(ws, t, [0]), t, [0])
    expect(server.log[0].path).toBe('/dir/with space ü.bin')
  })

  it('batches contiguous blocks across pieces into one request, up to maxRequestBytes', async () => {
    const PL = 64 * 1024
    const t = buildTorrent('b.bin', [{ path: [], length: 24 * PL }], PL, 5, true)
    serveTorrent(server, t, '/seed/', true)
    const ws = seed(server.origin + '/seed/b.bin', t)
    const pieces = Array.from({ length: 20 }, (_, i) => i)
    expectPieces(await getPieces(ws, t, pieces), t, pieces)
    // Default maxRequestBytes = max(pieceLength, 1 MiB) = 16 pieces.
    expect(server.log.map(r => [r.start, r.end])).toEqual([[0, 16 * PL - 1], [16 * PL, 20 * PL - 1]])
  })

  it('keeps at most maxWebConns requests in flight', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('c.bin', [{ path: [], length: 40 * PL }], PL, 6, true)
    serveTorrent(server, t, '/seed/', true)
    server.delayMs = 60
    const pieces = Array.from({ length: 12 }, (_, i) => i * 3) // not contiguous: one request each
    const ws4 = seed(server.origin + '/seed/c.bin', t)
    expectPieces(await getPieces(ws4, t, pieces), t, pieces)
    expect(server.log.length).toBe(12)
    expect(server.maxActive).toBe(4)
    server.resetStats()
    const ws2 = seed(server.origin + '/seed/c.bin', t, { maxWebConns: 2 })
    expectPieces(await getPieces(ws2, t, pieces), t, pieces)
    expect(server.maxActive).toBe(2)
    expect(ws4.peerExtendedHandshake.reqq).toBe(5 * 64) // (maxWebConns + 1) runs of 1 MiB
  })

  it('multi-file: pad files never requested, 0-byte files skipped, blocks spanning files joined', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('multi', [
      { path: ['empty'], length: 0 },
      { path: ['a', 'first file.txt'], length: 20000 },
      { path: ['.pad', 'x'], length: PL - 20000, pad: true },
      { path: ['b'], length: 2 * PL + 5000 },
      { path: ['empty2'], length: 0 },
      ...Array.from({ length: 12 }, (_, i) => ({ path: ['tiny', `t${i}`], length: 1000 + i })),
      { path: ['ünïcode #1'], length: 3 * BLOCK + 17 }
    ], PL, 7)
    serveTorrent(server, t)
    const ws = seed(server.origin + '/seed/', t)
    const pieces = Array.from({ length: t.n }, (_, i) => i)
    for (const i of pieces) expectPieces(await getPieces(ws, t, [i]), t, [i])
    const paths = new Set(server.log.map(r => r.path))
    expect([...paths].some(p => p.includes('.pad') || p.includes('empty'))).toBe(false)
    expect(paths.has('/seed/multi/ünïcode #1')).toBe(true)
    expect(server.log.every(r => r.status === 206 && r.end >= r.start)).toBe(true)
    // Every byte of every user file was requested exactly once.
    const covered = new Map<string, number>()
    for (const r of server.log) covered.set(r.path, (covered.get(r.path) ?? 0) + r.end - r.start + 1)
    t.torrent.files.forEach(f => { if (f.length > 0) expect(covered.get('/seed/' + f.path)).toBe(f.length) })
  })

  it('a 200 with the whole file is fine when the range is the whole file', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('m', [{ path: ['x'], length: 1000 }, { path: ['y'], length: PL }], PL, 8)
    serveTorrent(server, t)
    server.mode = 'ignore-range'
    const ws = seed(server.origin + '/seed/', t)
    expectPieces(await getPieces(ws, t, [0, 1]), t, [0, 1])
    expect(ws.destroyed).toBe(false)
  })

  it('follows a redirect and remembers it for the file', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('r.bin', [{ path: [], length: 4 * PL }], PL, 9, true)
    server.files.set('/real/r.bin', t.data)
    server.redirects.set('/seed/r.bin', server.origin + '/real/r.bin')
    const ws = seed(server.origin + '/seed/r.bin', t)
    expectPieces(await getPieces(ws, t, [0]), t, [0])
    expectPieces(await getPieces(ws, t, [2]), t, [2])
    expect(server.log.map(r => [r.path, r.status])).toEqual([['/seed/r.bin', 302], ['/real/r.bin', 206], ['/real/r.bin', 206]])
  })

  it('localhost names resolve and connect to the checked address', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('l.bin', [{ path: [], length: PL }], PL, 10, true)
    serveTorrent(server, t, '/seed/', true)
    const ws = seed(`http://localhost:${server.port}/seed/l.bin`, t)
    expectPieces(await getPieces(ws, t, [0]), t, [0])
  })

  it('cancel: a queued block gets ERR_WEBSEED_CANCELLED, the rest arrive', async () => {
    const PL = 64 * 1024
    const t = buildTorrent('k.bin', [{ path: [], length: PL }], PL, 11, true)
    serveTorrent(server, t, '/seed/', true)
    const ws = seed(server.origin + '/seed/k.bin', t)
    const answers = getPieces(ws, t, [0])
    ws.cancel(0, BLOCK, BLOCK)
    const got = await answers
    expect(got[1].err?.code).toBe('ERR_WEBSEED_CANCELLED')
    for (const k of [0, 2, 3]) expect(got[k].err).toBeNull()
    expect(ws.requestCount).toBe(0)
  })

  it('destroy fails pending requests with ERR_WEBSEED_CLOSED and emits close', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('d.bin', [{ path: [], length: PL }], PL, 12, true)
    serveTorrent(server, t, '/seed/', true)
    server.delayMs = 200
    const ws = seed(server.origin + '/seed/d.bin', t)
    const answers = getPieces(ws, t, [0])
    const c = closed(ws)
    await new Promise(resolve => setTimeout(resolve, 20))
    ws.destroy()
    expect(await c).toBeUndefined()
    for (const a of await answers) expect(a.err?.code).toBe('ERR_WEBSEED_CLOSED')
    expect(ws.request(0, 0, BLOCK)).toBe(false)
  })
})

describe('WebSeed: misbehaving servers', () => {
  const PL = 64 * 1024
  let t: TestTorrent
  beforeAll(() => { t = buildTorrent('bad.bin', [{ path: [], length: 6 * PL }], PL, 13, true) })

  async function fatal (mode: typeof server.mode, wantCode: string, blocksMayArrive = false): Promise<void> {
    serveTorrent(server, t, '/seed/', true)
    server.mode = mode
    const ws = seed(server.origin + '/seed/bad.bin', t, { timeoutMs: 300 })
    const c = closed(ws)
    const answers = await getPieces(ws, t, [1])
    for (const a of answers) {
      if (blocksMayArrive && a.err === null) continue
      expect(a.err?.code).toBe(wantCode)
    }
    expect(((await c) as WebSeedError).code).toBe(wantCode)
    expect(ws.destroyed).toBe(true)
    expect((ws.closeReason as WebSeedError).fatal).toBe(true)
  }

  it('wrong Content-Range -> ERR_WEBSEED_RESPONSE, destroyed', () => fatal('bad-content-range', 'ERR_WEBSEED_RESPONSE'))
  it('a file of another size -> ERR_WEBSEED_RESPONSE, destroyed', () => fatal('wrong-total', 'ERR_WEBSEED_RESPONSE'))
  it('200 with the whole file for a partial range -> ERR_WEBSEED_RESPONSE, destroyed', () => fatal('ignore-range', 'ERR_WEBSEED_RESPONSE'))
  it('a content encoding -> ERR_WEBSEED_RESPONSE, destroyed', () => fatal('gzip', 'ERR_WEBSEED_RESPONSE'))
  // The requested bytes come first (blocks complete before the excess may be handed over); the excess destroys it.
  it('a body longer than requested -> ERR_WEBSEED_LENGTH, destroyed', () => fatal('too-long', 'ERR_WEBSEED_LENGTH', true))

  it('HTTP 410 Gone is fatal', async () => {
    server.status = 410
    await fatal('status', 'ERR_WEBSEED_HTTP')
  })

  it('a short body backs off (choke, unchoke) and repeated failures destroy with ERR_WEBSEED_FAILED', async () => {
    serveTorrent(server, t, '/seed/', true)
    server.mode = 'short'
    const ws = seed(server.origin + '/seed/bad.bin', t, { retryDelayMs: 30, maxFailures: 3 })
    const events: string[] = []
    ws.on('choke', () => events.push('choke'))
    ws.on('unchoke', () => events.push('unchoke'))
    const c = closed(ws)
    for (let i = 0; i < 3; i++) {
      const answers = await getPieces(ws, t, [i])
      // The first half of the piece arrived before the body ended.
      expect(answers.slice(0, 2).every(a => a.err === null)).toBe(true)
      expect(answers.slice(2).every(a => a.err?.code === 'ERR_WEBSEED_LENGTH')).toBe(true)
      if (i < 2) {
        expect(ws.peerChoking).toBe(true)
        expect(ws.request(0, 0, BLOCK)).toBe(false)
        await new Promise<void>(resolve => ws.once('unchoke', resolve))
      }
    }
    const reason = await c as WebSeedError
    expect(reason.code).toBe('ERR_WEBSEED_FAILED')
    expect((reason.cause as WebSeedError).code).toBe('ERR_WEBSEED_LENGTH')
    expect(events).toEqual(['choke', 'unchoke', 'choke', 'unchoke'])
  })

  it('a 503 then a good answer: backs off once, then serves', async () => {
    serveTorrent(server, t, '/seed/', true)
    server.status = 503
    server.modeFor = (_p, n) => n === 0 ? 'status' : 'ok'
    const ws = seed(server.origin + '/seed/bad.bin', t, { retryDelayMs: 20 })
    const first = await getPieces(ws, t, [0])
    expect(first[0].err?.code).toBe('ERR_WEBSEED_HTTP')
    expect(first[0].err?.status).toBe(503)
    expect(ws.failures).toBe(1)
    await new Promise<void>(resolve => ws.once('unchoke', resolve))
    expectPieces(await getPieces(ws, t, [0]), t, [0])
    expect(ws.failures).toBe(0)
    expect(ws.destroyed).toBe(false)
  })

  it('queued blocks are given back (ERR_WEBSEED_BACKOFF) when a request fails', async () => {
    serveTorrent(server, t, '/seed/', true)
    server.status = 500
    server.mode = 'status'
    server.delayMs = 50
    // maxWebConns 1: piece 0 in flight, pieces 2 and 4 queued when it fails.
    const ws = seed(server.origin + '/seed/bad.bin', t, { maxWebConns: 1, retryDelayMs: 1000 })
    const answers = await getPieces(ws, t, [0, 2, 4])
    expect(answers.slice(0, 4).every(a => a.err?.code === 'ERR_WEBSEED_HTTP')).toBe(true)
    expect(answers.slice(4).every(a => a.err?.code === 'ERR_WEBSEED_BACKOFF')).toBe(true)
    expect(server.log.length).toBe(1)
  })

  it('a missing file (404) repeatedly -> ERR_WEBSEED_FAILED', async () => {
    const ws = seed(server.origin + '/nothing/here.bin', t, { retryDelayMs: 10, maxFailures: 2 })
    const c = closed(ws)
    expect((await getPieces(ws, t, [0]))[0].err?.status).toBe(404)
    await new Promise<void>(resolve => ws.once('unchoke', resolve))
    expect((await getPieces(ws, t, [0]))[0].err?.status).toBe(404)
    expect(((await c) as WebSeedError).code).toBe('ERR_WEBSEED_FAILED')
  })

  it('no answer -> ERR_WEBSEED_TIMEOUT and a timeout event', async () => {
    serveTorrent(server, t, '/seed/', true)
    server.mode = 'no-headers'
    const ws = seed(server.origin + '/seed/bad.bin', t, { timeoutMs: 150, retryDelayMs: 10 })
    const timeouts: number[] = []
    ws.on('timeout', (i: number) => timeouts.push(i))
    const started = Date.now()
    const answers = await getPieces(ws, t, [3])
    expect(answers.every(a => a.err?.code === 'ERR_WEBSEED_TIMEOUT')).toBe(true)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(timeouts).toEqual([3])
  })

  it('a body that stalls -> the blocks that arrived are delivered, the rest time out', async () => {
    serveTorrent(server, t, '/seed/', true)
    server.mode = 'stall'
    const ws = seed(server.origin + '/seed/bad.bin', t, { timeoutMs: 150 })
    const answers = await getPieces(ws, t, [2])
    expect(answers.slice(0, 2).every(a => a.err === null)).toBe(true)
    expect(answers.slice(2).every(a => a.err?.code === 'ERR_WEBSEED_TIMEOUT')).toBe(true)
  })

  it('too many redirects -> ERR_WEBSEED_REDIRECT', async () => {
    server.redirects.set('/a', '/b')
    server.redirects.set('/b', '/a')
    const ws = seed(server.origin + '/a', t, { maxRedirects: 3 })
    const c = closed(ws)
    expect((await getPieces(ws, t, [0]))[0].err?.code).toBe('ERR_WEBSEED_REDIRECT')
    expect(((await c) as WebSeedError).code).toBe('ERR_WEBSEED_REDIRECT')
    expect(server.log.length).toBe(4)
  })

  it('a redirect to file:// or to a local address with a query -> ERR_WEBSEED_SSRF', async () => {
    server.redirects.set('/f', 'file:///etc/passwd')
    const ws = seed(server.origin + '/f', t)
    expect((await getPieces(ws, t, [0]))[0].err?.code).toBe('ERR_WEBSEED_SSRF')
    server.redirects.set('/q', server.origin + '/admin?cmd=1')
    const ws2 = seed(server.origin + '/q', t)
    expect((await getPieces(ws2, t, [0]))[0].err?.code).toBe('ERR_WEBSEED_SSRF')
    expect(server.log.map(r => r.path)).toEqual(['/f', '/q'])
  })
})

describe('WebSeed: SSRF rules on resolved addresses (fake HTTP layer)', () => {
  const PL = 32 * 1024
  const t = buildTorrent('s.bin', [{ path: [], length: PL }], PL, 14, true)

  function fakeHttp (dns: Record<string, string[]>, answer: (url: string) => { status: number, location?: string }): WebSeedHttp & { gets: string[] } {
    const gets: string[] = []
    return {
      gets,
      followsRedirects: false,
      seesAllHeaders: true,
      async resolve (host) { return dns[host] ?? [] },
      async get (req): Promise<RangeResponse> {
        gets.push(req.url)
        const a = answer(req.url)
        return {
          status: a.status,
          header: (n: string) => n === 'location' ? a.location ?? null : null,
          url: req.url,
          redirected: false,
          body: (async function * () {})(),
          cancel () {}
        }
      },
      close () {}
    }
  }

  it('a public web seed redirecting to a loopback or private address is refused before connecting there', async () => {
    for (const target of ['http://127.0.0.1:1/x', 'http://intranet.example/x', 'http://[::1]/x', 'http://10.0.0.1/x']) {
      const http = fakeHttp({ 'seed.example': ['192.0.2.34'], 'intranet.example': ['10.1.2.3'] },
        url => url.startsWith('http://seed.example') ? { status: 302, location: target } : { status: 500 })
      const ws = seed('http://seed.example/s.bin', t, { http })
      const c = closed(ws)
      expect((await getPieces(ws, t, [0]))[0].err?.code, target).toBe('ERR_WEBSEED_SSRF')
      expect(((await c) as WebSeedError).code).toBe('ERR_WEBSEED_SSRF')
      expect(http.gets).toEqual(['http://seed.example/s.bin'])
    }
  })

  it('a host name resolving to a local address may not carry a query string', async () => {
    const http = fakeHttp({ 'printer.example': ['192.168.1.5'] }, () => ({ status: 500 }))
    const ws = seed('http://printer.example/s.bin?cmd=print', t, { http })
    expect((await getPieces(ws, t, [0]))[0].err?.code).toBe('ERR_WEBSEED_SSRF')
    expect(http.gets).toEqual([])
  })

  it('a public web seed redirecting to another public host is followed', async () => {
    const http = fakeHttp({ 'seed.example': ['192.0.2.34'], 'cdn.example': ['203.0.113.7'] },
      url => url.startsWith('http://seed.example') ? { status: 301, location: 'http://cdn.example/s.bin?sig=abc' } : { status: 503 })
    const ws = seed('http://seed.example/s.bin', t, { http, retryDelayMs: 5000 })
    expect((await getPieces(ws, t, [0]))[0].err?.status).toBe(503)
    expect(http.gets).toEqual(['http://seed.example/s.bin', 'http://cdn.example/s.bin?sig=abc'])
  })
})
