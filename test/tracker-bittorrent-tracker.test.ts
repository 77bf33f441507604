/**
 * Our TrackerClient against bittorrent-tracker's server (the tracker WebTorrent's ecosystem runs) on 127.0.0.1,
 * over HTTP, UDP and WebSocket: two clients of the same torrent find each other, scrape counts follow
 * started/completed/stopped, WebRTC signalling is relayed over WS, and a real libtorrent finds us (and we it)
 * through the HTTP and UDP trackers.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TrackerClient, UdpTrackerSocket, WsTrackerPool, type TrackerClientOptions, type TrackerPeerEvent, type TrackerSignalEvent } from '../src/tracker/index.js'
import { handshakeSink } from './helpers/opentracker.js'
import { startBtTracker, type BtTracker } from './helpers/bt-tracker.js'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { waitFor } from './helpers/sockets.js'

const IH = '5a'.repeat(20)

let tracker: BtTracker
const clients: TrackerClient[] = []
beforeAll(async () => { tracker = await startBtTracker() })
afterAll(async () => { await tracker.close() })
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
})

let nextId = 1
function client (announce: string, port: number, stats: { left: number }, extra: Partial<TrackerClientOptions> = {}): TrackerClient & { peers: TrackerPeerEvent[] } {
  const peerId = '2d5757303030312d' + (nextId++).toString(16).padStart(24, '0')
  const c = new TrackerClient({ infoHash: IH, peerId, port, announce: [announce], getStats: () => ({ uploaded: 0, downloaded: 0, left: stats.left }), ...extra }) as TrackerClient & { peers: TrackerPeerEvent[] }
  c.peers = []
  c.on('peer', p => c.peers.push(p))
  c.on('warning', err => { throw err })
  clients.push(c)
  return c
}

async function counts (c: TrackerClient): Promise<[number, number]> {
  const [r] = await c.scrape()
  return [r.complete, r.incomplete]
}

for (const kind of ['http', 'udp'] as const) {
  describe(`bittorrent-tracker server over ${kind.toUpperCase()}`, () => {
    it('two clients find each other; scrape counts follow started/completed/stopped', async () => {
      const url = tracker[kind]
      const aStats = { left: 1000 }
      const a = client(url, 41001, aStats)
      const b = client(url, 41002, { left: 0 })
      a.start()
      await waitFor(a, 'update')
      expect(await counts(a)).toEqual([0, 1])
      b.start()
      const [upd] = await waitFor<{ complete: number, incomplete: number }>(b, 'update')
      expect([upd.complete, upd.incomplete]).toEqual([1, 1])
      expect(b.peers.map(p => `${p.host}:${p.port}`)).toContain('127.0.0.1:41001')
      a.update({ ignoreMinInterval: true })
      await waitFor(a, 'update')
      expect(a.peers.map(p => `${p.host}:${p.port}`)).toContain('127.0.0.1:41002')
      expect(await counts(b)).toEqual([1, 1])
      aStats.left = 0
      a.complete()
      await waitFor(a, 'update')
      expect(await counts(b)).toEqual([2, 0])
      await a.stop()
      expect(await counts(b)).toEqual([1, 0])
      await b.stop()
      expect(await counts(b)).toEqual([0, 0])
    })
  })
}

describe('bittorrent-tracker server over UDP with a shared socket', () => {
  it('serves several torrents over one UdpTrackerSocket', async () => {
    const udp = new UdpTrackerSocket()
    const other = '6b'.repeat(20)
    const a = client(tracker.udp, 41011, { left: 5 }, { udp })
    const b = new TrackerClient({ infoHash: other, peerId: '2d5757303030312d' + 'ff'.repeat(12), port: 41012, announce: [tracker.udp], udp })
    clients.push(b)
    a.start()
    b.start()
    await Promise.all([waitFor(a, 'update'), waitFor(b, 'update')])
    expect((await b.scrape())[0]).toMatchObject({ infoHash: other, complete: 0, incomplete: 1 })
    await Promise.all([a.stop(), b.stop()])
    a.destroy()
    b.destroy()
    expect(udp.destroyed).toBe(false) // not ours to close
    udp.close()
  })
})

describe('bittorrent-tracker server over WebSocket', () => {
  it('announces, scrapes, and counts started/completed/stopped', async () => {
    const ws = new WsTrackerPool()
    const aStats = { left: 10 }
    const a = client(tracker.ws, 1, aStats, { ws })
    const b = client(tracker.ws, 2, { left: 0 }, { ws })
    a.start()
    const [u1] = await waitFor<{ complete: number, incomplete: number, interval: number }>(a, 'update')
    expect([u1.complete, u1.incomplete]).toEqual([0, 1])
    expect(u1.interval).toBe(300) // the server says 120 s for WS; our floor is 300 s
    b.start()
    await waitFor(b, 'update')
    expect(await counts(a)).toEqual([1, 1])
    aStats.left = 0
    a.complete()
    await waitFor(a, 'update')
    expect(await counts(b)).toEqual([2, 0])
    await a.stop()
    expect(await counts(b)).toEqual([1, 0])
    expect(a.peers).toEqual([]) // WS trackers hand out offers, never addresses
    ws.close()
  })

  it('relays WebRTC offers and answers between two clients (signalling only)', async () => {
    const offerId = new Uint8Array(20).fill(7)
    const rtc = { createOffers: async (n: number) => [{ offerId, offer: { type: 'offer', sdp: `fake-sdp-${n}` } }] }
    // a fresh swarm: peers of earlier tests may linger on the server until their sockets' close is processed
    const infoHash = '7c'.repeat(20)
    const a = client(tracker.ws, 1, { left: 10 }, { infoHash })
    const b = client(tracker.ws, 2, { left: 10 }, { infoHash, rtc })
    a.start()
    await waitFor(a, 'update')
    const gotOffer = waitFor<TrackerSignalEvent>(a, 'signal')
    b.start() // announces with our fake offer: the tracker forwards it to a
    const [offer] = await gotOffer
    expect(offer).toMatchObject({ type: 'offer', peerId: '2d5757303030312d' + (nextId - 1).toString(16).padStart(24, '0'), data: { type: 'offer', sdp: 'fake-sdp-5' } })
    expect(offer.offerId).toEqual(offerId)
    const gotAnswer = waitFor<TrackerSignalEvent>(b, 'signal')
    offer.answer!({ type: 'answer', sdp: 'fake-answer' })
    const [answer] = await gotAnswer
    expect(answer).toMatchObject({ type: 'answer', peerId: '2d5757303030312d' + (nextId - 2).toString(16).padStart(24, '0'), data: { type: 'answer', sdp: 'fake-answer' } })
    expect(answer.offerId).toEqual(offerId)
  })

  it('reports a tracker failure reason', async () => {
    tracker.server._filter = (_ih: string, _p: unknown, cb: (err?: Error) => void) => cb(new Error('torrent not allowed here'))
    try {
      const c = new TrackerClient({ infoHash: IH, peerId: '2d5757303030312d' + 'ee'.repeat(12), port: 1, announce: [tracker.ws] })
      clients.push(c)
      c.start()
      const [err] = await waitFor<Error & { code: string }>(c, 'warning')
      expect(err.code).toBe('ERR_TRACKER_FAILURE')
      expect(err.message).toContain('torrent not allowed here')
    } finally {
      delete tracker.server._filter
    }
  })
})

const haveLt = needs('python3-libtorrent', system.libtorrent())

describe.skipIf(!haveLt)('libtorrent and us through bittorrent-tracker', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wt-tracker-lt-'))
    writeFileSync(join(dir, 'payload.bin'), new Uint8Array(64 * 1024).fill(3))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  for (const kind of ['http', 'udp'] as const) {
    it(`find each other over ${kind.toUpperCase()}`, async () => {
      const lt = await LtPeer.start({ utp: false }) // TCP only: its uTP dial to our TCP-only sink would time out first
      const sink = await handshakeSink()
      try {
        const torrent = join(dir, `${kind}.torrent`)
        const { info_hash: ih } = await lt.create({ path: join(dir, 'payload.bin'), out: torrent, trackers: [tracker[kind]] })
        const c = new TrackerClient({ infoHash: ih!, peerId: '2d5757303030312d' + 'cd'.repeat(12), port: sink.port, announce: [tracker[kind]], getStats: () => ({ uploaded: 0, downloaded: 0, left: 64 * 1024 }) })
        clients.push(c)
        const peers: TrackerPeerEvent[] = []
        c.on('peer', p => peers.push(p))
        c.start()
        await waitFor(c, 'update')
        // libtorrent (downloading, empty save path) announces and dials the address the tracker gave it: ours.
        const save = join(dir, `save-${kind}`)
        mkdirSync(save)
        await lt.add({ torrent, save_path: save })
        const hs = await Promise.race([sink.handshake, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('libtorrent never dialed us: ' + lt.events.slice(-8).map(e => e.message).join(' | '))), 20_000))])
        expect(hs.infoHash).toBe(ih)
        // and we learn libtorrent's address from the tracker
        c.update({ ignoreMinInterval: true })
        await waitFor(c, 'update')
        expect(peers.map(p => `${p.host}:${p.port}`)).toContain(`127.0.0.1:${lt.port}`)
        await c.stop()
      } finally {
        await sink.close()
        await lt.stop()
      }
    })
  }
})
