/**
 * The chunk-store compliance suite: every ChunkStore implementation runs it (storage-memory.test.ts,
 * storage-fs.test.ts). Call `storeCompliance(name, factory, caps)` inside a test file.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WasmTorrentError } from '../src/errors.js'
import {
  isUploadOnlyError, piecesInIncompleteFiles, StorageError, type ChunkStore, type StorageErrorCode
} from '../src/storage/index.js'
import { randomBytes, rng } from './helpers/random.js'

export interface Geometry {
  pieceLength: number
  length: number
}

export interface StoreUnderTest {
  store: ChunkStore
  /** A new store over the same storage (persistent stores only). */
  reopen?: () => ChunkStore | Promise<ChunkStore>
  /** Removes what the test left behind (temp dirs). */
  cleanup?: () => void | Promise<void>
}

export type StoreFactory = (g: Geometry) => StoreUnderTest | Promise<StoreUnderTest>

export interface Capabilities {
  /** Data survives close() + reopen (the fs store). */
  persistent: boolean
}

/** The main geometry: 16 KiB pieces, a short last piece. */
export const MAIN: Geometry = { pieceLength: 16384, length: 16384 * 6 + 5000 }

export async function expectStorageError (p: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  let err: unknown
  try {
    await p
  } catch (e) {
    err = e
  }
  expect(err, `expected a rejection with ${code}`).toBeInstanceOf(StorageError)
  expect(err).toBeInstanceOf(WasmTorrentError)
  expect((err as StorageError).code).toBe(code)
  return err as StorageError
}

/** Byte equality (vitest's deep equality is slow on large typed arrays; show a diff only on mismatch). */
export function expectBytes (actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array)
  if (actual.length !== expected.length || !Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected)) {
    expect(actual).toEqual(expected)
  }
}

/** Deterministic piece contents for a geometry. */
export function makePieces (g: Geometry, seed = 1): Uint8Array[] {
  const rand = rng(seed)
  const count = Math.ceil(g.length / g.pieceLength)
  return Array.from({ length: count }, (_, i) => randomBytes(rand, i === count - 1 ? g.length - i * g.pieceLength : g.pieceLength))
}

