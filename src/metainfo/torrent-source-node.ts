/**
 * Node side of loading a torrent id that is a file path or an http(s) URL (package.json "#torrent-source",
 * "node" condition). URLs go through undici with redirects, a time limit and a body size limit.
 */
import { readFile, stat } from 'node:fs/promises'
import { undici } from '../util/lazy-node.js'
import { MetainfoError, TorrentIdError, tooLarge } from './errors.js'
import { readLimited } from '../util/read-limited.js'
import type { FetchOptions } from './torrent-source.js'

export const canReadPaths = true

/** Drops a response body without reading it (undici reports the abort as an error event: swallow it). */
function discard (body: { on (ev: 'error', fn: () => void): unknown, destroy (): unknown }): void {
  body.on('error', () => {})
  body.destroy()
}

/** Bytes of the file at `path`; null when there is no such file (the id is then not a path at all). */
export async function readTorrentPath (path: string, maxBytes: number): Promise<Uint8Array | null> {
  let size: number
  try {
    const s = await stat(path)
    if (!s.isFile()) return null
    size = s.size
  } catch {
    return null
  }
  if (size > maxBytes) {
    throw new MetainfoError('ERR_TORRENT_TOO_LARGE', `${path} is ${size} bytes (a .torrent may have at most ${maxBytes})`)
  }
  const b = await readFile(path)
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

export async function fetchTorrentUrl (url: string, opts: FetchOptions): Promise<Uint8Array> {
  const agent = new (undici().Agent)({ connect: { timeout: opts.timeoutMs } })
  const dispatcher = agent.compose(undici().interceptors.redirect({ maxRedirections: opts.maxRedirects }))
  const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs)
  try {
    const res = await undici().request(url, {
      dispatcher,
      method: 'GET',
      headers: { 'user-agent': 'wasmtorrent', accept: 'application/x-bittorrent, */*' },
      signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs
    })
    if (res.statusCode < 200 || res.statusCode > 299) {
      discard(res.body)
      throw new TorrentIdError('ERR_TORRENT_FETCH', `fetching ${url} failed: HTTP ${res.statusCode}`)
    }
    const declared = Number(res.headers['content-length'])
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard(res.body)
      throw new MetainfoError('ERR_TORRENT_TOO_LARGE', `${url} is ${declared} bytes (a .torrent may have at most ${opts.maxBytes})`)
    }
    return await readLimited(res.body, opts.maxBytes, () => tooLarge(url, opts.maxBytes), () => discard(res.body))
  } catch (err) {
    if (err instanceof MetainfoError || err instanceof TorrentIdError) throw err
    throw new TorrentIdError('ERR_TORRENT_FETCH', `fetching ${url} failed: ${(err as Error).message}`, { cause: err })
  } finally {
    agent.close().catch(() => {})
  }
}
