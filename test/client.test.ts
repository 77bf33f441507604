import { mkdtempSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { WebTorrent, type Torrent } from '../src/index.js'
import { TREE, writeTree, sameTree } from './helpers/tree.js'
import { waitFor } from './helpers/sockets.js'
import { randomBytes, rng } from './helpers/random.js'
import { LOCAL_ONLY } from './helpers/local.js'

const base = mkdtempSync(join(tmpdir(), 'wt-client-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
const clients: WebTorrent[] = []
afterEach(async () => { await Promise.all(clients.splice(0).map(c => c.destroy())) })

async function client (): Promise<WebTorrent> {
  const c = new WebTorrent({ ...LOCAL_ONLY })
  clients.push(c)
  await c.whenListening()
  return c
}

let n = 0
function dir (): string { return mkdtempSync(join(base, `d${n++}-`)) }

async function seedTree (seeder: WebTorrent, opts: { pieceLength?: number } = {}): Promise<{ torrent: Torrent, src: string }> {
  const src = join(dir(), 'album')
  writeTree(src)
  const torrent = seeder.seed(src, { pieceLength: opts.pieceLength ?? 16384 })
  await waitFor(torrent, 'ready', 15000)
  return { torrent, src }
}

describe('WebTorrent client on loopback', () => {
  it('downloads a multi-file torrent from a magnet (metadata from the peer), byte-identical', async () => {
    const seeder = await client()
    const leecher = await client()
    const { torrent: seeded, src } = await seedTree(seeder)
    expect(seeded.progress).toBe(1)
    expect(seeded.done).toBe(true)
    const out = dir()
    const events: string[] = []
    const t = leecher.add(`magnet:?xt=urn:btih:${seeded.infoHash}&x.pe=127.0.0.1:${seeder.torrentPort}`, { path: out })
    for (const e of ['infoHash', 'metadata', 'ready', 'done']) t.once(e, () => events.push(e))
    let verified = 0
    t.on('verified', () => verified++)
    await waitFor(t, 'done', 30000)
    expect(events).toEqual(['infoHash', 'metadata', 'ready', 'done'])
    expect(t.name).toBe('album')
    expect(t.files.map(f => f.path).sort()).toEqual(TREE.map(([p]) => 'album/' + p).sort())
    expect(sameTree(src, join(out, 'album'))).toEqual([])
    expect(t.progress).toBe(1)
    expect(t.downloaded).toBe(t.length)
    expect(t.received).toBeGreaterThanOrEqual(t.length)
    expect(verified).toBe(t.pieceCount)
    expect(t.timeRemaining).toBe(0)
    expect(t.files.every(f => f.progress === 1)).toBe(true)
    expect(seeded.uploaded).toBeGreaterThanOrEqual(t.length)
    expect(t.numPeers).toBe(1)
    expect(leecher.progress).toBe(1)
  })

  it('seeds from memory and downloads via .torrent bytes and addPeer', async () => {
    const seeder = await client()
    const leecher = await client()
    const data = randomBytes(rng(5), 777_777)
    const seeded = seeder.seed(data, { name: 'blob.bin', pieceLength: 32768 })
    await waitFor(seeded, 'ready', 15000)
    expect(seeded.progress).toBe(1)
    const out = dir()
    const t = leecher.add(seeded.torrentFile!, { path: out })
    t.addPeer(`127.0.0.1:${seeder.torrentPort}`)
    await waitFor(t, 'done', 30000)
    const { readFileSync } = await import('node:fs')
    expect(readFileSync(join(out, 'blob.bin')).equals(Buffer.from(data))).toBe(true)
  })

  it('resumes from data on disk: a recheck finds it complete; fast resume trusts a valid bitfield only (case 31)', async () => {
    const c = await client()
    const src = join(dir(), 'album')
    writeTree(src, 3)
    const seeded = c.seed(src, { pieceLength: 16384 })
    await waitFor(seeded, 'ready', 15000)
    const torrentFile = seeded.torrentFile!
    const pieces = seeded.pieceCount
    await c.remove(seeded)

    // Recheck of complete data: ready and done with no peer at all.
    const c2 = await client()
    let t = c2.add(torrentFile, { path: join(src, '..') })
    await waitFor(t, 'ready', 15000)
    expect(t.progress).toBe(1)
    expect(t.done).toBe(true)
    await c2.remove(t)

    // A truncated file: its pieces are found missing, even when a saved bitfield claims them.
    truncateSync(join(src, 'zz-last.bin'), 100_000)
    const all = new Uint8Array(Math.ceil(pieces / 8)).fill(0xff)
    if (pieces & 7) all[all.length - 1] = (0xff00 >> (pieces & 7)) & 0xff
    t = c2.add(torrentFile, { path: join(src, '..'), bitfield: all })
    await waitFor(t, 'ready', 15000)
    expect(t.progress).toBeGreaterThan(0.3)
    expect(t.progress).toBeLessThan(1)
    expect(t.done).toBe(false)
    const lastFile = t.files.find(f => f.name === 'zz-last.bin')!
    expect(lastFile.progress).toBeLessThan(0.5)
    await c2.remove(t)

    // A bitfield of the wrong length or for another info-hash is ignored: full recheck.
    t = c2.add(torrentFile, { path: join(src, '..'), bitfield: { bitfield: all, infoHash: 'ab'.repeat(20) } })
    await waitFor(t, 'ready', 15000)
    expect(t.progress).toBeLessThan(1)
    await c2.remove(t)
    t = c2.add(torrentFile, { path: join(src, '..'), bitfield: new Uint8Array(1) })
    await waitFor(t, 'ready', 15000)
    expect(t.progress).toBeGreaterThan(0.3)
  })

  it('downloads only the selected files', async () => {
    const seeder = await client()
    const leecher = await client()
    const { torrent: seeded, src } = await seedTree(seeder)
    const out = dir()
    const readme = seeded.files.findIndex(f => f.name === 'readme.txt') // files are in the torrent's order
    const t = leecher.add(seeded.torrentFile!, { path: out, select: [readme], peers: [`127.0.0.1:${seeder.torrentPort}`] })
    await waitFor(t, 'done', 30000)
    const f = t.files[readme]
    expect(f.name).toBe('readme.txt')
    expect(f.progress).toBe(1)
    expect(sameTree(src, join(out, 'album'), TREE.filter(([p]) => p === 'readme.txt'))).toEqual([])
    expect(t.files.find(x => x.name === 'zz-last.bin')!.progress).toBeLessThan(0.2)
    expect(t.progress).toBeLessThan(0.5)
  })

  it('refuses a duplicate, finds torrents with get(), removes them, and throttles at runtime', async () => {
    const seeder = await client()
    const { torrent: seeded } = await seedTree(seeder)
    const dup = seeder.add(seeded.torrentFile!)
    const [warning] = await waitFor<Error & { code: string }>(dup, 'warning', 5000)
    expect(warning.code).toBe('ERR_CLIENT_DUPLICATE')
    expect(await seeder.get(seeded.infoHash)).toBe(seeded)
    expect(seeder.torrents.length).toBe(1)
    expect(seeder.pool.getTorrent(seeded.infoHash)).not.toBe(null) // the refused duplicate left the original registered

    const leecher = await client()
    leecher.throttleDownload(0)
    const t = leecher.add(seeded.torrentFile!, { path: dir(), peers: [`127.0.0.1:${seeder.torrentPort}`] })
    await waitFor(t, 'ready', 15000)
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(t.received).toBe(0)
    leecher.throttleDownload(-1)
    await waitFor(t, 'done', 30000)
    await leecher.remove(t.infoHash)
    expect(leecher.torrents.length).toBe(0)
    expect(await leecher.get(seeded.infoHash)).toBe(null)
  })
})
