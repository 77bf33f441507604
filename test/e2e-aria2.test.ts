/**
 * End to end with aria2c 1.36 on 127.0.0.1 (issue 5 item 8): we download from aria2 and seed to it, on the
 * multi-file tree and the ~64 MiB file, byte-identical. TCP only (aria2 has no uTP); we dial aria2 (with no
 * tracker, DHT, LPD or PEX it cannot learn our address). The torrents are made by our createTorrent.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, type Torrent, type WebTorrent } from '../src/index.js'
import type { Wire } from '../src/wire/index.js'
import { Aria2 } from './helpers/aria2.js'
import { needs, system } from './helpers/system.js'
import { writeTree, sameTree } from './helpers/tree.js'
import { ourClient, sameFile, tempDirs, whenDone, writeBigFile } from './helpers/e2e.js'
import { waitFor } from './helpers/sockets.js'

const haveAria2 = needs('aria2c', system.command('aria2c'))

interface Content { name: 'tree' | 'big', src: string, parent: string, pieceLength: number }

describe.skipIf(!haveAria2)('e2e with aria2', () => {
  const tmp = tempDirs('wt-e2e-aria2-')
  const clients: WebTorrent[] = []
  const arias: Aria2[] = []
  let tree: Content
  let big: Content

  beforeAll(() => {
    const treeParent = tmp.dir()
    writeTree(join(treeParent, 'album'), 71)
    tree = { name: 'tree', src: join(treeParent, 'album'), parent: treeParent, pieceLength: 16384 }
    const bigParent = tmp.dir()
    writeBigFile(bigParent, 'big.bin')
    big = { name: 'big', src: join(bigParent, 'big.bin'), parent: bigParent, pieceLength: 256 * 1024 }
  })

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map(c => c.destroy()))
    await Promise.allSettled(arias.splice(0).map(a => a.stop()))
    tmp.cleanup()
  })

  function assertSame (c: Content, out: string): void {
    if (c.name === 'tree') expect(sameTree(c.src, join(out, 'album'))).toEqual([])
    else expect(sameFile(c.src, join(out, 'big.bin'))).toBe(true)
  }

  /** Records the wires of `t`: type, and the peer's id and client name (read once the test is over). */
  function watchWires (t: Torrent): Wire[] {
    const wires: Wire[] = []
    t.on('wire', (w: Wire) => wires.push(w))
    return wires
  }

  /** The wire is to aria2: its peer id starts with "A2-1-36-" and its extended handshake names it. */
  function assertAria2 (w: Wire): void {
    expect(Buffer.from(w.peerId!, 'hex').toString('latin1')).toMatch(/^A2-1-\d+-\d+-/)
    const v = w.peerExtendedHandshake.v
    expect(typeof v === 'string' ? v : new TextDecoder().decode(v as Uint8Array)).toMatch(/^aria2\//)
  }

  for (const which of ['tree', 'big'] as const) {
    const what = which === 'tree' ? 'the multi-file tree' : 'the 64 MiB file'

    it(`downloads ${what} from aria2 over tcp (we dial)`, async () => {
      const c = which === 'tree' ? tree : big
      const torrent = await createTorrent(c.src, { pieceLength: c.pieceLength })
      const tf = join(tmp.dir(), 'a.torrent')
      writeFileSync(tf, torrent)
      const aria = await Aria2.start({ torrent: tf, dir: c.parent, seed: true })
      arias.push(aria)
      await aria.whenSeeding()
      const us = await ourClient(clients)
      const out = tmp.dir()
      const t = us.add(torrent, { path: out, peers: [`127.0.0.1:${aria.port}`] })
      const wires = watchWires(t)
      let verified = 0
      t.on('verified', () => verified++)
      await whenDone(t, which === 'big' ? 30_000 : 15_000)
      expect(verified).toBe(t.pieceCount)
      expect([...new Set(wires.map(w => w.type))]).toEqual(['tcpOutgoing'])
      assertAria2(wires[0])
      assertSame(c, out)
      expect(Number((await aria.status()).uploadLength)).toBeGreaterThanOrEqual(t.length)
      await aria.stop()
    }, 60_000)

    it(`seeds ${what} to aria2 over tcp (we dial)`, async () => {
      const c = which === 'tree' ? tree : big
      const us = await ourClient(clients)
      const seeded = us.seed(c.src, { pieceLength: c.pieceLength })
      await waitFor(seeded, 'ready', 30_000)
      const wires = watchWires(seeded)
      const tf = join(tmp.dir(), 'ours.torrent')
      writeFileSync(tf, seeded.torrentFile!)
      const out = tmp.dir()
      const aria = await Aria2.start({ torrent: tf, dir: out, seed: false })
      arias.push(aria)
      seeded.addPeer(`127.0.0.1:${aria.port}`)
      // aria2 verifies every piece it downloads.
      const st = await aria.whenComplete(which === 'big' ? 30_000 : 15_000)
      expect(Number(st.completedLength)).toBe(seeded.length)
      expect(wires.length).toBeGreaterThanOrEqual(1)
      expect(wires[0].type).toBe('tcpOutgoing')
      assertAria2(wires[0])
      expect(seeded.uploaded).toBeGreaterThanOrEqual(seeded.length)
      assertSame(c, out)
    }, 60_000)
  }
})
