/**
 * End to end with transmission-daemon 3.00 on 127.0.0.1 (issue 5 item 8): we download from Transmission and
 * seed to it, on the multi-file tree and the ~64 MiB file, byte-identical, over TCP. We always dial it (it never
 * dials 127.x peers). Our dials open with MSE/PE (the default `secure: 1`); this Transmission only tolerates
 * encryption and drops the encrypted handshake, so each case also checks our plaintext fallback (counted in the
 * pool's stats). Another daemon requires encryption: we download from it over RC4. Transmission waits for its
 * 10 s rechoke before it unchokes or requests, so the cases run concurrently, each against its own daemon: a
 * daemon refuses a second handshake from an address while one is under way, so clients sharing 127.0.0.1 and
 * one daemon kept failing each other's dials (and their plaintext fallbacks) for many seconds. Transmission
 * does not create 0-byte files when it downloads: those may be absent on its side.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createTorrent, type Torrent, type WebTorrent } from '../src/index.js'
import type { PoolStats } from '../src/transport/index.js'
import type { Wire } from '../src/wire/index.js'
import { Transmission, type TrTorrent } from './helpers/transmission.js'
import { needs, system } from './helpers/system.js'
import { writeTree, sameTree } from './helpers/tree.js'
import { ourClient, sameFile, sameTreeButEmpty, tempDirs, whenDone, writeBigFile } from './helpers/e2e.js'
import { waitFor } from './helpers/sockets.js'

const haveTr = needs('transmission-daemon', system.command('transmission-daemon'))

interface Content { name: 'tree' | 'big', src: string, parent: string, pieceLength: number }

describe.skipIf(!haveTr)('e2e with Transmission', () => {
  const tmp = tempDirs('wt-e2e-transmission-')
  const clients: WebTorrent[] = []
  const daemons: Array<Promise<Transmission>> = []
  /**
   * A daemon of the case's own (encryption 0: tolerated, unless asked). Started one after another: each picks
   * two free ports just before it binds them, and daemons starting at once could pick the same.
   */
  const daemon = (encryption?: 2): Promise<Transmission> => {
    const prev = daemons.at(-1)?.catch(() => {}) ?? Promise.resolve()
    const d = prev.then(async () => await Transmission.start(tmp.dir(), encryption === undefined ? {} : { encryption }))
    daemons.push(d)
    return d
  }
  let tree: Content
  let big: Content

  beforeAll(async () => {
    const treeParent = tmp.dir()
    writeTree(join(treeParent, 'album'), 81)
    tree = { name: 'tree', src: join(treeParent, 'album'), parent: treeParent, pieceLength: 16384 }
    const bigParent = tmp.dir()
    writeBigFile(bigParent, 'big.bin')
    big = { name: 'big', src: join(bigParent, 'big.bin'), parent: bigParent, pieceLength: 256 * 1024 }
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map(c => c.destroy()))
    await Promise.allSettled(daemons.map(async d => await (await d).stop()))
    tmp.cleanup()
  })

  function watchWires (t: Torrent): Wire[] {
    const wires: Wire[] = []
    t.on('wire', (w: Wire) => wires.push(w))
    return wires
  }

  /** Our dial's MSE handshake was dropped, once, and the plaintext redial carried the transfer. */
  function assertFellBack (s: PoolStats, expect: (v: unknown) => any): void {
    expect(Object.keys(s.encryption.outgoing)).toEqual(['plaintext-fallback'])
    expect(s.mseFailures).toEqual({ ERR_MSE_CLOSED: 1 })
  }

  function clientName (w: Wire): string {
    const v = w.peerExtendedHandshake.v
    return typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : ''
  }

  /** Polls Transmission's peer list of `id` until it completes, remembering the peers it listed. */
  async function trDone (tr: Transmission, id: number, timeoutMs: number): Promise<{ t: TrTorrent, peers: TrTorrent['peers'] }> {
    const peers: TrTorrent['peers'] = []
    const t = await tr.waitFor(id, t => {
      peers.push(...t.peers)
      return t.percentDone === 1 && t.status === 6
    }, timeoutMs, 'transmission to finish')
    return { t, peers }
  }

  for (const which of ['tree', 'big'] as const) {
    const what = which === 'tree' ? 'the multi-file tree' : 'the 64 MiB file'

    it.concurrent(`downloads ${what} from Transmission over tcp (we dial; MSE dropped, plaintext fallback)`, async ({ expect }) => {
      const c = which === 'tree' ? tree : big
      const tr = await daemon()
      // Twice the piece length of the seeding cases: another info-hash for the same data.
      const torrent = await createTorrent(c.src, { pieceLength: c.pieceLength * 2 })
      const id = await tr.add(torrent, c.parent)
      await tr.waitFor(id, t => t.status === 6 && t.percentDone === 1, 30_000, 'transmission to check and seed')
      const us = await ourClient(clients)
      const out = tmp.dir()
      const t = us.add(torrent, { path: out, peers: [`127.0.0.1:${tr.port}`] })
      const wires = watchWires(t)
      let verified = 0
      t.on('verified', () => verified++)
      await whenDone(t, 45_000) // Transmission's 10 s rechoke comes first
      expect(verified).toBe(t.pieceCount)
      expect([...new Set(wires.map(w => w.type))]).toEqual(['tcpOutgoing'])
      expect(clientName(wires[0])).toMatch(/^Transmission/)
      expect(us.pool.encryption(wires[0])).toBe('plaintext')
      assertFellBack(us.pool.stats(), expect)
      if (c.name === 'tree') expect(sameTree(c.src, join(out, 'album'))).toEqual([])
      else expect(sameFile(c.src, join(out, 'big.bin'))).toBe(true)
      expect((await tr.get(id)).uploadedEver).toBeGreaterThanOrEqual(t.length)
    }, 60_000)

    it.concurrent(`seeds ${what} to Transmission over tcp (we dial; MSE dropped, plaintext fallback)`, async ({ expect }) => {
      const c = which === 'tree' ? tree : big
      const tr = await daemon()
      const us = await ourClient(clients)
      const seeded = us.seed(c.src, { pieceLength: c.pieceLength })
      await waitFor(seeded, 'ready', 30_000)
      const wires = watchWires(seeded)
      const out = tmp.dir()
      const id = await tr.add(seeded.torrentFile!, out)
      await tr.waitFor(id, t => t.status === 4, 15_000, 'transmission to start downloading')
      seeded.addPeer(`127.0.0.1:${tr.port}`)
      const { t, peers } = await trDone(tr, id, 45_000)
      expect(t.corruptEver).toBe(0)
      expect(t.haveValid).toBe(seeded.length)
      // It listed us: an incoming plaintext TCP peer (its client name comes from our peer id).
      expect(peers.some(p => p.address === '127.0.0.1' && p.isIncoming && !p.isEncrypted && !p.isUTP)).toBe(true)
      expect(wires[0].type).toBe('tcpOutgoing')
      assertFellBack(us.pool.stats(), expect)
      expect(seeded.uploaded).toBeGreaterThanOrEqual(seeded.length)
      if (c.name === 'tree') expect(sameTreeButEmpty(c.src, join(out, 'album'))).toEqual([])
      else expect(sameFile(c.src, join(out, 'big.bin'))).toBe(true)
    }, 60_000)
  }

  it.concurrent('downloads the multi-file tree from a Transmission that requires encryption (we dial; MSE, RC4)', async ({ expect }) => {
    const trRequired = await daemon(2)
    const torrent = await createTorrent(tree.src, { pieceLength: tree.pieceLength })
    const id = await trRequired.add(torrent, tree.parent)
    await trRequired.waitFor(id, t => t.status === 6 && t.percentDone === 1, 30_000, 'transmission to check and seed')
    const us = await ourClient(clients)
    const out = tmp.dir()
    const t = us.add(torrent, { path: out, peers: [`127.0.0.1:${trRequired.port}`] })
    const wires = watchWires(t)
    // Transmission's peer list, polled while the transfer runs (it drops the connection once we are a seed).
    const listed: TrTorrent['peers'] = []
    let finished = false
    const poll = (async () => {
      while (!finished) {
        listed.push(...(await trRequired.get(id)).peers)
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    })()
    try {
      await whenDone(t, 45_000)
    } finally {
      finished = true
      await poll
    }
    expect(sameTree(tree.src, join(out, 'album'))).toEqual([])
    expect([...new Set(wires.map(w => us.pool.encryption(w)))]).toEqual(['mse-rc4'])
    expect(us.pool.stats().encryption.outgoing).toEqual({ 'mse-rc4': wires.length })
    expect(listed.some(p => p.address === '127.0.0.1' && p.isIncoming && p.isEncrypted)).toBe(true)
  }, 60_000)
})
