/**
 * LSD without a network: the BEP 14 message codec, and the Lsd scheduler/filters over a fake socket with fake
 * timers. The real multicast path is test/lsd-netns.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { build } from 'esbuild'
import { Lsd, formatLsdMessage, parseLsdMessage, type LsdSocket, type LsdSocketOptions, type LsdPeer } from '../src/lsd/index.js'

const X = 'ab'.repeat(20)
const Y = 'cd'.repeat(20)
const ascii = (s: string): Uint8Array => Uint8Array.from(s, c => c.charCodeAt(0))
const text = (b: Uint8Array): string => String.fromCharCode(...b)

describe('BEP 14 messages', () => {
  it('formats like libtorrent', () => {
    expect(text(formatLsdMessage({ port: 6881, infoHashes: [X.toUpperCase()], cookie: '1a2b3c' }))).toBe(
      'BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n' +
      `Infohash: ${X}\r\ncookie: 1a2b3c\r\n\r\n\r\n`)
    expect(() => formatLsdMessage({ port: 0, infoHashes: [X] })).toThrow()
    expect(() => formatLsdMessage({ port: 1, infoHashes: [] })).toThrow()
    expect(() => formatLsdMessage({ port: 1, infoHashes: ['xyz'] })).toThrow()
    expect(() => formatLsdMessage({ port: 1, infoHashes: [X], cookie: 'a b' })).toThrow()
  })

  it('parses announces from libtorrent, bittorrent-lsd (webtorrent) and with several info-hashes', () => {
    expect(parseLsdMessage(formatLsdMessage({ port: 6881, infoHashes: [X], cookie: '7fffffff' })))
      .toEqual({ port: 6881, infoHashes: [X], cookie: '7fffffff', host: '239.192.152.143:6771' })
    // bittorrent-lsd's format (cookie "bittorrent-lsd-<peer id>").
    const wt = `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\nInfohash: ${X.toUpperCase()}\r\ncookie: bittorrent-lsd-${'0'.repeat(40)}\r\n\r\n\r\n`
    expect(parseLsdMessage(ascii(wt))).toMatchObject({ port: 51413, infoHashes: [X], cookie: `bittorrent-lsd-${'0'.repeat(40)}` })
    // Several Infohash headers (BEP 14), duplicates and invalid ones dropped; header names case-insensitive;
    // LF-only line ends; unknown headers ignored; no cookie.
    const multi = `bt-search * HTTP/1.1\nHOST: [ff15::efc0:988f]:6771\nport:  7000 \nINFOHASH: ${X}\nInfohash: ${Y}\nInfohash: ${X}\nInfohash: zz\nX-Future: 1\n\n`
    expect(parseLsdMessage(ascii(multi))).toEqual({ port: 7000, infoHashes: [X, Y], host: '[ff15::efc0:988f]:6771' })
  })

  it.each([
    ['empty', ''],
    ['wrong method', `M-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${X}\r\n\r\n`],
    ['wrong target', `BT-SEARCH / HTTP/1.1\r\nPort: 1\r\nInfohash: ${X}\r\n\r\n`],
    ['HTTP/2', `BT-SEARCH * HTTP/2\r\nPort: 1\r\nInfohash: ${X}\r\n\r\n`],
    ['no blank line', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${X}\r\n`],
    ['no port', `BT-SEARCH * HTTP/1.1\r\nInfohash: ${X}\r\n\r\n`],
    ['port 0', `BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ${X}\r\n\r\n`],
    ['port 65536', `BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: ${X}\r\n\r\n`],
    ['port -1', `BT-SEARCH * HTTP/1.1\r\nPort: -1\r\nInfohash: ${X}\r\n\r\n`],
    ['port 1e3', `BT-SEARCH * HTTP/1.1\r\nPort: 1e3\r\nInfohash: ${X}\r\n\r\n`],
    ['port 0x50', `BT-SEARCH * HTTP/1.1\r\nPort: 0x50\r\nInfohash: ${X}\r\n\r\n`],
    ['two ports', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nPort: 2\r\nInfohash: ${X}\r\n\r\n`],
    ['no info-hash', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n'],
    ['short info-hash', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${X.slice(2)}\r\n\r\n`],
    ['zero info-hash', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${'0'.repeat(40)}\r\n\r\n`],
    ['header without colon', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash ${X}\r\n\r\n`],
    ['header folding', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n  Infohash: ${X}\r\n\r\n`],
    ['NUL byte', `BT-SEARCH * HTTP/1.1\r\nPort: 1\u0000\r\nInfohash: ${X}\r\n\r\n`],
    ['non-ASCII', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${X}\r\nX: \u00e9\r\n\r\n`],
    ['over 1500 bytes', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${X}\r\nX: ${'a'.repeat(1500)}\r\n\r\n`]
  ])('rejects %s', (_name, s) => {
    expect(parseLsdMessage(ascii(s))).toBeNull()
  })

  it('survives random bytes and mutations of a valid announce', () => {
    const valid = formatLsdMessage({ port: 6881, infoHashes: [X], cookie: 'abc' })
    let seed = 12345
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n }
    for (let i = 0; i < 3000; i++) {
      const b = i % 2 === 0 ? Uint8Array.from({ length: rnd(1600) }, () => rnd(256)) : valid.slice()
      if (i % 2 === 1) for (let k = 0; k < 1 + rnd(4); k++) b[rnd(b.length)] = rnd(256)
      const r = parseLsdMessage(b)
      if (r !== null) {
        expect(r.port).toBeGreaterThan(0)
        expect(r.port).toBeLessThan(65536)
        for (const ih of r.infoHashes) expect(ih).toMatch(/^[0-9a-f]{40}$/)
      }
    }
  })
})

class FakeSocket implements LsdSocket {
  sent: Array<{ at: number, text: string }> = []
  onLink = true
  fail: Error | null = null
  closed = false
  private fn: ((data: Uint8Array, from: { address: string, port: number }) => void) | null = null
  constructor (readonly opts: LsdSocketOptions) {}
  open (): Promise<void> { return this.fail ? Promise.reject(this.fail) : Promise.resolve() }
  send (data: Uint8Array): Promise<number> {
    this.sent.push({ at: Date.now(), text: text(data) })
    return Promise.resolve(1)
  }

  onMessage (fn: (data: Uint8Array, from: { address: string, port: number }) => void): void { this.fn = fn }
  onError (): void {}
  isOnLink (): boolean { return this.onLink }
  close (): void { this.closed = true }
  deliver (s: string | Uint8Array, address = '192.168.1.20'): void { this.fn?.(typeof s === 'string' ? ascii(s) : s, { address, port: 6771 }) }
  infoHashes (): string[] { return this.sent.map(s => /Infohash: (\w+)/.exec(s.text)?.[1] ?? '') }
}

describe('Lsd scheduling and filtering (fake socket, fake clock)', () => {
  let sock: FakeSocket
  let lsd: Lsd
  const make = async (opts: ConstructorParameters<typeof Lsd>[0] = {}): Promise<Lsd> => {
    lsd = new Lsd({ ...opts, createSocket: o => (sock = new FakeSocket(o)) })
    await lsd.ready()
    return lsd
  }
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
  afterEach(async () => {
    await lsd?.destroy()
    vi.useRealTimers()
  })

  it('binds 0.0.0.0:6771 on 239.192.152.143 with TTL 1 by default', async () => {
    await make()
    expect(sock.opts).toEqual({ group: '239.192.152.143', port: 6771, ttl: 1, interfaces: undefined })
    expect(lsd.listening).toBe(true)
    expect(lsd.cookie).toMatch(/^[0-7][0-9a-f]{7}$/)
  })

  it('announces at once, then every 5 minutes', async () => {
    await make()
    lsd.announce({ infoHash: X }, 6881)
    await vi.advanceTimersByTimeAsync(0)
    expect(sock.sent).toHaveLength(1)
    expect(sock.sent[0].text).toContain('Port: 6881\r\n')
    expect(sock.sent[0].text).toContain(`cookie: ${lsd.cookie}\r\n`)
    await vi.advanceTimersByTimeAsync(5 * 60_000 - 1)
    expect(sock.sent).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sock.sent).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    expect(sock.sent).toHaveLength(4)
  })

  it('coalesces repeated announce() calls: at most one announce per torrent per minute', async () => {
    await make()
    for (let i = 0; i < 100; i++) lsd.announce({ infoHash: X }, 6881)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(sock.sent).toHaveLength(1)
    for (let i = 0; i < 100; i++) lsd.announce({ infoHash: X }, 6881)
    await vi.advanceTimersByTimeAsync(49_999)
    expect(sock.sent).toHaveLength(1)
    expect(lsd.stats.rateLimited).toBe(199)
    await vi.advanceTimersByTimeAsync(1)
    expect(sock.sent).toHaveLength(2) // the re-announce asked for, at the first allowed moment
    await vi.advanceTimersByTimeAsync(5 * 60_000 - 1)
    expect(sock.sent).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(sock.sent).toHaveLength(3)
  })

  it('a port change is announced promptly but still within the per-torrent limit', async () => {
    await make()
    lsd.announce({ infoHash: X }, 6881)
    await vi.advanceTimersByTimeAsync(10_000)
    lsd.announce({ infoHash: X }, 6999)
    await vi.advanceTimersByTimeAsync(49_999)
    expect(sock.sent).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sock.sent[1].text).toContain('Port: 6999\r\n')
  })

  it('sends at most one packet per second overall, in the order torrents became due', async () => {
    await make()
    const hashes = Array.from({ length: 10 }, (_, i) => (i + 16).toString(16).repeat(20))
    for (const h of hashes) lsd.announce({ infoHash: h }, 6881)
    await vi.advanceTimersByTimeAsync(9_000)
    expect(sock.infoHashes()).toEqual(hashes)
    for (let i = 1; i < sock.sent.length; i++) expect(sock.sent[i].at - sock.sent[i - 1].at).toBe(1000)
    // 400 torrents: the refresh period stretches to 400 s, never faster than 1 packet/s.
    await lsd.destroy()
    await make()
    for (let i = 0; i < 400; i++) lsd.announce({ infoHash: (i + 1).toString(16).padStart(40, '0') }, 6881)
    await vi.advanceTimersByTimeAsync(600_000)
    expect(sock.sent.length).toBeLessThanOrEqual(601)
    expect(sock.sent.length).toBeGreaterThanOrEqual(599)
    expect(new Set(sock.infoHashes()).size).toBe(400)
  })

  it('custom intervals', async () => {
    await make({ interval: 2000, minTorrentInterval: 1000, minSendInterval: 100 })
    lsd.announce({ infoHash: X }, 1)
    lsd.announce({ infoHash: Y }, 1)
    await vi.advanceTimersByTimeAsync(4050)
    expect(sock.sent.map(s => s.at - 1_000_000)).toEqual([0, 100, 2000, 2100, 4000])
  })

  it('remove() stops announcing', async () => {
    await make()
    lsd.announce({ infoHash: X }, 6881)
    await vi.advanceTimersByTimeAsync(1000)
    lsd.remove(X.toUpperCase())
    expect(lsd.infoHashes).toEqual([])
    await vi.advanceTimersByTimeAsync(20 * 60_000)
    expect(sock.sent).toHaveLength(1)
  })

  it('never announces a private torrent', async () => {
    await make()
    expect(() => lsd.announce({ infoHash: X, private: true }, 6881)).toThrow(expect.objectContaining({ code: 'ERR_LSD_PRIVATE' }))
    // A magnet whose metadata arrives later saying private: `private` is re-read before each send.
    const t = { infoHash: Y, private: false }
    const warnings: string[] = []
    lsd.on('warning', e => warnings.push((e as Error & { code: string }).code))
    lsd.announce(t, 6881)
    await vi.advanceTimersByTimeAsync(0)
    expect(sock.sent).toHaveLength(1)
    t.private = true
    await vi.advanceTimersByTimeAsync(30 * 60_000)
    expect(sock.sent).toHaveLength(1)
    expect(lsd.infoHashes).toEqual([])
    expect(warnings).toEqual(['ERR_LSD_PRIVATE'])
    // ...and its peers are not reported meanwhile.
    const t2 = { infoHash: X, private: false }
    const peers: LsdPeer[] = []
    lsd.on('peer', p => peers.push(p))
    lsd.announce(t2, 6881)
    t2.private = true
    sock.deliver(formatLsdMessage({ port: 7000, infoHashes: [X], cookie: 'other' }))
    expect(peers).toEqual([])
  })

  it('rejects bad arguments', async () => {
    await make()
    expect(() => lsd.announce({ infoHash: 'xyz' }, 1)).toThrow(expect.objectContaining({ code: 'ERR_LSD_ARGS' }))
    expect(() => lsd.announce({ infoHash: X }, 0)).toThrow(expect.objectContaining({ code: 'ERR_LSD_ARGS' }))
    expect(() => lsd.announce({ infoHash: X }, 65536)).toThrow(expect.objectContaining({ code: 'ERR_LSD_ARGS' }))
    expect(() => new Lsd({ cookie: 'has space', createSocket: o => new FakeSocket(o) })).toThrow(expect.objectContaining({ code: 'ERR_LSD_OPTIONS' }))
  })

  it('reports peers; ignores and counts its own, invalid, off-link and unknown announces', async () => {
    await make()
    const peers: LsdPeer[] = []
    lsd.on('peer', p => peers.push(p))
    lsd.announce({ infoHash: X }, 6881)
    sock.deliver(formatLsdMessage({ port: 7000, infoHashes: [X, Y], cookie: 'other' }), '192.168.1.20')
    sock.deliver(formatLsdMessage({ port: 7001, infoHashes: [X], cookie: lsd.cookie }))
    sock.deliver('garbage')
    sock.deliver(new Uint8Array(2000))
    sock.onLink = false
    sock.deliver(formatLsdMessage({ port: 7002, infoHashes: [X] }), '203.0.113.8')
    expect(peers).toEqual([{ host: '192.168.1.20', port: 7000, infoHash: X }])
    expect(lsd.stats).toMatchObject({ received: 5, peers: 1, ownIgnored: 1, invalid: 2, offLink: 1, unknown: 1 })
  })

  it('remembers peers heard for torrents it does not announce yet, for one interval', async () => {
    await make({ maxHeard: 2 })
    const peers: LsdPeer[] = []
    lsd.on('peer', p => peers.push(p))
    sock.deliver(formatLsdMessage({ port: 7000, infoHashes: [X] }), '10.0.0.1')
    sock.deliver(formatLsdMessage({ port: 7001, infoHashes: [Y] }), '10.0.0.2')
    sock.deliver(formatLsdMessage({ port: 7002, infoHashes: [Y] }), '10.0.0.3') // evicts the oldest (X)
    lsd.announce({ infoHash: X }, 1)
    lsd.announce({ infoHash: Y }, 1)
    await vi.advanceTimersByTimeAsync(0)
    expect(peers).toEqual([{ host: '10.0.0.2', port: 7001, infoHash: Y }, { host: '10.0.0.3', port: 7002, infoHash: Y }])
    lsd.remove(Y)
    sock.deliver(formatLsdMessage({ port: 7003, infoHashes: [Y] }), '10.0.0.4')
    await vi.advanceTimersByTimeAsync(5 * 60_000 + 1) // too old now
    lsd.announce({ infoHash: Y }, 1)
    await vi.advanceTimersByTimeAsync(0)
    expect(peers).toHaveLength(2)
  })

  it('a socket that cannot bind is a warning, and announce() still works (nothing is sent)', async () => {
    const warnings: string[] = []
    lsd = new Lsd({
      createSocket: o => {
        sock = new FakeSocket(o)
        sock.fail = Object.assign(new Error('EADDRINUSE'), { code: 'ERR_LSD_SOCKET' })
        return sock
      }
    })
    lsd.on('warning', e => warnings.push((e as Error & { code: string }).code))
    await lsd.ready()
    lsd.announce({ infoHash: X }, 6881)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(warnings).toEqual(['ERR_LSD_SOCKET'])
    expect(sock.sent).toHaveLength(0)
    expect(sock.closed).toBe(true)
  })

  it('destroy() closes the socket and stops the timer', async () => {
    await make()
    lsd.announce({ infoHash: X }, 6881)
    await lsd.destroy()
    await vi.advanceTimersByTimeAsync(60 * 60_000)
    expect(sock.sent.length).toBeLessThanOrEqual(1)
    expect(sock.closed).toBe(true)
    expect(() => lsd.announce({ infoHash: X }, 1)).toThrow(expect.objectContaining({ code: 'ERR_LSD_DESTROYED' }))
  })
})

describe('browser build', () => {
  it('src/lsd bundles for browsers without node:* modules and reports LSD unsupported', async () => {
    const r = await build({
      entryPoints: ['src/lsd/index.ts'],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      conditions: ['browser', 'module', 'import', 'default'],
      logLevel: 'silent'
    })
    const code = r.outputFiles[0].text
    expect(code).not.toMatch(/(from|import)\s*\(?\s*["'](node:|dgram|os["'])|require\(/)
    expect(code).not.toContain('addMembership')
    expect(code).toContain('ERR_LSD_UNSUPPORTED')
  })
})
