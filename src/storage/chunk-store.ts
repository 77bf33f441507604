/**
 * The chunk-store interface every storage backend implements, its shared types and its typed errors.
 *
 * Shape: the npm `abstract-chunk-store` contract (put/get by chunk index, `{offset, length}` reads,
 * close, destroy, `chunkLength`), made Promise-based and extended with what the engine needs for resume:
 *  - a chunk is a piece: every piece is `chunkLength` bytes except the last (`lastChunkLength`);
 *  - `put` takes a whole verified piece; `get` returns a piece or a block of one (uploads, re-verification);
 *  - reading data that is not there (never put, missing or truncated file) rejects with ERR_STORAGE_MISSING;
 *    the fs store cannot tell never-written bytes inside a file's current size from real ones (sparse holes,
 *    `preallocate`) and returns them as zeros: the engine only trusts pieces it verified;
 *  - `stat()` reports, per file, whether it exists and its size on disk, so resume can spot missing or
 *    truncated files (bad-input case 31) without reading any data: see `piecesInIncompleteFiles`;
 *  - a failed write rejects with a StorageError (`isUploadOnlyError(err)` true) and leaves the store usable:
 *    already stored pieces stay readable, so the torrent can keep seeding (case 30) and retry writes later;
 *  - after `close()` or `destroy()` every call rejects with ERR_STORAGE_CLOSED; both are idempotent, wait
 *    for the operations already under way, and `destroy()` also works on a closed store.
 */
import { WasmTorrentError } from '../errors.js'
import type { PadFile, ParsedTorrent } from '../metainfo/types.js'

/** Stable codes of StorageError. */
export type StorageErrorCode =
  /** No space left on the device, or a quota exceeded (ENOSPC, EDQUOT). Write failure. */
  | 'ERR_STORAGE_NO_SPACE'
  /** Permission denied or read-only file system (EACCES, EPERM, EROFS). */
  | 'ERR_STORAGE_ACCESS'
  /** Any other I/O failure. */
  | 'ERR_STORAGE_IO'
  /** The store was closed or destroyed. */
  | 'ERR_STORAGE_CLOSED'
  /** A piece index, offset or length outside the torrent, or a put of the wrong length. */
  | 'ERR_STORAGE_RANGE'
  /** The requested data is not stored: never put, or its file is missing or shorter than the range. */
  | 'ERR_STORAGE_MISSING'
  /** A file path that would resolve outside the download root (defence in depth: metainfo sanitizes). */
  | 'ERR_STORAGE_PATH'
  /** Invalid store options (lengths, file layout). */
  | 'ERR_STORAGE_OPTIONS'
  /** The store does not exist in this runtime (the fs store in browsers). */
  | 'ERR_STORAGE_UNSUPPORTED'

export type StorageOp = 'put' | 'get' | 'stat' | 'close' | 'destroy' | 'create'

export class StorageError extends WasmTorrentError {
  declare readonly code: StorageErrorCode
  /** The store operation that failed. */
  readonly op: StorageOp
  /** The system error code behind it (e.g. 'ENOSPC'), when there is one. */
  readonly errno?: string
  /** The file involved, when there is one. */
  readonly path?: string

  constructor (code: StorageErrorCode, op: StorageOp, message: string, options?: { cause?: unknown, errno?: string, path?: string }) {
    super(code, message, options)
    this.name = 'StorageError'
    this.op = op
    if (options?.errno !== undefined) this.errno = options.errno
    if (options?.path !== undefined) this.path = options.path
  }
}

const SYSTEM_CODES: Record<string, StorageErrorCode> = {
  ENOSPC: 'ERR_STORAGE_NO_SPACE',
  EDQUOT: 'ERR_STORAGE_NO_SPACE',
  EACCES: 'ERR_STORAGE_ACCESS',
  EPERM: 'ERR_STORAGE_ACCESS',
  EROFS: 'ERR_STORAGE_ACCESS'
}

/** Wraps a system error (anything with a string `code`, like Node's) into a StorageError. */
export function storageErrorFrom (err: unknown, op: StorageOp, path?: string): StorageError {
  if (err instanceof StorageError) return err
  const errno = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined
  const code = (errno !== undefined && SYSTEM_CODES[errno]) || 'ERR_STORAGE_IO'
  const what = err instanceof Error ? err.message : String(err)
  return new StorageError(code, op, `storage ${op} failed${path !== undefined ? ` on ${path}` : ''}: ${what}`, { cause: err, errno, path })
}

/**
 * True for a write that failed on the storage itself (no space, no permission, I/O): the torrent should
 * stop downloading and keep seeding what it has (upload-only, case 30), and may retry writes later.
 * False for programming errors (RANGE, CLOSED, OPTIONS, PATH) and for anything that is not a StorageError.
 */
