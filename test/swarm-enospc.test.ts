/**
 * Case 30 end to end: a leecher whose disk fills up (a real tiny tmpfs) gets a typed ERR_STORAGE_NO_SPACE,
 * becomes upload-only (stops requesting instead of downloading the same pieces again and again), keeps
 * serving the pieces it stored, and never crashes.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { FsStore } from '../src/storage/fs-store.js'
import { isUploadOnlyError } from '../src/storage/index.js'
import { MapStore, makeTorrent, connect, newSwarm, destroySwarms } from './helpers/swarm.js'
import { canMountTiny, mountTiny, unmountAll } from './helpers/mounts.js'
import { needs } from './helpers/system.js'

const base = mkdtempSync(join(tmpdir(), 'wt-swarm-enospc-'))
afterEach(destroySwarms)
afterAll(() => { unmountAll(); rmSync(base, { recursive: true, force: true }) })

describe.skipIf(!needs('root and a mountable tmpfs (disk-full test)', canMountTiny()))('Swarm on a full disk', () => {
  it('turns upload-only on ENOSPC, stops downloading, and keeps serving what it stored', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(2 * 1024 * 1024, PL, 9)
    const dir = join(base, 'disk')
    expect(mountTiny(dir, 512 * 1024)).toBe(true)
    const store = new FsStore({ path: dir, pieceLength: PL, length: t.data.length, files: [{ path: 'big.bin', length: t.data.length, offset: 0 }] })
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, store, false)
    const warnings: Error[] = []
    leecher.on('warning', e => warnings.push(e))
    const full = new Promise<void>(resolve => leecher.on('warning', e => { if (isUploadOnlyError(e)) resolve() }))
    await connect(seeder, leecher)
    await full
    expect(leecher.uploadOnly).not.toBe(null)
    expect((warnings.find(isUploadOnlyError) as { code?: string }).code).toBe('ERR_STORAGE_NO_SPACE')
    // Pieces already verified when the first write failed may still be written (one that fits in a page the
    // file already has): let those land, then nothing more may be stored.
    await new Promise(resolve => setTimeout(resolve, 300))
    const stored = leecher.have.count()
    expect(stored).toBeGreaterThan(0)
    expect(stored).toBeLessThan(t.n)

    // No re-download loop: almost nothing more arrives once upload-only (only blocks already in flight).
    const before = leecher.downloaded + leecher.wasted
    await new Promise(resolve => setTimeout(resolve, 1500))
    expect(leecher.downloaded + leecher.wasted - before).toBeLessThan(t.data.length / 2)
    expect(leecher.have.count()).toBe(stored)

    // Uploads go on: another peer, connected only to the full leecher, gets every piece it stored.
    const other = newSwarm(t, PL, new MapStore(PL), false)
    const got = new Set<number>()
    other.on('verified', i => got.add(i))
    await connect(leecher, other)
    for (let i = 0; i < 100 && got.size < stored; i++) await new Promise(resolve => setTimeout(resolve, 50))
    expect(got.size).toBe(stored)
  })
})
