/**
 * The metainfo API in the shipped browser bundle (dist/browser/wasmtorrent.js, `npx tsup`) in real headless
 * Chromium: parseTorrent from a URL (global fetch), bytes, Blob and magnet; createTorrent from Files and bytes
 * with the same info-hash as Node; file paths refused with typed errors. Served from 127.0.0.1 only.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { CHROMIUM, launchChromium } from './helpers/chromium.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTorrent, parseTorrent, type ParsedTorrent } from '../src/metainfo/index.js'
import { needs, system } from './helpers/system.js'

const root = join(import.meta.dirname, '..')
const bundlePath = join(root, 'dist/browser/wasmtorrent.js')
const torrentPath = join(root, 'node_modules/webtorrent-fixtures/fixtures/sintel.torrent')

function data (n: number, mul: number): Uint8Array {
  const d = new Uint8Array(n)
  for (let i = 0; i < n; i++) d[i] = (i * mul) & 255
  return d
}

describe.skipIf(!needs('Debian chromium (/usr/bin/chromium)', system.file(CHROMIUM)))('metainfo in the browser bundle (Chromium)', () => {
  let server: Server
  let browser: Browser
  let base: string

  beforeAll(async () => {
    const bundle = readFileSync(bundlePath)
    const torrent = readFileSync(torrentPath)
    const checks = readFileSync(join(import.meta.dirname, 'fixtures/metainfo-browser-checks.js'))
    server = createServer((req, res) => {
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>metainfo</title>')
      else if (req.url === '/wasmtorrent.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      else if (req.url === '/checks.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(checks)
      else if (req.url === '/sintel.torrent') res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(torrent)
      else res.writeHead(404).end()
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise(resolve => server?.close(resolve))
  })

  it('contains no Node-only module', () => {
    const text = readFileSync(bundlePath, 'utf8')
    expect(text).not.toMatch(/["']node:|from\s*["'](fs|path|os|worker_threads|undici)["']/)
  })

  it('parses, fetches and creates like Node; refuses file paths', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', e => errors.push(String(e)))
    await page.goto(base + '/')
    await page.addScriptTag({ url: '/checks.js', type: 'module' })
    await page.waitForFunction(() => typeof (window as unknown as { runMetainfoChecks?: unknown }).runMetainfoChecks === 'function')
    const r = await page.evaluate('runMetainfoChecks()') as Record<string, unknown>
    await page.close()

    const node = await parseTorrent(readFileSync(torrentPath)) as ParsedTorrent
    const files = [new File([data(300_000, 7) as Uint8Array<ArrayBuffer>], 'a.bin'), new File([data(70_001, 13) as Uint8Array<ArrayBuffer>], 'b.bin')]
    const created = await parseTorrent(await createTorrent(files, { name: 'browser', pieceLength: 32768, creationDate: 0 })) as ParsedTorrent
    const single = await parseTorrent(await createTorrent(data(100_000, 3), { name: 'one.bin' }))

    expect(errors).toEqual([])
    expect(r.fromUrl).toBe(node.infoHash)
    expect(r.fromBytes).toBe(node.infoHash)
    expect(r.fromBlob).toBe(node.infoHash)
    expect(r.files).toEqual(node.files.map(f => f.path))
    expect(r.magnetHash).toBe(node.infoHash)
    expect(r.magnetName).toBe(node.name)
    expect(r.created).toBe(created.infoHash)
    expect(r.createdFiles).toEqual([['browser/a.bin', 300_000], ['browser/b.bin', 70_001]])
    expect(r.single).toBe(single.infoHash)
    expect(r.pathId).toBe('ERR_TORRENT_PATH_UNSUPPORTED')
    expect(r.pathCreate).toBe('ERR_CREATE_PATH_UNSUPPORTED')
    expect(r.missing).toBe('ERR_TORRENT_FETCH')
    expect(r.badMagnet).toBe('ERR_MAGNET_INVALID')
  })
})
