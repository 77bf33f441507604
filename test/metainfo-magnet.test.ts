/** Magnet URIs: differential against npm magnet-uri (parse and build), BEP 53 `so`, btmh, bad input. */
import magnetUri, { encode as magnetEncode } from 'magnet-uri'
import { toMagnetURI as npmToMagnetURI } from 'parse-torrent'
import { describe, expect, it } from 'vitest'
import { parseMagnet, toMagnetURI, parseTorrent, MagnetError, type MagnetTorrent } from '../src/metainfo/index.js'

const hash = 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36'
const v2 = 'a'.repeat(64)

const samples = [
  `magnet:?xt=urn:btih:${hash}`,
  `magnet:?xt=urn:btih:${hash.toUpperCase()}&dn=Leaves+of+Grass+by+Walt+Whitman.epub`,
  `magnet:?xt=urn:btih:2TSE5BWJLMM3RPH5XEV4CLE5IRTHZ6RW&dn=a%20b`,
  `magnet:?xt=urn:btih:${hash}&dn=x&tr=udp%3A%2F%2Ftracker.example.org%3A1337&tr=wss%3A%2F%2Ftracker.example.com&tr=udp%3A%2F%2Ftracker.example.org%3A1337`,
  `magnet:?xt=urn:btih:${hash}&ws=https%3A%2F%2Fseed.example%2Fa&as=https%3A%2F%2Fmirror.example%2Fb`,
  `magnet:?xt=urn:btih:${hash}&x.pe=127.0.0.1:6881&x.pe=[::1]:6882`,
  `magnet:?xt=urn:btih:${hash}&so=0,2,4-6`,
  `magnet:?xt=urn:btih:${hash}&xt=urn:btmh:1220${v2}&dn=hybrid`,
  `stream-magnet:?xt=urn:btih:${hash}`
]

describe('parseMagnet vs magnet-uri', () => {
  for (const uri of samples) {
    it(uri.slice(0, 90), () => {
      const ours = parseMagnet(uri)
      const theirs = magnetUri(uri)
      expect(ours.infoHash).toBe(theirs.infoHash)
      expect(ours.infoHashV2).toBe(theirs.infoHashV2)
      expect(ours.name).toBe(theirs.name)
      expect(ours.announce).toEqual(theirs.announce)
      expect(ours.urlList).toEqual(theirs.urlList)
      expect(ours.peerAddresses).toEqual(theirs.peerAddresses)
      expect(ours.so).toEqual(theirs.so)
      if (theirs.infoHashBuffer) expect(Buffer.from(ours.infoHashBuffer!).equals(Buffer.from(theirs.infoHashBuffer))).toBe(true)
    })
  }

  it('reads BEP 9 numbered keys, xs, kt and repeated so', () => {
    const m = parseMagnet(`magnet:?xt.1=urn:btih:${hash}&tr.1=http%3A%2F%2Fa.example%2Fannounce&tr.2=http%3A%2F%2Fb.example%2Fannounce&xs=http%3A%2F%2Fx.example%2Ft.torrent&kt=foo+bar&so=1&so=3-4`)
    expect(m.infoHash).toBe(hash)
    expect(m.announce).toEqual(['http://a.example/announce', 'http://b.example/announce'])
    expect(m.exactSources).toEqual(['http://x.example/t.torrent'])
    expect(m.keywords).toEqual(['foo', 'bar'])
    expect(m.so).toEqual([1, 3, 4])
  })

  it('keeps values with malformed escapes as written', () => {
    expect(parseMagnet(`magnet:?xt=urn:btih:${hash}&dn=100%`).name).toBe('100%')
  })
})

describe('toMagnetURI', () => {
  it('gives magnet-uri\'s string for the same fields', () => {
    const t = {
      infoHash: hash,
      name: 'Leaves of Grass & more',
      announce: ['udp://tracker.example.org:1337', 'wss://tracker.example.com'],
      urlList: ['https://seed.example/a b']
    }
    expect(toMagnetURI(t)).toBe(magnetEncode({ xt: `urn:btih:${hash}`, dn: t.name, tr: t.announce, ws: t.urlList }))
    expect(toMagnetURI(t)).toBe(npmToMagnetURI({ infoHash: hash, name: t.name, announce: t.announce, urlList: t.urlList }))
  })

  it('round-trips every field through parseMagnet', () => {
    const t = {
      infoHash: hash,
      infoHashV2: v2,
      name: 'a/b c+d',
      announce: ['udp://t.example:1'],
      urlList: ['https://w.example/'],
      peerAddresses: ['127.0.0.1:6881'],
      exactSources: ['https://x.example/a.torrent'],
      so: [0, 1, 2, 5, 7, 8],
      keywords: ['k1', 'k2']
    }
    const uri = toMagnetURI(t)
    expect(uri).toContain('so=0-2,5,7-8')
    const back = parseMagnet(uri)
    expect(back).toMatchObject(t)
    // magnet-uri reads ours too.
    const theirs = magnetUri(uri)
    expect(theirs.infoHash).toBe(hash)
    expect(theirs.infoHashV2).toBe(v2)
    expect(theirs.so).toEqual(t.so)
    // magnet-uri turns an escaped '+' (%2B) into a space after decoding; we keep it.
    expect(theirs.name).toBe('a/b c d')
  })

  it('refuses an object without a valid info-hash', () => {
    expect(() => toMagnetURI({ name: 'x' })).toThrow(MagnetError)
    expect(() => toMagnetURI({ infoHash: 'abc' })).toThrow(MagnetError)
  })
})

describe('bad magnets', () => {
  const bad = [
    'magnet:?dn=no-topic',
    'magnet:?xt=urn:sha1:YNCKHTQCWBTRNJIV4WNAE52SJUQCZO5C',
    `magnet:?xt=urn:btih:${hash.slice(1)}`,
    'magnet:?xt=urn:btih:0123456789abcdef0123456789abcdefxxxxxxxx',
    'magnet:?xt=urn:btih:1111111111111111111111111111111!',
    `magnet:?xt=urn:btmh:1114${v2}`,
    `magnet:?xt=urn:btih:${hash}&so=5-2`,
    `magnet:?xt=urn:btih:${hash}&so=a`,
    `magnet:?xt=urn:btih:${hash}&so=0-4294967295`,
    'http://example.com/?xt=urn:btih:' + hash
  ]
  for (const uri of bad) {
    it(uri.slice(0, 80), () => {
      let err: unknown
      try { parseMagnet(uri) } catch (e) { err = e }
      expect(err).toBeInstanceOf(MagnetError)
      expect((err as MagnetError).code).toBe('ERR_MAGNET_INVALID')
    })
  }

  it('parseTorrent refuses a v2-only magnet as not supported yet, and a bad one as invalid', async () => {
    const err = await parseTorrent(`magnet:?xt=urn:btmh:1220${v2}`).catch(e => e)
    expect(err.code).toBe('ERR_MAGNET_NOT_V1')
    expect(err.message).toMatch(/not supported yet/)
    expect((await parseTorrent('magnet:?dn=x').catch(e => e)).code).toBe('ERR_MAGNET_INVALID')
    const ok = await parseTorrent(`magnet:?xt=urn:btih:${hash}&xt=urn:btmh:1220${v2}`) as MagnetTorrent
    expect(ok.infoHashV2).toBe(v2)
  })
})
