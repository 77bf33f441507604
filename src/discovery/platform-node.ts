/**
 * Node side of "#discovery-platform": blocklist files from disk and blocklist URLs through undici (redirects,
 * a time limit, and a size limit counted while reading). The browser build gets platform-browser.ts instead,
 * so node:fs and undici never reach dist/browser.
 */
import { open } from 'node:fs/promises'
import { undici } from '../util/lazy-node.js'
import { WasmTorrentError } from '../errors.js'

export const canReadBlocklistFiles = true

/** The file's bytes; ERR_BLOCKLIST_TOO_LARGE past `maxBytes` (checked before reading). */
export async function readBlocklistFile (path: string, maxBytes: number): Promise<Uint8Array> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `cannot open blocklist ${path}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `blocklist ${path} is not a file`)
    if (st.size > maxBytes) throw new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist ${path} is ${st.size} bytes (limit ${maxBytes})`)
    const b = await fh.readFile()
    if (b.length > maxBytes) throw new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist ${path} is over ${maxBytes} bytes`)
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  } finally {
    await fh.close()
  }
}

export async function fetchBlocklistUrl (url: string, opts: { maxBytes: number, timeoutMs: number, signal?: AbortSignal }): Promise<Uint8Array> {
  const agent = new (undici().Agent)({ connect: { timeout: opts.timeoutMs } })
  const dispatcher = agent.compose(undici().interceptors.redirect({ maxRedirections: 5 }))
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  try {
    const res = await undici().request(url, {
      dispatcher,
      method: 'GET',
      headers: { 'user-agent': 'wasmtorrent', 'accept-encoding': 'identity' },
      signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs
    })
    const body = res.body
    const discard = (): void => { body.on('error', () => {}); body.destroy() }
    if (res.statusCode !== 200) {
      discard()
      throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `fetching blocklist ${url} failed: HTTP ${res.statusCode}`)
    }
    const declared = Number(res.headers['content-length'])
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard()
      throw new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist ${url} is ${declared} bytes (limit ${opts.maxBytes})`)
    }
    const parts: Uint8Array[] = []
    let total = 0
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      total += chunk.length
      if (total > opts.maxBytes) {
        discard()
        throw new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist ${url} is over ${opts.maxBytes} bytes`)
      }
      parts.push(chunk)
    }
    return concat(parts, total)
  } catch (err) {
    if (err instanceof WasmTorrentError) throw err
    throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `fetching blocklist ${url} failed: ${(err as Error).message}`, { cause: err })
  } finally {
    agent.close().catch(() => {})
  }
}

function concat (parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}
