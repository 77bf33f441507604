/**
 * Write failures on real file systems (bad-input case 30): a full tmpfs (ENOSPC on data, then on inodes),
 * a read-only bind mount (EROFS) and a directory the process may not write (EACCES, by dropping the
 * effective uid: root ignores permission bits). Each must become a typed StorageError the engine can test
 * (`isUploadOnlyError`), leave stored pieces readable, and crash nothing; after space is freed, the same
 * write succeeds. Needs root on Linux to mount; elsewhere the suite is skipped loudly.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FsStore } from '../src/storage/fs-store.js'
import { isUploadOnlyError, type FsStoreOptions, type StoreFile } from '../src/storage/index.js'
import { expectBytes, expectStorageError, makePieces } from './storage-compliance.js'
import { needs } from './helpers/system.js'
import { canMountTiny, mountTiny, run, trackMount, unmountAll } from './helpers/mounts.js'

const base = mkdtempSync(join(tmpdir(), 'wt-enospc-'))
chmodSync(base, 0o755) // traversable by the unprivileged uid of the EACCES test
const canMount = canMountTiny()

afterAll(() => {
  unmountAll()
  rmSync(base, { recursive: true, force: true })
})

function layout (files: Array<[string, number]>): { files: StoreFile[], length: number } {
  let offset = 0
  const out = files.map(([path, length]) => {
    const f = { path, length, offset }
    offset += length
    return f
  })
  return { files: out, length: offset }
}

describe.skipIf(!needs('mounting a tiny file system (root on Linux)', canMount))('FsStore write failures', () => {
  it('ENOSPC on a full tmpfs: typed ERR_STORAGE_NO_SPACE, stored pieces readable, the write succeeds once space is freed', async () => {
    const mnt = join(base, 'full')
    expect(mountTiny(mnt, 256 * 1024)).toBe(true)
    writeFileSync(join(mnt, 'filler'), new Uint8Array(64 * 1024))
    const { files, length } = layout([['tor/a.bin', 150_000], ['tor/b.bin', 150_000]])
    const opts: FsStoreOptions = { pieceLength: 16384, length, files, path: mnt }
    const store = new FsStore(opts)
    const pieces = makePieces({ pieceLength: 16384, length }, 30)
    const warnings: unknown[] = []
    const onUnhandled = (e: unknown) => warnings.push(e)
    process.on('unhandledRejection', onUnhandled)
    let failedAt = -1
    let failure: unknown
    for (let i = 0; i < pieces.length; i++) {
      try {
        await store.put(i, pieces[i])
      } catch (err) {
        failedAt = i
        failure = err
        break
      }
    }
    expect(failedAt).toBeGreaterThan(3) // some pieces fit
    const err = await expectStorageError(Promise.reject(failure), 'ERR_STORAGE_NO_SPACE')
    expect(err.errno).toBe('ENOSPC')
    expect(err.op).toBe('put')
    expect(err.path).toMatch(/tor\/[ab]\.bin$/)
    expect(isUploadOnlyError(err)).toBe(true)

    // upload-only: everything stored is still served
    for (let i = 0; i < failedAt; i++) expectBytes(await store.get(i), pieces[i])
    expectBytes(await store.get(1, { offset: 100, length: 16000 }), pieces[1].subarray(100, 16100))
    expect((await store.stat()).length).toBe(2)
    // more writes fail the same way, concurrently too, without breaking anything
    const again = await Promise.allSettled([store.put(failedAt, pieces[failedAt]), store.put(failedAt + 1, pieces[failedAt + 1]), store.get(0)])
    expect(again[0].status).toBe('rejected')
    expect((again[0] as PromiseRejectedResult).reason.code).toBe('ERR_STORAGE_NO_SPACE')
    expect(again[2].status).toBe('fulfilled')

    // space comes back (the user deleted something): retrying the write works
    unlinkSync(join(mnt, 'filler'))
    await store.put(failedAt, pieces[failedAt])
    expectBytes(await store.get(failedAt), pieces[failedAt])
    await store.close()
    const reopened = new FsStore(opts)
    for (let i = 0; i <= failedAt; i++) expectBytes(await reopened.get(i), pieces[i])
    await reopened.destroy()
    expect(() => statSync(join(mnt, 'tor'))).toThrow()
    process.off('unhandledRejection', onUnhandled)
    expect(warnings).toEqual([])
  })

  it('ENOSPC when no inode is left: creating files and directories fails typed, nothing crashes', async () => {
    const mnt = join(base, 'inodes')
    expect(mountTiny(mnt, 1024 * 1024, 4)).toBe(true)
    const names: Array<[string, number]> = Array.from({ length: 8 }, (_, i) => [`tor/d${i}/f${i}`, i % 2 ? 1000 : 0])
    const { files, length } = layout(names)
    const store = new FsStore({ pieceLength: 16384, length, files, path: mnt })
    const piece = makePieces({ pieceLength: 16384, length }, 31)[0]
    const err = await expectStorageError(store.put(0, piece), 'ERR_STORAGE_NO_SPACE')
    expect(err.errno).toBe('ENOSPC')
    expect(isUploadOnlyError(err)).toBe(true)
    await expectStorageError(store.put(0, piece), 'ERR_STORAGE_NO_SPACE')
    await expectStorageError(store.get(0), 'ERR_STORAGE_MISSING')
    await store.destroy()
  })

  it('EROFS on a read-only bind mount: seeding works, writes fail with ERR_STORAGE_ACCESS, destroy deletes nothing', async () => {
    const src = join(base, 'rw')
    const ro = join(base, 'ro')
    const { files, length } = layout([['tor/a.bin', 40_000], ['tor/sub/b.bin', 30_000]])
    const pieces = makePieces({ pieceLength: 16384, length }, 32)
    const writer = new FsStore({ pieceLength: 16384, length, files, path: src })
    for (let i = 0; i < pieces.length - 1; i++) await writer.put(i, pieces[i])
    await writer.close()
    mkdirSync(ro)
    expect(run('mount', ['--bind', src, ro])).toBe(true)
    trackMount(ro)
    expect(run('mount', ['-o', 'remount,bind,ro', ro])).toBe(true)

    const store = new FsStore({ pieceLength: 16384, length, files, path: ro })
    for (let i = 0; i < pieces.length - 1; i++) expectBytes(await store.get(i), pieces[i])
    const last = pieces.length - 1
    const err = await expectStorageError(store.put(last, pieces[last]), 'ERR_STORAGE_ACCESS')
    expect(err.errno).toBe('EROFS')
    expect(isUploadOnlyError(err)).toBe(true)
    expectBytes(await store.get(0, { offset: 5, length: 10 }), pieces[0].subarray(5, 15)) // still serving
    const d = await expectStorageError(store.destroy(), 'ERR_STORAGE_ACCESS')
    expect(d.op).toBe('destroy')
    expect(readFileSync(join(src, 'tor/a.bin')).length).toBe(40_000)
  })

  it('EACCES without write permission (effective uid dropped to nobody): typed ERR_STORAGE_ACCESS, reads still work', async () => {
    const root = join(base, 'perm')
    const { files, length } = layout([['tor/a.bin', 20_000], ['tor/new/b.bin', 20_000]])
    const pieces = makePieces({ pieceLength: 16384, length }, 33)
    const writer = new FsStore({ pieceLength: 16384, length, files, path: root })
    await writer.put(0, pieces[0])
    await writer.close()
    chmodSync(root, 0o755)
    chmodSync(join(root, 'tor'), 0o755) // root-owned: nobody may not create tor/new
    chmodSync(join(root, 'tor/a.bin'), 0o644) // nobody may read, not write
    const store = new FsStore({ pieceLength: 16384, length, files, path: root })
    process.setegid!(65534)
    process.seteuid!(65534)
    try {
      expectBytes(await store.get(0), pieces[0])
      const a = await expectStorageError(store.put(0, pieces[0]), 'ERR_STORAGE_ACCESS') // open a.bin for writing
      expect(a.errno).toBe('EACCES')
      expect(a.path).toMatch(/tor\/a\.bin$/)
      const b = await expectStorageError(store.put(2, pieces[2]), 'ERR_STORAGE_ACCESS') // mkdir tor/new
      expect(b.errno).toBe('EACCES')
      expect(isUploadOnlyError(b)).toBe(true)
      expectBytes(await store.get(0, { offset: 1, length: 100 }), pieces[0].subarray(1, 101))
    } finally {
      process.seteuid!(0)
      process.setegid!(0)
    }
    await store.put(2, pieces[2]) // as root again: the same store writes
    expectBytes(await store.get(2), pieces[2])
    await store.destroy()
  })
})
