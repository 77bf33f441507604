/**
 * Web seeds (BEP 19) through the full client: a WebTorrent client (LOCAL_ONLY, no tracker) adds a torrent
 * whose only source of data is a web seed on a local HTTP server (test/helpers/webseed-server.ts, 127.0.0.1)
 * and downloads it to a temp dir, byte-identical:
 *   - single-file, web seed given with the `urlList` option of client.add();
 *   - multi-file (nested dirs, odd sizes, a 0-byte file, a non-ASCII name), web seed from the .torrent's
 *     `url-list`;
 *   - a magnet with `ws=`: the client has no metadata, so a peer must give it (ut_metadata) — here a second
 *     client that holds the .torrent but none of the data; all the data then comes from the magnet's web seed.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebTorrent, createTorrent, decodeTorrentFile, parseTorrent, type Torrent } from '../src/index.js'
import type { WebSeed } from '../src/webseed/index.js'
import { LOCAL_ONLY } from './helpers/local.js'
import { waitFor } from './helpers/sockets.js'
import { randomBytes, rng } from './helpers/random.js'
import { TREE, writeTree, sameTree } from './helpers/tree.js'
import { WebSeedServer } from './helpers/webseed-server.js'

const base = mkdtempSync(join(tmpdir(), 'wt-e2e-webseed-'))
let server: WebSeedServer
const clients: WebTorrent[] = []

beforeAll(async () => { server = await WebSeedServer.start() })
afterAll(async () => {
  await server.close()
  rmSync(base, { recursive: true, force: true })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.destroy()))
  server.files.clear()
  server.resetStats()
})

let n = 0
const dir = (): string => mkdtempSync(join(base, `d${n++}-`))

async function client (opts: { webSeeds?: boolean } = {}): Promise<WebTorrent> {
  const c = new WebTorrent({ ...LOCAL_ONLY, tracker: false, ...opts })
  clients.push(c)
  await c.whenListening()
  return c
}

/** Serves every file under `root` at `prefix` + its path relative to `root` ('/' separated). */
function serveDir (root: string, prefix: string): void {
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else server.files.set(prefix + relative(root, p).split('/').join('/'), readFileSync(p))
    }
  }
  walk(root)
}

/** Every file under `root`, relative path -> size. */
function listing (root: string): Record<string, number> {
  const out: Record<string, number> = {}
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[relative(root, p)] = statSync(p).size
    }
  }
  walk(root)
  return out
}

/** Downloads `t` to done and checks what every web-seed-only download must show. */
async function expectWebSeedOnly (t: Torrent, seeds: WebSeed[]): Promise<void> {
  await waitFor(t, 'done', 20_000)
  expect(t.done).toBe(true)
  expect(t.progress).toBe(1)
  expect(t.downloaded).toBe(t.length)
  expect(t.received).toBe(t.length) // nothing wasted, nothing twice
  expect(t.wires).toHaveLength(0) // no BitTorrent peer gave data
  expect(seeds).toHaveLength(1)
  expect(t.webSeeds).toEqual(seeds)
  expect(seeds[0].downloaded).toBe(t.length)
  expect(server.log.length).toBeGreaterThan(0)
  expect(server.log.every(r => r.status === 206 && r.ranged)).toBe(true)
}

