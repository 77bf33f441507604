/**
 * Hash-and-write off the main thread: the fs store hands a verified piece's file range to the verifier's
 * worker (ChunkStore.putDelegated), which writes the piece only when its digest is the expected one. Checked
 * at each layer: the store's targets and error mapping, the worker's write decision, and a swarm download
 * whose pieces reach the disk without a single main-thread put.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { FsStore } from '../src/storage/fs-store.js'
import { StorageError, type DelegatedWrite, type WriteTarget } from '../src/storage/index.js'
import { createVerifier } from '../src/engine/verifier-node.js'
import type { PieceVerifier } from '../src/engine/verifier.js'
import { MapStore, makeTorrent, connect, newSwarm, destroySwarms } from './helpers/swarm.js'

const base = mkdtempSync(join(tmpdir(), 'wt-delegated-'))
let n = 0
const dir = (): string => join(base, String(n++))
afterEach(destroySwarms)
afterAll(() => rmSync(base, { recursive: true, force: true }))

const PL = 256 * 1024
const sha1 = (b: Uint8Array): Uint8Array => createHash('sha1').update(b).digest()
function bytes (len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len)
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}
/** A writer that performs the store's targets on this thread, like the worker does. */
function writeHere (data: Uint8Array) {
  return async (targets: readonly WriteTarget[] | null): Promise<DelegatedWrite & { targets: readonly WriteTarget[] | null }> => {
    if (targets === null) return { written: false, targets }
    for (const t of targets) writeSync(t.fd, data, t.offset, t.length, t.position)
    return { written: true, targets }
  }
}

