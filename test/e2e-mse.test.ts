/**
 * Our outgoing MSE/PE (src/mse/initiator.ts, the `secure` option) against a real libtorrent 2.0 on 127.0.0.1
 * that refuses plaintext: out_enc_policy = in_enc_policy = pe_forced, allowed_enc_level rc4 or both. Such a
 * peer can only be reached through our initiator: with the default `secure: 1` we download from it (byte for
 * byte), libtorrent reports the connection as encrypted and our pool counts it; with `secure: 0` the dial gets
 * nowhere. And the other way round: libtorrent refusing encryption (in_enc_policy pe_disabled) drops our MSE
 * handshake, and `secure: 1` falls back to plaintext. (The same fallback with Transmission, and RC4 with a
 * Transmission requiring it: e2e-transmission.test.ts; webtorrent both ways: e2e-webtorrent.test.ts.)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Torrent, WebTorrent } from '../src/index.js'
import type { Wire } from '../src/wire/index.js'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { writeTree, sameTree } from './helpers/tree.js'
import { ourClient, sameFile, tempDirs, until, whenDone, writeBigFile } from './helpers/e2e.js'
import { sleep } from './helpers/sockets.js'

const haveLt = needs('python3-libtorrent', system.libtorrent())

// settings_pack values: enc_policy pe_forced = 0, pe_disabled = 2; enc_level pe_rc4 = 2, pe_both = 3 (pe_plaintext = 1).
const PE_FORCED = 0
const PE_DISABLED = 2
const LEVEL = { rc4: 2, both: 3 } as const
type Level = keyof typeof LEVEL
type Kind = 'tcp' | 'utp'

describe.skipIf(!haveLt)('e2e: our MSE/PE dials to libtorrent with encryption forced', () => {
  const tmp = tempDirs('wt-e2e-mse-')
  const clients: WebTorrent[] = []
  const lts: LtPeer[] = []
  let treeSrc: string
  let bigSrc: string
  const torrents: Record<'tree' | 'big', { file: string, ih: string }> = {} as never

  beforeAll(async () => {
    const treeParent = tmp.dir()
    treeSrc = join(treeParent, 'album')
    writeTree(treeSrc, 71)
    const bigParent = tmp.dir()
    bigSrc = writeBigFile(bigParent, 'big.bin', 16 * 1024 * 1024 + 4321)
    const maker = await LtPeer.start({ utp: false })
    lts.push(maker)
    for (const [name, src, pieceLength] of [['tree', treeSrc, 16384], ['big', bigSrc, 256 * 1024]] as const) {
      const file = join(tmp.base, `${name}.torrent`)
      const { info_hash: ih } = await maker.create({ path: src, out: file, piece_length: pieceLength })
      torrents[name] = { file, ih: ih! }
    }
    await maker.stop()
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map(c => c.destroy()))
    await Promise.allSettled(lts.splice(0).map(p => p.stop()))
    tmp.cleanup()
  })

  /** A libtorrent seeding tree and big over `kind` only, refusing plaintext both ways. */
  async function forcedSeeder (level: Level, kind: Kind): Promise<LtPeer> {
    const p = await LtPeer.start(kind === 'tcp' ? { utp: false } : { tcp: false })
    lts.push(p)
    await p.call('settings', {
      settings: { out_enc_policy: PE_FORCED, in_enc_policy: PE_FORCED, allowed_enc_level: LEVEL[level], prefer_rc4: false }
    })
    await p.add({ torrent: torrents.tree.file, save_path: join(treeSrc, '..'), seed_mode: true })
    await p.add({ torrent: torrents.big.file, save_path: join(bigSrc, '..'), seed_mode: true })
    return p
  }

  /**
   * How libtorrent lists our peer id's connections ('rc4' / 'plaintext' / 'none'), polled until `done`
   * settles: libtorrent drops the connection once we are a seed too, so it is looked at while downloading.
   */
  async function ltEncryption (peer: LtPeer, ih: string, peerId: string, done: Promise<unknown>): Promise<string[]> {
    const seen = new Set<string>()
    let finished = false
    done.then(() => { finished = true }, () => { finished = true })
    while (!finished) {
      for (const p of (await peer.status(ih)).peers) if (p.pid === peerId) seen.add(p.encryption)
      await sleep(20)
    }
    return [...seen]
  }

  function watchWires (t: Torrent): Wire[] {
    const wires: Wire[] = []
    t.on('wire', (w: Wire) => wires.push(w))
    return wires
  }

  /** Downloads the tree from `peer` (rate-limited, so libtorrent's peer list can be read meanwhile), checked. */
  async function downloadTree (us: WebTorrent, peer: LtPeer): Promise<{ wires: Wire[], ltSays: string[] }> {
    const out = tmp.dir()
    const t = us.add(readFileSync(torrents.tree.file), { path: out, peers: [`127.0.0.1:${peer.port}`], downloadLimit: 300_000 })
    const wires = watchWires(t)
    const done = whenDone(t, 30_000)
    const ltSays = ltEncryption(peer, torrents.tree.ih, us.peerId, done)
    await done
    expect(sameTree(treeSrc, join(out, 'album'))).toEqual([])
    return { wires, ltSays: await ltSays }
  }

  const cases: Array<[Level, Kind, 'tree' | 'big']> = [
    ['rc4', 'tcp', 'tree'], ['rc4', 'tcp', 'big'], ['both', 'tcp', 'tree'], ['rc4', 'utp', 'tree'], ['both', 'utp', 'big']
  ]
  for (const [level, kind, which] of cases) {
    const mode = level === 'rc4' ? 'mse-rc4' : 'mse-plaintext'
    it(`downloads the ${which === 'tree' ? 'multi-file tree' : '16 MiB file'} over ${kind} from libtorrent forcing MSE (allowed: ${level}) -> ${mode}`, async () => {
      const peer = await forcedSeeder(level, kind)
      const { file, ih } = torrents[which]
      const us = await ourClient(clients) // secure: 1, the default
      const out = tmp.dir()
      // Rate-limited (~2 s) so that libtorrent's peer list can be read while the connection is up.
      const t = us.add(readFileSync(file), { path: out, peers: [`127.0.0.1:${peer.port}`], downloadLimit: which === 'tree' ? 300_000 : 8_000_000 })
      const wires = watchWires(t)
      let verified = 0
      t.on('verified', () => verified++)
      const done = whenDone(t, 45_000)
      const ltSays = ltEncryption(peer, ih, us.peerId, done)
      await done
      expect(verified).toBe(t.pieceCount)
      if (which === 'tree') expect(sameTree(treeSrc, join(out, 'album'))).toEqual([])
      else expect(sameFile(bigSrc, join(out, 'big.bin'))).toBe(true)
      expect([...new Set(wires.map(w => w.type))]).toEqual([`${kind}Outgoing`])
      expect([...new Set(wires.map(w => us.pool.encryption(w)))]).toEqual([mode])
      const stats = us.pool.stats()
      expect(Object.keys(stats.encryption.outgoing)).toEqual([mode])
      expect(stats.encryption.outgoing['plaintext-fallback']).toBeUndefined()
      // libtorrent's side of the same connection: encrypted as negotiated.
      expect(await ltSays).toEqual([level === 'rc4' ? 'rc4' : 'plaintext'])
      expect((await peer.status(ih)).total_upload).toBeGreaterThanOrEqual(t.length)
      await us.destroy()
    }, 60_000)
  }

  it('with secure: 0 (plaintext dials) the same peer refuses us: no wire, nothing downloaded', async () => {
    const peer = await forcedSeeder('both', 'tcp')
    const from = peer.events.length
    const us = await ourClient(clients, { secure: 0 })
    const t = us.add(readFileSync(torrents.tree.file), { path: tmp.dir(), peers: [`127.0.0.1:${peer.port}`] })
    const wires = watchWires(t)
    // Our plaintext dial reaches libtorrent, which closes it without a handshake.
    await until('our dial to be closed', () => Object.keys(us.pool.stats().closes).length > 0, 10_000)
    expect(peer.events.slice(from).some(e => e.type === 'incoming_connection_alert')).toBe(true)
    await sleep(2000)
    expect(wires).toEqual([])
    expect(t.downloaded).toBe(0)
    expect(us.pool.stats().encryption).toEqual({ outgoing: {}, incoming: {} })
  }, 30_000)

  it('with secure: 2 (RC4 only, no fallback) the forced peer with allowed: both is downloaded over RC4', async () => {
    const peer = await forcedSeeder('both', 'tcp')
    const us = await ourClient(clients, { secure: 2 })
    const { wires, ltSays } = await downloadTree(us, peer)
    expect([...new Set(wires.map(w => us.pool.encryption(w)))]).toEqual(['mse-rc4'])
    expect(ltSays).toEqual(['rc4'])
    await us.destroy()
  }, 45_000)

  it('with secure: 1 against libtorrent refusing encryption (pe_disabled): MSE dropped, plaintext fallback downloads', async () => {
    const peer = await LtPeer.start({ utp: false })
    lts.push(peer)
    await peer.call('settings', { settings: { in_enc_policy: PE_DISABLED, out_enc_policy: PE_DISABLED } })
    await peer.add({ torrent: torrents.tree.file, save_path: join(treeSrc, '..'), seed_mode: true })
    const us = await ourClient(clients)
    const { wires, ltSays } = await downloadTree(us, peer)
    expect([...new Set(wires.map(w => us.pool.encryption(w)))]).toEqual(['plaintext'])
    const stats = us.pool.stats()
    expect(stats.encryption.outgoing).toEqual({ 'plaintext-fallback': wires.length })
    expect(Object.values(stats.mseFailures).reduce((a, b) => a + b, 0)).toBe(1) // one MSE attempt, then plaintext only
    expect(ltSays).toEqual(['none'])
  }, 45_000)
})
