/** Browser side of "#discovery-platform": no file system; blocklist URLs through fetch with a size limit. */
import { WasmTorrentError } from '../errors.js'
import { iterateReadable, readLimited } from '../util/read-limited.js'

export const canReadBlocklistFiles = false

export async function readBlocklistFile (path: string, _maxBytes: number): Promise<Uint8Array> {
  throw new WasmTorrentError('ERR_BLOCKLIST_UNSUPPORTED', `browsers cannot read blocklist files (${path}): pass ranges or a URL`)
}

export async function fetchBlocklistUrl (url: string, opts: { maxBytes: number, timeoutMs: number, signal?: AbortSignal }): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  let res: Response
  try {
    res = await fetch(url, { signal, redirect: 'follow', credentials: 'omit' })
  } catch (err) {
    throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `fetching blocklist ${url} failed: ${(err as Error).message}`, { cause: err })
  }
  if (res.status !== 200 || res.body === null) {
    res.body?.cancel().catch(() => {})
    throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `fetching blocklist ${url} failed: HTTP ${res.status}`)
  }
  return await readLimited(iterateReadable(res.body), opts.maxBytes,
    () => new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist ${url} is over ${opts.maxBytes} bytes`))
}
