/**
 * http(s) torrent ids, against a local HTTP server on 127.0.0.1: success, redirects, HTTP errors, size limit
 * (declared and chunked), redirect loops, time limit, and non-torrent bodies. The browser implementation
 * (global fetch) is exercised too: Node 20 has the same fetch API.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTorrent } from '../src/metainfo/index.js'
import * as browserSource from '../src/metainfo/torrent-source-browser.js'
import * as nodeSource from '../src/metainfo/torrent-source-node.js'
import { FIXTURES } from './helpers/metainfo.js'

const leaves = readFileSync(join(FIXTURES, 'leaves.torrent'))
let server: Server
let base: string
let bigBytesSent = 0

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/'
    if (url === '/t.torrent') {
      res.writeHead(200, { 'content-type': 'application/x-bittorrent' })
      res.end(leaves)
    } else if (url === '/redirect') {
      res.writeHead(302, { location: '/t.torrent' })
      res.end()
    } else if (url === '/loop') {
      res.writeHead(302, { location: '/loop' })
      res.end()
    } else if (url === '/declared-big') {
      res.writeHead(200, { 'content-length': String(11_000_000) })
      res.end(Buffer.alloc(11_000_000))
    } else if (url === '/chunked-big') {
      res.writeHead(200)
      const chunk = Buffer.alloc(1 << 20)
      let n = 0
      const write = () => {
        while (n < 64) {
          n++
          bigBytesSent += chunk.length
          if (!res.write(chunk)) return res.once('drain', write)
        }
        res.end()
      }
      res.on('close', () => { n = 64 })
      write()
    } else if (url === '/slow') {
      setTimeout(() => res.end(leaves), 5000).unref()
    } else if (url === '/html') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<html>not a torrent</html>')
    } else {
      res.writeHead(404)
      res.end('not found')
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const opts = { maxBytes: 10_000_000, timeoutMs: 2000, maxRedirects: 5 }

async function code (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'no error'
  } catch (err) {
    return (err as { code: string }).code
  }
}

describe('parseTorrent(url) in Node (undici)', () => {
  it('fetches and parses, following redirects', async () => {
    expect((await parseTorrent(`${base}/t.torrent`)).infoHash).toBe('d2474e86c95b19b8bcfdb92bc12c9d44667cfa36')
    expect((await parseTorrent(`${base}/redirect`)).infoHash).toBe('d2474e86c95b19b8bcfdb92bc12c9d44667cfa36')
  })

  it('HTTP errors, redirect loops and timeouts are ERR_TORRENT_FETCH', async () => {
    expect(await code(parseTorrent(`${base}/missing`))).toBe('ERR_TORRENT_FETCH')
    expect(await code(parseTorrent(`${base}/loop`))).toBe('ERR_TORRENT_FETCH')
    expect(await code(parseTorrent(`${base}/slow`, { timeoutMs: 300 }))).toBe('ERR_TORRENT_FETCH')
  })

  it('bodies over 10 MB stop at the limit, declared or not', async () => {
    expect(await code(parseTorrent(`${base}/declared-big`))).toBe('ERR_TORRENT_TOO_LARGE')
    bigBytesSent = 0
    expect(await code(parseTorrent(`${base}/chunked-big`))).toBe('ERR_TORRENT_TOO_LARGE')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(bigBytesSent).toBeLessThan(40 * 1024 * 1024) // the download was cut, not read to the end
  })

  it('a body that is not a torrent is ERR_TORRENT_INVALID', async () => {
    expect(await code(parseTorrent(`${base}/html`))).toBe('ERR_TORRENT_INVALID')
  })

  it('an aborted signal stops the fetch', async () => {
    const ac = new AbortController()
    const p = parseTorrent(`${base}/slow`, { signal: ac.signal })
    ac.abort()
    expect(await code(p)).toBe('ERR_TORRENT_FETCH')
  })

  it('reads a URL directly through the node source', async () => {
    expect(Buffer.from(await nodeSource.fetchTorrentUrl(`${base}/t.torrent`, opts)).equals(leaves)).toBe(true)
  })
})

describe('browser source (global fetch)', () => {
  it('fetches, follows redirects, and applies the same limits', async () => {
    expect(Buffer.from(await browserSource.fetchTorrentUrl(`${base}/redirect`, opts)).equals(leaves)).toBe(true)
    expect(await code(browserSource.fetchTorrentUrl(`${base}/missing`, opts))).toBe('ERR_TORRENT_FETCH')
    expect(await code(browserSource.fetchTorrentUrl(`${base}/declared-big`, opts))).toBe('ERR_TORRENT_TOO_LARGE')
    expect(await code(browserSource.fetchTorrentUrl(`${base}/chunked-big`, opts))).toBe('ERR_TORRENT_TOO_LARGE')
    expect(await code(browserSource.fetchTorrentUrl(`${base}/slow`, { ...opts, timeoutMs: 300 }))).toBe('ERR_TORRENT_FETCH')
  })

  it('has no file paths', async () => {
    expect(browserSource.canReadPaths).toBe(false)
    expect(await browserSource.readTorrentPath('/etc/passwd', 10)).toBeNull()
  })
})
