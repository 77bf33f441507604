import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { SwarmPeer } from '../src/engine/types.js'
import type { WasmTorrentError } from '../src/errors.js'
import { WebSeed, WebSeedSet, createWebSeeds, type WebSeedError } from '../src/webseed/index.js'
import { waitFor } from './helpers/sockets.js'
import { MapStore, connect, newSwarm, destroySwarms } from './helpers/swarm.js'
import { WebSeedServer } from './helpers/webseed-server.js'
import { buildTorrent, serveTorrent, type TestTorrent } from './helpers/webseed-torrent.js'

let server: WebSeedServer
beforeAll(async () => { server = await WebSeedServer.start() })
afterAll(async () => { await server.close() })
afterEach(() => {
  destroySwarms()
  server.files.clear()
  server.mode = 'ok'
  server.modeFor = undefined
  server.resetStats()
})

const same = (store: MapStore, t: TestTorrent) => Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))

const multiSpecs = (PL: number) => [
  { path: ['empty'], length: 0 },
  { path: ['docs', 'read me.txt'], length: 3000 },
  { path: ['.pad', '1'], length: PL - 3000, pad: true },
  { path: ['video', 'große datei.mkv'], length: 5 * PL + 7777 },
  { path: ['zero'], length: 0 },
  ...Array.from({ length: 40 }, (_, i) => ({ path: ['many', `f${i}`], length: 333 + i * 17 })),
  { path: ['.pad', '2'], length: 1234, pad: true },
  { path: ['last.bin'], length: 2 * PL + 1 }
]

