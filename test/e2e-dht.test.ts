/**
 * Issue 6 items 2, 4 and 7 (DHT parts), end to end on 127.0.0.1 with a local DHT network of bittorrent-dht
 * nodes (never the public routers), no trackers, no peers given:
 *  (a) a leecher with the .torrent finds the seeder only through the DHT and completes, byte-identical;
 *  (b) a bare info-hash magnet (no x.pe, no tr) -> DHT -> ut_metadata -> complete, byte-identical;
 *  (c) a blocklist covering 127.0.0.1: peers found through the DHT and given by hand never connect, incoming
 *      connections are refused, blockedPeer fires on the torrent and the client;
 * and, when python3-libtorrent is installed, the same through libtorrent's own DHT in both directions.
 */
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { WebTorrent } from '../src/index.js'
import { ourClient, tempDirs, until } from './helpers/e2e.js'
import { sameTree, writeTree } from './helpers/tree.js'
import { waitFor, sleep } from './helpers/sockets.js'
import { startDhtNetwork, type DhtNetwork } from './helpers/dht-network.js'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { LOCAL_ONLY } from './helpers/local.js'

const tmp = tempDirs('wt-e2e-dht-')
const clients: WebTorrent[] = []
let net: DhtNetwork
beforeAll(async () => { net = await startDhtNetwork(4) })
afterEach(async () => { await Promise.all(clients.splice(0).map(c => c.destroy())) })
afterAll(async () => { await net?.close(); tmp.cleanup() })

const dhtOpts = (on = net): { bootstrap: string[], timeout: number } => ({ bootstrap: on.bootstrap, timeout: 500 })

async function dhtSeeder (seed: number, on = net): Promise<{ c: WebTorrent, src: string, torrentFile: Uint8Array, infoHash: string }> {
  const c = await ourClient(clients, { dht: dhtOpts(on) })
  const src = join(tmp.dir(), 'album')
  writeTree(src, seed)
  const t = c.seed(src, { pieceLength: 16384 })
  const announced = waitFor(t, 'dhtAnnounce', 20000)
  await waitFor(t, 'ready', 15000)
  await announced // the seeder's announce_peer reached the network
  return { c, src, torrentFile: t.torrentFile!, infoHash: t.infoHash }
}

describe('downloads through a local DHT only', () => {
  it('(a) a .torrent with no trackers and no peers: the leecher finds the seeder through the DHT', async () => {
    const s = await dhtSeeder(21)
    const leecher = await ourClient(clients, { dht: dhtOpts() })
    const out = tmp.dir()
    const t = leecher.add(s.torrentFile, { path: out })
    const sources: string[] = []
    t.on('peer', (_a: string, source: string) => sources.push(source))
    await waitFor(t, 'done', 30000)
    expect(sameTree(s.src, join(out, 'album'))).toEqual([])
    expect(sources).toContain('dht')
    expect(sources.every(x => x === 'dht' || x === 'pex')).toBe(true)
  })

  it('(b) a bare info-hash magnet: DHT -> ut_metadata -> complete, byte-identical', async () => {
    const s = await dhtSeeder(22)
    const leecher = await ourClient(clients, { dht: dhtOpts() })
    const out = tmp.dir()
    const events: string[] = []
    const t = leecher.add(`magnet:?xt=urn:btih:${s.infoHash}`, { path: out })
    for (const e of ['metadata', 'ready', 'done']) t.once(e, () => events.push(e))
    let announced = false
    t.once('dhtAnnounce', () => { announced = true })
    await waitFor(t, 'done', 30000)
    expect(events).toEqual(['metadata', 'ready', 'done'])
    expect(t.name).toBe('album')
    expect(sameTree(s.src, join(out, 'album'))).toEqual([])
    // The leecher announced too: a third client finds both.
    await until('leecher announced', () => announced, 20000, 20)
    const third = await ourClient(clients, { dht: dhtOpts() })
    const t3 = third.add(`magnet:?xt=urn:btih:${s.infoHash}`, { path: tmp.dir() })
    const found = new Set<string>()
    t3.on('peer', (a: string, source: string) => { if (source === 'dht') found.add(a) })
    await until('both peers via the DHT', () => found.has(`127.0.0.1:${s.c.torrentPort}`) && found.has(`127.0.0.1:${leecher.torrentPort}`), 20000, 50)
    await waitFor(t3, 'done', 30000)
  })

  it('(c) a blocklist covering 127.0.0.1: nothing connects, blockedPeer fires', async () => {
    const s = await dhtSeeder(23)
    const list = join(tmp.dir(), 'blocklist.p2p')
    writeFileSync(list, '# test list\nLoopback:127.0.0.0-127.255.255.255\nJunk line\n')
    const blocked = await ourClient(clients, { dht: dhtOpts(), blocklist: list })
    const clientBlocked: Array<[string, unknown]> = []
    blocked.on('blockedPeer', (a: string, t: unknown) => clientBlocked.push([a, t]))
    const t = blocked.add(s.torrentFile, { path: tmp.dir() })
    const torrentBlocked: Array<[string, string | undefined]> = []
    t.on('blockedPeer', (a: string, source?: string) => torrentBlocked.push([a, source]))
    let wires = 0
    t.on('wire', () => wires++)
    const seederAddr = `127.0.0.1:${s.c.torrentPort}`
    await until('blocked DHT peer', () => torrentBlocked.some(([a, src]) => a === seederAddr && src === 'dht'), 20000, 50)
    expect(t.addPeer(seederAddr)).toBe(false)
    expect(torrentBlocked).toContainEqual([seederAddr, 'manual'])
    expect(clientBlocked.some(([a, tt]) => a === seederAddr && tt === t)).toBe(true)

    // The seeder learns the blocked client's address and dials it: refused on accept.
    const seeded = s.c.torrents[0]
    seeded.addPeer(`127.0.0.1:${blocked.torrentPort}`)
    await until('incoming refused', () => clientBlocked.some(([, tt]) => tt === null), 10000, 50)
    await sleep(500)
    expect(wires).toBe(0)
    expect(t.numPeers).toBe(0)
    expect(t.ready).toBe(true)
    expect(t.downloaded).toBe(0)
    expect(seeded.numPeers).toBe(0)
    expect(blocked.pool.stats().connections).toBe(0)
  })

  it('a blocklist that cannot be loaded is a client error (nothing is dialed)', async () => {
    const { WebTorrent } = await import('../src/index.js')
    const c = new WebTorrent({ ...LOCAL_ONLY, tracker: false, blocklist: join(tmp.dir(), 'missing.txt') })
    clients.push(c)
    const [err] = await waitFor<Error & { code: string }>(c, 'error', 5000)
    expect(err.code).toBe('ERR_CLIENT_BLOCKLIST')
    expect(c.destroyed).toBe(true)
  })
})

