/**
 * The file layout of a v1 info dict: user files with offsets, BEP 47 pad files kept apart, every path
 * sanitized (sanitize.ts), collisions renamed, symlinks neutralized unless they point inside the torrent.
 */
import type { BencodeValue } from '../bencode/index.js'
import { MetainfoError } from './errors.js'
import { MAX_DUPLICATE_PATHS, MAX_PATH_DEPTH } from './limits.js'
import { collisionKey, foldComponent, numberedName, sanitizePath } from './sanitize.js'
import { text } from './text.js'
import type { PadFile, TorrentFile } from './types.js'

export interface FileLayout {
  files: TorrentFile[]
  padFiles: PadFile[]
  /** Total length including pad files. */
  length: number
}

type Dict = Record<string, BencodeValue>

function invalid (field: string, why: string): MetainfoError {
  return new MetainfoError('ERR_TORRENT_INVALID_FIELD', `torrent field ${field} ${why}`)
}

function isDict (v: BencodeValue | undefined): v is Dict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)
}

/** A file length: a non-negative safe integer (bigints never pass: case 4, no rounding). */
export function fileLength (v: BencodeValue | undefined, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(field, 'must be a non-negative integer below 2^53')
  return v
}

function stringList (v: BencodeValue | undefined, field: string): string[] {
  if (!Array.isArray(v)) throw invalid(field, 'must be a list of strings')
  return v.map(c => {
    if (!(c instanceof Uint8Array)) throw invalid(field, 'must be a list of strings')
    return text(c)
  })
}

function attrOf (d: Dict): string {
  return d.attr instanceof Uint8Array ? text(d.attr).replace(/[^a-z]/g, '') : ''
}

const LEGACY_PAD = /^_____padding_file_/

interface Entry {
  comps: string[]
  length: number
  offset: number
  attr: string
  symlink?: string[]
}

/** Builds the layout of `info` whose (sanitized) name is `name`. Throws MetainfoError on invalid fields. */
export function buildFileLayout (info: Dict, name: string): FileLayout {
  if (info.files === undefined) {
    const length = fileLength(info.length, 'info.length')
    const attr = attrOf(info).replace(/[pl]/g, '')
    const file: TorrentFile = { path: name, name, length, offset: 0 }
    if (attr) file.attr = attr
    return { files: [file], padFiles: [], length }
  }
  if (!Array.isArray(info.files)) throw invalid('info.files', 'must be a list')
  const padFiles: PadFile[] = []
  const entries: Entry[] = []
  let offset = 0
  info.files.forEach((f, i) => {
    if (!isDict(f)) throw invalid(`info.files[${i}]`, 'must be a dictionary')
    const length = fileLength(f.length, `info.files[${i}].length`)
    const pathValue = f['path.utf-8'] ?? f.path
    if (pathValue === undefined) throw new MetainfoError('ERR_TORRENT_MISSING_FIELD', `torrent is missing info.files[${i}].path`)
    const raw = stringList(pathValue, `info.files[${i}].path`)
    const attr = attrOf(f)
    if (attr.includes('p') || (raw.length > 0 && LEGACY_PAD.test(raw[raw.length - 1]))) {
      if (length > 0) padFiles.push({ offset, length })
    } else {
      if (raw.length > MAX_PATH_DEPTH) {
        throw new MetainfoError('ERR_TORRENT_PATH_TOO_DEEP', `file ${i} is nested ${raw.length} levels deep (limit ${MAX_PATH_DEPTH})`)
      }
      const comps = sanitizePath(raw)
      const e: Entry = { comps: comps.length ? comps : ['_'], length, offset, attr }
      if (attr.includes('l')) e.symlink = symlinkTarget(f['symlink path'])
      entries.push(e)
    }
    offset += length
    if (!Number.isSafeInteger(offset)) throw invalid('info.files', 'add up to more than 2^53 bytes')
  })
  resolveCollisions(entries)
  const files = entries.map(e => toFile(e, name))
  resolveSymlinks(entries, files)
  return { files, padFiles, length: offset }
}

