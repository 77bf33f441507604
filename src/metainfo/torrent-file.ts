/**
 * .torrent files (BEP 3, with BEP 47 pad files and BEP 52 hybrids read through their v1 half): decode into a
 * ParsedTorrent, and encode a ParsedTorrent back into .torrent bytes.
 *
 * The info-hash is always the SHA-1 of the info dict's raw bytes as they appear in the input, never of a
 * re-encoding (a torrent with unsorted keys keeps its real info-hash), and the encoder writes those raw bytes
 * back verbatim.
 */
import { bencode, type BencodeValue } from '../bencode/index.js'
import { BencodeError } from '../errors.js'
import { sha1 } from '../sha1/index.js'
import { ready } from '../wasm/index.js'
import { MetainfoError } from './errors.js'
import { buildFileLayout } from './file-layout.js'
import { MAX_PIECE_LENGTH, MAX_PIECES, MAX_TORRENT_BYTES } from './limits.js'
import { sanitizeComponent } from './sanitize.js'
import { sha256, text, toHex, utf8 } from './text.js'
import type { ParsedTorrent } from './types.js'

type Dict = Record<string, BencodeValue>

function isDict (v: BencodeValue | undefined): v is Dict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)
}

function missing (field: string): MetainfoError {
  return new MetainfoError('ERR_TORRENT_MISSING_FIELD', `torrent is missing ${field}`)
}

function invalid (field: string, why: string): MetainfoError {
  return new MetainfoError('ERR_TORRENT_INVALID_FIELD', `torrent field ${field} ${why}`)
}

function decodeOrThrow<T> (what: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof BencodeError) {
      throw new MetainfoError('ERR_TORRENT_INVALID', `${what} is not valid bencode: ${err.message}`, { cause: err })
    }
    throw err
  }
}

/** Parses .torrent bytes. Throws MetainfoError (see errors.ts for the codes). */
export async function decodeTorrentFile (bytes: Uint8Array): Promise<ParsedTorrent> {
  if (bytes.length > MAX_TORRENT_BYTES) {
    throw new MetainfoError('ERR_TORRENT_TOO_LARGE', `.torrent is ${bytes.length} bytes (limit ${MAX_TORRENT_BYTES})`)
  }
  await ready
  const { value, raw } = decodeOrThrow('.torrent', () => bencode.decodeWithRaw(bytes, { copy: false }))
  const top = value as Dict
  if (!isDict(top.info) || raw.info === undefined) throw missing('info')
  return fromInfo(raw.info.slice(), top.info, top)
}

/**
 * Parses a raw info dict (as received through ut_metadata, or kept in a parsed torrent), with the outer
 * .torrent fields (announce, comment, ...) taken from `outer` when given.
 */
export async function decodeInfoDict (infoBytes: Uint8Array, outer: Dict = {}): Promise<ParsedTorrent> {
  if (infoBytes.length > MAX_TORRENT_BYTES) {
    throw new MetainfoError('ERR_TORRENT_TOO_LARGE', `info dict is ${infoBytes.length} bytes (limit ${MAX_TORRENT_BYTES})`)
  }
  await ready
  const info = decodeOrThrow('info dict', () => bencode.decode(infoBytes))
  if (!isDict(info)) throw invalid('info', 'must be a dictionary')
  return fromInfo(infoBytes.slice(), info, outer)
}

function positiveInt (v: BencodeValue | undefined, field: string, max: number): number {
  if (v === undefined) throw missing(field)
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max) {
    throw invalid(field, `must be an integer from 1 to ${max}`)
  }
  return v
}

function textOf (v: BencodeValue | undefined): string | undefined {
  return v instanceof Uint8Array ? text(v) : undefined
}

function trackers (top: Dict): string[] {
  const out = new Set<string>()
  const list = top['announce-list']
  if (Array.isArray(list) && list.length > 0) {
    for (const tier of list) {
      if (!Array.isArray(tier)) continue
      for (const url of tier) if (url instanceof Uint8Array) out.add(text(url))
    }
  } else if (top.announce instanceof Uint8Array) {
    out.add(text(top.announce))
  }
  out.delete('')
  return [...out]
}

function webSeeds (top: Dict): string[] {
  const v = top['url-list']
  const list = v instanceof Uint8Array ? [v] : Array.isArray(v) ? v : []
  const out = new Set<string>()
  for (const u of list) if (u instanceof Uint8Array && u.length > 0) out.add(text(u))
  return [...out]
}

const HEX_CHARS = utf8('0123456789abcdef')
const ascii = new TextDecoder('latin1')

/** Hex strings of the 20-byte hashes: one typed-array pass and one decode, then 40-character slices. */
function splitPieces (hashes: Uint8Array): string[] {
  const chars = new Uint8Array(hashes.length * 2)
  for (let i = 0, j = 0; i < hashes.length; i++, j += 2) {
    const b = hashes[i]
    chars[j] = HEX_CHARS[b >> 4]
    chars[j + 1] = HEX_CHARS[b & 15]
  }
  const all = ascii.decode(chars)
  const out: string[] = new Array(hashes.length / 20)
  for (let i = 0; i < out.length; i++) out[i] = all.slice(i * 40, i * 40 + 40)
  return out
}

