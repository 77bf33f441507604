/**
 * End to end with transmission-daemon 3.00 on 127.0.0.1 (issue 5 item 8): we download from Transmission and
 * seed to it, on the multi-file tree and the ~64 MiB file, byte-identical, over TCP in plaintext. We always dial
 * it (it never dials 127.x peers). Transmission waits for its 10 s rechoke before it unchokes or requests, so
 * the four cases share one daemon and run concurrently. Transmission does not create 0-byte files when it
 * downloads: those may be absent on its side.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createTorrent, type Torrent, type WebTorrent } from '../src/index.js'
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
  let tr: Transmission
  let tree: Content
  let big: Content

  beforeAll(async () => {
    const treeParent = tmp.dir()
    writeTree(join(treeParent, 'album'), 81)
    tree = { name: 'tree', src: join(treeParent, 'album'), parent: treeParent, pieceLength: 16384 }
    const bigParent = tmp.dir()
    writeBigFile(bigParent, 'big.bin')
    big = { name: 'big', src: join(bigParent, 'big.bin'), parent: bigParent, pieceLength: 256 * 1024 }
    tr = await Transmission.start(tmp.dir())
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map(c => c.destroy()))
    await tr?.stop()
    tmp.cleanup()
  })

  function watchWires (t: Torrent): Wire[] {
    const wires: Wire[] = []
    t.on('wire', (w: Wire) => wires.push(w))
    return wires
  }

  function clientName (w: Wire): string {
    const v = w.peerExtendedHandshake.v
    return typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : ''
  }

  /** Polls Transmission's peer list of `id` until it completes, remembering the peers it listed. */
  async function trDone (id: number, timeoutMs: number): Promise<{ t: TrTorrent, peers: TrTorrent['peers'] }> {
    const peers: TrTorrent['peers'] = []
    const t = await tr.waitFor(id, t => {
      peers.push(...t.peers)
      return t.percentDone === 1 && t.status === 6
    }, timeoutMs, 'transmission to finish')
    return { t, peers }
  }

  for (const which of ['tree', 'big'] as const) {
    const what = which === 'tree' ? 'the multi-file tree' : 'the 64 MiB file'

    it.concurrent(`downloads ${what} from Transmission over tcp (we dial, plaintext)`, async ({ expect }) => {
      const c = which === 'tree' ? tree : big
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
      if (c.name === 'tree') expect(sameTree(c.src, join(out, 'album'))).toEqual([])
      else expect(sameFile(c.src, join(out, 'big.bin'))).toBe(true)
      expect((await tr.get(id)).uploadedEver).toBeGreaterThanOrEqual(t.length)
    }, 60_000)

    it.concurrent(`seeds ${what} to Transmission over tcp (we dial, plaintext)`, async ({ expect }) => {
      const c = which === 'tree' ? tree : big
      const us = await ourClient(clients)
      const seeded = us.seed(c.src, { pieceLength: c.pieceLength })
      await waitFor(seeded, 'ready', 30_000)
      const wires = watchWires(seeded)
      const out = tmp.dir()
      const id = await tr.add(seeded.torrentFile!, out)
      await tr.waitFor(id, t => t.status === 4, 15_000, 'transmission to start downloading')
      seeded.addPeer(`127.0.0.1:${tr.port}`)
      const { t, peers } = await trDone(id, 45_000)
      expect(t.corruptEver).toBe(0)
      expect(t.haveValid).toBe(seeded.length)
      // It listed us: an incoming plaintext TCP peer (its client name comes from our peer id).
      expect(peers.some(p => p.address === '127.0.0.1' && p.isIncoming && !p.isEncrypted && !p.isUTP)).toBe(true)
      expect(wires[0].type).toBe('tcpOutgoing')
      expect(seeded.uploaded).toBeGreaterThanOrEqual(seeded.length)
      if (c.name === 'tree') expect(sameTreeButEmpty(c.src, join(out, 'album'))).toEqual([])
      else expect(sameFile(c.src, join(out, 'big.bin'))).toBe(true)
    }, 60_000)
  }
})
