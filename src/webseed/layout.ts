/**
 * Where a torrent's bytes are on a web seed (BEP 19), and how a byte range of the torrent becomes HTTP ranges.
 *
 * URLs: a URL whose path ends in '/' gets the torrent's name appended, and for a multi-file torrent also the
 * file's path ('<url>name/dir/file'). A URL not ending in '/' is the file itself for a single-file torrent; for a
 * multi-file torrent a '/' is added first (libtorrent does the same for such misformed torrents). Query strings
 * are kept, fragments dropped. Every path component is percent-encoded (encodeURIComponent), so spaces, '#', '?',
 * '%' and non-ASCII names are safe.
 *
 * Names: the server stores the files under the names the torrent gives, not under our sanitized local names, so
 * the raw names of the info dict are used (name.utf-8 / path.utf-8 first, as parsing does). Components that are
 * empty, "." or ".." are dropped, as the sanitizer drops them: a URL never gets dot segments and never leaves the
 * web seed's directory. When the info dict is not available or does not match the file list, the sanitized
 * paths are used.
 *
 * Ranges: the torrent's bytes are its files concatenated, BEP 47 pad files included. A range is split at file
 * boundaries (storage/file-mapping.ts); a part inside a pad file is zeros and is never requested, and 0-byte
 * files cover no bytes.
 */
import type { BencodeValue } from '../bencode/index.js'
import type { PadFile } from '../metainfo/types.js'
import { text } from '../metainfo/text.js'
import { FileMapping } from '../storage/file-mapping.js'
import { WebSeedError } from './errors.js'

/** What a web seed needs of a torrent (a ParsedTorrent fits). */
export interface WebSeedTorrent {
  name: string
  pieceLength: number
  /** Total bytes, pad files included. */
  length: number
  files: ReadonlyArray<{ path: string, length: number, offset: number }>
  padFiles?: readonly PadFile[]
  /** The decoded info dict: its raw names are used for URLs when present. */
  info?: Record<string, BencodeValue>
}

/** One part of a planned range: a byte range of one file, or zeros of a pad file. */
export interface RangePart {
  /** Index into the torrent's files, or -1 for a pad file (not requested). */
  file: number
  /** The file's URL on this web seed (null for pad files). */
  url: string | null
  /** First byte inside the file. */
  start: number
  length: number
  /** The whole file's length (0 for pad files): a 200 answer is acceptable when the range is all of it. */
  fileLength: number
  /** Offset of this part inside the planned range. */
  bufOffset: number
}

const LEGACY_PAD = /^_____padding_file_/

type Dict = Record<string, BencodeValue>

function isDict (v: BencodeValue | undefined): v is Dict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)
}

function textOf (v: BencodeValue | undefined): string | undefined {
  return v instanceof Uint8Array ? text(v) : undefined
}

/** Drops components that would be dot segments (or empty ones) in a URL path. */
function urlComponents (comps: readonly string[]): string[] {
  return comps.filter(c => c !== '' && c !== '.' && c !== '..')
}

/** Single-file torrents have no `files` list in the info dict. */
export function isSingleFile (t: WebSeedTorrent): boolean {
  if (t.info !== undefined) return t.info.files === undefined
  return t.files.length === 1 && t.files[0].path === t.name && (t.padFiles?.length ?? 0) === 0
}

/**
 * The name and per-file path components to put in URLs: raw ones from the info dict when it matches the file
 * list, else the sanitized ones.
 */
export function urlNames (t: WebSeedTorrent): { name: string, paths: string[][] } {
  const sanitized = (): string[][] => t.files.map(f => f.path.split('/').slice(1))
  const info = t.info
  let name = t.name
  if (info !== undefined) {
    const raw = textOf(info['name.utf-8']) ?? textOf(info.name)
    if (raw !== undefined && urlComponents([raw]).length === 1) name = raw
  }
  if (isSingleFile(t)) return { name, paths: [[]] }
  if (info === undefined || !Array.isArray(info.files)) return { name, paths: sanitized() }
  const paths: string[][] = []
  const lengths: number[] = []
  for (const f of info.files) {
    if (!isDict(f)) return { name, paths: sanitized() }
    const pv = f['path.utf-8'] ?? f.path
    if (!Array.isArray(pv) || !pv.every(c => c instanceof Uint8Array)) return { name, paths: sanitized() }
    const comps = (pv as Uint8Array[]).map(text)
    const attr = f.attr instanceof Uint8Array ? text(f.attr) : ''
    if (attr.includes('p') || (comps.length > 0 && LEGACY_PAD.test(comps[comps.length - 1]))) continue
    paths.push(urlComponents(comps))
    lengths.push(typeof f.length === 'number' ? f.length : -1)
  }
  if (paths.length !== t.files.length || lengths.some((l, i) => l !== t.files[i].length)) return { name, paths: sanitized() }
  const fallback = sanitized()
  return { name, paths: paths.map((p, i) => p.length > 0 ? p : fallback[i]) }
}

/** The URL of every file of `t` on the web seed at `base` (BEP 19), in the order of `t.files`. */
export function fileUrls (t: WebSeedTorrent, base: URL): string[] {
  const enc = (comps: readonly string[]): string => comps.map(c => encodeURIComponent(c)).join('/')
  const { name, paths } = urlNames(t)
  const single = isSingleFile(t)
  return t.files.map((_, i) => {
    const u = new URL(base.toString())
    u.hash = ''
    const dir = u.pathname.endsWith('/')
    if (single) {
      if (dir) u.pathname = u.pathname + enc([name])
    } else {
      u.pathname = (dir ? u.pathname : u.pathname + '/') + enc([name, ...paths[i]])
    }
    return u.toString()
  })
}

/** A torrent's layout on one web seed: file URLs and range planning. */
export class WebSeedLayout {
  readonly pieceLength: number
  readonly length: number
  readonly pieceCount: number
  readonly urls: string[]
  private readonly fileLengths: number[]
  private readonly mapping: FileMapping

  constructor (t: WebSeedTorrent, base: URL) {
    this.pieceLength = t.pieceLength
    this.length = t.length
    try {
      this.mapping = new FileMapping(t.pieceLength, t.length, t.files.map(f => ({ path: f.path, length: f.length, offset: f.offset })), t.padFiles ?? [])
    } catch (err) {
      throw new WebSeedError('ERR_WEBSEED_LAYOUT', `torrent layout: ${(err as Error).message}`, { cause: err, fatal: true })
    }
    this.pieceCount = Math.ceil(t.length / t.pieceLength)
    this.urls = fileUrls(t, base)
    this.fileLengths = t.files.map(f => f.length)
  }

  pieceLengthOf (index: number): number {
    return index === this.pieceCount - 1 ? this.length - index * this.pieceLength : this.pieceLength
  }

  /** The parts of `length` torrent bytes at `start` (inside the torrent): one per file touched, pads included. */
  plan (start: number, length: number): RangePart[] {
    return this.mapping.range(start, length).map(s => ({
      file: s.file,
      url: s.file >= 0 ? this.urls[s.file] : null,
      start: s.fileOffset,
      length: s.length,
      fileLength: s.file >= 0 ? this.fileLengths[s.file] : 0,
      bufOffset: s.bufOffset
    }))
  }
}
