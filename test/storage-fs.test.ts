/**
 * The file-system store: the compliance suite over several layouts, then what only a file system shows:
 * multi-file layouts with pad files, 0-byte files, nested and non-ASCII paths, files spanning pieces and
 * pieces spanning many files, byte-identical output, the open-file bound (counted in /proc/self/fd),
 * reopening, missing/truncated files, destroy, paths kept under the root, preallocation, and libtorrent
 * checking the data we wrote. The descriptor cache is unit-tested with fake handles at the end.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import { decodeTorrentFile, type ParsedTorrent } from '../src/metainfo/index.js'
import { FsStore } from '../src/storage/fs-store.js'
import {
  FdCache, piecesInIncompleteFiles, StorageError, storeOptionsFromTorrent, type StoreFile
} from '../src/storage/index.js'
import { expectBytes, expectStorageError, shuffled, storeCompliance, type Geometry } from './storage-compliance.js'
import { libtorrent } from './helpers/metainfo.js'
import { randomBytes, rng } from './helpers/random.js'
import { needs, system } from './helpers/system.js'

const dirs: string[] = []
function tempDir (): string {
  const d = mkdtempSync(join(tmpdir(), 'wt-store-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Splits `length` bytes into files with a 0-byte file, nested dirs and a non-ASCII name. */
function splitLayout (length: number): StoreFile[] {
  const names = ['t/a.bin', 't/empty', 't/sub/dir/b.bin', 't/ünï/ç.txt', 't/d', 't/sub/e']
  const wanted = [Math.floor(length * 0.4), 0, Math.floor(length * 0.1), 1, Math.floor(length * 0.3)]
  const files: StoreFile[] = []
  let offset = 0
  names.forEach((path, i) => {
    const len = i < wanted.length ? Math.min(wanted[i], length - offset) : length - offset
    files.push({ path, offset, length: len })
    offset += len
  })
  return files
}

function fsFactory (layout: (length: number) => StoreFile[], extra: { maxOpenFiles?: number } = {}) {
  return (g: Geometry) => {
    const root = tempDir()
    const opts = { ...g, path: root, files: layout(g.length), ...extra }
    return { store: new FsStore(opts), reopen: () => new FsStore(opts) }
  }
}

storeCompliance('FsStore, multi-file layout', fsFactory(splitLayout), { persistent: true })
storeCompliance('FsStore, single file', fsFactory(length => [{ path: 'single.bin', offset: 0, length }]), { persistent: true })
storeCompliance('FsStore, one open file at most', fsFactory(splitLayout, { maxOpenFiles: 1 }), { persistent: true })

/** Every file and directory under `root`, relative, '/'-separated, sorted. */
function tree (root: string): string[] {
  const out: string[] = []
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      out.push(e.isDirectory() ? r + '/' : r)
      if (e.isDirectory()) walk(join(dir, e.name), r)
    }
  }
  walk(root, '')
  return out.sort()
}

/** Open descriptors of this process pointing under `root`. */
function openFdsUnder (root: string): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(root + '/')) n++
    } catch {}
  }
  return n
}

interface Fixture {
  torrent: ParsedTorrent
  /** The torrent's data: files concatenated, pad files as zeros. */
  whole: Uint8Array
  content: Map<string, Uint8Array>
  pieces: Uint8Array[]
}

/** A torrent built from `spec` (path components, length, pad?), with random file contents. */
async function fixture (pieceLength: number, spec: Array<[string[], number, 'pad'?]>, seed = 1): Promise<Fixture> {
  const te = new TextEncoder()
  const total = spec.reduce((n, [, len]) => n + len, 0)
  const count = Math.ceil(total / pieceLength)
  const info = {
    name: te.encode('tor'),
    'piece length': pieceLength,
    pieces: new Uint8Array(20 * count),
    files: spec.map(([path, length, pad]) => ({ length, path: path.map(c => te.encode(c)), ...(pad ? { attr: te.encode('p') } : {}) }))
  }
  const torrent = await decodeTorrentFile(bencode.encode({ info }))
  const rand = rng(seed)
  const whole = new Uint8Array(total)
  const content = new Map<string, Uint8Array>()
  for (const f of torrent.files) {
    const data = randomBytes(rand, f.length)
    whole.set(data, f.offset)
    content.set(f.path, data)
  }
  const pieces = Array.from({ length: count }, (_, i) => whole.slice(i * pieceLength, Math.min(total, (i + 1) * pieceLength)))
  return { torrent, whole, content, pieces }
}

