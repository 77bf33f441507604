/**
 * End to end with webtorrent (npm 3.0.21) running in its own process on 127.0.0.1 (issue 5 item 8; issue 4:
 * "with webtorrent (npm) over TCP in both directions"): we download from it and seed to it, on the multi-file
 * tree and the ~64 MiB file, byte-identical. Encryption (MSE/PE, src/mse) both ways: our dials open with MSE (our
 * default secure: 1), which webtorrent (its default secure: 1) answers choosing plaintext, or RC4 when either
 * side requires it (secure: 2); when it dials us it opens with an MSE/PE handshake, which we answer; the
 * plaintext cases use secure: 0.
 * webtorrent does not create 0-byte files when it downloads: those are allowed to be absent on its side.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Torrent, WebTorrent } from '../src/index.js'
import type { Wire } from '../src/wire/index.js'
import { WebTorrentPeer, type WtOptions } from './helpers/webtorrent-peer.js'
import { writeTree, sameTree } from './helpers/tree.js'
import { ourClient, sameFile, sameTreeButEmpty, tempDirs, whenDone, writeBigFile } from './helpers/e2e.js'
import { waitFor } from './helpers/sockets.js'

interface Content { name: 'tree' | 'big', src: string, parent: string, pieceLength: number, file: string }

describe('e2e with webtorrent (npm)', () => {
  const tmp = tempDirs('wt-e2e-webtorrent-')
  const clients: WebTorrent[] = []
  const peers: WebTorrentPeer[] = []
  let tree: Content
  let big: Content

  beforeAll(() => {
    const treeParent = tmp.dir()
    writeTree(join(treeParent, 'album'), 61)
    tree = { name: 'tree', src: join(treeParent, 'album'), parent: treeParent, pieceLength: 16384, file: 'album' }
    const bigParent = tmp.dir()
    writeBigFile(bigParent, 'big.bin')
    big = { name: 'big', src: join(bigParent, 'big.bin'), parent: bigParent, pieceLength: 256 * 1024, file: 'big.bin' }
  })

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map(c => c.destroy()))
    await Promise.allSettled(peers.splice(0).map(p => p.stop()))
    tmp.cleanup()
  })

  async function wtPeer (opts: WtOptions = {}): Promise<WebTorrentPeer> {
    const p = await WebTorrentPeer.start(opts)
    peers.push(p)
    return p
  }

  /** A download at `out` equals `c`'s source; `byWebtorrent`: webtorrent downloaded it (0-byte files may lack). */
  function assertSame (c: Content, out: string, byWebtorrent: boolean): void {
    if (c.name === 'tree') expect((byWebtorrent ? sameTreeButEmpty : sameTree)(c.src, join(out, 'album'))).toEqual([])
    else expect(sameFile(c.src, join(out, 'big.bin'))).toBe(true)
  }

  function wireTypes (t: Torrent): string[] {
    const types: string[] = []
    t.on('wire', (w: Wire) => types.push(w.type))
    return types
  }

  for (const which of ['tree', 'big'] as const) {
    const what = which === 'tree' ? 'the multi-file tree' : 'the 64 MiB file'

    it(`downloads ${what} from webtorrent over tcp (we dial; webtorrent's default encryption setting)`, async () => {
      const c = which === 'tree' ? tree : big
      const wt = await wtPeer()
      const { infoHash, torrentFile } = await wt.seed(c.src, c.pieceLength)
      const us = await ourClient(clients)
      const out = tmp.dir()
      const t = us.add(torrentFile, { path: out, peers: [`127.0.0.1:${wt.port}`] })
      const types = wireTypes(t)
      let verified = 0
      t.on('verified', () => verified++)
      await whenDone(t, which === 'big' ? 30_000 : 15_000)
      expect(t.infoHash).toBe(infoHash)
      expect(verified).toBe(t.pieceCount)
      expect([...new Set(types)]).toEqual(['tcpOutgoing'])
      expect(us.pool.stats().encryption.outgoing).toEqual({ 'mse-plaintext': types.length }) // our MSE dial, answered
      assertSame(c, out, false)
      const st = await wt.status(infoHash)
      expect(st.uploaded).toBeGreaterThanOrEqual(t.length)
      // webtorrent saw us: a wire with our peer id.
      await wt.waitForEvent(e => e.event === 'wire' && e.infoHash === infoHash && e.peerId === us.peerId, 1000, 'webtorrent to list us')
    }, 60_000)

    it(`seeds ${what} to webtorrent over tcp (we dial; webtorrent's default encryption setting)`, async () => {
      const c = which === 'tree' ? tree : big
      const us = await ourClient(clients)
      const seeded = us.seed(c.src, { pieceLength: c.pieceLength })
      await waitFor(seeded, 'ready', 30_000)
      const types = wireTypes(seeded)
      const wt = await wtPeer()
      const out = tmp.dir()
      const ih = await wt.add(seeded.torrentFile!, out)
      expect(ih).toBe(seeded.infoHash)
      seeded.addPeer(`127.0.0.1:${wt.port}`)
      await wt.whenDone(ih, which === 'big' ? 30_000 : 15_000)
      expect([...new Set(types)]).toEqual(['tcpOutgoing'])
      expect(us.pool.stats().encryption.outgoing).toEqual({ 'mse-plaintext': types.length })
      const st = await wt.status(ih)
      expect(st.progress).toBe(1)
      expect(seeded.uploaded).toBeGreaterThanOrEqual(seeded.length)
      assertSame(c, out, true)
      await wt.waitForEvent(e => e.event === 'wire' && e.infoHash === ih && e.peerId === us.peerId, 1000, 'webtorrent to list us')
    }, 60_000)
  }

  for (const kind of ['tcp', 'utp'] as const) {
    it(`seeds the multi-file tree to webtorrent over ${kind} (webtorrent dials us, plaintext)`, async () => {
      const us = await ourClient(clients)
      const seeded = us.seed(tree.src, { pieceLength: tree.pieceLength })
      await waitFor(seeded, 'ready', 30_000)
      const types = wireTypes(seeded)
      const wt = await wtPeer({ secure: 0, utp: kind === 'utp' })
      const out = tmp.dir()
      const ih = await wt.add(seeded.torrentFile!, out)
      await wt.addPeer(ih, `127.0.0.1:${us.torrentPort}`)
      await wt.whenDone(ih, 15_000)
      expect([...new Set(types)]).toEqual([`${kind}Incoming`])
      assertSame(tree, out, true)
    }, 30_000)
  }

  // webtorrent's default (secure: 1) opens with an MSE/PE handshake offering plaintext and RC4: we answer and
  // pick plaintext. secure: 2 offers RC4 only: every byte after the handshake is RC4 both ways.
  for (const secure of [1, 2] as const) {
    it(`seeds to webtorrent dialing us with MSE/PE (secure: ${secure}, ${secure === 1 ? 'plaintext selected' : 'RC4'})`, async () => {
      const us = await ourClient(clients)
      const seeded = us.seed(tree.src, { pieceLength: tree.pieceLength })
      await waitFor(seeded, 'ready', 30_000)
      const types = wireTypes(seeded)
      // How each wire's handshake went ('mse-plaintext' / 'mse-rc4' / 'plaintext'), as the pool reports it.
      const modes: string[] = []
      seeded.on('wire', (w: Wire) => modes.push(us.pool.encryption(w) ?? 'none'))
      const wt = await wtPeer({ secure, utp: false })
      const out = tmp.dir()
      const ih = await wt.add(seeded.torrentFile!, out)
      await wt.addPeer(ih, `127.0.0.1:${us.torrentPort}`)
      await wt.whenDone(ih, 20_000)
      expect([...new Set(types)]).toEqual(['tcpIncoming'])
      expect([...new Set(modes)]).toEqual([secure === 1 ? 'mse-plaintext' : 'mse-rc4'])
      assertSame(tree, out, true)
    }, 40_000)
  }

  // We dial with RC4 required on either side: webtorrent requiring it (secure: 2) and our default offer, or our
  // secure: 2 and webtorrent's default.
  for (const [ourSecure, theirSecure] of [[1, 2], [2, 1]] as const) {
    it(`downloads the multi-file tree from webtorrent over RC4 (we dial; our secure: ${ourSecure}, webtorrent's: ${theirSecure})`, async () => {
      const wt = await wtPeer({ secure: theirSecure, utp: false })
      const { infoHash, torrentFile } = await wt.seed(tree.src, tree.pieceLength)
      const us = await ourClient(clients, { secure: ourSecure })
      const out = tmp.dir()
      const t = us.add(torrentFile, { path: out, peers: [`127.0.0.1:${wt.port}`] })
      const wires: Wire[] = []
      t.on('wire', (w: Wire) => wires.push(w))
      await whenDone(t, 20_000)
      expect(t.infoHash).toBe(infoHash)
      expect([...new Set(wires.map(w => us.pool.encryption(w)))]).toEqual(['mse-rc4'])
      expect(Object.keys(us.pool.stats().encryption.outgoing)).toEqual(['mse-rc4'])
      assertSame(tree, out, false)
    }, 40_000)
  }
})
