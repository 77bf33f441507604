/**
 * parseTorrent / .torrent decoding: differential against npm parse-torrent over every webtorrent-fixtures
 * torrent, info-hash from the raw bytes, every torrent-id kind, bad-input cases 1-6, limits, pad files,
 * hybrid and v2-only torrents, and encoding back.
 */
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import parseTorrentNpm from 'parse-torrent'
import { describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import {
  parseTorrent, hasMetadata, decodeTorrentFile, decodeInfoDict, encodeTorrentFile, MetainfoError, TorrentIdError,
  type ParsedTorrent
} from '../src/metainfo/index.js'
import { FIXTURES, tempDir } from './helpers/metainfo.js'

const enc = new TextEncoder()
const sha1hex = (b: Uint8Array) => createHash('sha1').update(b).digest('hex')
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

function torrentBytes (info: Record<string, unknown>, outer: Record<string, unknown> = {}): Uint8Array {
  return bencode.encode({ ...outer, info } as never)
}

function pieces (n: number): Uint8Array {
  return new Uint8Array(n * 20).map((_, i) => i & 0xff)
}

async function parsed (bytes: Uint8Array): Promise<ParsedTorrent> {
  const t = await parseTorrent(bytes)
  if (!hasMetadata(t)) throw new Error('expected metadata')
  return t
}

async function code (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { code: string }).code
  }
  return 'no error'
}

const fixtureNames = readdirSync(FIXTURES).filter(f => f.endsWith('.torrent')).sort()

describe('differential: parse-torrent over webtorrent-fixtures', () => {
  it('covers the fixtures', () => expect(fixtureNames.length).toBeGreaterThanOrEqual(9))

  for (const name of fixtureNames) {
    it(name, async () => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, name)))
      let theirs: any
      try { theirs = await parseTorrentNpm(bytes) } catch { theirs = undefined }
      if (theirs === undefined) {
        // parse-torrent refuses it (corrupt.torrent): so must we, with a typed error.
        await expect(parseTorrent(bytes)).rejects.toBeInstanceOf(MetainfoError)
        return
      }
      const ours = await parsed(bytes)
      expect(ours.infoHash).toBe(theirs.infoHash)
      expect(Buffer.from(ours.infoHashBuffer).toString('hex')).toBe(theirs.infoHash)
      expect(ours.name).toBe(theirs.name)
      expect(ours.announce).toEqual(theirs.announce)
      expect(ours.urlList).toEqual(theirs.urlList)
      expect(ours.files).toEqual(theirs.files)
      expect(ours.length).toBe(theirs.length)
      expect(ours.pieceLength).toBe(theirs.pieceLength)
      expect(ours.lastPieceLength).toBe(theirs.lastPieceLength)
      expect(ours.pieces).toEqual(theirs.pieces)
      expect(ours.private).toBe(theirs.private)
      expect(ours.created?.getTime()).toBe(theirs.created?.getTime())
      expect(ours.createdBy).toBe(theirs.createdBy)
      expect(ours.comment).toBe(theirs.comment)
      expect(Buffer.from(ours.infoBuffer).equals(Buffer.from(theirs.infoBuffer))).toBe(true)
      expect(ours.padFiles).toEqual([])
      expect(ours.version).toBe('v1')
    })
  }
})

describe('info-hash from the raw info bytes', () => {
  it('is the SHA-1 of the info bytes as written, even with unsorted keys (never a re-encoding)', async () => {
    // info keys out of order: "pieces" before "piece length", "name" last.
    const p = pieces(1)
    const info = Buffer.concat([
      Buffer.from('d6:lengthi5e6:pieces20:'), Buffer.from(p), Buffer.from('12:piece lengthi16384e4:name1:ae')
    ])
    const bytes = new Uint8Array(Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]))
    const ours = await parsed(bytes)
    expect(ours.infoHash).toBe(sha1hex(info))
    expect(Buffer.from(ours.infoBuffer).equals(info)).toBe(true)
    const reencoded = bencode.encode(bencode.decode(info))
    expect(sha1hex(reencoded)).not.toBe(ours.infoHash) // parse-torrent would report this one
    // Encoding back keeps the raw bytes: same info-hash.
    const again = await parsed(encodeTorrentFile(ours))
    expect(again.infoHash).toBe(ours.infoHash)
  })

  it('encodeTorrentFile keeps trackers, web seeds, comment, creator and date', async () => {
    const t = await parsed(new Uint8Array(readFileSync(join(FIXTURES, 'leaves.torrent'))))
    t.announce = ['udp://a.example:1', 'wss://b.example']
    t.urlList = ['https://c.example/']
    t.comment = 'hello'
    t.createdBy = 'me'
    t.created = new Date(1_700_000_000_000)
    const back = await parsed(encodeTorrentFile(t))
    expect(back.infoHash).toBe(t.infoHash)
    expect(back.announce).toEqual(t.announce)
    expect(back.urlList).toEqual(t.urlList)
    expect(back.comment).toBe('hello')
    expect(back.createdBy).toBe('me')
    expect(back.created?.getTime()).toBe(1_700_000_000_000)
    // parse-torrent reads our encoding the same way.
    const theirs = await parseTorrentNpm(encodeTorrentFile(t))
    expect(theirs.infoHash).toBe(t.infoHash)
    expect(theirs.announce).toEqual(t.announce)
  })
})