const stores: FsStore[] = []
function track (s: FsStore): FsStore {
  stores.push(s)
  return s
}
afterEach(async () => {
  for (const s of stores) await s.close().catch(() => {})
  stores.length = 0
})

describe('FsStore on a multi-file layout', () => {
  // 16 KiB pieces: a big file spanning pieces, a pad file aligning the next one, 40 tiny files inside one
  // piece, a 0-byte file, nested directories, non-ASCII names, and a pad file at the very end.
  const tiny: Array<[string[], number]> = Array.from({ length: 40 }, (_, i) => [['many', `f${i}.txt`], 1 + (i * 7) % 13])
  const spec: Array<[string[], number, 'pad'?]> = [
    [['big.bin'], 50_001],
    [['.pad', '15535'], 65536 - 50_001, 'pad'],
    [['empty'], 0],
    ...tiny,
    [['deep', 'er', 'still', 'ünïcödé ✓.dat'], 20_000],
    [['日本語', 'ファイル'], 33_333],
    [['.pad', 'x'], 100, 'pad'],
    [['z'], 3]
  ]

  it('writes every piece in random order; files on disk are byte-identical, pad files never created', async () => {
    const fx = await fixture(16384, spec)
    const root = tempDir()
    const store = track(new FsStore({ ...storeOptionsFromTorrent(fx.torrent), path: root }))
    expect(fx.torrent.padFiles.length).toBe(2)
    // a piece spanning many files, and a file spanning pieces
    const tinyPiece = Math.floor(fx.torrent.files[2].offset / 16384)
    expect(new Set(fx.torrent.files.filter(f => f.path.startsWith('tor/many/')).map(f => Math.floor(f.offset / 16384)))).toEqual(new Set([tinyPiece]))
    for (const i of shuffled(fx.pieces.map((_, i) => i), 3)) await store.put(i, fx.pieces[i])
    const expected = new Set<string>()
    for (const f of fx.torrent.files) {
      const parts = f.path.split('/')
      for (let k = 1; k < parts.length; k++) expected.add(parts.slice(0, k).join('/') + '/')
      expected.add(f.path)
    }
    expect(tree(root)).toEqual([...expected].sort())
    expect(tree(root).some(p => p.includes('.pad'))).toBe(false)
    for (const f of fx.torrent.files) {
      const onDisk = readFileSync(join(root, f.path))
      expect(onDisk.length).toBe(f.length)
      expectBytes(onDisk, fx.content.get(f.path)!)
    }
    expect(statSync(join(root, 'tor/empty')).size).toBe(0)
    // any block reads back as the torrent's data (pads as zeros)
    const rand = rng(9)
    for (let k = 0; k < 300; k++) {
      const i = Math.floor(rand() * fx.pieces.length)
      const len = store.chunkCount - 1 === i ? store.lastChunkLength : 16384
      const off = Math.floor(rand() * len)
      const n = Math.floor(rand() * (len - off + 1))
      expectBytes(await store.get(i, { offset: off, length: n }), fx.whole.subarray(i * 16384 + off, i * 16384 + off + n))
    }
    const stats = await store.stat()
    expect(stats.map(s => s.size)).toEqual(fx.torrent.files.map(f => f.length))
    expect(piecesInIncompleteFiles(stats, 16384)).toEqual([])
  })

  it('reads never create files; 0-byte files and directories appear on the first put', async () => {
    const fx = await fixture(16384, spec)
    const root = tempDir()
    const store = track(new FsStore({ ...storeOptionsFromTorrent(fx.torrent), path: root }))
    await expectStorageError(store.get(0), 'ERR_STORAGE_MISSING')
    await expectStorageError(store.get(fx.pieces.length - 1), 'ERR_STORAGE_MISSING')
    expect((await store.stat()).every(s => s.size === null)).toBe(true)
    expect(tree(root)).toEqual([])
    const last = fx.pieces.length - 1
    await store.put(last, fx.pieces[last])
    const t = tree(root)
    expect(t).toContain('tor/empty')
    expect(t).toContain('tor/z')
    expect(t).not.toContain('tor/big.bin') // not touched by the last piece
    expect(t.some(p => p.includes('.pad'))).toBe(false)
    expectBytes(await store.get(last), fx.pieces[last])
  })

  it('reopens an existing download; stat reports missing and truncated files (case 31)', async () => {
    const fx = await fixture(16384, spec)
    const root = tempDir()
    const opts = { ...storeOptionsFromTorrent(fx.torrent), path: root }
    const first = new FsStore(opts)
    for (let i = 0; i < fx.pieces.length; i++) await first.put(i, fx.pieces[i])
    await first.close()

    const again = track(new FsStore(opts))
    for (let i = 0; i < fx.pieces.length; i++) expectBytes(await again.get(i), fx.pieces[i])
    await again.close()

    const files = fx.torrent.files
    const big = files.findIndex(f => f.path === 'tor/big.bin')
    const jp = files.findIndex(f => f.path === 'tor/日本語/ファイル')
    truncateSync(join(root, files[big].path), 40_000)
    rmSync(join(root, files[jp].path))
    const third = track(new FsStore(opts))
    const stats = await third.stat()
    expect(stats[big].size).toBe(40_000)
    expect(stats[jp].size).toBeNull()
    expect(stats[big].mtimeMs).toBeGreaterThan(0)
    const bad = piecesInIncompleteFiles(stats, 16384)
    const jpPieces = { first: Math.floor(files[jp].offset / 16384), last: Math.floor((files[jp].offset + files[jp].length - 1) / 16384) }
    const expected = new Set([0, 1, 2, 3])
    for (let p = jpPieces.first; p <= jpPieces.last; p++) expected.add(p)
    expect(bad).toEqual([...expected].sort((a, b) => a - b))
    expectBytes(await third.get(0), fx.pieces[0]) // before the cut: still fine
    await expectStorageError(third.get(2, { offset: 40_000 - 32768, length: 1 }), 'ERR_STORAGE_MISSING') // past the cut
    await expectStorageError(third.get(jpPieces.first + 1), 'ERR_STORAGE_MISSING')
    // writing again repairs them
    for (let i = 0; i < fx.pieces.length; i++) await third.put(i, fx.pieces[i])
    expect(piecesInIncompleteFiles(await third.stat(), 16384)).toEqual([])
  })

  it('destroy deletes only the torrent\'s files and the directories they leave empty', async () => {
    const fx = await fixture(16384, spec)
    const root = tempDir()
    mkdirSync(join(root, 'tor/deep'), { recursive: true })
    writeFileSync(join(root, 'tor/deep/user-notes.txt'), 'mine')
    writeFileSync(join(root, 'other.txt'), 'also mine')
    const store = new FsStore({ ...storeOptionsFromTorrent(fx.torrent), path: root })
    for (let i = 0; i < fx.pieces.length; i++) await store.put(i, fx.pieces[i])
    await store.destroy()
    expect(tree(root)).toEqual(['other.txt', 'tor/', 'tor/deep/', 'tor/deep/user-notes.txt'])
    await store.destroy()
  })

  it('preallocate gives each file its final size on its first write; unwritten ranges read as zeros', async () => {
    const fx = await fixture(16384, spec)
    const root = tempDir()
    const store = track(new FsStore({ ...storeOptionsFromTorrent(fx.torrent), path: root, preallocate: true }))
    await store.put(0, fx.pieces[0])
    expect(statSync(join(root, 'tor/big.bin')).size).toBe(50_001)
    expect(tree(root)).not.toContain('tor/z')
    expectBytes(await store.get(2), new Uint8Array(16384)) // never written, inside big.bin
    await store.put(2, fx.pieces[2])
    expectBytes(await store.get(2), fx.pieces[2])
    expect(statSync(join(root, 'tor/big.bin')).size).toBe(50_001)
  })
})

