/**
 * The tracker layer bundled for browsers (the "#tracker-platform" default condition: fetch + global WebSocket,
 * no UDP) in real headless Chromium, against bittorrent-tracker's server on 127.0.0.1, which also serves the
 * page (same origin, so fetch needs no CORS): HTTP announce through fetch with the async WASM bencode, WebSocket
 * announce and scrape, and UDP refused as unsupported.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { CHROMIUM, launchChromium } from './helpers/chromium.js'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { needs, system } from './helpers/system.js'


/** Runs in the page: two TrackerClients, one on HTTP + WS + UDP, one on HTTP. */
const CHECK = `
import * as m from '/tracker.js'
const once = (c, ev) => new Promise(resolve => c.once(ev, resolve))
const make = (port, id, announce) => new m.TrackerClient({
  infoHash: '4b'.repeat(20), peerId: '2d5757303030312d' + id.repeat(12), port, announce,
  getStats: () => ({ uploaded: 0, downloaded: 0, left: 10 })
})
export async function run (origin) {
  const ws = origin.replace('http:', 'ws:')
  const warnings = []
  const updates = []
  const a = make(6001, 'a1', [origin + '/announce', ws, 'udp://127.0.0.1:9/announce'])
  a.on('warning', e => warnings.push(e.code))
  a.on('update', u => updates.push(u.announce))
  a.start()
  while (updates.length < 2) await once(a, 'update')
  const b = make(6002, 'b2', [origin + '/announce'])
  const peers = []
  b.on('peer', p => peers.push(p.host + ':' + p.port))
  b.start()
  await once(b, 'update')
  const scrape = await a.scrape()
  await a.stop()
  await b.stop()
  a.destroy()
  b.destroy()
  return { warnings, updates: updates.sort(), peers, scrape: scrape.map(s => [s.announce, s.complete, s.incomplete]).sort() }
}
`
const root = join(import.meta.dirname, '..')

describe.skipIf(!needs('Debian chromium (/usr/bin/chromium)', system.file(CHROMIUM)))('tracker clients in Chromium', () => {
  let out: string
  let bundle: string
  let server: any // eslint-disable-line @typescript-eslint/no-explicit-any
  let browser: Browser
  let base: string

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'wt-tracker-browser-'))
    await build({
      entry: { tracker: join(root, 'src/tracker/index.ts') },
      outDir: out,
      format: ['esm'],
      platform: 'browser',
      target: 'es2022',
      noExternal: [/.*/],
      silent: true,
      config: false,
      esbuildOptions (options) { options.conditions = ['browser', 'module', 'import', 'default'] }
    })
    bundle = readFileSync(join(out, 'tracker.js'), 'utf8')
    const spec = 'bittorrent-tracker/server'
    const { default: Server } = await import(spec)
    server = new Server({ stats: false, udp: false })
    server.on('warning', () => {})
    // Our handler runs first; the tracker's own is added on the next tick and skips answered requests.
    server.http.on('request', (req: { url: string }, res: { headersSent: boolean, writeHead: (s: number, h: object) => { end: (b: string) => void } }) => {
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>trackers</title>')
      else if (req.url === '/tracker.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      else if (req.url === '/check.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(CHECK)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
    base = `http://127.0.0.1:${server.http.address().port}`
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise<void>(resolve => server ? server.close(() => resolve()) : resolve())
    rmSync(out, { recursive: true, force: true })
  })

  it('contains no Node-only module', () => {
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:|undici|dgram/)
  })

  it('announces over HTTP (fetch) and WebSocket, scrapes, and refuses UDP', async () => {
    const page = await browser.newPage()
    try {
      await page.goto(base + '/')
      // A string, not a function: the test transformer would rewrite a function's dynamic import().
      const result = await page.evaluate(`import('/check.js').then(m => m.run(${JSON.stringify(base)}))`) as
        { warnings: string[], updates: string[], peers: string[], scrape: Array<[string, number, number]> }
      expect(result.warnings).toEqual(['ERR_TRACKER_UNSUPPORTED'])
      expect(result.updates).toEqual([base + '/announce', base.replace('http:', 'ws:')])
      expect(result.peers).toContain('127.0.0.1:6001')
      // one swarm per info-hash on this server: a over HTTP, a over WS, b over HTTP
      expect(result.scrape).toEqual([[base + '/announce', 0, 3], [base.replace('http:', 'ws:'), 0, 3]])
    } finally {
      await page.close()
    }
  })
})