describe('FsStore.putDelegated', () => {
  it('hands out the range of a piece inside one file; the bytes written there read back with get()', async () => {
    const root = dir()
    const files = [{ path: 'a.bin', length: PL + 1000, offset: 0 }, { path: 'd/b.bin', length: 2 * PL, offset: PL + 1000 }]
    const store = new FsStore({ path: root, pieceLength: PL, length: 3 * PL + 1000, files })
    const piece2 = bytes(PL, 2)
    const r = await store.putDelegated(2, piece2, writeHere(piece2))
    expect(r.written).toBe(true)
    expect(r.targets).toHaveLength(1)
    expect(r.targets![0]).toMatchObject({ offset: 0, length: PL, position: 2 * PL - (PL + 1000) })
    expect(Buffer.from(await store.get(2)).equals(Buffer.from(piece2))).toBe(true)
    // Piece 0 lies in a.bin only; piece 1 spans a.bin and b.bin: not handed out (null), put() stores it.
    const piece1 = bytes(PL, 1)
    const r1 = await store.putDelegated(1, piece1, writeHere(piece1))
    expect(r1.targets).toBe(null)
    expect(r1.written).toBe(false)
    await store.close()
  })

  it('turns the writer\'s errno into the StorageError put() would throw, keeping the result', async () => {
    const store = new FsStore({ path: dir(), pieceLength: PL, length: PL, files: [{ path: 'x.bin', length: PL, offset: 0 }] })
    const data = bytes(PL, 3)
    const r = await store.putDelegated(0, data, async () => ({ written: false, writeError: { code: 'ENOSPC', message: 'no space left on device' }, data }))
    expect(r.error).toBeInstanceOf(StorageError)
    expect(r.error!.code).toBe('ERR_STORAGE_NO_SPACE')
    expect(r.error!.op).toBe('put')
    expect(r.data).toBe(data)
    await store.close()
  })

  it('rejects with a StorageError when the file cannot be opened, and passes the writer\'s own failure through', async () => {
    const root = dir()
    writeFileSync(join(base, 'not-a-dir'), 'x')
    const blocked = new FsStore({ path: join(base, 'not-a-dir'), pieceLength: PL, length: PL, files: [{ path: 'x.bin', length: PL, offset: 0 }] })
    let called = false
    const err = await blocked.putDelegated(0, bytes(PL, 4), async () => { called = true; return { written: true } }).catch(e => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(called).toBe(false)
    const store = new FsStore({ path: root, pieceLength: PL, length: PL, files: [{ path: 'x.bin', length: PL, offset: 0 }] })
    const boom = new Error('worker died')
    await expect(store.putDelegated(0, bytes(PL, 5), async () => { throw boom })).rejects.toBe(boom)
    await store.close()
  })
})

describe('the hashing worker writes only a piece that passes', () => {
  it('writes on a matching digest, leaves the file alone on a wrong one, and returns the buffer either way', async () => {
    const root = dir()
    const store = new FsStore({ path: root, pieceLength: PL, length: 2 * PL, files: [{ path: 'f.bin', length: 2 * PL, offset: 0 }] })
    const verifier = createVerifier()
    const good = bytes(PL, 6)
    const expected = sha1(good)
    const ok = await store.putDelegated(1, good, targets => verifier.verify(good, 0, { expected, targets: targets! }))
    expect(ok.written).toBe(true)
    expect(Buffer.from(ok.digest).equals(Buffer.from(expected))).toBe(true)
    expect(Buffer.from(ok.data).equals(Buffer.from(bytes(PL, 6)))).toBe(true)
    expect(Buffer.from(await store.get(1)).equals(Buffer.from(ok.data))).toBe(true)

    const bad = bytes(PL, 7)
    const no = await store.putDelegated(0, bad, targets => verifier.verify(bad, 0, { expected, targets: targets! }))
    expect(no.written).toBe(false)
    expect(no.data.length).toBe(PL)
    await store.close()
    const file = readFileSync(join(root, 'f.bin'))
    expect(file.subarray(0, PL).every(b => b === 0)).toBe(true) // piece 0 never written: a hole of zeros
  })
})

describe('Swarm with a delegating store', () => {
  const files = (len: number) => [{ path: 'payload.bin', length: len, offset: 0 }]

  it('downloads with every piece hashed and written by the worker: no put() on the main thread', async () => {
    const t = makeTorrent(4 * 1024 * 1024, PL, 11)
    const root = dir()
    const store = new FsStore({ path: root, pieceLength: PL, length: t.data.length, files: files(t.data.length) })
    let puts = 0
    const put = store.put.bind(store)
    store.put = async (i, d) => { puts++; return await put(i, d) }
    let delegated = 0
    const verifier = createVerifier()
    const counting: PieceVerifier = {
      async verify (data, bl, writeTo) {
        const r = await verifier.verify(data, bl, writeTo)
        if (r.written) delegated++
        return r
      }
    }
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, store, false, { verifier: counting })
    const done = new Promise<void>(resolve => leecher.once('done', () => resolve()))
    await connect(seeder, leecher)
    await done
    expect(delegated).toBe(t.n)
    expect(puts).toBe(0)
    await store.close()
    expect(readFileSync(join(root, 'payload.bin')).equals(Buffer.from(t.data))).toBe(true)
  })

  it('downloads a piece again when its verification fails outright (a worker that died), and completes', async () => {
    const t = makeTorrent(2 * 1024 * 1024, PL, 12)
    const root = dir()
    const store = new FsStore({ path: root, pieceLength: PL, length: t.data.length, files: files(t.data.length) })
    const verifier = createVerifier()
    let failed = 0
    const flaky: PieceVerifier = {
      async verify (data, bl, writeTo) {
        if (failed < 2) {
          failed++
          // As when the worker dies: the moved-out buffer is gone with it.
          structuredClone(data.buffer, { transfer: [data.buffer as ArrayBuffer] })
          throw Object.assign(new Error('hash-worker worker failed'), { code: 'ERR_WORKER_FAILED' })
        }
        return await verifier.verify(data, bl, writeTo)
      }
    }
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, store, false, { verifier: flaky })
    const warnings: string[] = []
    leecher.on('warning', e => warnings.push((e as { code?: string }).code ?? ''))
    const done = new Promise<void>(resolve => leecher.once('done', () => resolve()))
    await connect(seeder, leecher)
    await done
    expect(failed).toBe(2)
    expect(warnings.filter(c => c === 'ERR_WORKER_FAILED')).toHaveLength(2)
    expect(leecher.uploadOnly).toBe(null)
    await store.close()
    expect(readFileSync(join(root, 'payload.bin')).equals(Buffer.from(t.data))).toBe(true)
  })
})