export function isUploadOnlyError (err: unknown): boolean {
  return err instanceof StorageError && err.op === 'put' &&
    (err.code === 'ERR_STORAGE_NO_SPACE' || err.code === 'ERR_STORAGE_ACCESS' || err.code === 'ERR_STORAGE_IO')
}

export interface GetOptions {
  /** Byte offset inside the piece (default 0). */
  offset?: number
  /** Bytes to read (default: to the end of the piece). */
  length?: number
}

/** A user file of the torrent as stores see it (a TorrentFile fits). */
export interface StoreFile {
  /** '/'-separated path relative to the download root (sanitized by metainfo). */
  path: string
  length: number
  /** Byte offset in the torrent's concatenated data, pad files included. */
  offset: number
  /** BEP 47 symlink target: such a 0-byte entry is not created as a regular file. */
  symlinkPath?: string
}

/** What a store knows of one file, for resume checks. */
export interface FileStat {
  path: string
  offset: number
  /** Length the torrent says the file has. */
  length: number
  /**
   * Bytes present on the storage: the file size on disk (may exceed `length` if something else grew it),
   * or, for the memory store, how many bytes from the file's start are stored. null: the file does not exist.
   */
  size: number | null
  /** Last modification time (ms since the epoch) when the store has files, else null. */
  mtimeMs: number | null
}

/** Geometry shared by every store. */
export interface StoreOptions {
  /** Piece length (the chunk length). */
  pieceLength: number
  /** Total bytes of the torrent, pad files included. */
  length: number
  /** User files (the memory store uses them only for `stat`). */
  files?: StoreFile[]
  /** BEP 47 pad files: covered by pieces, never written, read as zeros. */
  padFiles?: PadFile[]
}

/** Options of the file-system store (Node only; in browsers its constructor throws ERR_STORAGE_UNSUPPORTED). */
export interface FsStoreOptions extends StoreOptions {
  /** Download root: every file is created under it, at its '/'-separated `path`. */
  path: string
  files: StoreFile[]
  /** Bound of the open-file cache (default 128, see fd-cache.ts). */
  maxOpenFiles?: number
  /**
   * Give each file its final size (ftruncate: sparse where the file system allows) when it is first opened
   * for writing, instead of letting it grow with the writes (default false). Allocation is lazy either way:
   * files are created on the first write that touches them. With it, reads of never-written ranges of an
   * opened file return zeros and `stat()` sizes stop telling how far a download got.
   */
  preallocate?: boolean
}

/** The chunk-store contract. Every method is async; none throws synchronously. */
/** A positioned write another thread performs for `putDelegated`: `length` bytes of the piece at `offset`. */
export interface WriteTarget {
  /** An open file descriptor, valid until `putDelegated`'s `write` settles. */
  fd: number
  offset: number
  length: number
  /** Byte position in the file. */
  position: number
}

/** What a delegated writer reports: whether the bytes are on disk, or the error (errno code) it met. */
export interface DelegatedWrite {
  written: boolean
  writeError?: { code?: string, message: string }
}

export interface ChunkStore {
  /** Piece length: every piece but the last has exactly this many bytes. */
  readonly chunkLength: number
  /** Total bytes (pad files included). */
  readonly length: number
  /** Number of pieces. */
  readonly chunkCount: number
  /** Length of the last piece (1..chunkLength). */
  readonly lastChunkLength: number
  /** True once close() or destroy() was called. */
  readonly closed: boolean
  /**
   * Stores a whole piece (`data.length` must be the piece's length, else ERR_STORAGE_RANGE). The data is
   * copied or written before the promise settles: the caller may reuse `data` afterwards.
   */
  put (index: number, data: Uint8Array): Promise<void>
  /** Reads a piece, or `length` bytes at `offset` of it. Returns a new buffer the caller owns. */
  get (index: number, opts?: GetOptions): Promise<Uint8Array>
  /** Per-file presence and size, in the order of the files (resume: case 31). */
  stat (): Promise<FileStat[]>
  /**
   * Optional (the Node fs store): lets another thread write the piece, so it can be hashed and written in one
   * step off the main thread. The store opens the piece's file for writing and calls `write` with positioned
   * targets while the file stays open, or with null when it cannot hand the piece out (a piece spanning
   * files); a `write` that did not write (null targets, a failed hash) answers `written: false` and the caller
   * uses `put` if it still wants the piece stored. A failed write comes back as `error`, a StorageError as
   * `put` would have thrown, with the result (and the buffer in it) kept.
   */
  putDelegated?: <T extends DelegatedWrite>(index: number, data: Uint8Array,
    write: (targets: readonly WriteTarget[] | null) => Promise<T>) => Promise<T & { error?: StorageError }>
  /** Releases resources (file descriptors); the data stays. */
  close (): Promise<void>
  /** Closes and deletes the data: for the fs store only the torrent's own files (and directories left empty). */
  destroy (): Promise<void>
}

