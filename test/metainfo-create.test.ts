/**
 * createTorrent: the same bytes / info-hash as npm create-torrent for the same files, piece length and
 * options, for every input kind; streaming with bounded memory through the worker pool; progress; errors.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import pieceLengthNpm from 'piece-length'
import parseTorrentNpm from 'parse-torrent'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, parseTorrent, autoPieceLength, CreateTorrentError, type ParsedTorrent } from '../src/metainfo/index.js'
import { BATCH_BYTES } from '../src/metainfo/piece-hashing.js'
import { createPieceHasher } from '../src/metainfo/piece-hasher-node.js'
import { hashPool } from '../src/worker/hash-pool.js'
import { createTorrentNpm, tempDir } from './helpers/metainfo.js'

let dir: string
let cleanup: () => void
const data: Record<string, Buffer> = {}

function put (rel: string, bytes: Buffer): void {
  const p = join(dir, rel)
  mkdirSync(join(p, '..'), { recursive: true })
  writeFileSync(p, bytes)
  data[rel] = bytes
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir())
  put('small/one.bin', randomBytes(100_000))
  put('tree/b.bin', randomBytes(40_000))
  put('tree/a.txt', Buffer.from('hello\n'))
  put('tree/sub/c.bin', randomBytes(70_001))
  put('tree/sub/deeper/empty.txt', Buffer.alloc(0))
  put('tree/Zeta.bin', randomBytes(3))
  put('tree/.hidden', Buffer.from('secret'))
  put('tree/.DS_Store', Buffer.from('junk'))
  put('tree/backup~', Buffer.from('junk'))
  put('big/x.bin', randomBytes(5 * 1024 * 1024 + 123))
  put('big/y.bin', randomBytes(3 * 1024 * 1024 + 7))
  mkdirSync(join(dir, 'emptydir'))
})

afterAll(() => cleanup())

const fixed = { creationDate: new Date('2024-01-02T03:04:05Z'), announceList: [] as string[][] }

async function parsed (b: Uint8Array): Promise<ParsedTorrent> {
  return await parseTorrent(b) as ParsedTorrent
}

async function same (input: () => unknown, opts: Record<string, unknown> = {}): Promise<ParsedTorrent> {
  const ours = await createTorrent(input() as never, { ...fixed, ...opts })
  const theirs = await createTorrentNpm(input(), { ...fixed, ...opts })
  expect(Buffer.from(ours).toString('latin1')).toBe(Buffer.from(theirs).toString('latin1'))
  const t = await parsed(ours)
  expect(t.infoHash).toBe((await parseTorrentNpm(theirs)).infoHash)
  return t
}

describe('same .torrent bytes as create-torrent', () => {
  it('single file path, automatic piece length', async () => {
    const t = await same(() => join(dir, 'small/one.bin'))
    expect(t.name).toBe('one.bin')
    expect(t.files).toEqual([{ path: 'one.bin', name: 'one.bin', length: 100_000, offset: 0 }])
    expect(t.pieceLength).toBe(pieceLengthNpm(100_000))
  })

  it('directory walked recursively in byte order, hidden and junk files skipped', async () => {
    const t = await same(() => join(dir, 'tree'), { pieceLength: 16384 })
    expect(t.name).toBe('tree')
    expect(t.files.map(f => f.path)).toEqual(['tree/Zeta.bin', 'tree/a.txt', 'tree/b.bin', 'tree/sub/c.bin', 'tree/sub/deeper/empty.txt'])
  })

  it('several paths keep their own names', async () => {
    const t = await same(() => [join(dir, 'tree/sub'), join(dir, 'small/one.bin')], { pieceLength: 32768 })
    expect(t.files.map(f => f.path)).toEqual(['sub/sub/c.bin', 'sub/sub/deeper/empty.txt', 'sub/one.bin'])
  })

  it('Uint8Arrays (named, unnamed, with a shared folder prefix)', async () => {
    await same(() => data['small/one.bin'], { name: 'buf.bin' })
    await same(() => [Object.assign(Buffer.from(data['tree/b.bin']), { name: 'x/b.bin' }), Object.assign(Buffer.from(data['tree/a.txt']), { name: 'x/a.txt' })], { pieceLength: 16384 })
    await same(() => [Buffer.from(data['tree/b.bin']), Buffer.from(data['tree/a.txt'])], { name: 'unnamed', pieceLength: 16384 })
  })

  it('Blobs and Files', async () => {
    const part = (k: string) => new Uint8Array(data[k]) as Uint8Array<ArrayBuffer>
    await same(() => new File([part('small/one.bin')], 'file.bin'))
    await same(() => [new File([part('tree/b.bin')], 'b.bin'), new File([part('tree/sub/c.bin')], 'c.bin')], { name: 'files', pieceLength: 16384 })
  })

  it('a Node Readable', async () => {
    const t = await same(() => Readable.from([data['tree/b.bin'], data['tree/sub/c.bin']]), { name: 'stream.bin', pieceLength: 16384 })
    expect(t.length).toBe(110_001)
  })

  it('every option: private, comment, createdBy, announceList, urlList, creationDate', async () => {
    const opts = {
      name: 'named',
      comment: 'a comment',
      createdBy: 'wasmtorrent test',
      private: true,
      pieceLength: 65536,
      announceList: [['udp://127.0.0.1:1/announce', 'http://127.0.0.1:2/announce'], ['wss://127.0.0.1:3']],
      urlList: ['http://127.0.0.1:4/'],
      creationDate: new Date('2020-05-06T07:08:09Z')
    }
    const t = await same(() => join(dir, 'tree'), opts)
    expect(t).toMatchObject({ name: 'named', comment: 'a comment', createdBy: 'wasmtorrent test', private: true, urlList: ['http://127.0.0.1:4/'] })
    expect(t.announce).toEqual(['udp://127.0.0.1:1/announce', 'http://127.0.0.1:2/announce', 'wss://127.0.0.1:3'])
    expect(t.created?.toISOString()).toBe('2020-05-06T07:08:09.000Z')
    await same(() => join(dir, 'tree'), { private: false, announce: ['udp://127.0.0.1:1'] })
  })

  it('large inputs hashed on the worker pool: files and a stream', async () => {
    const t = await same(() => join(dir, 'big'), { pieceLength: 32768 })
    expect(t.length).toBe(8 * 1024 * 1024 + 130)
    expect(hashPool().size).toBeGreaterThanOrEqual(1)
    await same(() => Readable.from([data['big/x.bin'], data['big/y.bin']]), { name: 'big-stream', pieceLength: 1 << 20 })
  })
})

describe('hashing', () => {
  it('streams with bounded memory and reports progress up to the total', async () => {
    const total = 48 * 1024 * 1024
    const chunk = randomBytes(1 << 20)
    let produced = 0
    let hashed = 0
    let maxAhead = 0
    const progress: number[] = []
    async function * source () {
      while (produced < total) {
        produced += chunk.length
        maxAhead = Math.max(maxAhead, produced - hashed)
        yield chunk
      }
    }
    const bytes = await createTorrent(source(), {
      name: 'stream',
      pieceLength: 1 << 18,
      onProgress: (done, expected) => {
        hashed = done
        progress.push(done)
        expect(expected).toBeGreaterThanOrEqual(done)
      }
    })
    const t = await parsed(bytes)
    expect(t.length).toBe(total)
    expect(progress[progress.length - 1]).toBe(total)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    // At most 2 jobs per worker in flight, plus the one being filled, plus one chunk.
    const bound = (2 * hashPool().size + 1) * BATCH_BYTES + chunk.length
    expect(maxAhead).toBeLessThanOrEqual(bound)
    // Same pieces as hashing it in one go.
    const whole = Buffer.concat(Array.from({ length: total / chunk.length }, () => chunk))
    expect((await parsed(await createTorrent(whole, { name: 'stream', pieceLength: 1 << 18 }))).infoHash).toBe(t.infoHash)
  })

  it('progress for file inputs ends at the total', async () => {
    let last = [0, 0]
    await createTorrent(join(dir, 'big'), { pieceLength: 1 << 20, onProgress: (a, b) => { last = [a, b] } })
    expect(last).toEqual([8 * 1024 * 1024 + 130, 8 * 1024 * 1024 + 130])
  })

  it('a file that shrank after listing fails in the worker with ERR_CREATE_FILE_CHANGED', async () => {
    const hasher = createPieceHasher(Infinity, { inline: false })
    const err = await hasher.hash([{ path: join(dir, 'small/one.bin'), offset: 0, length: 200_000 }], 16384).catch(e => e)
    expect(err).toBeInstanceOf(CreateTorrentError)
    expect(err.code).toBe('ERR_CREATE_FILE_CHANGED')
    const inline = createPieceHasher(0, { inline: true })
    expect((await inline.hash([{ path: join(dir, 'nope'), offset: 0, length: 1 }], 16384).catch(e => e)).code).toBe('ERR_CREATE_READ')
  })
})

describe('automatic piece length', () => {
  it('matches create-torrent (piece-length, capped at 4 MiB)', () => {
    for (let size = 1; size < 2 ** 40; size = Math.ceil(size * 1.37) + 1) {
      expect(autoPieceLength(size), String(size)).toBe(Math.min(pieceLengthNpm(size), 4 * 1024 * 1024))
    }
    expect(autoPieceLength(2 ** 30)).toBe(1 << 20)
    expect(autoPieceLength(2 ** 42)).toBe(4 * 1024 * 1024) // piece-length wraps to 16 KiB here
  })
})

describe('bad input', () => {
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['missing path', () => createTorrent(join(dir, 'missing')), 'ERR_CREATE_INPUT'],
    ['empty directory', () => createTorrent(join(dir, 'emptydir')), 'ERR_CREATE_NO_FILES'],
    ['no data', () => createTorrent(new Uint8Array(0), { name: 'x' }), 'ERR_CREATE_EMPTY'],
    ['empty array', () => createTorrent([]), 'ERR_CREATE_INPUT'],
    ['a number', () => createTorrent(42 as never), 'ERR_CREATE_INPUT'],
    ['null in an array', () => createTorrent([null] as never), 'ERR_CREATE_INPUT'],
    ['piece length not a power of two', () => createTorrent(data['tree/a.txt'], { name: 'x', pieceLength: 20000 }), 'ERR_CREATE_OPTIONS'],
    ['piece length too small', () => createTorrent(data['tree/a.txt'], { name: 'x', pieceLength: 8192 }), 'ERR_CREATE_OPTIONS'],
    ['empty name', () => createTorrent(data['tree/a.txt'], { name: '' }), 'ERR_CREATE_OPTIONS'],
    ['bad announceList', () => createTorrent(data['tree/a.txt'], { name: 'x', announceList: ['u'] as never }), 'ERR_CREATE_OPTIONS'],
    ['non-byte stream chunk', () => createTorrent(Readable.from([{ a: 1 }], { objectMode: true }), { name: 'x' }), 'ERR_CREATE_INPUT']
  ]
  for (const [name, fn, code] of cases) {
    it(name, async () => {
      const err = await fn().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CreateTorrentError)
      expect((err as CreateTorrentError).code).toBe(code)
    })
  }

  it('an aborted signal stops hashing', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(createTorrent(data['big/x.bin'], { name: 'x', signal: ac.signal })).rejects.toThrow()
  })
})