async function fromInfo (infoBuffer: Uint8Array, info: Dict, top: Dict): Promise<ParsedTorrent> {
  const metaVersion = info['meta version']
  if (metaVersion !== undefined && metaVersion !== 1 && metaVersion !== 2) {
    throw new MetainfoError('ERR_TORRENT_VERSION', `unknown torrent meta version ${String(metaVersion)}`)
  }
  if (info.pieces === undefined && (metaVersion === 2 || info['file tree'] !== undefined)) {
    throw new MetainfoError('ERR_TORRENT_NOT_V1', 'v2-only torrents (BEP 52) are not supported yet; hybrid v1+v2 torrents are')
  }
  const rawName = textOf(info['name.utf-8']) ?? textOf(info.name)
  if (rawName === undefined) throw missing('info.name')
  const pieceLength = positiveInt(info['piece length'], "info['piece length']", MAX_PIECE_LENGTH)
  if (info.pieces === undefined) throw missing('info.pieces')
  if (!(info.pieces instanceof Uint8Array) || info.pieces.length % 20 !== 0) {
    throw invalid('info.pieces', 'must be a string of 20-byte SHA-1 hashes')
  }
  const pieceHashes = info.pieces
  const pieceCount = pieceHashes.length / 20
  if (pieceCount > MAX_PIECES) {
    throw new MetainfoError('ERR_TORRENT_TOO_MANY_PIECES', `torrent has ${pieceCount} pieces (limit ${MAX_PIECES})`)
  }

  const infoHashBuffer = sha1(infoBuffer)
  const infoHash = toHex(infoHashBuffer)
  const name = sanitizeComponent(rawName) ?? infoHash
  const layout = buildFileLayout(info, name)
  const expected = Math.ceil(layout.length / pieceLength)
  if (expected !== pieceCount) {
    throw new MetainfoError('ERR_TORRENT_PIECES_MISMATCH',
      `torrent has ${pieceCount} piece hashes but its ${layout.length} bytes need ${expected}`)
  }

  const result = {
    info,
    infoBuffer,
    name,
    announce: trackers(top),
    infoHashBuffer,
    infoHash,
    urlList: webSeeds(top),
    peerAddresses: [],
    files: layout.files,
    padFiles: layout.padFiles,
    length: layout.length,
    pieceLength,
    lastPieceLength: (layout.length % pieceLength) || pieceLength,
    pieceHashes,
    version: metaVersion === 2 ? 'hybrid' : 'v1'
  } as unknown as ParsedTorrent
  // parse-torrent's hex `pieces` array is built on first use: the engine works from pieceHashes.
  Object.defineProperty(result, 'pieces', {
    enumerable: true,
    configurable: true,
    get () {
      const pieces = splitPieces(pieceHashes)
      Object.defineProperty(result, 'pieces', { value: pieces, enumerable: true, writable: true, configurable: true })
      return pieces
    }
  })
  if (metaVersion === 2) result.infoHashV2 = toHex(await sha256(infoBuffer))
  if (info.private !== undefined) result.private = info.private !== 0
  const created = top['creation date']
  if (typeof created === 'number' && created !== 0 && Number.isFinite(created * 1000)) result.created = new Date(created * 1000)
  const createdBy = textOf(top['created by'])
  if (createdBy) result.createdBy = createdBy
  const comment = textOf(top.comment)
  if (comment !== undefined) result.comment = comment
  return result
}

/** Fields written by encodeTorrentFile besides the info dict. */
export interface TorrentFileFields {
  infoBuffer: Uint8Array
  announce?: string[]
  urlList?: string[]
  created?: Date
  createdBy?: string
  comment?: string
}

/**
 * .torrent bytes for a parsed torrent: its raw info bytes verbatim (same info-hash), `announce` as the first
 * tracker, `announce-list` with one tier per tracker (parse-torrent's toTorrentFile layout).
 */
export function encodeTorrentFile (parsed: TorrentFileFields): Uint8Array {
  const outer: Dict = {}
  const announce = parsed.announce ?? []
  if (announce.length) {
    outer.announce = announce[0]
    outer['announce-list'] = announce.map(u => [u])
  }
  if (parsed.comment !== undefined) outer.comment = parsed.comment
  if (parsed.createdBy !== undefined) outer['created by'] = parsed.createdBy
  if (parsed.created !== undefined) outer['creation date'] = Math.floor(parsed.created.getTime() / 1000)
  if (parsed.urlList && parsed.urlList.length) outer['url-list'] = parsed.urlList
  return encodeWithRawInfo(outer, parsed.infoBuffer)
}

/** bencodes `outer` plus an `info` key whose value is `infoBytes` exactly as given. */
export function encodeWithRawInfo (outer: Dict, infoBytes: Uint8Array): Uint8Array {
  // Keys in byte order (BEP 3); each pair is encoded alone, and the info bytes are copied, never re-encoded.
  const keys = [...Object.keys(outer).filter(k => k !== 'info'), 'info']
    .map(k => ({ k, b: utf8(k) }))
    .sort((a, b) => compareBytes(a.b, b.b))
  const chunks: Uint8Array[] = [utf8('d')]
  for (const { k } of keys) {
    chunks.push(bencode.encode(k))
    chunks.push(k === 'info' ? infoBytes : bencode.encode(outer[k]))
  }
  chunks.push(utf8('e'))
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  return out
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}
