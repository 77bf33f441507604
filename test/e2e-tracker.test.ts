/**
 * Issue 6 item 7: peers that know each other only through a real tracker complete a download. Our client
 * and libtorrent, through opentracker (HTTP and UDP) and bittorrent-tracker's server (HTTP and UDP); all on
 * 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebTorrent } from '../src/index.js'
import { writeTree, sameTree } from './helpers/tree.js'
import { waitFor } from './helpers/sockets.js'
import { startBtTracker, type BtTracker } from './helpers/bt-tracker.js'
import { OpenTracker } from './helpers/opentracker.js'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { LOCAL_ONLY } from './helpers/local.js'

const base = mkdtempSync(join(tmpdir(), 'wt-e2e-tracker-'))
let n = 0
const dir = () => mkdtempSync(join(base, `d${n++}-`))
const clients: WebTorrent[] = []
const lts: LtPeer[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.destroy()))
  await Promise.all(lts.splice(0).map(l => l.stop()))
})
afterAll(() => rmSync(base, { recursive: true, force: true }))

async function client (): Promise<WebTorrent> {
  const c = new WebTorrent({ ...LOCAL_ONLY })
  clients.push(c)
  await c.whenListening()
  return c
}

describe('downloads between our clients found only through bittorrent-tracker', () => {
  let tracker: BtTracker
  beforeAll(async () => { tracker = await startBtTracker() })
  afterAll(async () => { await tracker?.close() })

  for (const kind of ['http', 'udp'] as const) {
    it(`over ${kind.toUpperCase()}`, async () => {
      const url = tracker[kind]
      const seeder = await client()
      const leecher = await client()
      const src = join(dir(), 'album')
      writeTree(src, 11)
      const seeded = seeder.seed(src, { announceList: [[url]], pieceLength: 16384 })
      await waitFor(seeded, 'ready', 15000)
      const out = dir()
      const t = leecher.add(seeded.torrentFile!, { path: out }) // no peers given: only the tracker knows
      await waitFor(t, 'done', 30000)
      expect(sameTree(src, join(out, 'album'))).toEqual([])
    })
  }
})

/**
 * libtorrent seeds a tree announced to `trackerForLt`; our client (no peers given) finds it through the tracker
 * and completes. `allow` whitelists an info-hash first (opentracker).
 */
async function weDownloadFromLibtorrent (trackerForLt: string, seed: number, allow?: (ih: string) => Promise<void>): Promise<string[]> {
  const { readFileSync } = await import('node:fs')
  const lt = await LtPeer.start({ utp: false })
  lts.push(lt)
  const src = join(dir(), 'album')
  writeTree(src, seed)
  const made = await lt.create({ path: src, out: join(src, '..', 'a.torrent'), piece_length: 32768, trackers: [trackerForLt] })
  await allow?.(made.info_hash!)
  const ih = await lt.add({ torrent: join(src, '..', 'a.torrent'), save_path: join(src, '..') })
  await lt.waitForStatus(ih, s => s.is_seeding, 20000)
  const us = await client()
  const out = dir()
  const t = us.add(readFileSync(join(src, '..', 'a.torrent')), { path: out })
  const sources: string[] = []
  t.on('peer', (_addr: string, source: string) => sources.push(source))
  await waitFor(t, 'done', 60000)
  expect(sameTree(src, join(out, 'album'))).toEqual([])
  return sources
}

/** We seed a tree announced to `trackerForUs`; libtorrent, given only the .torrent, finds us and completes. */
async function libtorrentDownloadsFromUs (trackerForUs: string, seed: number, allow?: (ih: string) => Promise<void>): Promise<void> {
  const { writeFileSync } = await import('node:fs')
  const src = join(dir(), 'album')
  writeTree(src, seed)
  const seeder = await client()
  const seeded = seeder.seed(src, { announceList: [[trackerForUs]], pieceLength: 16384 })
  await waitFor(seeded, 'ready', 15000)
  await allow?.(seeded.infoHash)
  const tf = join(dir(), 'b.torrent')
  writeFileSync(tf, seeded.torrentFile!)
  const lt = await LtPeer.start({ utp: false })
  lts.push(lt)
  const out = dir()
  const ih = await lt.add({ torrent: tf, save_path: out })
  const st = await lt.waitForStatus(ih, s => s.is_seeding, 60000)
  expect(st.progress).toBe(1)
  expect(sameTree(src, join(out, 'album'))).toEqual([])
}

describe.skipIf(!needs('opentracker and python3-libtorrent', system.command('opentracker') && system.libtorrent()))('with libtorrent through opentracker', () => {
  let ot: OpenTracker
  afterAll(async () => { await ot?.stop() })

  it('our client downloads from a libtorrent seeder (HTTP tracker) and libtorrent downloads from us (UDP tracker)', async () => {
    ot = await OpenTracker.start()
    const allow = (ih: string): Promise<void> => ot.allow(ih)
    expect(await weDownloadFromLibtorrent(ot.httpAnnounce, 12, allow)).toContain('tracker')
    await libtorrentDownloadsFromUs(ot.udpAnnounce, 13, allow)
  })
})

describe.skipIf(!needs('python3-libtorrent', system.libtorrent()))('with libtorrent through bittorrent-tracker', () => {
  let tracker: BtTracker
  beforeAll(async () => { tracker = await startBtTracker() })
  afterAll(async () => { await tracker?.close() })

  it('our client downloads from a libtorrent seeder (UDP tracker) and libtorrent downloads from us (HTTP tracker)', async () => {
    expect(await weDownloadFromLibtorrent(tracker.udp, 14)).toContain('tracker')
    await libtorrentDownloadsFromUs(tracker.http, 15)
  })
})
