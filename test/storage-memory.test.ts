import { describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import type { PieceStore } from '../src/engine/types.js'
import { decodeTorrentFile } from '../src/metainfo/index.js'
import {
  FileMapping, isUploadOnlyError, MemoryStore, piecesInIncompleteFiles, StorageError, storeOptionsFromTorrent,
  type ChunkStore
} from '../src/storage/index.js'
import { FsStore as BrowserFsStore, canUseFsStore } from '../src/storage/fs-store-browser.js'
import { expectStorageError, makePieces, MAIN, storeCompliance } from './storage-compliance.js'

storeCompliance('MemoryStore', g => ({ store: new MemoryStore(g) }), { persistent: false })

describe('MemoryStore', () => {
  it('satisfies the engine\'s PieceStore', () => {
    const store: PieceStore = new MemoryStore(MAIN) satisfies ChunkStore
    expect(typeof store.put).toBe('function')
  })

  it('rejects invalid geometry with ERR_STORAGE_OPTIONS', () => {
    for (const [pieceLength, length] of [[0, 10], [16384, 0], [-1, 10], [1.5, 10], [16384, NaN], [16384, 2 ** 53]]) {
      let err: unknown
      try {
        void new MemoryStore({ pieceLength, length })
      } catch (e) { err = e }
      expect(err).toBeInstanceOf(StorageError)
      expect((err as StorageError).code).toBe('ERR_STORAGE_OPTIONS')
    }
    expect(() => new MemoryStore({ ...MAIN, quota: -1 })).toThrow(StorageError)
  })

  it('quota: a put past it fails with ERR_STORAGE_NO_SPACE (upload-only), stored pieces stay readable', async () => {
    const store = new MemoryStore({ ...MAIN, quota: 16384 * 2 + 100 })
    const pieces = makePieces(MAIN)
    await store.put(0, pieces[0])
    await store.put(1, pieces[1])
    const err = await expectStorageError(store.put(2, pieces[2]), 'ERR_STORAGE_NO_SPACE')
    expect(err.op).toBe('put')
    expect(isUploadOnlyError(err)).toBe(true)
    expect(await store.get(0)).toEqual(pieces[0])
    await store.put(1, pieces[1]) // replacing a piece needs no extra room
    expect(store.storedBytes).toBe(16384 * 2)
    await expectStorageError(store.get(2), 'ERR_STORAGE_MISSING')
    await store.destroy()
    expect(store.storedBytes).toBe(0)
  })

  it('stat: per-file contiguous stored bytes', async () => {
    const files = [
      { path: 't/a', offset: 0, length: 20000 },
      { path: 't/empty', offset: 20000, length: 0 },
      { path: 't/b', offset: 20000, length: MAIN.length - 20000 }
    ]
    const store = new MemoryStore({ ...MAIN, files })
    const pieces = makePieces(MAIN)
    await store.put(0, pieces[0])
    await store.put(2, pieces[2])
    let s = await store.stat()
    expect(s.map(f => f.size)).toEqual([16384, 0, 0])
    expect(piecesInIncompleteFiles(s, 16384)).toEqual([0, 1, 2, 3, 4, 5, 6])
    await store.put(1, pieces[1])
    s = await store.stat()
    expect(s.map(f => f.size)).toEqual([20000, 0, 3 * 16384 - 20000])
    expect(piecesInIncompleteFiles(s, 16384)).toEqual([1, 2, 3, 4, 5, 6])
    for (let i = 3; i < 7; i++) await store.put(i, pieces[i])
    s = await store.stat()
    expect(s.map(f => f.size)).toEqual([20000, 0, MAIN.length - 20000])
    expect(s.every(f => f.mtimeMs === null)).toBe(true)
  })
})

describe('piecesInIncompleteFiles', () => {
  it('flags the pieces of missing and truncated files only', () => {
    const stat = (offset: number, length: number, size: number | null) => ({ path: 'x', offset, length, size, mtimeMs: null })
    expect(piecesInIncompleteFiles([stat(0, 100, 100), stat(100, 0, null), stat(100, 50, 60)], 32)).toEqual([])
    expect(piecesInIncompleteFiles([stat(0, 100, 99), stat(100, 50, 50)], 32)).toEqual([0, 1, 2, 3])
    expect(piecesInIncompleteFiles([stat(0, 100, 100), stat(100, 50, null)], 32)).toEqual([3, 4])
    expect(piecesInIncompleteFiles([stat(0, 64, 64), stat(64, 1, 0)], 32)).toEqual([2])
  })
})

describe('FileMapping', () => {
  const files = [
    { path: 'r/a', offset: 0, length: 10 },
    { path: 'r/zero', offset: 10, length: 0 },
    { path: 'r/b', offset: 10, length: 3 },
    { path: 'r/c', offset: 19, length: 1 }, // after a 6-byte pad
    { path: 'r/d', offset: 20, length: 30 }
  ]
  const pads = [{ offset: 13, length: 6 }]
  const m = new FileMapping(16, 50, files, pads)

  it('splits pieces across files and pad files, skipping 0-byte files', () => {
    expect(m.chunkCount).toBe(4)
    expect(m.lastChunkLength).toBe(2)
    expect(m.segments(0)).toEqual([
      { file: 0, fileOffset: 0, length: 10, bufOffset: 0 },
      { file: 2, fileOffset: 0, length: 3, bufOffset: 10 },
      { file: -1, fileOffset: 0, length: 3, bufOffset: 13 }
    ])
    expect(m.segments(1)).toEqual([
      { file: -1, fileOffset: 3, length: 3, bufOffset: 0 },
      { file: 3, fileOffset: 0, length: 1, bufOffset: 3 },
      { file: 4, fileOffset: 0, length: 12, bufOffset: 4 }
    ])
    expect(m.segments(3)).toEqual([{ file: 4, fileOffset: 28, length: 2, bufOffset: 0 }])
    expect(m.segments(2, 4, 3)).toEqual([{ file: 4, fileOffset: 16, length: 3, bufOffset: 0 }])
    expect(m.segments(0, 5, 0)).toEqual([])
  })

  it('knows which pieces each file lies in', () => {
    expect(m.piecesOfFile(0)).toEqual({ first: 0, last: 0 })
    expect(m.piecesOfFile(1)).toBeNull()
    expect(m.piecesOfFile(4)).toEqual({ first: 1, last: 3 })
  })

  it('agrees with a brute-force byte map on random layouts', () => {
    let seed = 1
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let round = 0; round < 50; round++) {
      const fs: Array<{ path: string, offset: number, length: number }> = []
      const ps: Array<{ offset: number, length: number }> = []
      const owner: number[] = []
      let off = 0
      const n = 1 + Math.floor(rand() * 12)
      for (let i = 0; i < n; i++) {
        const len = rand() < 0.2 ? 0 : Math.floor(rand() * 40)
        if (rand() < 0.25 && len > 0) {
          ps.push({ offset: off, length: len })
          for (let k = 0; k < len; k++) owner.push(-1)
        } else {
          for (let k = 0; k < len; k++) owner.push(fs.length)
          fs.push({ path: `f${i}`, offset: off, length: len })
        }
        off += len
      }
      if (off === 0) continue
      const pl = 1 + Math.floor(rand() * 20)
      const map = new FileMapping(pl, off, fs, ps)
      for (let p = 0; p < map.chunkCount; p++) {
        const seen: number[] = []
        let expectBuf = 0
        for (const s of map.segments(p)) {
          expect(s.bufOffset).toBe(expectBuf)
          expect(s.length).toBeGreaterThan(0)
          for (let k = 0; k < s.length; k++) {
            const pos = p * pl + s.bufOffset + k
            expect(owner[pos]).toBe(s.file)
            if (s.file >= 0) expect(fs[s.file].offset + s.fileOffset + k).toBe(pos)
            seen.push(pos)
          }
          expectBuf += s.length
        }
        expect(expectBuf).toBe(map.pieceLengthOf(p))
      }
    }
  })

  it('rejects layouts with gaps, overlaps or the wrong total', () => {
    const bad = [
      () => new FileMapping(16, 20, [{ path: 'a', offset: 0, length: 10 }, { path: 'b', offset: 11, length: 9 }]),
      () => new FileMapping(16, 20, [{ path: 'a', offset: 0, length: 10 }, { path: 'b', offset: 9, length: 11 }]),
      () => new FileMapping(16, 20, [{ path: 'a', offset: 0, length: 10 }]),
      () => new FileMapping(16, 20, [{ path: 'a', offset: 0, length: -1 }]),
      () => new FileMapping(16, 20, [{ path: 'a', offset: 0, length: 10 }], [{ offset: 10, length: 11 }])
    ]
    for (const f of bad) {
      expect(f).toThrow(StorageError)
      try { f() } catch (e) { expect((e as StorageError).code).toBe('ERR_STORAGE_OPTIONS') }
    }
  })

  it('takes a parsed torrent with BEP 47 pad files as is', async () => {
    const te = new TextEncoder()
    const info = {
      name: te.encode('t'),
      'piece length': 16,
      pieces: new Uint8Array(20 * 3),
      files: [
        { length: 10, path: [te.encode('a')] },
        { length: 6, path: [te.encode('.pad'), te.encode('6')], attr: te.encode('p') },
        { length: 0, path: [te.encode('empty')] },
        { length: 20, path: [te.encode('dir'), te.encode('b')] }
      ]
    }
    const t = await decodeTorrentFile(bencode.encode({ info }))
    const opts = storeOptionsFromTorrent(t)
    expect(opts.padFiles).toEqual([{ offset: 10, length: 6 }])
    const map = new FileMapping(opts.pieceLength, opts.length, opts.files, opts.padFiles)
    expect(map.segments(0).map(s => s.file)).toEqual([0, -1])
    expect(map.segments(1)).toEqual([{ file: 2, fileOffset: 0, length: 16, bufOffset: 0 }])
    expect(opts.files[2].path).toBe('t/dir/b')
  })
})

describe('the browser build of the fs store', () => {
  it('throws a typed ERR_STORAGE_UNSUPPORTED', () => {
    expect(canUseFsStore).toBe(false)
    let err: unknown
    try {
      void new BrowserFsStore({ ...MAIN, path: '/x', files: [{ path: 'a', offset: 0, length: MAIN.length }] })
    } catch (e) { err = e }
    expect(err).toBeInstanceOf(StorageError)
    expect((err as StorageError).code).toBe('ERR_STORAGE_UNSUPPORTED')
  })
})