describe('WebTorrent client with a web seed as the only source', () => {
  it('single-file torrent, web seed from the urlList option: byte-identical', async () => {
    const src = dir()
    const data = randomBytes(rng(71), 2 * 1024 * 1024 + 777) // odd size: a short last piece
    writeFileSync(join(src, 'movie.bin'), data)
    const torrentFile = await createTorrent(join(src, 'movie.bin'), { pieceLength: 32 * 1024, creationDate: false })
    server.files.set('/files/movie.bin', data)

    const c = await client()
    const out = dir()
    const t = c.add(torrentFile, { path: out, urlList: [`${server.origin}/files/movie.bin`] })
    const seeds: WebSeed[] = []
    t.on('webSeed', (ws: WebSeed) => seeds.push(ws))
    const warnings: Error[] = []
    t.on('warning', (e: Error) => warnings.push(e))
    await expectWebSeedOnly(t, seeds)
    expect(t.numPeers).toBe(1)
    expect(t.files.map(f => f.path)).toEqual(['movie.bin'])
    expect(t.files[0].progress).toBe(1)
    expect(server.log.every(r => r.path === '/files/movie.bin')).toBe(true)
    const got = readFileSync(join(out, 'movie.bin'))
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0)
    expect(listing(out)).toEqual({ 'movie.bin': data.length })
    expect(warnings).toEqual([])
  })

  it('multi-file torrent (nested dirs, odd sizes, a 0-byte file), web seed from the .torrent url-list: byte-identical', async () => {
    const src = join(dir(), 'album')
    writeTree(src, 72)
    // The web seed serves the BEP 19 layout: <url>/<torrent name>/<path>.
    serveDir(join(src, '..'), '/ws/')
    const torrentFile = await createTorrent(src, { pieceLength: 16 * 1024, urlList: `${server.origin}/ws/`, creationDate: false })
    const parsed = await decodeTorrentFile(torrentFile)
    expect(parsed.urlList).toEqual([`${server.origin}/ws/`])
    expect(parsed.files).toHaveLength(TREE.length)

    const c = await client()
    const out = dir()
    const t = c.add(torrentFile, { path: out })
    const seeds: WebSeed[] = []
    t.on('webSeed', (ws: WebSeed) => seeds.push(ws))
    await expectWebSeedOnly(t, seeds)
    expect(t.name).toBe('album')
    expect(t.files.map(f => f.path).sort()).toEqual(TREE.map(([p]) => 'album/' + p).sort())
    expect(sameTree(src, join(out, 'album'))).toEqual([])
    expect(listing(join(out, 'album'))).toEqual(Object.fromEntries(TREE))
    expect(existsSync(join(out, 'album', 'empty.dat'))).toBe(true)
    // The 0-byte file is never asked for; every other file is.
    const asked = new Set(server.log.map(r => r.path))
    expect(asked.has('/ws/album/empty.dat')).toBe(false)
    expect([...asked].sort()).toEqual(TREE.filter(([, len]) => len > 0).map(([p]) => '/ws/album/' + p).sort())
  })

  it('a magnet with ws=: metadata from a peer (ut_metadata), every byte from the magnet\'s web seed', async () => {
    const src = join(dir(), 'album')
    writeTree(src, 73)
    serveDir(join(src, '..'), '/mag/')
    // No url-list in the .torrent: the web seed is known only from the magnet.
    const torrentFile = await createTorrent(src, { pieceLength: 16 * 1024, creationDate: false })
    const { infoHash } = await parseTorrent(torrentFile)

    // A peer that has the metadata and no data: an empty download dir, nothing selected, web seeds off.
    const metaPeer = await client({ webSeeds: false })
    const mt = metaPeer.add(torrentFile, { path: dir(), deselect: true })
    await waitFor(mt, 'ready', 15_000)
    expect(mt.downloaded).toBe(0)

    const c = await client()
    const out = dir()
    const wsUrl = `${server.origin}/mag/`
    const magnet = `magnet:?xt=urn:btih:${infoHash}&dn=album&ws=${encodeURIComponent(wsUrl)}&x.pe=127.0.0.1:${metaPeer.torrentPort}`
    const t = c.add(magnet, { path: out })
    const seeds: WebSeed[] = []
    t.on('webSeed', (ws: WebSeed) => seeds.push(ws))
    const events: string[] = []
    for (const e of ['metadata', 'ready', 'done']) t.once(e, () => events.push(e))
    await waitFor(t, 'done', 20_000)
    expect(events).toEqual(['metadata', 'ready', 'done'])
    expect(t.urlList).toEqual([wsUrl])
    expect(t.received).toBe(t.length)
    expect(seeds).toHaveLength(1)
    expect(seeds[0].downloaded).toBe(t.length) // every byte from the web seed ...
    expect(mt.uploaded).toBe(0) // ... none from the peer, which only gave the metadata
    expect(t.wires.map(w => w.remotePort)).toEqual([metaPeer.torrentPort])
    expect(sameTree(src, join(out, 'album'))).toEqual([])
    expect(listing(join(out, 'album'))).toEqual(Object.fromEntries(TREE))
  })
})