export function shuffled<T> (items: readonly T[], seed: number): T[] {
  const rand = rng(seed)
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

export function storeCompliance (name: string, factory: StoreFactory, caps: Capabilities): void {
  describe(`chunk-store compliance: ${name}`, () => {
    const made: StoreUnderTest[] = []
    const extra: ChunkStore[] = []

    async function make (g: Geometry = MAIN): Promise<StoreUnderTest> {
      const s = await factory(g)
      made.push(s)
      return s
    }

    async function reopen (s: StoreUnderTest): Promise<ChunkStore> {
      const store = await s.reopen!()
      extra.push(store)
      return store
    }

    async function putAll (store: ChunkStore, pieces: Uint8Array[], seed = 7): Promise<void> {
      for (const i of shuffled(pieces.map((_, i) => i), seed)) await store.put(i, pieces[i])
    }

    afterEach(async () => {
      for (const s of [...made.map(m => m.store), ...extra]) await s.destroy().catch(() => {})
      for (const s of made) await s.cleanup?.()
      made.length = 0
      extra.length = 0
    })

    it('reports its geometry like abstract-chunk-store (chunkLength) plus count and last length', async () => {
      const { store } = await make()
      expect(store.chunkLength).toBe(16384)
      expect(store.length).toBe(MAIN.length)
      expect(store.chunkCount).toBe(7)
      expect(store.lastChunkLength).toBe(5000)
      expect(store.closed).toBe(false)
    })

    it('round-trips every piece put in random order, the short last piece included', async () => {
      const { store } = await make()
      const pieces = makePieces(MAIN)
      await putAll(store, pieces)
      for (let i = 0; i < pieces.length; i++) expectBytes(await store.get(i), pieces[i])
      expect((await store.get(6)).length).toBe(5000)
    })

    for (const g of [
      { pieceLength: 1024, length: 700 }, // one piece, shorter than the piece length
      { pieceLength: 512, length: 2048 }, // the last piece is full
      { pieceLength: 3, length: 31 } // odd, tiny pieces
    ]) {
      it(`round-trips with ${g.length} bytes in ${g.pieceLength}-byte pieces`, async () => {
        const { store } = await make(g)
        const pieces = makePieces(g, g.length)
        expect(store.chunkCount).toBe(pieces.length)
        expect(store.lastChunkLength).toBe(pieces[pieces.length - 1].length)
        await putAll(store, pieces)
        for (let i = 0; i < pieces.length; i++) expectBytes(await store.get(i), pieces[i])
      })
    }

    it('reads blocks at offsets: offset only, length only, both, empty, last byte', async () => {
      const { store } = await make()
      const pieces = makePieces(MAIN)
      await putAll(store, pieces)
      expectBytes(await store.get(2, { offset: 100 }), pieces[2].subarray(100))
      expectBytes(await store.get(2, { length: 100 }), pieces[2].subarray(0, 100))
      expectBytes(await store.get(3, { offset: 8192, length: 8192 }), pieces[3].subarray(8192))
      expectBytes(await store.get(6, { offset: 4999, length: 1 }), pieces[6].subarray(4999))
      expectBytes(await store.get(6, { offset: 1000, length: 4000 }), pieces[6].subarray(1000))
      expect((await store.get(1, { offset: 5, length: 0 })).length).toBe(0)
      expect((await store.get(1, { offset: 16384 })).length).toBe(0)
      // every 16 KiB-aligned block of 1 KiB, as peers would request them
      for (let i = 0; i < pieces.length; i++) {
        for (let off = 0; off < pieces[i].length; off += 4096) {
          const len = Math.min(1024, pieces[i].length - off)
          expectBytes(await store.get(i, { offset: off, length: len }), pieces[i].subarray(off, off + len))
        }
      }
    })

    it('rejects bad indices, offsets and lengths with ERR_STORAGE_RANGE (never a sync throw)', async () => {
      const { store } = await make()
      const full = new Uint8Array(16384)
      for (const index of [-1, 7, 1.5, NaN, Infinity]) {
        await expectStorageError(store.put(index, full), 'ERR_STORAGE_RANGE')
        await expectStorageError(store.get(index), 'ERR_STORAGE_RANGE')
      }
      await expectStorageError(store.put(0, new Uint8Array(16383)), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.put(0, new Uint8Array(16385)), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.put(6, full), 'ERR_STORAGE_RANGE') // the last piece is 5000 bytes
      await expectStorageError(store.put(6, new Uint8Array(0)), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.put(0, 'x'.repeat(16384) as unknown as Uint8Array), 'ERR_STORAGE_RANGE')
      await store.put(0, full)
      await expectStorageError(store.get(0, { offset: 16385 }), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.get(0, { offset: -1 }), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.get(0, { offset: 1.5 }), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.get(0, { offset: 16000, length: 385 }), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.get(0, { length: -1 }), 'ERR_STORAGE_RANGE')
      await expectStorageError(store.get(6, { offset: 0, length: 5001 }), 'ERR_STORAGE_RANGE')
      const err = await expectStorageError(store.get(0, { length: 20000 }), 'ERR_STORAGE_RANGE')
      expect(err.op).toBe('get')
      expect(isUploadOnlyError(err)).toBe(false)
      // the store is still fine
      expectBytes(await store.get(0), full)
    })

    it('rejects reads of pieces never put with ERR_STORAGE_MISSING', async () => {
      const { store } = await make()
      await expectStorageError(store.get(6), 'ERR_STORAGE_MISSING')
      await expectStorageError(store.get(0, { offset: 10, length: 10 }), 'ERR_STORAGE_MISSING')
      const pieces = makePieces(MAIN)
      await store.put(0, pieces[0])
      await expectStorageError(store.get(6), 'ERR_STORAGE_MISSING')
      expectBytes(await store.get(0), pieces[0])
    })

    it('keeps its own copy of put data and hands out buffers the caller owns', async () => {
      const { store } = await make()
      const data = makePieces(MAIN)[1]
      const copy = data.slice()
      await store.put(1, data)
      data.fill(0xaa) // the engine reuses its piece buffers right after put
      const got = await store.get(1)
      expectBytes(got, copy)
      got.fill(0x55)
      expectBytes(await store.get(1), copy)
    })

    it('overwrites a piece (a re-verified piece written again)', async () => {
      const { store } = await make()
      const [a, b] = [makePieces(MAIN, 1)[3], makePieces(MAIN, 2)[3]]
      await store.put(3, a)
      await store.put(3, b)
      expectBytes(await store.get(3), b)
    })

    it('handles many concurrent puts and gets, on the same piece too', async () => {
      const { store } = await make()
      const pieces = makePieces(MAIN)
      await Promise.all([
        ...pieces.map((p, i) => store.put(i, p)),
        ...pieces.map((p, i) => store.put(i, p)),
        store.put(0, pieces[0]), store.put(0, pieces[0]), store.put(6, pieces[6])
      ])
      const reads: Array<Promise<void>> = []
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < pieces.length; i++) {
          for (let off = 0; off < pieces[i].length; off += 4096) {
            const len = Math.min(4096, pieces[i].length - off)
            reads.push(store.get(i, { offset: off, length: len }).then(b => expectBytes(b, pieces[i].subarray(off, off + len))))
          }
          reads.push(store.put(i, pieces[i])) // writes of the same data while reads run
        }
      }
      await Promise.all(reads)
      const whole = await Promise.all(pieces.map((_, i) => store.get(i)))
      whole.forEach((b, i) => expectBytes(b, pieces[i]))
    })

    it('close: operations under way finish, later ones reject with ERR_STORAGE_CLOSED; close is idempotent', async () => {
      const { store } = await make()
      const pieces = makePieces(MAIN)
      const inFlight = pieces.map((p, i) => store.put(i, p))
      const closing = store.close()
      expect(store.closed).toBe(true)
      await Promise.all(inFlight) // started before close: completed
      await closing
      await expectStorageError(store.put(0, pieces[0]), 'ERR_STORAGE_CLOSED')
      await expectStorageError(store.get(0), 'ERR_STORAGE_CLOSED')
      await expectStorageError(store.stat(), 'ERR_STORAGE_CLOSED')
      await expectStorageError(store.get(-1), 'ERR_STORAGE_CLOSED')
      await store.close()
      await Promise.all([store.close(), store.close()])
    })

    it('destroy: later operations reject with ERR_STORAGE_CLOSED; destroy is idempotent and works after close', async () => {
      const a = await make()
      const pieces = makePieces(MAIN)
      await putAll(a.store, pieces)
      await Promise.all([a.store.destroy(), a.store.destroy()])
      expect(a.store.closed).toBe(true)
      await expectStorageError(a.store.get(0), 'ERR_STORAGE_CLOSED')
      await expectStorageError(a.store.put(0, pieces[0]), 'ERR_STORAGE_CLOSED')
      await a.store.destroy()
      const b = await make()
      await b.store.put(0, pieces[0])
      await b.store.close()
      await b.store.destroy()
      if (caps.persistent) {
        const again = await reopen(b)
        await expectStorageError(again.get(0), 'ERR_STORAGE_MISSING')
      }
    })

    it.skipIf(!caps.persistent)('keeps the data across close and reopen', async () => {
      const s = await make()
      const pieces = makePieces(MAIN)
      await putAll(s.store, pieces)
      await s.store.close()
      const again = await reopen(s)
      for (let i = pieces.length - 1; i >= 0; i--) expectBytes(await again.get(i), pieces[i])
      const stats = await again.stat()
      expect(piecesInIncompleteFiles(stats, again.chunkLength)).toEqual([])
    })

    it('stat: every file incomplete when fresh, complete once every piece is stored', async () => {
      const { store } = await make()
      const fresh = await store.stat()
      expect(fresh.length).toBeGreaterThan(0)
      for (const f of fresh) expect(f.size === null || f.size === 0).toBe(true)
      const total = fresh.reduce((n, f) => n + f.length, 0)
      expect(total).toBeLessThanOrEqual(MAIN.length)
      // every piece holding bytes of a non-empty file is flagged
      const flagged = piecesInIncompleteFiles(fresh, store.chunkLength)
      expect(flagged.length).toBe(store.chunkCount)
      const pieces = makePieces(MAIN)
      await putAll(store, pieces)
      const done = await store.stat()
      for (const f of done) expect(f.size).toBe(f.length)
      expect(piecesInIncompleteFiles(done, store.chunkLength)).toEqual([])
    })

    it('a failed put leaves the store usable', async () => {
      const { store } = await make()
      const pieces = makePieces(MAIN)
      await store.put(2, pieces[2])
      await expectStorageError(store.put(3, new Uint8Array(5)), 'ERR_STORAGE_RANGE')
      expectBytes(await store.get(2), pieces[2])
      await store.put(3, pieces[3])
      expectBytes(await store.get(3), pieces[3])
    })
  })
}
