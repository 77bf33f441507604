/**
 * Against the real counterparts: libtorrent 2.0 (python3-libtorrent) reads the same info-hash, name, files and
 * piece count as we do from torrents made by mktorrent and by libtorrent (v1, and hybrid with BEP 47 pad
 * files); libtorrent hash-checks the data on disk as complete against torrents we create.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, parseTorrent, type ParsedTorrent } from '../src/metainfo/index.js'
import { libtorrent, tempDir, type LtInfo } from './helpers/metainfo.js'
import { needs, system } from './helpers/system.js'

const run = promisify(execFile)
const haveLt = needs('python3-libtorrent', system.libtorrent())
const haveMktorrent = needs('mktorrent', system.command('mktorrent'))

let dir: string
let cleanup: () => void

beforeAll(() => {
  ({ dir, cleanup } = tempDir('wt-lt-'))
  const put = (rel: string, bytes: Buffer) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), bytes)
  }
  put('content/a.bin', randomBytes(100_000))
  put('content/sub/b.bin', randomBytes(70_000))
  put('content/c.txt', Buffer.from('hello\n'))
  put('content/sub/deep/d.bin', randomBytes(33_333))
  put('single.bin', randomBytes(250_001))
  put('big/x.bin', randomBytes(6 * 1024 * 1024 + 5))
  put('big/y.bin', randomBytes(1024 * 1024 - 3))
})

afterAll(() => cleanup?.())

async function ours (file: string): Promise<ParsedTorrent> {
  return await parseTorrent(file) as ParsedTorrent
}

/** Our view and libtorrent's agree on info-hash, name, user files and piece count; pads line up. */
function compare (t: ParsedTorrent, lt: LtInfo): void {
  expect(lt.error).toBeUndefined()
  expect(t.infoHash).toBe(lt.info_hash)
  expect(t.name).toBe(lt.name)
  expect(t.pieceHashes.length / 20).toBe(lt.num_pieces)
  expect(t.pieceLength).toBe(lt.piece_length)
  expect(t.length).toBe(lt.total_size)
  const ltFiles = lt.files.filter(f => !f.pad).map(f => ({ path: f.path, length: f.size }))
  expect(t.files.map(f => ({ path: f.path, length: f.length }))).toEqual(ltFiles)
  expect(t.padFiles.map(p => p.length)).toEqual(lt.files.filter(f => f.pad && f.size > 0).map(f => f.size))
  // Offsets: each user file starts where libtorrent's layout (pads included) puts it.
  let offset = 0
  const offsets: number[] = []
  for (const f of lt.files) {
    if (!f.pad) offsets.push(offset)
    offset += f.size
  }
  expect(t.files.map(f => f.offset)).toEqual(offsets)
}

describe.skipIf(!haveMktorrent || !haveLt)('torrents made by mktorrent', () => {
  for (const [what, src, exp] of [['directory', 'content', 15], ['single file', 'single.bin', 16]] as const) {
    it(what, async () => {
      const out = join(dir, `mk-${exp}.torrent`)
      await run('mktorrent', ['-l', String(exp), '-a', 'http://127.0.0.1:1/announce', '-o', out, join(dir, src)])
      const t = await ours(out)
      compare(t, await libtorrent.info(out))
      expect(t.announce).toEqual(['http://127.0.0.1:1/announce'])
    })
  }
})

describe.skipIf(!haveLt)('torrents made by libtorrent', () => {
  it('v1', async () => {
    const out = join(dir, 'lt-v1.torrent')
    await libtorrent.make(join(dir, 'content'), out, 'v1', 16384, 'http://127.0.0.1:1/announce')
    const t = await ours(out)
    compare(t, await libtorrent.info(out))
    expect(t.version).toBe('v1')
    expect(t.padFiles).toEqual([])
  })

  it('hybrid v1+v2 with pad files loads as v1', async () => {
    const out = join(dir, 'lt-hybrid.torrent')
    await libtorrent.make(join(dir, 'content'), out, 'hybrid', 16384)
    const t = await ours(out)
    const lt = await libtorrent.info(out)
    expect(lt.files.some(f => f.pad)).toBe(true)
    compare(t, lt)
    expect(t.version).toBe('hybrid')
    expect(t.infoHashV2).toMatch(/^[0-9a-f]{64}$/)
    // Pad files never appear among the user files.
    expect(t.files.every(f => !f.path.includes('.pad'))).toBe(true)
  })

  it('v2-only is refused as not supported yet', async () => {
    const out = join(dir, 'lt-v2.torrent')
    await libtorrent.make(join(dir, 'content'), out, 'v2', 16384)
    const err = await parseTorrent(out).catch(e => e)
    expect(err.code).toBe('ERR_TORRENT_NOT_V1')
  })
})

describe.skipIf(!haveLt)('torrents we create, checked by libtorrent against the data', () => {
  const cases: Array<[string, () => Promise<Uint8Array>]> = [
    ['a directory', () => createTorrent(join(dir, 'content'), { pieceLength: 16384 })],
    ['a single file', () => createTorrent(join(dir, 'single.bin'), { pieceLength: 32768 })],
    ['a larger directory (worker pool)', () => createTorrent(join(dir, 'big'), { pieceLength: 65536 })],
    ['a stream of a file', () => createTorrent(createReadStream(join(dir, 'single.bin')), { name: 'single.bin', pieceLength: 16384 })],
    ['bytes', () => createTorrent(readFileSync(join(dir, 'single.bin')), { name: 'single.bin' })]
  ]
  for (const [what, make] of cases) {
    it(what, async () => {
      const bytes = await make()
      const file = join(dir, `ours-${what.replace(/\W+/g, '-')}.torrent`)
      writeFileSync(file, bytes)
      const t = await ours(file)
      compare(t, await libtorrent.info(file))
      const v = await libtorrent.verify(file, dir)
      expect(v.num_pieces).toBe(t.pieceHashes.length / 20)
      expect(v.have).toBe(v.num_pieces)
      expect(v.seeding).toBe(true)
    })
  }
})