describe('Swarm with web seeds as peers', () => {
  it('a web seed as the only peer: single-file download completes byte-identical', async () => {
    const PL = 64 * 1024
    const t = buildTorrent('single.bin', [{ path: [], length: 3 * 1024 * 1024 + 12345 }], PL, 21, true)
    serveTorrent(server, t, '/seed/', true)
    const store = new MapStore(PL)
    const swarm = newSwarm(t, PL, store, false)
    const done = waitFor(swarm, 'done', 20000)
    const ws = new WebSeed(server.origin + '/seed/single.bin', t.torrent)
    swarm.addWire(ws)
    await done
    expect(same(store, t)).toBe(true)
    expect(swarm.downloaded).toBe(t.data.length)
    expect(ws.downloaded).toBe(t.data.length)
    expect(swarm.wasted).toBe(0)
    // Batched: far fewer HTTP requests than blocks (192 blocks here).
    expect(server.log.length).toBeLessThanOrEqual(t.n)
  })

  it('a web seed as the only peer: multi-file layout with pad and 0-byte files completes byte-identical', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('Multi Torrent', multiSpecs(PL), PL, 22)
    serveTorrent(server, t, '/seeds/')
    const store = new MapStore(PL)
    const swarm = newSwarm(t, PL, store, false)
    const done = waitFor(swarm, 'done', 20000)
    swarm.addWire(new WebSeed(server.origin + '/seeds/', t.torrent))
    await done
    expect(same(store, t)).toBe(true)
    expect(server.log.some(r => r.path.includes('.pad') || r.path.endsWith('/empty') || r.path.endsWith('/zero'))).toBe(false)
  })

  it('sequential strategy: contiguous pieces are fetched by few large requests', async () => {
    const PL = 16 * 1024
    const t = buildTorrent('seq.bin', [{ path: [], length: 2 * 1024 * 1024 }], PL, 23, true)
    serveTorrent(server, t, '/seed/', true)
    const store = new MapStore(PL)
    const swarm = newSwarm(t, PL, store, false, { strategy: 'sequential' })
    const done = waitFor(swarm, 'done', 20000)
    swarm.addWire(new WebSeed(server.origin + '/seed/seq.bin', t.torrent))
    await done
    expect(same(store, t)).toBe(true)
    expect(server.log.length).toBeLessThan(t.n / 4) // 128 pieces
  })

  it('a flaky web seed (some 503s) still completes after backing off', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('flaky.bin', [{ path: [], length: 1024 * 1024 }], PL, 24, true)
    serveTorrent(server, t, '/seed/', true)
    server.status = 503
    server.modeFor = (_p, n) => n % 4 === 1 ? 'status' : undefined
    const store = new MapStore(PL)
    const swarm = newSwarm(t, PL, store, false)
    const done = waitFor(swarm, 'done', 20000)
    const ws = new WebSeed(server.origin + '/seed/flaky.bin', t.torrent, { retryDelayMs: 20 })
    swarm.addWire(ws)
    await done
    expect(same(store, t)).toBe(true)
    expect(ws.destroyed).toBe(false)
    expect(server.log.some(r => r.status === 503)).toBe(true)
  })

  it('case 27: a web seed serving corrupt data is banned; the download completes from a good web seed', async () => {
    const PL = 32 * 1024
    const t = buildTorrent('Multi Torrent', multiSpecs(PL), PL, 25)
    serveTorrent(server, t, '/bad/')
    serveTorrent(server, t, '/good/')
    server.modeFor = p => p.startsWith('/bad/') ? 'corrupt' : undefined
    const store = new MapStore(PL)
    const swarm = newSwarm(t, PL, store, false)
    const bans: SwarmPeer[] = []
    swarm.on('ban', w => bans.push(w))
    const set = new WebSeedSet(t.torrent)
    const warnings: WasmTorrentError[] = []
    set.on('warning', e => warnings.push(e as WasmTorrentError))
    set.on('webSeed', ws => swarm.addWire(ws))
    const done = waitFor(swarm, 'done', 20000)
    const bad = set.add(server.origin + '/bad/')!
    const badClosed = waitFor<Error>(bad, 'close', 20000)
    const good = set.add(server.origin + '/good/')!
    await done
    await badClosed
    expect(same(store, t)).toBe(true)
    expect(bans).toEqual([bad])
    expect((bad.closeReason as WasmTorrentError).code).toBe('ERR_PEER_BANNED')
    expect(good.destroyed).toBe(false)
    // Never added again.
    expect(set.banned.has(server.origin + '/bad/')).toBe(true)
    expect(set.add(server.origin + '/bad/')).toBeNull()
    expect(warnings.map(w => w.code)).toEqual(['ERR_PEER_BANNED', 'ERR_WEBSEED_BANNED'])
    expect(set.webSeeds).toEqual([good])
    set.destroy()
    expect(good.destroyed).toBe(true)
  })

  it('case 27: a corrupt web seed is banned while a good BitTorrent peer completes the download', async () => {
    const PL = 64 * 1024
    const t = buildTorrent('c27.bin', [{ path: [], length: 1024 * 1024 }], PL, 26, true)
    serveTorrent(server, t, '/bad/', true)
    server.mode = 'corrupt'
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false)
    const bans: SwarmPeer[] = []
    leecher.on('ban', w => bans.push(w))
    const done = waitFor(leecher, 'done', 30000)
    const bad = new WebSeed(server.origin + '/bad/c27.bin', t.torrent)
    leecher.addWire(bad)
    await new Promise(resolve => setTimeout(resolve, 100)) // let the web seed deliver first
    await connect(seeder, leecher)
    await done
    expect(same(store, t)).toBe(true)
    expect(bans).toEqual([bad])
    expect(bad.destroyed).toBe(true)
  })

  it('createWebSeeds: one web seed per distinct acceptable URL, the others reported', () => {
    const PL = 16 * 1024
    const t = buildTorrent('x.bin', [{ path: [], length: PL }], PL, 27, true)
    const refused: string[] = []
    const list = createWebSeeds(t.torrent, [
      'http://127.0.0.1:1/x.bin', ' http://127.0.0.1:1/x.bin ', 'file:///x.bin', 'http://127.0.0.1:1/x.bin?q=1', 'https://example.com/'
    ], { maxWebConns: 2 }, (err: WebSeedError) => refused.push(err.code))
    expect(list.map(w => w.url)).toEqual(['http://127.0.0.1:1/x.bin', 'https://example.com/'])
    expect(list[0].maxWebConns).toBe(2)
    expect(refused).toEqual(['ERR_WEBSEED_URL', 'ERR_WEBSEED_URL', 'ERR_WEBSEED_SSRF'])
    for (const w of list) w.destroy()
  })
})