describe('FsStore paths', () => {
  const g = { pieceLength: 16, length: 10 }
  for (const bad of ['../evil', 'a/../../evil', 'a/../..', '.', '', 'a\0b']) {
    it(`refuses a file path that leaves the root: ${JSON.stringify(bad)}`, () => {
      let err: unknown
      try {
        void new FsStore({ ...g, path: tempDir(), files: [{ path: bad, offset: 0, length: 10 }] })
      } catch (e) { err = e }
      expect(err).toBeInstanceOf(StorageError)
      expect((err as StorageError).code).toBe('ERR_STORAGE_PATH')
    })
  }

  it('joins absolute-looking and backslashed paths under the root', async () => {
    const root = tempDir()
    const store = track(new FsStore({ pieceLength: 16, length: 10, path: root, files: [{ path: '/etc/x', offset: 0, length: 5 }, { path: 'a\\b', offset: 5, length: 5 }] }))
    await store.put(0, new Uint8Array(10).fill(1))
    expect(tree(root)).toEqual(['a\\b', 'etc/', 'etc/x'])
  })

  it('rejects missing options with ERR_STORAGE_OPTIONS', () => {
    expect(() => new FsStore({ pieceLength: 16, length: 10, path: '', files: [{ path: 'a', offset: 0, length: 10 }] })).toThrow(/download path/)
    expect(() => new FsStore({ pieceLength: 16, length: 10, path: tempDir(), files: [] })).toThrow(StorageError)
  })
})