describe('torrent ids', () => {
  const leaves = new Uint8Array(readFileSync(join(FIXTURES, 'leaves.torrent')))
  const hash = 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36'

  it('info-hash as hex, base32 and 20 bytes', async () => {
    for (const id of [hash, hash.toUpperCase(), base32(hash), base32(hash).toLowerCase(), new Uint8Array(Buffer.from(hash, 'hex'))]) {
      const t = await parseTorrent(id)
      expect(t.infoHash).toBe(hash)
      expect(hasMetadata(t)).toBe(false)
      expect(t.announce).toEqual([])
    }
  })

  it('magnet URI', async () => {
    const t = await parseTorrent(`magnet:?xt=urn:btih:${hash}&dn=Leaves&tr=udp%3A%2F%2Ft.example%3A1`)
    expect(t).toMatchObject({ infoHash: hash, name: 'Leaves', announce: ['udp://t.example:1'] })
  })

  it('.torrent as Uint8Array, Buffer, ArrayBuffer, DataView and Blob', async () => {
    const ab = leaves.buffer.slice(leaves.byteOffset, leaves.byteOffset + leaves.byteLength)
    for (const id of [leaves, Buffer.from(leaves), ab, new DataView(ab), new Blob([leaves])]) {
      expect((await parseTorrent(id as never)).infoHash).toBe(hash)
    }
  })

  it('file path (Node), and a clear error for a missing one', async () => {
    expect((await parseTorrent(join(FIXTURES, 'leaves.torrent'))).infoHash).toBe(hash)
    const err = await parseTorrent(join(FIXTURES, 'missing.torrent')).catch(e => e)
    expect(err).toBeInstanceOf(TorrentIdError)
    expect(err.code).toBe('ERR_TORRENT_ID_INVALID')
  })

  it('an already-parsed torrent is re-parsed from its raw info bytes', async () => {
    const t = await parsed(leaves)
    const again = await parseTorrent({ ...t, announce: 'udp://x.example:1' } as never)
    expect(hasMetadata(again)).toBe(true)
    expect(again.infoHash).toBe(hash)
    expect(again.announce).toEqual(['udp://x.example:1'])
    // parse-torrent's own output is accepted too.
    const theirs = await parseTorrentNpm(leaves)
    expect((await parseTorrent(theirs)).infoHash).toBe(hash)
    // An infoHash that does not match the bytes is refused.
    expect(await code(parseTorrent({ ...t, infoHash: '0'.repeat(40) } as never))).toBe('ERR_TORRENT_INFO_HASH_MISMATCH')
  })

  it('an object with only an infoHash is normalized like a magnet', async () => {
    const t = await parseTorrent({ infoHash: hash.toUpperCase(), announce: 'udp://x.example:1' })
    expect(t).toMatchObject({ infoHash: hash, announce: ['udp://x.example:1'], urlList: [] })
    expect(await code(parseTorrent({ infoHash: 'xyz' }))).toBe('ERR_TORRENT_ID_INVALID')
  })

  it('rejects other values with ERR_TORRENT_ID_INVALID', async () => {
    for (const id of [null, 42, {}, '', 'not a torrent id at all']) {
      expect(await code(parseTorrent(id as never))).toBe('ERR_TORRENT_ID_INVALID')
    }
  })
})

function base32 (hex: string): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const b of Buffer.from(hex, 'hex')) bits += b.toString(2).padStart(8, '0')
  let out = ''
  for (let i = 0; i < bits.length; i += 5) out += A[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)]
  return out
}