/** Store options for a parsed torrent. */
export function storeOptionsFromTorrent (torrent: Pick<ParsedTorrent, 'pieceLength' | 'length' | 'files' | 'padFiles'>): Required<StoreOptions> {
  return { pieceLength: torrent.pieceLength, length: torrent.length, files: torrent.files, padFiles: torrent.padFiles }
}

/**
 * Pieces whose data lies (even partly) in a file that is missing or shorter than the torrent says, given
 * `stat()`'s answer: resume data claiming those pieces cannot be trusted (case 31: recheck). Ascending.
 */
export function piecesInIncompleteFiles (stats: readonly FileStat[], pieceLength: number): number[] {
  const out = new Set<number>()
  for (const f of stats) {
    if (f.length === 0 || (f.size !== null && f.size >= f.length)) continue
    const first = Math.floor(f.offset / pieceLength)
    const last = Math.floor((f.offset + f.length - 1) / pieceLength)
    for (let p = first; p <= last; p++) out.add(p)
  }
  return [...out].sort((a, b) => a - b)
}

/** Validated piece geometry with the range checks every store applies. */
export class PieceGeometry {
  readonly chunkLength: number
  readonly length: number
  readonly chunkCount: number
  readonly lastChunkLength: number

  constructor (pieceLength: number, length: number) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
      throw new StorageError('ERR_STORAGE_OPTIONS', 'create', `piece length must be a positive integer, got ${pieceLength}`)
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new StorageError('ERR_STORAGE_OPTIONS', 'create', `torrent length must be a positive integer, got ${length}`)
    }
    this.chunkLength = pieceLength
    this.length = length
    this.chunkCount = Math.ceil(length / pieceLength)
    this.lastChunkLength = length - (this.chunkCount - 1) * pieceLength
  }

  pieceLengthOf (index: number): number {
    return index === this.chunkCount - 1 ? this.lastChunkLength : this.chunkLength
  }

  /** Throws ERR_STORAGE_RANGE unless `index` is a piece of this torrent. */
  checkIndex (index: number, op: StorageOp): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.chunkCount) {
      throw new StorageError('ERR_STORAGE_RANGE', op, `piece index ${index} is outside 0..${this.chunkCount - 1}`)
    }
  }

  /** Throws ERR_STORAGE_RANGE unless `data` is exactly piece `index`. */
  checkPut (index: number, data: Uint8Array): void {
    this.checkIndex(index, 'put')
    if (!(data instanceof Uint8Array)) throw new StorageError('ERR_STORAGE_RANGE', 'put', 'piece data must be a Uint8Array')
    const expected = this.pieceLengthOf(index)
    if (data.length !== expected) {
      throw new StorageError('ERR_STORAGE_RANGE', 'put', `piece ${index} must be ${expected} bytes, got ${data.length}`)
    }
  }

  /** The [offset, length] a get asks for, or ERR_STORAGE_RANGE. */
  checkGet (index: number, opts: GetOptions | undefined): { offset: number, length: number } {
    this.checkIndex(index, 'get')
    const pieceLength = this.pieceLengthOf(index)
    const offset = opts?.offset ?? 0
    if (!Number.isInteger(offset) || offset < 0 || offset > pieceLength) {
      throw new StorageError('ERR_STORAGE_RANGE', 'get', `offset ${offset} is outside piece ${index} (${pieceLength} bytes)`)
    }
    const length = opts?.length ?? pieceLength - offset
    if (!Number.isInteger(length) || length < 0 || offset + length > pieceLength) {
      throw new StorageError('ERR_STORAGE_RANGE', 'get', `${length} bytes at ${offset} do not fit in piece ${index} (${pieceLength} bytes)`)
    }
    return { offset, length }
  }
}

export function closedError (op: StorageOp): StorageError {
  return new StorageError('ERR_STORAGE_CLOSED', op, 'the store is closed')
}

/**
 * Counts operations under way so close()/destroy() can wait for them. `run` rejects with
 * ERR_STORAGE_CLOSED once `shut()` was called; synchronous throws become rejections.
 */
export class OpTracker {
  private pending = new Set<Promise<unknown>>()
  private shutting = false

  get shut (): boolean {
    return this.shutting
  }

  run<T> (op: StorageOp, fn: () => Promise<T>): Promise<T> {
    if (this.shutting) return Promise.reject(closedError(op))
    let p: Promise<T>
    try {
      p = fn()
    } catch (err) {
      return Promise.reject(err)
    }
    const tracked = p.then(() => {}, () => {})
    this.pending.add(tracked)
    void tracked.then(() => this.pending.delete(tracked))
    return p
  }

  /** Refuses new operations and waits for those under way. */
  async shutDown (): Promise<void> {
    this.shutting = true
    while (this.pending.size) await Promise.all(this.pending)
  }
}
