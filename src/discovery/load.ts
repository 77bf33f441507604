/**
 * The client's `blocklist` option, loaded into one predicate `(ip) => boolean`:
 *  - an array of entries (ranges, CIDRs, single addresses, or lines in the file formats of blocklist.ts);
 *  - a predicate (used as is);
 *  - an IpBlocklist (already parsed);
 *  - a string: an http(s) URL (downloaded), a single range (`'10.0.0.0/8'`), or a file path (Node);
 *  - Uint8Array: a file's contents.
 * Files and downloads may be gzip-compressed (detected by the gzip magic bytes, whatever the name): they are
 * decompressed with the same byte limit as plain ones, so a gzip bomb stops at `maxBytes`.
 */
import { WasmTorrentError } from '../errors.js'
import { iterateReadable, readLimited } from '../util/read-limited.js'
import { DEFAULT_BLOCKLIST_MAX_RANGES, IpBlocklist, parseRange } from './blocklist.js'
import { fetchBlocklistUrl, readBlocklistFile } from '#discovery-platform'

/** Plain-text bytes a list may have (after decompression): 64 MiB, ~5x the biggest public lists. */
export const DEFAULT_BLOCKLIST_MAX_BYTES = 64 * 1024 * 1024
export const DEFAULT_BLOCKLIST_TIMEOUT = 30_000

export type BlocklistPredicate = (ip: string) => boolean
export type BlocklistInput = string | readonly string[] | BlocklistPredicate | IpBlocklist | Uint8Array

export interface LoadBlocklistOptions {
  /** Bytes after decompression (default 64 MiB). */
  maxBytes?: number
  /** Ranges per address family (default 2,000,000). */
  maxRanges?: number
  /** Download time limit, ms (default 30 s). */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface LoadedBlocklist {
  contains: BlocklistPredicate
  /** The parsed list (null for a predicate). */
  list: IpBlocklist | null
}

export async function loadBlocklist (input: BlocklistInput, opts: LoadBlocklistOptions = {}): Promise<LoadedBlocklist> {
  const maxBytes = opts.maxBytes ?? DEFAULT_BLOCKLIST_MAX_BYTES
  const parseOpts = { maxRanges: opts.maxRanges ?? DEFAULT_BLOCKLIST_MAX_RANGES }
  if (typeof input === 'function') return { contains: input, list: null }
  let list: IpBlocklist
  if (input instanceof IpBlocklist) {
    list = input
  } else if (Array.isArray(input)) {
    list = IpBlocklist.parse(input as readonly string[], parseOpts)
  } else if (input instanceof Uint8Array) {
    list = IpBlocklist.parse(await bytesToText(input, maxBytes), parseOpts)
  } else if (typeof input === 'string') {
    if (/^https?:\/\//i.test(input)) {
      const bytes = await fetchBlocklistUrl(input, { maxBytes, timeoutMs: opts.timeoutMs ?? DEFAULT_BLOCKLIST_TIMEOUT, signal: opts.signal })
      list = IpBlocklist.parse(await bytesToText(bytes, maxBytes), parseOpts)
    } else if (parseRange(input) !== null) {
      list = IpBlocklist.parse([input], parseOpts)
    } else {
      list = IpBlocklist.parse(await bytesToText(await readBlocklistFile(input, maxBytes), maxBytes), parseOpts)
    }
  } else {
    throw new WasmTorrentError('ERR_BLOCKLIST_OPTIONS', 'blocklist must be an array of ranges, a predicate, a path or a URL')
  }
  return { contains: ip => list.contains(ip), list }
}

/** UTF-8 text of a list file, gunzipped first when it starts with the gzip magic (1f 8b). */
export async function bytesToText (bytes: Uint8Array, maxBytes = DEFAULT_BLOCKLIST_MAX_BYTES): Promise<string> {
  const plain = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? await gunzipLimited(bytes, maxBytes) : bytes
  if (plain.length > maxBytes) throw new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist is over ${maxBytes} bytes`)
  return new TextDecoder('utf-8').decode(plain)
}

/** gzip through the web DecompressionStream (Node 18+ and browsers), stopping at `maxBytes` of output. */
export async function gunzipLimited (data: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const ds = new DecompressionStream('gzip')
  const writer = ds.writable.getWriter()
  writer.write(data as Uint8Array<ArrayBuffer>).catch(() => {})
  writer.close().catch(() => {})
  try {
    return await readLimited(iterateReadable(ds.readable), maxBytes,
      () => new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist is over ${maxBytes} bytes after decompression`))
  } catch (err) {
    if (err instanceof WasmTorrentError) throw err
    throw new WasmTorrentError('ERR_BLOCKLIST_LOAD', `blocklist is not valid gzip: ${(err as Error).message}`, { cause: err })
  }
}
