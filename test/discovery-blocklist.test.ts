/**
 * Blocklists (issue 6 item 4): range syntaxes, the P2P and eMule DAT file formats, gzip, webtorrent-fixtures'
 * blocklist files, merging, bad lines, size bounds, and loading from a path and an http URL.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { IpBlocklist, loadBlocklist, parseBlocklistLine, parseRange } from '../src/discovery/index.js'

const fixtures = join(import.meta.dirname, '../node_modules/webtorrent-fixtures/fixtures')
const base = mkdtempSync(join(tmpdir(), 'wt-blocklist-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))

function codeOf (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return (err as { code?: string }).code }
  return undefined
}

describe('parseRange', () => {
  it('single addresses, ranges, CIDR, IPv6', () => {
    expect(parseRange('1.2.3.4')).toEqual({ v: 4, start: 0x01020304, end: 0x01020304 })
    expect(parseRange(' 1.2.3.0 - 1.2.3.255 ')).toEqual({ v: 4, start: 0x01020300, end: 0x010203ff })
    expect(parseRange('10.0.0.0/8')).toEqual({ v: 4, start: 0x0a000000, end: 0x0affffff })
    expect(parseRange('10.1.2.3/8')).toEqual({ v: 4, start: 0x0a000000, end: 0x0affffff }) // host bits ignored
    expect(parseRange('0.0.0.0/0')).toEqual({ v: 4, start: 0, end: 0xffffffff })
    expect(parseRange('1.2.3.4/32')).toEqual({ v: 4, start: 0x01020304, end: 0x01020304 })
    expect(parseRange('001.002.003.004')).toEqual({ v: 4, start: 0x01020304, end: 0x01020304 }) // zero-padded = decimal
    expect(parseRange('::ffff:1.2.3.4')).toEqual({ v: 4, start: 0x01020304, end: 0x01020304 })
    expect(parseRange('2001:db8::/32')).toEqual({ v: 6, start: 0x20010db8n << 96n, end: (0x20010db8n << 96n) | ((1n << 96n) - 1n) })
    expect(parseRange('2001:db8::1-2001:db8::ff')?.v).toBe(6)
  })

  it('rejects malformed specs', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256', '1.2.3.4/33', '1.2.3.4/-1', '1.2.3.5-1.2.3.4', '1.2.3.4-2001:db8::1',
      'hello', '1.2.3.4-', '-1.2.3.4', '1.2.3.4-1.2.3.5-1.2.3.6', '::1/129', '1.2.3.4/x']) {
      expect(parseRange(bad), bad).toBeNull()
    }
  })
})

describe('parseBlocklistLine', () => {
  it('P2P format, names with colons', () => {
    expect(parseBlocklistLine('Some org:1.2.3.0-1.2.3.255')).toEqual({ v: 4, start: 0x01020300, end: 0x010203ff })
    expect(parseBlocklistLine('a:b:c: 1.2.3.0 - 1.2.3.9')).toEqual({ v: 4, start: 0x01020300, end: 0x01020309 })
  })

  it('eMule DAT format; access level > 127 blocks nothing', () => {
    expect(parseBlocklistLine('001.002.003.004 - 001.002.003.005 , 000 , Some name')).toEqual({ v: 4, start: 0x01020304, end: 0x01020305 })
    expect(parseBlocklistLine('001.002.003.004 - 001.002.003.005 , 127 , x')).toEqual({ v: 4, start: 0x01020304, end: 0x01020305 })
    expect(parseBlocklistLine('001.002.003.004 - 001.002.003.005 , 200 , allowed')).toBe('skip')
    expect(parseBlocklistLine('001.002.003.004 - 001.002.003.005 , 100')).toEqual({ v: 4, start: 0x01020304, end: 0x01020305 })
  })

  it('comments and blank lines are skipped; junk is bad', () => {
    for (const l of ['', '   ', '# comment', '// comment', '; comment', '\r']) expect(parseBlocklistLine(l)).toBe('skip')
    for (const l of ['junk', 'name:1.2.3', 'name:1.2.3.4-', '999.1.1.1-999.1.1.2 , 0 , x']) expect(parseBlocklistLine(l)).toBe('bad')
  })
})

describe('IpBlocklist', () => {
  it('lookups at and around range edges, IPv4 and IPv6, mapped addresses, host names never blocked', () => {
    const bl = IpBlocklist.parse(['1.2.3.0-1.2.3.255', '10.0.0.0/8', '5.5.5.5', '2001:db8::/32', '::1'])
    expect(bl.contains('1.2.3.0')).toBe(true)
    expect(bl.contains('1.2.3.255')).toBe(true)
    expect(bl.contains('1.2.2.255')).toBe(false)
    expect(bl.contains('1.2.4.0')).toBe(false)
    expect(bl.contains('10.255.255.255')).toBe(true)
    expect(bl.contains('11.0.0.0')).toBe(false)
    expect(bl.contains('5.5.5.5')).toBe(true)
    expect(bl.contains('5.5.5.6')).toBe(false)
    expect(bl.contains('::ffff:10.1.1.1')).toBe(true)
    expect(bl.contains('[2001:db8::42]')).toBe(true)
    expect(bl.contains('2001:db9::')).toBe(false)
    expect(bl.contains('::1')).toBe(true)
    expect(bl.contains('::2')).toBe(false)
    expect(bl.contains('0.0.0.0')).toBe(false)
    expect(bl.contains('255.255.255.255')).toBe(false)
    expect(bl.contains('example.com')).toBe(false)
    expect(bl.contains('')).toBe(false)
    expect(IpBlocklist.parse([]).contains('1.2.3.4')).toBe(false)
    expect(IpBlocklist.parse(['0.0.0.0/0']).contains('255.255.255.255')).toBe(true)
  })

  it('merges overlapping, nested and adjacent ranges', () => {
    const bl = IpBlocklist.parse([
      '1.0.0.10-1.0.0.20', '1.0.0.15-1.0.0.30', '1.0.0.31-1.0.0.40', // overlap, then adjacent
      '1.0.0.12-1.0.0.13', // nested
      '2.0.0.0-2.0.0.5', '2.0.0.7-2.0.0.9', // a gap of one address
      '3.0.0.0/24', '3.0.0.0/16' // CIDR inside CIDR
    ])
    expect(bl.toRanges()).toEqual(['1.0.0.10-1.0.0.40', '2.0.0.0-2.0.0.5', '2.0.0.7-2.0.0.9', '3.0.0.0-3.0.255.255'])
    expect(bl.contains('2.0.0.6')).toBe(false)
    expect(bl.v4Ranges).toBe(4)
    expect(bl.v4Addresses).toBe(31 + 6 + 3 + 65536)
  })

  it('bad lines are ignored and counted', () => {
    const text = ['# header', 'org:1.2.3.0-1.2.3.255', 'garbage', '', '001.002.003.004 - 001.002.003.005 , 000 , x', '300.1.1.1', 'x:y'].join('\r\n')
    const bl = IpBlocklist.parse(text)
    expect(bl.ignored).toBe(3)
    expect(bl.v4Ranges).toBe(1) // 1.2.3.4-5 is inside 1.2.3.0/24
    expect(bl.contains('1.2.3.77')).toBe(true)
    expect(IpBlocklist.parse([42 as unknown as string, '1.1.1.1']).ignored).toBe(1)
  })

  it('agrees with a linear scan on random ranges', () => {
    let seed = 12345
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed }
    const ranges: Array<[number, number]> = []
    for (let i = 0; i < 500; i++) {
      const s = rnd() % 1_000_000
      ranges.push([s, s + (rnd() % 5000)])
    }
    const ip = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
    const bl = IpBlocklist.parse(ranges.map(([a, b]) => `${ip(a)}-${ip(b)}`))
    for (let i = 0; i < 5000; i++) {
      const x = rnd() % 1_010_000
      expect(bl.contains(ip(x))).toBe(ranges.some(([a, b]) => x >= a && x <= b))
    }
  })

  it('is bounded: more ranges than maxRanges is ERR_BLOCKLIST_TOO_LARGE, never a partial list', () => {
    const lines = Array.from({ length: 101 }, (_, i) => `9.9.${i >> 8}.${i & 255}`)
    expect(codeOf(() => IpBlocklist.parse(lines, { maxRanges: 100 }))).toBe('ERR_BLOCKLIST_TOO_LARGE')
    expect(IpBlocklist.parse(lines.slice(0, 100), { maxRanges: 100 }).v4Ranges).toBe(1)
  })

  it('parses a large list (200,000 ranges) quickly', () => {
    const lines: string[] = []
    for (let i = 0; i < 200_000; i++) lines.push(`range ${i}:${(i >> 8) & 255}.${i & 255}.${i % 7}.0-${(i >> 8) & 255}.${i & 255}.${i % 7}.255`)
    const t0 = performance.now()
    const bl = IpBlocklist.parse(lines.join('\n'))
    const ms = performance.now() - t0
    expect(bl.ignored).toBe(0)
    expect(bl.contains('1.2.6.4')).toBe(true) // i = 258: 1.2.(258 % 7).0/24
    expect(bl.contains('1.2.7.4')).toBe(false) // i % 7 is never 7
    expect(bl.contains(`${(1000 >> 8) & 255}.${1000 & 255}.${1000 % 7}.128`)).toBe(true)
    expect(ms).toBeLessThan(5000)
  })
})

describe('loadBlocklist', () => {
  it("webtorrent-fixtures' blocklist.txt and blocklist.txt.gz (P2P format)", async () => {
    for (const name of ['blocklist.txt', 'blocklist.txt.gz']) {
      const { list, contains } = await loadBlocklist(join(fixtures, name))
      expect(list!.toRanges()).toEqual(['1.2.3.0-1.2.3.255', '5.6.7.0-5.6.7.255'])
      expect(list!.ignored).toBe(0)
      expect(contains('1.2.3.4')).toBe(true)
      expect(contains('5.6.7.255')).toBe(true)
      expect(contains('1.2.4.0')).toBe(false)
    }
  })

  it('an eMule DAT file, gzipped under any name; bytes; a single range; a predicate', async () => {
    const dat = '001.002.003.004 - 001.002.003.010 , 000 , a\n010.000.000.000 - 010.255.255.255 , 255 , allowed\n'
    const p = join(base, 'ipfilter.dat.bin')
    writeFileSync(p, gzipSync(dat))
    const { contains } = await loadBlocklist(p)
    expect(contains('1.2.3.7')).toBe(true)
    expect(contains('10.1.1.1')).toBe(false)
    expect((await loadBlocklist(new TextEncoder().encode(dat))).contains('1.2.3.10')).toBe(true)
    expect((await loadBlocklist('10.0.0.0/8')).contains('10.9.9.9')).toBe(true)
    const pred = (ip: string): boolean => ip === '7.7.7.7'
    const l = await loadBlocklist(pred)
    expect(l.contains).toBe(pred)
    expect(l.list).toBeNull()
  })

  it('size limits: a big file and a gzip bomb stop at maxBytes; a missing file is ERR_BLOCKLIST_LOAD', async () => {
    const big = join(base, 'big.txt')
    writeFileSync(big, 'x'.repeat(2000))
    await expect(loadBlocklist(big, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'ERR_BLOCKLIST_TOO_LARGE' })
    const bomb = join(base, 'bomb.gz')
    writeFileSync(bomb, gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20))) // 50 MiB of spaces, ~50 KiB gzipped
    expect(readFileSync(bomb).length).toBeLessThan(200_000)
    await expect(loadBlocklist(bomb, { maxBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'ERR_BLOCKLIST_TOO_LARGE' })
    await expect(loadBlocklist(join(base, 'nope.txt'))).rejects.toMatchObject({ code: 'ERR_BLOCKLIST_LOAD' })
    const notGzip = join(base, 'bad.gz')
    writeFileSync(notGzip, Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]))
    await expect(loadBlocklist(notGzip)).rejects.toMatchObject({ code: 'ERR_BLOCKLIST_LOAD' })
  })

  it('from an http URL on loopback (gzip body), with a size limit and HTTP errors', async () => {
    const gz = readFileSync(join(fixtures, 'blocklist.txt.gz'))
    const server: Server = createServer((req, res) => {
      if (req.url === '/list.gz') { res.end(gz); return }
      if (req.url === '/big') { res.end('y'.repeat(5000)); return }
      res.statusCode = 404
      res.end()
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const { contains } = await loadBlocklist(`http://127.0.0.1:${port}/list.gz`)
      expect(contains('5.6.7.8')).toBe(true)
      expect(contains('5.6.8.8')).toBe(false)
      await expect(loadBlocklist(`http://127.0.0.1:${port}/big`, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'ERR_BLOCKLIST_TOO_LARGE' })
      await expect(loadBlocklist(`http://127.0.0.1:${port}/missing`)).rejects.toMatchObject({ code: 'ERR_BLOCKLIST_LOAD' })
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
  })
})
