/**
 * parseTorrent(torrentId): every kind of torrent id WebTorrent's `client.add` accepts, into a typed object
 * with parse-torrent's fields.
 *  - magnet URI, or an info-hash (40 hex / 32 base32 characters, or 20 bytes) -> MagnetTorrent (no metadata)
 *  - .torrent bytes (Uint8Array, ArrayBuffer, any ArrayBufferView), a Blob/File -> ParsedTorrent
 *  - an already-parsed object: with `infoBuffer`, re-parsed from those raw bytes (the object's infoHash must
 *    match); otherwise normalized like a magnet
 *  - http(s) URL -> fetched (undici in Node, fetch in browsers; 10 MB, 30 s, 5 redirects) and parsed
 *  - any other string -> a .torrent file path (Node); in browsers ERR_TORRENT_PATH_UNSUPPORTED
 */
import { MagnetError, MetainfoError, TorrentIdError } from './errors.js'
import { FETCH_TIMEOUT_MS, MAX_FETCH_BYTES, MAX_FETCH_REDIRECTS, MAX_TORRENT_BYTES } from './limits.js'
import { parseMagnet, type MagnetData } from './magnet.js'
import { base32Decode } from './base32.js'
import { decodeInfoDict, decodeTorrentFile } from './torrent-file.js'
import { canReadPaths, fetchTorrentUrl, readTorrentPath } from './torrent-source.js'
import { fromHex, isHex, toHex } from './text.js'
import type { MagnetTorrent, ParsedTorrent, TorrentId } from './types.js'

export interface ParseTorrentOptions {
  /** Aborts a URL fetch. */
  signal?: AbortSignal
  /** Time limit for a URL fetch in ms (default 30 s). */
  timeoutMs?: number
}

/** True when `t` carries metadata (files, pieces), false for a magnet / bare info-hash. */
export function hasMetadata (t: MagnetTorrent | ParsedTorrent): t is ParsedTorrent {
  return (t as ParsedTorrent).infoBuffer instanceof Uint8Array && Array.isArray((t as ParsedTorrent).files)
}

function fromMagnet (m: MagnetData): MagnetTorrent {
  if (m.infoHash === undefined || m.infoHashBuffer === undefined) {
    throw new MagnetError('ERR_MAGNET_NOT_V1', 'v2-only magnets (urn:btmh without urn:btih) are not supported yet')
  }
  return m as MagnetTorrent
}

function infoHashTorrent (hex: string): MagnetTorrent {
  const infoHash = hex.toLowerCase()
  return { infoHash, infoHashBuffer: fromHex(infoHash), announce: [], urlList: [], peerAddresses: [] }
}

function stringList (v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : []
  return [...new Set(list.filter((u): u is string => typeof u === 'string' && u !== ''))]
}

async function fromObject (o: Record<string, unknown>): Promise<MagnetTorrent | ParsedTorrent> {
  const given = typeof o.infoHash === 'string' ? o.infoHash.toLowerCase() : undefined
  if (given !== undefined && !isHex(given, 40)) {
    throw new TorrentIdError('ERR_TORRENT_ID_INVALID', 'infoHash must be 40 hex characters')
  }
  const announce = stringList(o.announce)
  const urlList = stringList(o.urlList)
  if (o.infoBuffer instanceof Uint8Array) {
    const t = await decodeInfoDict(o.infoBuffer)
    if (given !== undefined && given !== t.infoHash) {
      throw new MetainfoError('ERR_TORRENT_INFO_HASH_MISMATCH', `infoBuffer hashes to ${t.infoHash}, not the given infoHash ${given}`)
    }
    t.announce = announce
    t.urlList = urlList
    t.peerAddresses = stringList(o.peerAddresses)
    if (o.created instanceof Date) t.created = o.created
    if (typeof o.createdBy === 'string') t.createdBy = o.createdBy
    if (typeof o.comment === 'string') t.comment = o.comment
    return t
  }
  if (given === undefined) throw new TorrentIdError('ERR_TORRENT_ID_INVALID', 'a torrent object needs an infoHash')
  const t: MagnetTorrent = { ...(o as object), ...infoHashTorrent(given), announce, urlList, peerAddresses: stringList(o.peerAddresses) }
  if (typeof o.name === 'string') t.name = o.name
  return t
}

function bytesOf (v: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (v instanceof Uint8Array) return v
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  return new Uint8Array(v)
}

/** Parses any torrent id (see the module comment). Throws a typed WasmTorrentError on bad input. */
export async function parseTorrent (torrentId: TorrentId, opts: ParseTorrentOptions = {}): Promise<MagnetTorrent | ParsedTorrent> {
  if (typeof torrentId === 'string') {
    const id = torrentId.trim()
    if (/^(stream-)?magnet:/i.test(id)) return fromMagnet(parseMagnet(id))
    if (isHex(id, 40)) return infoHashTorrent(id)
    if (/^[a-z2-7]{32}$/i.test(id)) return infoHashTorrent(toHex(base32Decode(id)!))
    if (/^https?:\/\//i.test(id)) {
      const bytes = await fetchTorrentUrl(id, {
        maxBytes: MAX_FETCH_BYTES,
        timeoutMs: opts.timeoutMs ?? FETCH_TIMEOUT_MS,
        maxRedirects: MAX_FETCH_REDIRECTS,
        signal: opts.signal
      })
      return decodeTorrentFile(bytes)
    }
    if (!canReadPaths) {
      throw new TorrentIdError('ERR_TORRENT_PATH_UNSUPPORTED',
        `"${shorten(id)}" is not a magnet URI, info-hash or http(s) URL, and file paths cannot be read in this runtime`)
    }
    const bytes = id === '' ? null : await readTorrentPath(id, MAX_TORRENT_BYTES)
    if (bytes === null) {
      throw new TorrentIdError('ERR_TORRENT_ID_INVALID',
        `"${shorten(id)}" is not a magnet URI, info-hash, http(s) URL or .torrent file`)
    }
    return decodeTorrentFile(bytes)
  }
  if (torrentId instanceof ArrayBuffer || ArrayBuffer.isView(torrentId)) {
    const bytes = bytesOf(torrentId)
    if (bytes.length === 20) return infoHashTorrent(toHex(bytes))
    return decodeTorrentFile(bytes)
  }
  if (typeof Blob !== 'undefined' && torrentId instanceof Blob) {
    if (torrentId.size > MAX_TORRENT_BYTES) {
      throw new MetainfoError('ERR_TORRENT_TOO_LARGE', `.torrent Blob is ${torrentId.size} bytes (limit ${MAX_TORRENT_BYTES})`)
    }
    return decodeTorrentFile(new Uint8Array(await torrentId.arrayBuffer()))
  }
  if (typeof torrentId === 'object' && torrentId !== null) return fromObject(torrentId as Record<string, unknown>)
  throw new TorrentIdError('ERR_TORRENT_ID_INVALID', `invalid torrent identifier (${torrentId === null ? 'null' : typeof torrentId})`)
}

function shorten (s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '...' : s
}
