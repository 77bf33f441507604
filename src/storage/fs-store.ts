/**
 * The file-system chunk store (Node; "#fs-store" in package.json, the browser build gets fs-store-browser.ts).
 *
 * Pieces map onto the torrent's files (file-mapping.ts): a piece may span several files and a file several
 * pieces. Only ranges are read or written (positioned I/O), never whole files. Files open lazily through a
 * bounded LRU descriptor cache (fd-cache.ts): read-only for reads (seeding from read-only media works, reads
 * never create files), read-write on the first write. Directories are created as needed. BEP 47 pad files are
 * never created, opened or written: their bytes read as zeros. 0-byte files are created on the first put.
 *
 * Every path is joined under the download root and checked to stay under it (metainfo already sanitized
 * them; this is defence in depth). Failures are StorageErrors: ENOSPC/EDQUOT -> ERR_STORAGE_NO_SPACE,
 * EACCES/EPERM/EROFS -> ERR_STORAGE_ACCESS, a missing file or a range beyond a file's end on read ->
 * ERR_STORAGE_MISSING, anything else ERR_STORAGE_IO. A failed write leaves the store usable: pieces already
 * on disk stay readable and later writes are attempted again (the disk may have room by then).
 *
 * Concurrency: positioned reads and writes do not share a file position, so any number of puts and gets
 * may run at once; writes to one file are queued one at a time (see writeSegment), reads are not; a piece
 * that spans files is handled one file at a time.
 */
import { constants } from 'node:fs'
import { mkdir, open, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import {
  OpTracker, StorageError, storageErrorFrom, type ChunkStore, type DelegatedWrite, type FileStat, type FsStoreOptions,
  type GetOptions, type StorageOp, type WriteTarget
} from './chunk-store.js'
import { DEFAULT_MAX_OPEN_FILES, FdCache } from './fd-cache.js'
import { FileMapping, type Segment } from './file-mapping.js'

export type { FsStoreOptions } from './chunk-store.js'

/** True where the fs store works (false in the browser stub). */
export const canUseFsStore = true

const WRITE_FLAGS = constants.O_RDWR | constants.O_CREAT
const STAT_BATCH = 64

/** `p` resolved under `root`, or ERR_STORAGE_PATH when it would land anywhere else. */
function resolveUnder (root: string, p: string): string {
  if (p.includes('\0')) throw new StorageError('ERR_STORAGE_PATH', 'create', `file path ${JSON.stringify(p)} contains NUL`)
  const full = path.resolve(root, ...p.split('/'))
  const rel = path.relative(root, full)
  if (rel === '' || rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel)) {
    throw new StorageError('ERR_STORAGE_PATH', 'create', `file path ${JSON.stringify(p)} resolves outside the download root`)
  }
  return full
}