describe('FsStore open-file bound', () => {
  it('never holds more than maxOpenFiles descriptors, counted in /proc/self/fd, under concurrent load', async () => {
    const spec: Array<[string[], number]> = Array.from({ length: 300 }, (_, i) => [[`d${i % 7}`, `f${i}`], 37 + (i * 31) % 64])
    const fx = await fixture(1024, spec, 5)
    const root = tempDir()
    const store = track(new FsStore({ ...storeOptionsFromTorrent(fx.torrent), path: root, maxOpenFiles: 8 }))
    let maxFds = 0
    let maxCached = 0
    let samples = 0
    const sample = () => {
      samples++
      maxFds = Math.max(maxFds, openFdsUnder(root))
      maxCached = Math.max(maxCached, store.openFiles)
    }
    const timer = setInterval(sample, 1)
    try {
      const order = shuffled(fx.pieces.map((_, i) => i), 11)
      await Promise.all(order.map(i => store.put(i, fx.pieces[i]).then(sample)))
      const reads = await Promise.all(order.map(i => store.get(i).then(b => { sample(); return [i, b] as const })))
      for (const [i, b] of reads) expectBytes(b, fx.pieces[i])
      await Promise.all(order.map(i => Promise.all([store.get(i, { offset: 3, length: 100 }), store.put(i, fx.pieces[i])]).then(sample)))
    } finally {
      clearInterval(timer)
    }
    expect(samples).toBeGreaterThan(50)
    expect(maxFds).toBeGreaterThan(1)
    expect(maxFds).toBeLessThanOrEqual(8)
    expect(maxCached).toBeLessThanOrEqual(8)
    for (const f of fx.torrent.files) expectBytes(readFileSync(join(root, f.path)), fx.content.get(f.path)!)
    await store.close()
    expect(openFdsUnder(root)).toBe(0)
    expect(store.openFiles).toBe(0)
  })
})

describe.skipIf(!needs('libtorrent (python3-libtorrent)', system.libtorrent()))('FsStore and libtorrent', () => {
  it('libtorrent finds every piece of a hybrid torrent (with pad files) that we wrote in random order', async () => {
    const dir = tempDir()
    const src = join(dir, 'src', 'content')
    const rand = rng(21)
    const files: Array<[string, number]> = [
      ['a.bin', 70_001], ['empty.txt', 0], ['nested/deeper/b.bin', 1], ['nested/ünï ✓.dat', 16_384],
      ['tiny/1', 3], ['tiny/2', 5], ['tiny/3', 7], ['日本/語.bin', 40_000]
    ]
    for (const [p, len] of files) {
      mkdirSync(join(src, p, '..'), { recursive: true })
      writeFileSync(join(src, p), randomBytes(rand, len))
    }
    const torrentPath = join(dir, 'x.torrent')
    await libtorrent.make(src, torrentPath, 'hybrid', 16384)
    const torrent = await decodeTorrentFile(readFileSync(torrentPath))
    expect(torrent.padFiles.length).toBeGreaterThan(0)
    const whole = new Uint8Array(torrent.length)
    for (const f of torrent.files) whole.set(readFileSync(join(dir, 'src', f.path)), f.offset)
    const save = join(dir, 'save')
    const store = track(new FsStore({ ...storeOptionsFromTorrent(torrent), path: save }))
    const count = Math.ceil(torrent.length / torrent.pieceLength)
    for (const i of shuffled(Array.from({ length: count }, (_, i) => i), 5)) {
      await store.put(i, whole.slice(i * torrent.pieceLength, Math.min(torrent.length, (i + 1) * torrent.pieceLength)))
    }
    await store.close()
    for (const f of torrent.files) expectBytes(readFileSync(join(save, f.path)), readFileSync(join(dir, 'src', f.path)))
    expect(tree(save).some(p => p.includes('.pad'))).toBe(false)
    const v = await libtorrent.verify(torrentPath, save)
    expect(v).toMatchObject({ num_pieces: count, have: count, seeding: true })
  })
})

