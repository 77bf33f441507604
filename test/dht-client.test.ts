/**
 * The DHT inside our client (issue 6 item 2): the BEP 5 handshake bit and `port` message between two of our
 * clients (each adds the other's DHT node), the separate dhtPort, the routing table file through the client
 * options, and private torrents (BEP 27) never touching the DHT. Loopback only; DHT bootstrap is always local
 * or empty.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { WebTorrent, type Torrent, type Wire } from '../src/index.js'
import type { DhtNode } from '../src/dht/index.js'
import { ourClient, tempDirs, until } from './helpers/e2e.js'
import { waitFor, sleep } from './helpers/sockets.js'
import { randomBytes, rng } from './helpers/random.js'

const tmp = tempDirs('wt-dht-client-')
afterAll(() => tmp.cleanup())
const clients: WebTorrent[] = []
afterEach(async () => { await Promise.all(clients.splice(0).map(c => c.destroy())) })

const NO_BOOTSTRAP = { bootstrap: [] as string[], timeout: 500 }

/** Records every call the client's DHT node gets, by method. */
function spyDht (c: WebTorrent): string[] {
  const calls: string[] = []
  const dht = c.dht as DhtNode
  for (const m of ['announce', 'lookup', 'subscribe', 'addNode'] as const) {
    const orig = (dht[m] as (...a: unknown[]) => unknown).bind(dht)
    ;(dht as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => { calls.push(`${m} ${String(a[0])}`); return orig(...a) }
  }
  return calls
}

async function seedBuffer (c: WebTorrent, seed: number, opts: { private?: boolean } = {}): Promise<{ t: Torrent, data: Uint8Array }> {
  const data = randomBytes(rng(seed), 300_000)
  const t = c.seed(data, { name: `blob-${seed}.bin`, pieceLength: 16384, path: tmp.dir(), ...opts })
  await waitFor(t, 'ready', 15000)
  return { t, data }
}

describe('the DHT in our client', () => {
  it('dht off by default (no node, no public routers); dht: {bootstrap: []} runs a node on its own UDP port', async () => {
    const off = await ourClient(clients)
    expect(off.dht).toBeNull()
    expect(off.dhtPort).toBe(0)
    const on = await ourClient(clients, { dht: NO_BOOTSTRAP })
    await on.dht!.whenReady()
    expect(on.dhtPort).toBeGreaterThan(0)
    expect(on.dhtPort).not.toBe(on.torrentPort) // uTP owns the torrent port's UDP side
    expect(on.dht!.nodeCount).toBe(0)
  })

  it('both sides set the DHT bit, exchange port messages, and add each other\'s DHT node', async () => {
    const seeder = await ourClient(clients, { dht: NO_BOOTSTRAP })
    const leecher = await ourClient(clients, { dht: NO_BOOTSTRAP })
    await Promise.all([seeder.dht!.whenReady(), leecher.dht!.whenReady()])
    const { t: seeded, data } = await seedBuffer(seeder, 1)
    const seederPorts: number[] = []
    seeded.on('wire', (w: Wire) => w.on('port', (p: number) => seederPorts.push(p)))
    const t = leecher.add(seeded.torrentFile!, { path: tmp.dir(), peers: [`127.0.0.1:${seeder.torrentPort}`] })
    const leecherPorts: number[] = []
    const wires: Wire[] = []
    t.on('wire', (w: Wire) => { wires.push(w); w.on('port', (p: number) => leecherPorts.push(p)) })
    await waitFor(t, 'done', 30000)
    expect(data.length).toBe(t.length)
    expect(wires[0].peerExtensions.dht).toBe(true)
    await until('port messages', () => leecherPorts.length > 0 && seederPorts.length > 0, 5000, 20)
    expect(leecherPorts).toEqual([seeder.dhtPort])
    expect(seederPorts).toEqual([leecher.dhtPort])
    // The nodes answer each other's ping and land in the routing tables.
    await until('routing tables', () => seeder.dht!.nodeCount === 1 && leecher.dht!.nodeCount === 1, 5000, 20)
    expect(leecher.dht!.toJSON().nodes.map(n => `${n.host}:${n.port}`)).toEqual([`127.0.0.1:${seeder.dhtPort}`])
    expect(seeder.dht!.toJSON().nodes.map(n => `${n.host}:${n.port}`)).toEqual([`127.0.0.1:${leecher.dhtPort}`])
  })

  it('without a DHT no bit is set and no port message is sent', async () => {
    const seeder = await ourClient(clients, { dht: NO_BOOTSTRAP })
    const leecher = await ourClient(clients) // no DHT
    const { t: seeded } = await seedBuffer(seeder, 2)
    const ports: number[] = []
    const t = leecher.add(seeded.torrentFile!, { path: tmp.dir(), peers: [`127.0.0.1:${seeder.torrentPort}`] })
    let wire: Wire | null = null
    t.on('wire', (w: Wire) => { wire = w; w.on('port', (p: number) => ports.push(p)) })
    const seederSaw: boolean[] = []
    seeded.on('wire', (w: Wire) => { seederSaw.push(w.peerExtensions.dht); w.on('port', (p: number) => ports.push(p)) })
    await waitFor(t, 'done', 30000)
    await sleep(200)
    expect(wire!.peerExtensions.dht).toBe(true) // the seeder runs a DHT
    expect(seederSaw).toEqual([false]) // we do not
    expect(ports).toEqual([]) // the seeder sends none to a peer without the bit; we send none at all
  })

  it('a private torrent never touches the DHT: no bit, no port message, no announce or lookup', async () => {
    const seeder = await ourClient(clients, { dht: NO_BOOTSTRAP })
    const leecher = await ourClient(clients, { dht: NO_BOOTSTRAP })
    await Promise.all([seeder.dht!.whenReady(), leecher.dht!.whenReady()])
    const seedCalls = spyDht(seeder)
    const leechCalls = spyDht(leecher)
    const { t: seeded } = await seedBuffer(seeder, 3, { private: true })
    expect(seeded.private).toBe(true)
    const ports: number[] = []
    const flags: boolean[] = []
    seeded.on('wire', (w: Wire) => { flags.push(w.peerExtensions.dht); w.on('port', (p: number) => ports.push(p)) })
    const t = leecher.add(seeded.torrentFile!, { path: tmp.dir(), peers: [`127.0.0.1:${seeder.torrentPort}`] })
    t.on('wire', (w: Wire) => { flags.push(w.peerExtensions.dht); w.on('port', (p: number) => ports.push(p)) })
    await waitFor(t, 'done', 30000)
    await sleep(300)
    expect(flags).toEqual([false, false])
    expect(ports).toEqual([])
    expect(seedCalls.filter(c => c.includes(seeded.infoHash))).toEqual([])
    expect(leechCalls.filter(c => c.includes(seeded.infoHash))).toEqual([])
    expect(leechCalls.filter(c => c.startsWith('addNode'))).toEqual([])
    expect(t.discovery!.usesDht).toBe(false)

    // A magnet for a private torrent: the DHT may be used until the metadata says private, then never again.
    const other = await ourClient(clients, { dht: NO_BOOTSTRAP })
    const otherCalls = spyDht(other)
    const m = other.add(`magnet:?xt=urn:btih:${seeded.infoHash}&x.pe=127.0.0.1:${seeder.torrentPort}`, { path: tmp.dir() })
    await waitFor(m, 'metadata', 15000)
    expect(m.private).toBe(true)
    expect(m.discovery!.usesDht).toBe(false)
    const before = otherCalls.length
    await waitFor(m, 'done', 30000)
    await sleep(300)
    expect(otherCalls.slice(before).filter(c => c.includes(seeded.infoHash))).toEqual([])
  })

  it('dhtStateFile: the routing table survives a client restart', async () => {
    const stateFile = join(tmp.dir(), 'state', 'dht.json')
    const a = await ourClient(clients, { dht: NO_BOOTSTRAP })
    const b = await ourClient(clients, { dht: NO_BOOTSTRAP, dhtStateFile: stateFile })
    await Promise.all([a.dht!.whenReady(), b.dht!.whenReady()])
    b.dht!.addNode('127.0.0.1', a.dhtPort)
    await until('node added', () => b.dht!.nodeCount === 1, 5000, 20)
    const port = b.dhtPort
    await b.destroy()
    expect(existsSync(stateFile)).toBe(true)
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).nodes).toHaveLength(1)
    const b2 = await ourClient(clients, { dht: NO_BOOTSTRAP, dhtStateFile: stateFile })
    await b2.dht!.whenReady()
    expect(b2.dhtPort).toBe(port)
    expect(b2.dht!.toJSON().nodes.map(n => n.port)).toEqual([a.dhtPort])
  })
})
