import { describe, expect, it } from 'vitest'
import { WebSeed, WebSeedError, WebSeedLayout, fileUrls, parseWebSeedUrl, isLocalAddress, isLocalHost } from '../src/webseed/index.js'
import { checkHop, checkRedirectTarget } from '../src/webseed/url.js'
import { urlNames } from '../src/webseed/layout.js'
import { bencode } from '../src/bencode/index.js'
import { decodeTorrentFile } from '../src/metainfo/index.js'
import { buildTorrent } from './helpers/webseed-torrent.js'

const code = (fn: () => unknown): string | undefined => {
  try { fn() } catch (err) { return (err as WebSeedError).code }
  return undefined
}

describe('web seed URL safety (case 26)', () => {
  it('refuses non-http(s) schemes, malformed URLs and credentials', () => {
    for (const u of ['file:///etc/passwd', 'ftp://example.com/f', 'data:text/plain,hi', 'javascript:alert(1)', 'ws://example.com/', 'gopher://x/']) {
      expect(code(() => parseWebSeedUrl(u)), u).toBe('ERR_WEBSEED_URL')
    }
    expect(code(() => parseWebSeedUrl('not a url'))).toBe('ERR_WEBSEED_URL')
    expect(code(() => parseWebSeedUrl('http://'))).toBe('ERR_WEBSEED_URL')
    expect(code(() => parseWebSeedUrl('http://user:pw@example.com/f'))).toBe('ERR_WEBSEED_URL')
  })

  it('refuses IDNA and non-ASCII host names', () => {
    expect(code(() => parseWebSeedUrl('http://xn--bcher-kva.example/f'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => parseWebSeedUrl('http://bücher.example/f'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => parseWebSeedUrl('http://a.xn--p1ai/'))).toBe('ERR_WEBSEED_SSRF')
  })

  it('refuses a web seed on a local address with a query string; allows it without one', () => {
    for (const u of ['http://127.0.0.1:8080/file?x=1', 'http://localhost/f?a', 'http://192.168.1.1/admin?cmd=reboot',
      'http://10.0.0.1/?', 'http://[::1]/f?q', 'http://169.254.169.254/latest?x', 'http://[fd00::1]/x?y', 'http://[::ffff:127.0.0.1]/?a=b',
      // WHATWG URL normalizes these hosts to 127.0.0.1 before we look at them.
      'http://2130706433/?x', 'http://0x7f.1/?x', 'http://%31%32%37.0.0.1/?x']) {
      expect(code(() => parseWebSeedUrl(u)), u).toBe('ERR_WEBSEED_SSRF')
    }
    for (const u of ['http://127.0.0.1:8080/file', 'http://localhost:1/dir/', 'http://192.168.1.1/f', 'https://example.com/f?token=1',
      'http://192.0.2.34/x?y=z', 'HTTP://Example.COM/f']) {
      expect(code(() => parseWebSeedUrl(u)), u).toBeUndefined()
    }
  })

  it('classifies local addresses', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '0.0.0.0', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.1.1',
      '100.64.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd12::3', 'fec0::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', '::127.0.0.1']) {
      expect(isLocalAddress(a), a).toBe(true)
    }
    for (const a of ['203.0.113.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '100.128.0.1', '2001:db8::1', '2001:db8:4700::1', '::ffff:203.0.113.8', 'example.com']) {
      expect(isLocalAddress(a), a).toBe(false)
    }
    expect(isLocalHost('localhost')).toBe(true)
    expect(isLocalHost('a.localhost.')).toBe(true)
    expect(isLocalHost('[::1]')).toBe(true)
    expect(isLocalHost('example.com')).toBe(false)
  })

  it('redirect hops: public -> local refused, local -> local allowed, query on a resolved local host refused', () => {
    const pub = checkHop(new URL('http://seed.example/f'), ['192.0.2.34'], null, 'w')
    expect(pub).toBe(false)
    expect(code(() => checkHop(new URL('http://127.0.0.1/f'), ['127.0.0.1'], pub, 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => checkHop(new URL('http://internal.example/f'), ['10.0.0.7'], pub, 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => checkHop(new URL('http://mixed.example/f'), ['192.0.2.34', '192.168.0.2'], pub, 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(checkHop(new URL('http://cdn.example/f?sig=1'), ['203.0.113.9'], pub, 'w')).toBe(false)
    const local = checkHop(new URL('http://127.0.0.1:9/f'), ['127.0.0.1'], null, 'w')
    expect(local).toBe(true)
    expect(checkHop(new URL('http://127.0.0.1:10/g'), ['127.0.0.1'], local, 'w')).toBe(true)
    expect(code(() => checkHop(new URL('http://name.example/f?a=1'), ['192.168.1.1'], null, 'w'))).toBe('ERR_WEBSEED_SSRF')
    // Browsers: names cannot be resolved, literal hosts still are judged.
    expect(code(() => checkHop(new URL('http://127.0.0.1/x'), null, false, 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(checkHop(new URL('http://other.example/x'), null, false, 'w')).toBe(false)
  })

  it('redirect targets must be http(s) with a plain host', () => {
    expect(code(() => checkRedirectTarget('file:///etc/passwd', 'http://a.example/f', 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => checkRedirectTarget('ftp://a.example/f', 'http://a.example/f', 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => checkRedirectTarget('http://xn--e1afmkfd.example/', 'http://a.example/f', 'w'))).toBe('ERR_WEBSEED_SSRF')
    expect(code(() => checkRedirectTarget('http://[bad', 'http://a.example/f', 'w'))).toBe('ERR_WEBSEED_REDIRECT')
    expect(checkRedirectTarget('/other#frag', 'http://a.example/dir/f', 'w').toString()).toBe('http://a.example/other')
  })

  it('the WebSeed constructor refuses what parseWebSeedUrl refuses', () => {
    const { torrent } = buildTorrent('f', [{ path: [], length: 100 }], 16384, 1, true)
    expect(code(() => new WebSeed('file:///x', torrent))).toBe('ERR_WEBSEED_URL')
    expect(code(() => new WebSeed('http://127.0.0.1/x?y', torrent))).toBe('ERR_WEBSEED_SSRF')
    const ws = new WebSeed('http://127.0.0.1:1/x', torrent)
    expect(ws.type).toBe('webSeed')
    expect(ws.peerId).toMatch(/^[0-9a-f]{40}$/)
    expect(ws.remoteAddress).toBe('127.0.0.1')
    expect(ws.remotePort).toBe(1)
    ws.destroy()
  })
})

describe('web seed URLs (BEP 19)', () => {
  const multi = buildTorrent('My Torrent', [
    { path: ['dir', 'a b.txt'], length: 10 },
    { path: ['ünï', 'c#?%.bin'], length: 10 },
    { path: ['plain'], length: 10 }
  ], 16384)
  const single = buildTorrent('file name ü.iso', [{ path: [], length: 10 }], 16384, 1, true)

  it('single-file: a URL not ending in / is the file; one ending in / gets the name', () => {
    expect(fileUrls(single.torrent, new URL('http://h.example/path/the.iso'))).toEqual(['http://h.example/path/the.iso'])
    expect(fileUrls(single.torrent, new URL('http://h.example/path/'))).toEqual(['http://h.example/path/file%20name%20%C3%BC.iso'])
    expect(fileUrls(single.torrent, new URL('http://h.example/f.iso?token=a%20b#frag'))).toEqual(['http://h.example/f.iso?token=a%20b'])
  })

  it('multi-file: name and path appended, every component percent-encoded', () => {
    const want = [
      'http://h.example/seeds/My%20Torrent/dir/a%20b.txt',
      'http://h.example/seeds/My%20Torrent/%C3%BCn%C3%AF/c%23%3F%25.bin',
      'http://h.example/seeds/My%20Torrent/plain'
    ]
    expect(fileUrls(multi.torrent, new URL('http://h.example/seeds/'))).toEqual(want)
    // A multi-file web seed without the trailing slash gets one (libtorrent does the same).
    expect(fileUrls(multi.torrent, new URL('http://h.example/seeds'))).toEqual(want)
    expect(fileUrls(multi.torrent, new URL('http://h.example/seeds/?k=v'))[2]).toBe('http://h.example/seeds/My%20Torrent/plain?k=v')
  })

  it('uses the raw names of the info dict, not the sanitized local ones; never dot segments', async () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    const info = {
      name: enc('Raw: Name'),
      'piece length': 16384,
      pieces: new Uint8Array(20),
      files: [
        { length: 5, path: [enc('a:b.txt')] },
        { length: 3, path: [enc('.pad'), enc('3')], attr: enc('p') },
        { length: 5, path: [enc('..'), enc('x'), enc('.'), enc('CON')] },
        { length: 3, path: [enc('sub'), enc('trailing. ')] }
      ]
    }
    const t = await decodeTorrentFile(bencode.encode({ info }))
    expect(t.files.map(f => f.path)).toEqual(['Raw_ Name/a_b.txt', 'Raw_ Name/x/_CON', 'Raw_ Name/sub/trailing'])
    expect(urlNames(t)).toEqual({ name: 'Raw: Name', paths: [['a:b.txt'], ['x', 'CON'], ['sub', 'trailing. ']] })
    expect(fileUrls(t, new URL('http://h.example/'))).toEqual([
      'http://h.example/Raw%3A%20Name/a%3Ab.txt',
      'http://h.example/Raw%3A%20Name/x/CON',
      'http://h.example/Raw%3A%20Name/sub/trailing.%20'
    ])
    // Without the info dict the sanitized paths are used.
    expect(fileUrls({ ...t, info: undefined }, new URL('http://h.example/'))[0]).toBe('http://h.example/Raw_%20Name/a_b.txt')
  })
})

describe('range planning over multi-file layouts', () => {
  const PL = 32 * 1024
  // 0-byte files, a pad file, a file spanning pieces, many tiny files inside one piece.
  const specs = [
    { path: ['empty0'], length: 0 },
    { path: ['a'], length: 20000 },
    { path: ['pad'], length: PL - 20000, pad: true },
    { path: ['big'], length: 3 * PL + 100 },
    { path: ['empty1'], length: 0 },
    ...Array.from({ length: 10 }, (_, i) => ({ path: ['tiny', String(i)], length: 7 })),
    { path: ['tail'], length: 5000 }
  ]
  const t = buildTorrent('T', specs, PL)
  const layout = new WebSeedLayout(t.torrent, new URL('http://h.example/'))
  const fileIndex = (name: string) => t.torrent.files.findIndex(f => f.path === 'T/' + name)

  it('a piece ending in a pad file: the pad part is never requested (url null)', () => {
    const parts = layout.plan(0, PL)
    expect(parts).toEqual([
      { file: fileIndex('a'), url: 'http://h.example/T/a', start: 0, length: 20000, fileLength: 20000, bufOffset: 0 },
      { file: -1, url: null, start: 0, length: PL - 20000, fileLength: 0, bufOffset: 20000 }
    ])
  })

  it('a file spanning pieces maps each piece to one range of it; 0-byte files never appear', () => {
    const big = fileIndex('big')
    for (let p = 1; p <= 3; p++) {
      expect(layout.plan(p * PL, PL)).toEqual([{ file: big, url: 'http://h.example/T/big', start: (p - 1) * PL, length: PL, fileLength: 3 * PL + 100, bufOffset: 0 }])
    }
    const last = layout.plan(4 * PL, layout.pieceLengthOf(4))
    expect(last.map(p => t.torrent.files[p.file].path)).toEqual(['T/big', ...Array.from({ length: 10 }, (_, i) => `T/tiny/${i}`), 'T/tail'])
    expect(last[0]).toMatchObject({ start: 3 * PL, length: 100, bufOffset: 0 })
    expect(last[1]).toMatchObject({ start: 0, length: 7, bufOffset: 100 })
    expect(last[11]).toMatchObject({ start: 0, length: 5000, fileLength: 5000, bufOffset: 170 })
    expect(last.reduce((a, p) => a + p.length, 0)).toBe(layout.pieceLengthOf(4))
    expect(last.some(p => p.length === 0)).toBe(false)
  })

  it('a block spanning a file boundary becomes two parts', () => {
    const parts = layout.plan(4 * PL + 96, 16)
    expect(parts.map(p => [t.torrent.files[p.file].path, p.start, p.length, p.bufOffset])).toEqual([['T/big', 3 * PL + 96, 4, 0], ['T/tiny/0', 0, 7, 4], ['T/tiny/1', 0, 5, 11]])
  })

  it('an inconsistent layout is refused', () => {
    expect(code(() => new WebSeedLayout({ ...t.torrent, length: t.torrent.length + 1 }, new URL('http://h.example/')))).toBe('ERR_WEBSEED_LAYOUT')
  })
})