describe('bad input (cases 1-6 of bad-input-cases.md) and limits', () => {
  it('case 1: 100k nested lists -> typed error, no stack overflow', async () => {
    const deep = enc.encode('d4:info' + 'l'.repeat(100_000) + 'e'.repeat(100_000) + 'e')
    const err = await decodeTorrentFile(deep).catch(e => e)
    expect(err).toBeInstanceOf(MetainfoError)
    expect(err.code).toBe('ERR_TORRENT_INVALID')
  })

  it('case 2: string length past the end / 2^64-1 -> error', async () => {
    expect(await code(parseTorrent(enc.encode('d4:info18446744073709551615:xe')))).toBe('ERR_TORRENT_INVALID')
    expect(await code(parseTorrent(enc.encode('d4:infod4:name99:abee')))).toBe('ERR_TORRENT_INVALID')
  })

  it('case 3: i-0e, leading zeros and duplicate keys are rejected', async () => {
    for (const s of ['d4:infoi-0ee', 'd4:infoi03ee', 'd4:info03:abce', 'd4:infod4:name1:a4:name1:bee']) {
      expect(await code(parseTorrent(enc.encode(s)))).toBe('ERR_TORRENT_INVALID')
    }
  })

  it('case 4: a length above 2^53 is an error, never rounded', async () => {
    const bytes = enc.encode(`d4:infod6:lengthi9007199254740993e4:name1:a12:piece lengthi16384e6:pieces0:ee`)
    expect(await code(parseTorrent(bytes))).toBe('ERR_TORRENT_INVALID_FIELD')
  })

  it('case 5: a __proto__ key is plain data', async () => {
    const raw = enc.encode(`d4:infod9:__proto__d8:pollutedi1ee6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:${'x'.repeat(20)}ee`)
    const t2 = await parsed(raw)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(t2.info)).toBe(Object.prototype)
    expect(t2.info.__proto__).toEqual({ polluted: 1 })
    expect(t2.name).toBe('a')
  })

  it('case 6: a .torrent over 10 MB and more than 2M tokens are rejected', async () => {
    const big = new Uint8Array(10_000_001)
    expect(await code(parseTorrent(big))).toBe('ERR_TORRENT_TOO_LARGE')
    expect(await code(parseTorrent(new Blob([big])))).toBe('ERR_TORRENT_TOO_LARGE')
    const manyTokens = enc.encode('d4:infol' + 'i0e'.repeat(3_000_000) + 'ee')
    expect(manyTokens.length).toBeLessThan(10_000_000)
    expect(await code(parseTorrent(manyTokens))).toBe('ERR_TORRENT_INVALID')
  })

  it('missing and invalid fields', async () => {
    const ok = { name: 'a', 'piece length': 16384, length: 20000, pieces: pieces(2) }
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...ok, name: undefined }, 'ERR_TORRENT_MISSING_FIELD'],
      [{ ...ok, pieces: undefined }, 'ERR_TORRENT_MISSING_FIELD'],
      [{ ...ok, 'piece length': undefined }, 'ERR_TORRENT_MISSING_FIELD'],
      [{ ...ok, 'piece length': 0 }, 'ERR_TORRENT_INVALID_FIELD'],
      [{ ...ok, 'piece length': -5 }, 'ERR_TORRENT_INVALID_FIELD'],
      [{ ...ok, length: -1 }, 'ERR_TORRENT_INVALID_FIELD'],
      [{ ...ok, length: undefined }, 'ERR_TORRENT_INVALID_FIELD'],
      [{ ...ok, pieces: new Uint8Array(30) }, 'ERR_TORRENT_INVALID_FIELD'],
      [{ ...ok, pieces: pieces(3) }, 'ERR_TORRENT_PIECES_MISMATCH'],
      [{ ...ok, pieces: pieces(1) }, 'ERR_TORRENT_PIECES_MISMATCH'],
      [{ ...ok, length: undefined, files: [{ length: 1 }] }, 'ERR_TORRENT_MISSING_FIELD'],
      [{ ...ok, length: undefined, files: [{ length: 1, path: 'a' }] }, 'ERR_TORRENT_INVALID_FIELD'],
      [{ ...ok, length: undefined, files: 'x' }, 'ERR_TORRENT_INVALID_FIELD']
    ]
    for (const [info, expected] of cases) {
      for (const k of Object.keys(info)) if (info[k] === undefined) delete info[k]
      expect(await code(parseTorrent(torrentBytes(info))), JSON.stringify(Object.keys(info))).toBe(expected)
    }
    expect(await code(parseTorrent(enc.encode('d8:announce1:xe')))).toBe('ERR_TORRENT_MISSING_FIELD')
    expect(await code(parseTorrent(enc.encode('li1ee')))).toBe('ERR_TORRENT_INVALID')
  })
})

