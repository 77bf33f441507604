/**
 * createTorrent's inputs into an ordered list of source files, a torrent name and the single-file flag, with
 * create-torrent's rules (so the same files give the same info-hash):
 *  - inputs: file or directory paths (Node), Uint8Arrays / ArrayBufferViews, Blobs / Files, FileLists, Node
 *    Readables or any async iterable of byte chunks, or an array of these; order is kept;
 *  - a single file input (path to a file, or one non-path item) makes a single-file torrent;
 *  - one directory path: its files, relative to it, named after it; several paths: each keeps its own name;
 *  - named items (File.name, or `name` / `fullPath` on the item) give their paths; a first path component
 *    shared by all items becomes the torrent name; unnamed items are "Unknown File N";
 *  - hidden junk items are left out (as are all hidden files inside walked directories);
 *  - the name is opts.name, else that common prefix, else the first input's name.
 */
import { canWalkPaths, expandPath, isFilePath, basename } from './create-fs.js'
import { CreateTorrentError } from './errors.js'
import { isJunkPath } from './junk.js'
import type { SourceFile } from './piece-hashing.js'

/** A Node Readable, or anything else that yields byte chunks. */
export type ChunkSource = AsyncIterable<Uint8Array | string>

export type CreateTorrentItem = string | Uint8Array | ArrayBufferView | Blob | ChunkSource
export type CreateTorrentInput = CreateTorrentItem | ArrayLike<CreateTorrentItem> | readonly CreateTorrentItem[]

export interface CollectedInput {
  files: SourceFile[]
  name: string
  singleFile: boolean
}

interface Named {
  name?: unknown
  fullPath?: unknown
}

function isBlob (v: unknown): v is Blob {
  return typeof Blob !== 'undefined' && v instanceof Blob
}

function isChunkSource (v: unknown): v is ChunkSource {
  return typeof v === 'object' && v !== null && typeof (v as ChunkSource)[Symbol.asyncIterator] === 'function'
}

function toItems (input: CreateTorrentInput): CreateTorrentItem[] {
  if (typeof FileList !== 'undefined' && input instanceof FileList) return Array.from(input)
  if (Array.isArray(input)) return [...input]
  return [input as CreateTorrentItem]
}

function itemPath (item: CreateTorrentItem): string | undefined {
  const n = item as Named
  const p = typeof n.fullPath === 'string' && n.fullPath ? n.fullPath : typeof n.name === 'string' && n.name ? n.name : undefined
  return p
}

export async function collectInput (input: CreateTorrentInput, optName: string | undefined): Promise<CollectedInput> {
  let items = toItems(input)
  if (items.length === 0) throw new CreateTorrentError('ERR_CREATE_INPUT', 'createTorrent needs at least one input')
  for (const item of items) {
    const ok = typeof item === 'string' || ArrayBuffer.isView(item) || isBlob(item) || isChunkSource(item)
    if (!ok) {
      throw new CreateTorrentError('ERR_CREATE_INPUT',
        `invalid input (${item === null ? 'null' : typeof item}): expected a path, Uint8Array, Blob, File or readable stream`)
    }
  }

  // Paths of non-path items, and their common first component.
  const paths = new Map<CreateTorrentItem, string[]>()
  let commonPrefix: string | null = null
  const unnamed = new Set<CreateTorrentItem>()
  items.forEach((item, i) => {
    if (typeof item === 'string') return
    let p = itemPath(item)
    if (p === undefined && items.length === 1 && optName) p = optName
    if (p === undefined) {
      p = `Unknown File ${i + 1}`
      unnamed.add(item)
    }
    const comps = p.split('/')
    if (comps[0] === '') comps.shift()
    paths.set(item, comps)
    if (comps.length < 2) commonPrefix = null
    else if (i === 0 && items.length > 1) commonPrefix = comps[0]
    else if (comps[0] !== commonPrefix) commonPrefix = null
  })
  items = items.filter(item => typeof item === 'string' || !isJunkPath(paths.get(item)!))
  if (items.length === 0) throw new CreateTorrentError('ERR_CREATE_NO_FILES', 'every input was a junk file')
  if (commonPrefix !== null) for (const comps of paths.values()) comps.shift()

  const stringCount = items.filter(i => typeof i === 'string').length
  if (stringCount > 0 && !canWalkPaths) {
    throw new CreateTorrentError('ERR_CREATE_PATH_UNSUPPORTED', 'file-system paths cannot be read in this runtime: pass Files, Blobs or Uint8Arrays')
  }
  let singleFile = items.length === 1
  if (singleFile && typeof items[0] === 'string') singleFile = await isFilePath(items[0])

  let name = optName
  if (!name && commonPrefix) name = commonPrefix
  if (!name) {
    for (const item of items) {
      if (typeof item === 'string') {
        name = basename(item)
        break
      }
      if (!unnamed.has(item)) {
        const comps = paths.get(item)!
        name = comps[comps.length - 1]
        break
      }
    }
  }
  if (!name) name = `Unnamed Torrent ${Date.now()}`

  const keepRoot = stringCount > 1 || singleFile
  const files: SourceFile[] = []
  for (const item of items) {
    if (typeof item === 'string') {
      for (const f of await expandPath(item, keepRoot)) files.push({ path: f.path, length: f.length, data: { kind: 'fs', fsPath: f.fsPath } })
      continue
    }
    const path = paths.get(item)!
    if (isBlob(item)) files.push({ path, length: item.size, data: { kind: 'blob', blob: item } })
    else if (ArrayBuffer.isView(item)) {
      const data = new Uint8Array(item.buffer, item.byteOffset, item.byteLength)
      files.push({ path, length: data.length, data: { kind: 'bytes', data } })
    } else files.push({ path, length: 0, data: { kind: 'stream', stream: item as ChunkSource } })
  }
  if (files.length === 0) throw new CreateTorrentError('ERR_CREATE_NO_FILES', 'the inputs contain no files')
  for (const f of files) {
    if (f.path.length === 0 || f.path.some(c => c === '' || c === '.' || c === '..')) {
      throw new CreateTorrentError('ERR_CREATE_INPUT', `invalid file path "${f.path.join('/')}" in the input`)
    }
  }
  return { files, name, singleFile }
}