/** Sanitized symlink target, or undefined when it tries to leave the torrent (then it is neutralized). */
function symlinkTarget (v: BencodeValue | undefined): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_PATH_DEPTH) return undefined
  const raw: string[] = []
  for (const c of v) {
    if (!(c instanceof Uint8Array)) return undefined
    raw.push(text(c))
  }
  const comps = sanitizePath(raw)
  // Any change (a "..", an absolute or drive prefix, a separator inside a component) means the target was
  // not a plain path inside the torrent: no symlink at all.
  if (comps.length !== raw.length || comps.some((c, i) => c !== raw[i])) return undefined
  return comps
}

function toFile (e: Entry, name: string): TorrentFile {
  const file: TorrentFile = {
    path: [name, ...e.comps].join('/'),
    name: e.comps[e.comps.length - 1],
    length: e.length,
    offset: e.offset
  }
  const attr = e.attr.replace(/[pl]/g, '')
  if (attr) file.attr = attr
  return file
}

/**
 * Renames files whose paths collide on a case-insensitive file system, or that are named like a directory
 * another file needs: `a.txt` -> `a.1.txt`. More than MAX_DUPLICATE_PATHS collisions is rejected (case 9).
 */
function resolveCollisions (entries: Entry[]): void {
  const dirs = new Set<string>()
  // Consecutive files usually share their directories: reuse the previous file's folded prefixes.
  let prevComps: string[] = []
  let prevKeys: string[] = []
  for (const e of entries) {
    const keys: string[] = []
    for (let i = 0; i < e.comps.length - 1; i++) {
      if (i < prevKeys.length && prevComps[i] === e.comps[i] && (i === 0 || keys[i - 1] === prevKeys[i - 1])) {
        keys.push(prevKeys[i])
        continue
      }
      const key = (i ? keys[i - 1] + '/' : '') + foldComponent(e.comps[i])
      keys.push(key)
      dirs.add(key)
    }
    prevComps = e.comps
    prevKeys = keys
  }
  const seen = new Set<string>()
  // Next suffix to try per colliding path, so N copies of one name cost O(N) attempts, not O(N^2).
  const nextSuffix = new Map<string, number>()
  const maxAttempts = 2 * entries.length + MAX_DUPLICATE_PATHS
  let collisions = 0
  let attempts = 0
  for (const e of entries) {
    let key = collisionKey(e.comps)
    if (dirs.has(key) || seen.has(key)) {
      if (++collisions > MAX_DUPLICATE_PATHS) {
        throw new MetainfoError('ERR_TORRENT_DUPLICATE_PATHS', `torrent has more than ${MAX_DUPLICATE_PATHS} colliding file paths`)
      }
      const original = key
      const last = e.comps[e.comps.length - 1]
      for (let n = nextSuffix.get(original) ?? 1; ; n++) {
        if (++attempts > maxAttempts) {
          throw new MetainfoError('ERR_TORRENT_DUPLICATE_PATHS', 'too many colliding file paths to rename')
        }
        const comps = [...e.comps.slice(0, -1), numberedName(last, n)]
        key = collisionKey(comps)
        if (!dirs.has(key) && !seen.has(key)) {
          e.comps = comps
          nextSuffix.set(original, n + 1)
          break
        }
      }
    }
    seen.add(key)
  }
}

function resolveSymlinks (entries: Entry[], files: TorrentFile[]): void {
  if (!entries.some(e => e.symlink)) return
  const known = new Set<string>()
  for (const e of entries) {
    let prefix = ''
    for (let i = 0; i < e.comps.length; i++) {
      prefix += (i ? '/' : '') + e.comps[i]
      known.add(prefix)
    }
  }
  entries.forEach((e, i) => {
    const target = e.symlink?.join('/')
    if (target !== undefined && known.has(target) && target !== e.comps.join('/')) files[i].symlinkPath = target
  })
}
