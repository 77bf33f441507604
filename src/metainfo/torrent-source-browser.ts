/**
 * Browser side of loading a torrent id (package.json "#torrent-source", default condition): URLs through the
 * global fetch with the same limits as in Node; file paths do not exist here.
 */
import { MetainfoError, TorrentIdError, tooLarge } from './errors.js'
import { iterateReadable, readLimited } from '../util/read-limited.js'
import type { FetchOptions } from './torrent-source.js'

export const canReadPaths = false

export async function readTorrentPath (_path: string, _maxBytes: number): Promise<Uint8Array | null> {
  return null
}

export async function fetchTorrentUrl (url: string, opts: FetchOptions): Promise<Uint8Array> {
  const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs)
  let res: Response
  try {
    res = await fetch(url, { signal, redirect: 'follow' })
  } catch (err) {
    throw new TorrentIdError('ERR_TORRENT_FETCH', `fetching ${url} failed: ${(err as Error).message}`, { cause: err })
  }
  if (!res.ok) {
    res.body?.cancel().catch(() => {})
    throw new TorrentIdError('ERR_TORRENT_FETCH', `fetching ${url} failed: HTTP ${res.status}`)
  }
  const declared = Number(res.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    res.body?.cancel().catch(() => {})
    throw new MetainfoError('ERR_TORRENT_TOO_LARGE', `${url} is ${declared} bytes (a .torrent may have at most ${opts.maxBytes})`)
  }
  if (!res.body) return new Uint8Array(0)
  return readLimited(iterateReadable(res.body), opts.maxBytes, () => tooLarge(url, opts.maxBytes))
}