function errnoOf (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

export class FsStore implements ChunkStore {
  readonly chunkLength: number
  readonly length: number
  readonly chunkCount: number
  readonly lastChunkLength: number
  /** Absolute download root. */
  readonly root: string
  /** Absolute path of each file (same order as the options' files). */
  readonly paths: readonly string[]
  private readonly map: FileMapping
  private readonly cache: FdCache<FileHandle>
  private readonly ops = new OpTracker()
  private readonly preallocate: boolean
  private readonly madeDirs = new Set<string>()
  private emptyFiles: Promise<void> | null = null
  private destroying: Promise<void> | null = null

  constructor (opts: FsStoreOptions) {
    if (typeof opts?.path !== 'string' || opts.path === '') {
      throw new StorageError('ERR_STORAGE_OPTIONS', 'create', 'the fs store needs a download path')
    }
    if (!Array.isArray(opts.files) || opts.files.length === 0) {
      throw new StorageError('ERR_STORAGE_OPTIONS', 'create', 'the fs store needs the torrent\'s files')
    }
    this.map = new FileMapping(opts.pieceLength, opts.length, opts.files, opts.padFiles)
    this.chunkLength = this.map.chunkLength
    this.length = this.map.length
    this.chunkCount = this.map.chunkCount
    this.lastChunkLength = this.map.lastChunkLength
    this.root = path.resolve(opts.path)
    this.paths = opts.files.map(f => resolveUnder(this.root, f.path))
    this.preallocate = opts.preallocate ?? false
    this.cache = new FdCache((i, writable) => this.openFile(i, writable), opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES)
  }

  /** Per file: the last write queued (see writeSegment). */
  private readonly writeTails = new Map<number, Promise<void>>()

  get closed (): boolean {
    return this.ops.shut
  }

  /** Files open right now (bounded by maxOpenFiles). */
  get openFiles (): number {
    return this.cache.size
  }

  put (index: number, data: Uint8Array): Promise<void> {
    return this.ops.run('put', async () => {
      this.map.checkPut(index, data)
      await this.createEmptyFiles()
      for (const s of this.map.segments(index)) {
        if (s.file >= 0) await this.writeSegment(s, data)
      }
    })
  }

  /**
   * See ChunkStore.putDelegated. Only a piece that lies in one file is handed out (one descriptor held at a
   * time, as the descriptor cache requires); the writer's bytes land in the same files `get` reads.
   */
  putDelegated<T extends DelegatedWrite> (index: number, data: Uint8Array,
    write: (targets: readonly WriteTarget[] | null) => Promise<T>): Promise<T & { error?: StorageError }> {
    return this.ops.run('put', async () => {
      this.map.checkPut(index, data)
      await this.createEmptyFiles()
      const segs = this.map.segments(index).filter(s => s.file >= 0)
      const file = segs.length > 0 ? segs[0].file : -1
      if (file < 0 || segs.some(s => s.file !== file)) return await write(null)
      let handedOut = false
      let result: T
      try {
        result = await this.cache.use(file, true, async h => {
          handedOut = true
          return await write(segs.map(s => ({ fd: h.fd, offset: s.bufOffset, length: s.length, position: s.fileOffset })))
        })
      } catch (err) {
        // The writer's own failure (a worker that died) is the caller's; opening the file failed as put() would.
        if (handedOut) throw err
        throw this.fail(err, 'put', file)
      }
      if (result.writeError === undefined) return result
      const cause = Object.assign(new Error(result.writeError.message), { code: result.writeError.code })
      return { ...result, error: this.fail(cause, 'put', file) }
    })
  }

  get (index: number, opts?: GetOptions): Promise<Uint8Array> {
    return this.ops.run('get', async () => {
      const { offset, length } = this.map.checkGet(index, opts)
      const buf = new Uint8Array(length)
      for (const s of this.map.segments(index, offset, length)) {
        if (s.file >= 0) await this.readSegment(s, buf)
      }
      return buf
    })
  }

  stat (): Promise<FileStat[]> {
    return this.ops.run('stat', async () => {
      const files = this.map.files
      const out: FileStat[] = new Array(files.length)
      for (let start = 0; start < files.length; start += STAT_BATCH) {
        await Promise.all(files.slice(start, start + STAT_BATCH).map(async (f, j) => {
          const i = start + j
          let size: number | null = null
          let mtimeMs: number | null = null
          try {
            const s = await stat(this.paths[i])
            if (s.isFile()) {
              size = s.size
              mtimeMs = s.mtimeMs
            }
          } catch (err) {
            const errno = errnoOf(err)
            if (errno !== 'ENOENT' && errno !== 'ENOTDIR') throw storageErrorFrom(err, 'stat', this.paths[i])
          }
          out[i] = { path: f.path, offset: f.offset, length: f.length, size, mtimeMs }
        }))
      }
      return out
    })
  }

  async close (): Promise<void> {
    await this.ops.shutDown()
    await this.cache.closeAll()
  }

  /** Closes, then deletes the torrent's files and the directories under the root they leave empty. */
  destroy (): Promise<void> {
    this.destroying ??= this.deleteAll()
    return this.destroying
  }

  private async deleteAll (): Promise<void> {
    await this.close()
    let failure: StorageError | null = null
    const dirs = new Set<string>()
    for (const p of this.paths) {
      for (let d = path.dirname(p); d !== this.root && d.startsWith(this.root); d = path.dirname(d)) dirs.add(d)
      try {
        await unlink(p)
      } catch (err) {
        // Gone already, or a directory sits there (not ours): nothing to delete.
        const errno = errnoOf(err)
        if (errno !== 'ENOENT' && errno !== 'ENOTDIR' && errno !== 'EISDIR') failure ??= storageErrorFrom(err, 'destroy', p)
      }
    }
    // Deepest first; a directory still holding anything (other files, the user's) stays.
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      try {
        await rmdir(d)
      } catch {}
    }
    if (failure) throw failure
  }

  // ------------------------------------------------------------------ files

  private async openFile (i: number, writable: boolean): Promise<FileHandle> {
    const p = this.paths[i]
    if (!writable) return await open(p, 'r')
    await this.makeDir(path.dirname(p))
    let h: FileHandle
    try {
      h = await open(p, WRITE_FLAGS, 0o666)
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err
      // Someone removed the directory since we made it: make it again, once.
      this.madeDirs.delete(path.dirname(p))
      await this.makeDir(path.dirname(p))
      h = await open(p, WRITE_FLAGS, 0o666)
    }
    if (this.preallocate) {
      try {
        const length = this.map.files[i].length
        if ((await h.stat()).size < length) await h.truncate(length)
      } catch (err) {
        await h.close().catch(() => {})
        throw err
      }
    }
    return h
  }

  /**
   * mkdir -p by hand: Node's recursive mkdir reports some failures (ENOSPC when no inode is left) as
   * ENOENT, which would hide a full disk behind a wrong error code.
   */
  private async makeDir (dir: string, retry = true): Promise<void> {
    if (this.madeDirs.has(dir) || dir === path.dirname(dir)) return
    try {
      await mkdir(dir)
    } catch (err) {
      const errno = errnoOf(err)
      if (errno === 'ENOENT' && retry) {
        const parent = path.dirname(dir)
        this.madeDirs.delete(parent) // it may have been removed since
        await this.makeDir(parent)
        await this.makeDir(dir, false)
        return
      }
      if (errno !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw err
    }
    this.madeDirs.add(dir)
  }

  private createEmptyFiles (): Promise<void> {
    this.emptyFiles ??= (async () => {
      const files = this.map.files
      for (let i = 0; i < files.length; i++) {
        if (files[i].length !== 0 || files[i].symlinkPath !== undefined) continue
        const p = this.paths[i]
        try {
          await this.makeDir(path.dirname(p))
          await (await open(p, constants.O_WRONLY | constants.O_CREAT, 0o666)).close()
        } catch (err) {
          throw storageErrorFrom(err, 'put', p)
        }
      }
    })().catch(err => {
      this.emptyFiles = null // try again on the next put
      throw err
    })
    return this.emptyFiles
  }

  /**
   * Writes go to a file one at a time (other files in parallel). Concurrent positioned writes to one file
   * contend on its inode lock in the kernel and gain nothing: measured on a 1 GiB download (ext4), the libuv
   * threads spent 1.4-1.5 CPU-s writing with 4 at once, 0.95-1.1 with one.
   */
  private writeSegment (s: Segment, data: Uint8Array): Promise<void> {
    const prev = this.writeTails.get(s.file)
    const next = prev === undefined ? this.writeSegmentNow(s, data) : prev.then(() => this.writeSegmentNow(s, data))
    const tail = next.then(() => {}, () => {})
    this.writeTails.set(s.file, tail)
    void tail.then(() => { if (this.writeTails.get(s.file) === tail) this.writeTails.delete(s.file) })
    return next
  }

  private async writeSegmentNow (s: Segment, data: Uint8Array): Promise<void> {
    try {
      await this.cache.use(s.file, true, async h => {
        for (let done = 0; done < s.length;) {
          const { bytesWritten } = await h.write(data, s.bufOffset + done, s.length - done, s.fileOffset + done)
          done += bytesWritten
        }
      })
    } catch (err) {
      throw this.fail(err, 'put', s.file)
    }
  }

  private async readSegment (s: Segment, buf: Uint8Array): Promise<void> {
    try {
      await this.cache.use(s.file, false, async h => {
        for (let done = 0; done < s.length;) {
          const { bytesRead } = await h.read(buf, s.bufOffset + done, s.length - done, s.fileOffset + done)
          if (bytesRead === 0) {
            throw new StorageError('ERR_STORAGE_MISSING', 'get', `${this.paths[s.file]} ends before byte ${s.fileOffset + s.length}`, { path: this.paths[s.file] })
          }
          done += bytesRead
        }
      })
    } catch (err) {
      throw this.fail(err, 'get', s.file)
    }
  }

  private fail (err: unknown, op: StorageOp, file: number): StorageError {
    const p = this.paths[file]
    if (op === 'get' && (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR')) {
      return new StorageError('ERR_STORAGE_MISSING', op, `${p} does not exist`, { cause: err, errno: errnoOf(err), path: p })
    }
    return storageErrorFrom(err, op, p)
  }
}