describe('BEP 47 pad files, BEP 52 hybrid and v2-only', () => {
  const padded = {
    name: 'dir',
    'piece length': 16384,
    files: [
      { length: 10000, path: ['a.bin'] },
      { length: 6384, path: ['.pad', '6384'], attr: 'p' },
      { length: 100, path: ['b.bin'], attr: 'x' },
      { length: 16284, path: ['_____padding_file_0_    BitComet    '] },
      { length: 5, path: ['c', 'd.txt'] }
    ],
    pieces: pieces(3)
  }

  it('pad files are recognised (attr p and legacy names), kept apart, and never user files', async () => {
    const t = await parsed(torrentBytes(padded))
    expect(t.files).toEqual([
      { path: 'dir/a.bin', name: 'a.bin', length: 10000, offset: 0 },
      { path: 'dir/b.bin', name: 'b.bin', length: 100, offset: 16384, attr: 'x' },
      { path: 'dir/c/d.txt', name: 'd.txt', length: 5, offset: 32768 }
    ])
    expect(t.padFiles).toEqual([{ offset: 10000, length: 6384 }, { offset: 16484, length: 16284 }])
    expect(t.length).toBe(32773)
    expect(t.lastPieceLength).toBe(5)
  })

  it('a hybrid torrent loads as v1, with its v2 info-hash', async () => {
    const info = { ...padded, 'meta version': 2, 'file tree': { 'a.bin': { '': { length: 10000, 'pieces root': new Uint8Array(32) } } } }
    const bytes = torrentBytes(info)
    const t = await parsed(bytes)
    expect(t.version).toBe('hybrid')
    expect(t.files.map(f => f.path)).toEqual(['dir/a.bin', 'dir/b.bin', 'dir/c/d.txt'])
    expect(t.infoHash).toBe(sha1hex(t.infoBuffer))
    expect(t.infoHashV2).toBe(sha256hex(t.infoBuffer))
  })

  it('a v2-only torrent is a clear "not supported yet" error', async () => {
    const info = { name: 'a', 'piece length': 16384, 'meta version': 2, 'file tree': { a: { '': { length: 1 } } } }
    const err = await parseTorrent(torrentBytes(info, { 'piece layers': {} })).catch(e => e)
    expect(err).toBeInstanceOf(MetainfoError)
    expect(err.code).toBe('ERR_TORRENT_NOT_V1')
    expect(err.message).toMatch(/v2-only .* not supported yet/)
    expect(await code(parseTorrent(torrentBytes({ ...info, 'meta version': 3 })))).toBe('ERR_TORRENT_VERSION')
  })
})

describe('raw info dicts (ut_metadata)', () => {
  it('decodeInfoDict parses a bare info dict with outer fields', async () => {
    const t = await parsed(new Uint8Array(readFileSync(join(FIXTURES, 'alice.torrent'))))
    const again = await decodeInfoDict(t.infoBuffer, { announce: enc.encode('udp://a.example:1') })
    expect(again.infoHash).toBe(t.infoHash)
    expect(again.announce).toEqual(['udp://a.example:1'])
    expect(await code(decodeInfoDict(enc.encode('le')))).toBe('ERR_TORRENT_INVALID_FIELD')
  })

  it('pieces is built lazily but behaves like a plain array (JSON, spread)', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const t = await parsed(new Uint8Array(readFileSync(join(FIXTURES, 'sintel.torrent'))))
      expect(JSON.parse(JSON.stringify({ pieces: t.pieces })).pieces.length).toBe(t.pieceHashes.length / 20)
      expect({ ...t }.pieces).toEqual(t.pieces)
      writeFileSync(join(dir, 'x.torrent'), encodeTorrentFile(t))
      expect((await parseTorrent(join(dir, 'x.torrent'))).infoHash).toBe(t.infoHash)
    } finally {
      cleanup()
    }
  })
})
