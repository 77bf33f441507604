/**
 * Our TrackerClient against a real opentracker (Debian build: HTTP + UDP, whitelist-only) on 127.0.0.1: two of
 * our clients find each other, scrape counts follow started/completed/stopped, a torrent off the whitelist is
 * refused (and accepted after a SIGHUP reload), and libtorrent and we find each other through it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TrackerClient, UdpTrackerSocket, type TrackerClientOptions, type TrackerError, type TrackerPeerEvent } from '../src/tracker/index.js'
import { LtPeer } from './helpers/libtorrent.js'
import { handshakeSink, OpenTracker } from './helpers/opentracker.js'
import { waitFor } from './helpers/sockets.js'
import { needs, system } from './helpers/system.js'

const haveOt = needs('opentracker', system.command('opentracker'))
const haveLt = haveOt && needs('python3-libtorrent', system.libtorrent())

const IH_HTTP = '1f'.repeat(20)
const IH_UDP = '2e'.repeat(20)
const IH_LATE = '3d'.repeat(20)

describe.skipIf(!haveOt)('opentracker', () => {
  let ot: OpenTracker
  const clients: TrackerClient[] = []
  beforeAll(async () => { ot = await OpenTracker.start([IH_HTTP, IH_UDP]) })
  afterAll(async () => { await ot?.stop() })
  afterEach(() => { for (const c of clients.splice(0)) c.destroy() })

  let nextId = 1
  function client (infoHash: string, announce: string, port: number, stats: { left: number }, extra: Partial<TrackerClientOptions> = {}): TrackerClient & { peers: TrackerPeerEvent[] } {
    const peerId = '2d5757303030312d' + (nextId++).toString(16).padStart(24, '0')
    const c = new TrackerClient({ infoHash, peerId, port, announce: [announce], getStats: () => ({ uploaded: 0, downloaded: 0, left: stats.left }), ...extra }) as TrackerClient & { peers: TrackerPeerEvent[] }
    c.peers = []
    c.on('peer', p => c.peers.push(p))
    clients.push(c)
    return c
  }

  async function scrape (c: TrackerClient): Promise<[number, number, number]> {
    const [r] = await c.scrape()
    return [r.complete, r.incomplete, r.downloaded]
  }

  for (const kind of ['http', 'udp'] as const) {
    it(`two clients find each other over ${kind.toUpperCase()}; scrape counts are right`, async () => {
      const ih = kind === 'http' ? IH_HTTP : IH_UDP
      const url = kind === 'http' ? ot.httpAnnounce : ot.udpAnnounce
      const aStats = { left: 500 }
      const a = client(ih, url, 42001, aStats)
      const b = client(ih, url, 42002, { left: 0 })
      const warnings: TrackerError[] = []
      for (const c of [a, b]) c.on('warning', e => warnings.push(e))
      a.start()
      const [ua] = await waitFor<{ complete: number, incomplete: number, interval: number }>(a, 'update')
      expect([ua.complete, ua.incomplete]).toEqual([0, 1])
      expect(ua.interval).toBeGreaterThanOrEqual(300)
      expect(await scrape(a)).toEqual([0, 1, 0])
      b.start()
      const [ub] = await waitFor<{ complete: number, incomplete: number }>(b, 'update')
      expect([ub.complete, ub.incomplete]).toEqual([1, 1])
      expect(b.peers.map(p => `${p.host}:${p.port}`)).toContain('127.0.0.1:42001')
      // opentracker's min interval is ~16 min: a forced re-announce, as libtorrent's force_reannounce
      a.update({ ignoreMinInterval: true })
      await waitFor(a, 'update')
      expect(a.peers.map(p => `${p.host}:${p.port}`)).toContain('127.0.0.1:42002')
      aStats.left = 0
      a.complete()
      await waitFor(a, 'update')
      expect(await scrape(b)).toEqual([2, 0, 1])
      await a.stop()
      expect(await scrape(b)).toEqual([1, 0, 1])
      await b.stop()
      expect((await scrape(b)).slice(0, 2)).toEqual([0, 0])
      expect(warnings).toEqual([])
    })
  }

  it('refuses a torrent off the whitelist, then serves it after a SIGHUP reload', async () => {
    const http = client(IH_LATE, ot.httpAnnounce, 42003, { left: 1 })
    http.start()
    const [err] = await waitFor<TrackerError>(http, 'warning')
    expect(err.code).toBe('ERR_TRACKER_FAILURE')
    expect(err.message).toMatch(/not authorized/)
    http.destroy()
    // Over UDP opentracker drops announces for unlisted torrents without an answer: a short retransmit timer.
    const udp = new UdpTrackerSocket({ retransmitBase: 300 })
    const u = client(IH_LATE, ot.udpAnnounce, 42003, { left: 1 }, { udp, udpMaxRetransmits: 0 })
    u.start()
    const [uerr] = await waitFor<TrackerError>(u, 'warning')
    expect(uerr.code).toBe('ERR_TRACKER_TIMEOUT')
    u.destroy()
    udp.close()
    await ot.allow(IH_LATE)
    const c = client(IH_LATE, ot.httpAnnounce, 42003, { left: 1 })
    c.start()
    const [upd] = await waitFor<{ incomplete: number }>(c, 'update')
    expect(upd.incomplete).toBe(1)
    await c.stop()
  })
})

describe.skipIf(!haveLt)('libtorrent and us through opentracker', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wt-ot-lt-'))
    writeFileSync(join(dir, 'payload.bin'), new Uint8Array(48 * 1024).fill(9))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  for (const kind of ['http', 'udp'] as const) {
    it(`find each other over ${kind.toUpperCase()}`, async () => {
      const lt = await LtPeer.start({ utp: false }) // TCP only: its uTP dial to our TCP-only sink would time out first
      const sink = await handshakeSink()
      let ot: OpenTracker | undefined
      let c: TrackerClient | undefined
      try {
        // The tracker URL goes into the torrent, whose info-hash opentracker must whitelist: make the torrent
        // for a port picked first, then start opentracker on it.
        ot = await OpenTracker.start([])
        const url = kind === 'http' ? ot.httpAnnounce : ot.udpAnnounce
        const torrent = join(dir, `${kind}.torrent`)
        const { info_hash: ih } = await lt.create({ path: join(dir, 'payload.bin'), out: torrent, trackers: [url] })
        await ot.allow(ih!)
        c = new TrackerClient({ infoHash: ih!, peerId: '2d5757303030312d' + 'ef'.repeat(12), port: sink.port, announce: [url], getStats: () => ({ uploaded: 0, downloaded: 0, left: 48 * 1024 }) })
        const peers: TrackerPeerEvent[] = []
        c.on('peer', p => peers.push(p))
        c.on('warning', err => { throw err })
        c.start()
        await waitFor(c, 'update')
        const save = join(dir, `save-${kind}`)
        mkdirSync(save)
        await lt.add({ torrent, save_path: save })
        const hs = await Promise.race([sink.handshake, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('libtorrent never dialed us: ' + lt.events.slice(-8).map(e => e.message).join(' | '))), 20_000))])
        expect(hs.infoHash).toBe(ih) // libtorrent learned our address from opentracker
        c.update({ ignoreMinInterval: true })
        await waitFor(c, 'update')
        expect(peers.map(p => `${p.host}:${p.port}`)).toContain(`127.0.0.1:${lt.port}`)
        await c.stop()
      } finally {
        c?.destroy()
        await sink.close()
        await lt.stop()
        await ot?.stop()
      }
    })
  }
})
