/**
 * The browser side of web seeds (fetch, "#webseed-platform" default condition) in headless Chromium: the
 * web seed module bundled for browsers (no node:*, no undici) downloads ranges same-origin, through a redirect,
 * and cross-origin where CORS hides Content-Range. Served from 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import { CHROMIUM, launchChromium } from './helpers/chromium.js'
import { needs, system } from './helpers/system.js'

const root = join(import.meta.dirname, '..')
const LENGTH = 300_000
const PL = 65536
const data = new Uint8Array(LENGTH)
for (let i = 0; i < LENGTH; i++) data[i] = (i * 131 + 7) & 255

// Runs in the page (a string: not transformed by vitest).
const PAGE_SCRIPT = `
import * as m from '/ws.js'
window.runWs = async (urls, LENGTH, PL) => {
  await m.ready
  const expected = i => (i * 131 + 7) & 255
  const torrent = { name: 'f.bin', pieceLength: PL, length: LENGTH, files: [{ path: 'f.bin', length: LENGTH, offset: 0 }], padFiles: [] }
  const n = Math.ceil(LENGTH / PL)
  const out = {}
  for (const url of urls) {
    const ws = new m.WebSeed(url, torrent)
    ws.setPieces(n)
    const jobs = []
    for (let off = 0; off < LENGTH; off += 16384) {
      const index = Math.floor(off / PL)
      const begin = off - index * PL
      const len = Math.min(16384, LENGTH - off, PL - begin)
      jobs.push(new Promise(resolve => {
        ws.request(index, begin, len, (err, block) => {
          if (err) { resolve(err.code || String(err)); return }
          for (let k = 0; k < len; k++) if (block[k] !== expected(off + k)) { resolve('mismatch'); return }
          resolve('ok')
        })
      }))
    }
    const got = await Promise.all(jobs)
    out[url] = got.every(g => g === 'ok') ? 'ok' : got.find(g => g !== 'ok')
    ws.destroy()
  }
  return out
}
`

/** Serves /seed/f.bin with Range support; `cors` adds CORS headers without exposing Content-Range. */
function fileServer (extra: Record<string, string>, routes: (req: IncomingMessage, res: ServerResponse) => boolean): Server {
  return createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...extra, 'access-control-allow-headers': 'range' }).end()
      return
    }
    if (routes(req, res)) return
    if (req.url === '/redir') {
      res.writeHead(302, { ...extra, location: '/seed/f.bin' }).end()
      return
    }
    if (req.url !== '/seed/f.bin') {
      res.writeHead(404, extra).end()
      return
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    if (m === null) {
      res.writeHead(200, { ...extra, 'content-length': String(LENGTH) }).end(data)
      return
    }
    const start = Number(m[1])
    const end = Math.min(Number(m[2]), LENGTH - 1)
    res.writeHead(206, { ...extra, 'content-range': `bytes ${start}-${end}/${LENGTH}`, 'content-length': String(end - start + 1) })
    res.end(data.subarray(start, end + 1))
  })
}

describe.skipIf(!needs('Debian chromium (/usr/bin/chromium)', system.file(CHROMIUM)))('web seeds in Chromium (fetch)', () => {
  let page: Server
  let other: Server
  let browser: Browser
  let base: string
  let otherBase: string
  let bundle: string

  beforeAll(async () => {
    const out = await build({
      stdin: { contents: "export { WebSeed } from './src/webseed/index.ts'\nexport { ready } from './src/wasm/index.ts'\n", resolveDir: root, loader: 'ts' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['browser', 'module', 'import', 'default'],
      logLevel: 'silent'
    })
    bundle = out.outputFiles[0].text
    page = fileServer({}, (req, res) => {
      if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ws</title>'); return true }
      if (req.url === '/ws.js') { res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle); return true }
      return false
    })
    other = fileServer({ 'access-control-allow-origin': '*' }, () => false)
    await new Promise<void>(resolve => page.listen(0, '127.0.0.1', resolve))
    await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(page.address() as AddressInfo).port}`
    otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise(resolve => page?.close(resolve))
    await new Promise(resolve => other?.close(resolve))
  })

  it('the browser bundle has no Node-only module', () => {
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:|undici/)
  })

  it('downloads every block same-origin, through a redirect, and cross-origin without Content-Range exposed', async () => {
    const p = await browser.newPage()
    const errors: string[] = []
    p.on('pageerror', e => errors.push(String(e)))
    await p.goto(base + '/')
    await p.addScriptTag({ content: PAGE_SCRIPT, type: 'module' })
    await p.waitForFunction(() => typeof (window as unknown as { runWs?: unknown }).runWs === 'function')
    const urls = [base + '/seed/f.bin', base + '/redir', otherBase + '/seed/f.bin']
    const result = await p.evaluate(`runWs(${JSON.stringify(urls)}, ${LENGTH}, ${PL})`) as Record<string, string>
    await p.close()
    expect(errors).toEqual([])
    expect(result).toEqual({ [base + '/seed/f.bin']: 'ok', [base + '/redir']: 'ok', [otherBase + '/seed/f.bin']: 'ok' })
  })
})