/** Looks `infoHash` up from a node of the local network until `port` is among the peers. */
async function untilAnnounced (on: DhtNetwork, infoHash: string, port: number, timeoutMs = 20000): Promise<void> {
  const node = on.nodes[0]
  let seen = false
  const onPeer = (p: { port: number }, ih: Buffer): void => { if (ih.toString('hex') === infoHash && p.port === port) seen = true }
  node.on('peer', onPeer)
  try {
    const deadline = Date.now() + timeoutMs
    while (!seen) {
      if (Date.now() > deadline) throw new Error(`${infoHash} was not announced with port ${port}`)
      await new Promise<void>(resolve => node.lookup(infoHash, () => resolve()))
      if (!seen) await sleep(200)
    }
  } finally {
    node.off('peer', onPeer)
  }
}

describe.skipIf(!needs('python3-libtorrent', system.libtorrent()))('DHT interop with libtorrent on loopback', () => {
  // A fresh network per test: libtorrent's DHT is slow to get past the dead nodes earlier tests leave behind.
  const lts: LtPeer[] = []
  let lnet: DhtNetwork
  beforeEach(async () => { lnet = await startDhtNetwork(4) })
  afterEach(async () => {
    await Promise.all(lts.splice(0).map(l => l.stop()))
    await Promise.all(clients.splice(0).map(c => c.destroy()))
    await lnet?.close()
  })

  /** libtorrent with its DHT on, bootstrapped from the local network only, loopback node rules relaxed. */
  async function ltWithDht (): Promise<LtPeer> {
    const lt = await LtPeer.start({ utp: true })
    lts.push(lt)
    await lt.call('settings', {
      settings: {
        enable_dht: true,
        dht_bootstrap_nodes: lnet.bootstrap.join(','),
        // every node here is 127.0.0.1: libtorrent's defaults allow one routing-table node per IP
        dht_restrict_routing_ips: false,
        dht_restrict_search_ips: false,
        dht_ignore_dark_internet: false,
        dht_prefer_verified_node_ids: false,
        dht_announce_interval: 5
      }
    })
    return lt
  }

  it('libtorrent seeds, announced only in the local DHT; our bare magnet completes', async () => {
    const lt = await ltWithDht()
    const src = join(tmp.dir(), 'album')
    writeTree(src, 24)
    const tf = join(src, '..', 'a.torrent')
    const made = await lt.create({ path: src, out: tf, piece_length: 32768 })
    const ih = await lt.add({ torrent: tf, save_path: join(src, '..') })
    await lt.waitForStatus(ih, s => s.is_seeding, 20000)
    expect(ih).toBe(made.info_hash)
    await untilAnnounced(lnet, ih, lt.port) // libtorrent's announce_peer reached the network
    const us = await ourClient(clients, { dht: dhtOpts(lnet) })
    const out = tmp.dir()
    const t = us.add(`magnet:?xt=urn:btih:${ih}`, { path: out })
    const found: string[] = []
    t.on('peer', (a: string, source: string) => found.push(`${source} ${a}`))
    await waitFor(t, 'done', 60000)
    expect(sameTree(src, join(out, 'album'))).toEqual([])
    expect(found).toContain(`dht 127.0.0.1:${lt.port}`)
  })

  it('we seed, announced only in the local DHT; libtorrent\'s bare magnet completes', async () => {
    const s = await dhtSeeder(25, lnet)
    const lt = await ltWithDht()
    const out = tmp.dir()
    const ih = await lt.add({ magnet: `magnet:?xt=urn:btih:${s.infoHash}`, save_path: out })
    const st = await lt.waitForStatus(ih, x => x.is_seeding, 60000)
    expect(st.progress).toBe(1)
    // libtorrent's peer_info source bit 2 is "dht" (tracker 1, dht 2, pex 4, lsd 8, resume 16, incoming 32).
    const ours = st.peers.find(p => p.port === s.c.torrentPort)
    if (ours !== undefined) expect(ours.source & 2).toBe(2)
    expect(sameTree(s.src, join(out, 'album'))).toEqual([])
  })
})