describe('FdCache', () => {
  class FakeHandle {
    static open = 0
    static maxOpen = 0
    closed = false
    constructor (readonly key: number, readonly writable: boolean) {
      FakeHandle.open++
      FakeHandle.maxOpen = Math.max(FakeHandle.maxOpen, FakeHandle.open)
    }

    async close (): Promise<void> {
      await new Promise(resolve => setTimeout(resolve, 1))
      this.closed = true
      FakeHandle.open--
    }
  }
  const tick = (ms = 0) => new Promise(resolve => setTimeout(resolve, ms))

  it('keeps the bound under concurrency and never closes a handle in use', async () => {
    FakeHandle.open = FakeHandle.maxOpen = 0
    const opened: number[] = []
    const cache = new FdCache<FakeHandle>(async (key, w) => {
      await tick(Math.random() * 2)
      opened.push(key)
      return new FakeHandle(key, w)
    }, 4)
    const rand = rng(3)
    await Promise.all(Array.from({ length: 400 }, async () => {
      const key = Math.floor(rand() * 12)
      const w = rand() < 0.3
      await cache.use(key, w, async h => {
        expect(h.closed).toBe(false)
        expect(h.key).toBe(key)
        if (w) expect(h.writable).toBe(true)
        await tick(Math.random() * 3)
        expect(h.closed).toBe(false)
        expect(cache.size).toBeLessThanOrEqual(4)
      })
    }))
    expect(FakeHandle.maxOpen).toBeLessThanOrEqual(4)
    await cache.closeAll()
    expect(FakeHandle.open).toBe(0)
    expect(cache.size).toBe(0)
  })

  it('evicts the least recently used idle handle and reopens read-only handles for writing', async () => {
    const log: string[] = []
    const cache = new FdCache<FakeHandle>(async (key, w) => {
      log.push(`open ${key}${w ? ' rw' : ''}`)
      const h = new FakeHandle(key, w)
      const close = h.close.bind(h)
      h.close = async () => { log.push(`close ${key}${w ? ' rw' : ''}`); await close() }
      return h
    }, 2)
    const use = (k: number, w = false) => cache.use(k, w, async () => {})
    await use(1)
    await use(2)
    await use(1) // 2 is now least recently used
    await use(3)
    await tick(5)
    expect(log).toEqual(['open 1', 'open 2', 'close 2', 'open 3'])
    log.length = 0
    await use(1, true)
    await use(1) // a read-write handle serves reads
    await tick(5)
    expect(log).toEqual(['close 1', 'open 1 rw'])
    await cache.closeAll()
  })

  it('gives the slot back when an open fails, and reports the error to the user', async () => {
    let fail = true
    const cache = new FdCache<FakeHandle>(async (key, w) => {
      if (fail) throw Object.assign(new Error('nope'), { code: 'ENOENT' })
      return new FakeHandle(key, w)
    }, 1)
    await expect(cache.use(1, false, async () => {})).rejects.toThrow('nope')
    await expect(cache.use(2, false, async () => {})).rejects.toThrow('nope')
    expect(cache.size).toBe(0)
    fail = false
    await cache.use(1, false, async h => expect(h.key).toBe(1))
    expect(cache.size).toBe(1)
    await cache.closeAll()
    expect(cache.size).toBe(0)
  })
})

describe('FsStore when the tree changes under it', () => {
  it('makes directories again when they were removed while running', async () => {
    const root = tempDir()
    const files = [{ path: 'tor/x/a', offset: 0, length: 16 }, { path: 'tor/x/b', offset: 16, length: 16 }, { path: 'tor/y/z/c', offset: 32, length: 16 }]
    const store = track(new FsStore({ pieceLength: 16, length: 48, path: root, files }))
    await store.put(0, new Uint8Array(16).fill(1))
    rmSync(join(root, 'tor'), { recursive: true })
    await store.put(1, new Uint8Array(16).fill(2)) // tor/x was made by this store: made again
    await store.put(2, new Uint8Array(16).fill(3))
    expect(readFileSync(join(root, 'tor/x/b'))).toEqual(Buffer.alloc(16, 2))
    expect(readFileSync(join(root, 'tor/y/z/c'))).toEqual(Buffer.alloc(16, 3))
  })
})
