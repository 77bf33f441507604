/**
 * The shipped browser bundle (dist/browser/wasmtorrent.js, built by `npm run build`, which pretest runs) in
 * real headless Chromium: it must load the WASM asynchronously, refuse kernel calls before `ready`, and then
 * hash and decode exactly as Node does. Served from 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { CHROMIUM, launchChromium } from './helpers/chromium.js'
import npmBencode from 'bencode'
import { needs, system } from './helpers/system.js'

const root = join(import.meta.dirname, '..')
const bundlePath = join(root, 'dist/browser/wasmtorrent.js')
const torrentPath = join(root, 'node_modules/webtorrent-fixtures/fixtures/sintel.torrent')

describe.skipIf(!needs('Debian chromium (/usr/bin/chromium)', system.file(CHROMIUM)))('browser bundle in Chromium', () => {
  let server: Server
  let browser: Browser
  let base: string

  beforeAll(async () => {
    const bundle = readFileSync(bundlePath)
    const torrent = readFileSync(torrentPath)
    const checks = readFileSync(join(import.meta.dirname, 'fixtures/browser-checks.js'))
    server = createServer((req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>wasmtorrent</title>')
      } else if (req.url === '/wasmtorrent.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      } else if (req.url === '/browser-checks.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(checks)
      } else if (req.url === '/sintel.torrent') {
        res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(torrent)
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise(resolve => server?.close(resolve))
  })

  it('contains no Node-only module and no synchronous WASM compile', () => {
    const text = readFileSync(bundlePath, 'utf8')
    expect(text).not.toMatch(/from\s*["']node:|require\(["']node:|["']node:crypto["']/)
    expect(text).not.toMatch(/new WebAssembly\.Module\(|new WebAssembly\.Instance\(/)
  })

  it('loads the kernels behind `ready`, then hashes and decodes like Node', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', e => errors.push(String(e)))
    await page.goto(base + '/')
    await page.addScriptTag({ url: '/browser-checks.js', type: 'module' })
    await page.waitForFunction(() => typeof (window as unknown as { runChecks?: unknown }).runChecks === 'function')
    const result = await page.evaluate('runChecks()') as Record<string, unknown>
    await page.close()

    const data = new Uint8Array(5 * 1024 * 1024 + 7)
    for (let i = 0; i < data.length; i++) data[i] = (i * 131) & 255
    const ref = (d: Uint8Array) => createHash('sha1').update(d).digest('hex')
    const torrent = readFileSync(torrentPath)
    const theirs = npmBencode.decode(torrent) as { info: { name: Uint8Array, pieces: Uint8Array } }
    let batch = ''
    for (let off = 0; off < data.length; off += 1 << 20) batch += ref(data.subarray(off, off + (1 << 20)))

    expect(errors).toEqual([])
    expect(result.before).toBe('ERR_WASM_NOT_READY')
    expect(result.engine).toBe('wasm')
    expect(result.engines).toEqual(['wasm'])
    expect(result.oneShot).toBe(ref(data))
    expect(result.incremental).toBe(ref(data))
    expect(result.batch).toBe(batch)
    expect(result.infoHash).toBe(ref(npmBencode.encode(theirs.info)))
    expect(result.name).toBe(new TextDecoder().decode(theirs.info.name))
    expect(result.pieces).toBe(theirs.info.pieces.length)
    expect(result.reencoded).toBe(torrent.length)
  })
})
