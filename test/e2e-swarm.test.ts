/**
 * End-to-end swarms on 127.0.0.1 with a real libtorrent 2.0 seeder (issue 5 item 8):
 *  - one libtorrent seeder and three of our leechers (separate clients, each told of the others too) all
 *    complete, byte-identical;
 *  - bad-input case 29: a peer sending corrupt blocks (one of our clients, seeding through a store that
 *    corrupts what it reads) is banned, and stays banned, while the download completes from a good libtorrent
 *    seeder.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { WasmTorrentError, WebTorrent } from '../src/index.js'
import type { Wire } from '../src/wire/index.js'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { ourClient, sameFile, tempDirs, until, whenDone, writeBigFile } from './helpers/e2e.js'
import { waitFor } from './helpers/sockets.js'
import { corruptingStoreFactory } from './helpers/corrupt-store.js'

const haveLt = needs('python3-libtorrent', system.libtorrent())

describe.skipIf(!haveLt)('e2e swarms with a libtorrent seeder', () => {
  const tmp = tempDirs('wt-e2e-swarm-')
  const clients: WebTorrent[] = []
  const lts: LtPeer[] = []

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map(c => c.destroy()))
    await Promise.allSettled(lts.splice(0).map(p => p.stop()))
    tmp.cleanup()
  })

  /** A libtorrent seeding a fresh random file of `size` bytes; returns its port, info-hash, .torrent. */
  async function ltSeeder (size: number, pieceLength: number) {
    const parent = tmp.dir()
    const src = writeBigFile(parent, 'data.bin', size)
    const lt = await LtPeer.start({ utp: false })
    lts.push(lt)
    const file = join(parent, '..', `${parent.split('/').pop()}.torrent`)
    const { info_hash: ih } = await lt.create({ path: src, out: file, piece_length: pieceLength })
    await lt.add({ torrent: file, save_path: parent, seed_mode: true })
    return { lt, ih: ih!, src, parent, torrent: readFileSync(file) }
  }

  it('one libtorrent seeder and three of our leechers: all complete, byte-identical', async () => {
    const { lt, ih, src, torrent } = await ltSeeder(16 * 1024 * 1024 + 999, 64 * 1024)
    const leechers = [await ourClient(clients), await ourClient(clients), await ourClient(clients)]
    const outs = leechers.map(() => tmp.dir())
    const addrs = leechers.map(c => `127.0.0.1:${c.torrentPort}`)
    const torrents = leechers.map((c, i) => c.add(torrent, {
      path: outs[i],
      peers: [`127.0.0.1:${lt.port}`, ...addrs.filter((_, j) => j !== i)]
    }))
    const seen = torrents.map(t => {
      const ids = new Set<string>()
      t.on('wire', (w: Wire) => ids.add(w.peerId ?? ''))
      return ids
    })
    await Promise.all(torrents.map((t, i) => whenDone(t, 60_000, `leecher ${i}`)))
    for (const [i, t] of torrents.entries()) {
      expect(t.progress).toBe(1)
      expect(sameFile(src, join(outs[i], 'data.bin'))).toBe(true)
    }
    // A swarm, not three separate downloads: each leecher was connected to the seeder and another leecher.
    for (const [i, ids] of seen.entries()) {
      expect(leechers.some((o, j) => j !== i && ids.has(o.peerId))).toBe(true)
      expect([...ids].some(id => !leechers.some(o => o.peerId === id))).toBe(true) // libtorrent
    }
    const st = await lt.status(ih)
    expect(st.total_upload).toBeGreaterThanOrEqual(st.total_wanted)
  }, 90_000)

  it('case 29: a peer sending corrupt blocks is banned (and not reconnected) while the download completes', async () => {
    const { lt, src, torrent } = await ltSeeder(4 * 1024 * 1024 + 4321, 64 * 1024)
    const bad = await ourClient(clients)
    const corrupting = corruptingStoreFactory()
    const badTorrent = bad.add(torrent, { path: join(src, '..'), skipVerify: true, store: corrupting.factory })
    await waitFor(badTorrent, 'ready', 10_000)

    const us = await ourClient(clients)
    const out = tmp.dir()
    const badAddr = `127.0.0.1:${bad.torrentPort}`
    // The corrupt peer first (libtorrent on loopback ignores rate limits and would serve everything before
    // the corrupt peer got a request); the good libtorrent seeder joins after the first failed piece.
    const t = us.add(torrent, { path: out, peers: [badAddr] })
    const warnings: WasmTorrentError[] = []
    t.on('warning', (err: Error) => {
      const e = err as WasmTorrentError
      warnings.push(e)
      if (e.code === 'ERR_PIECE_HASH' && !warnings.slice(0, -1).some(w => w.code === 'ERR_PIECE_HASH')) t.addPeer(`127.0.0.1:${lt.port}`)
    })
    const wiresToBad: Wire[] = []
    t.on('wire', (w: Wire) => { if (w.peerId === bad.peerId) wiresToBad.push(w) })
    await whenDone(t, 60_000)
    expect(sameFile(src, join(out, 'data.bin'))).toBe(true)
    expect(corrupting.store!.corrupted).toBeGreaterThan(0)
    expect(warnings.filter(w => w.code === 'ERR_PIECE_HASH').length).toBeGreaterThan(0)
    const bans = warnings.filter(w => w.code === 'ERR_PEER_BANNED')
    expect(bans.length).toBe(1)
    expect(bans[0].message).toContain(badAddr)
    // The good seeder was never banned, and the bad peer was not reconnected after its ban.
    expect(bans.every(b => !b.message.includes(`:${lt.port} `))).toBe(true)
    // Past the pool's first redial delay (1 s): still one connection ever, the address marked banned.
    await new Promise(resolve => setTimeout(resolve, 2500))
    expect(wiresToBad.length).toBe(1)
    expect(t.wires.every(w => w.peerId !== bad.peerId)).toBe(true)
    expect(us.pool.getTorrent(t.infoHash)!.peer(badAddr)?.state).toBe('banned')
    expect(t.engine!.wasted).toBeGreaterThan(0)
  }, 90_000)
})
