/**
 * The memory chunk store: a Map of piece buffers (only pieces actually put take memory). Used in browsers
 * by default and in tests; `quota` makes it fail writes with ERR_STORAGE_NO_SPACE past a byte budget, so
 * the engine's upload-only path (case 30) can be exercised anywhere.
 */
import {
  OpTracker, PieceGeometry, StorageError, type ChunkStore, type FileStat, type GetOptions, type StoreOptions
} from './chunk-store.js'

export interface MemoryStoreOptions extends StoreOptions {
  /** Bytes the store may hold; a put that would exceed it fails with ERR_STORAGE_NO_SPACE (default: none). */
  quota?: number
}

export class MemoryStore implements ChunkStore {
  readonly chunkLength: number
  readonly length: number
  readonly chunkCount: number
  readonly lastChunkLength: number
  private readonly geometry: PieceGeometry
  private readonly opts: MemoryStoreOptions
  private chunks = new Map<number, Uint8Array>()
  private bytes = 0
  private readonly ops = new OpTracker()

  constructor (opts: MemoryStoreOptions) {
    this.geometry = new PieceGeometry(opts?.pieceLength, opts?.length)
    this.chunkLength = this.geometry.chunkLength
    this.length = this.geometry.length
    this.chunkCount = this.geometry.chunkCount
    this.lastChunkLength = this.geometry.lastChunkLength
    if (opts.quota !== undefined && !(opts.quota >= 0)) {
      throw new StorageError('ERR_STORAGE_OPTIONS', 'create', `quota must be a non-negative number, got ${opts.quota}`)
    }
    this.opts = opts
  }

  get closed (): boolean {
    return this.ops.shut
  }

  /** Bytes held. */
  get storedBytes (): number {
    return this.bytes
  }

  put (index: number, data: Uint8Array): Promise<void> {
    return this.ops.run('put', async () => {
      this.geometry.checkPut(index, data)
      const old = this.chunks.get(index)?.length ?? 0
      const quota = this.opts.quota
      if (quota !== undefined && this.bytes - old + data.length > quota) {
        throw new StorageError('ERR_STORAGE_NO_SPACE', 'put', `memory store quota of ${quota} bytes exceeded`)
      }
      this.chunks.set(index, data.slice()) // the caller may reuse its buffer (the engine pools them)
      this.bytes += data.length - old
    })
  }

  get (index: number, opts?: GetOptions): Promise<Uint8Array> {
    return this.ops.run('get', async () => {
      const { offset, length } = this.geometry.checkGet(index, opts)
      const chunk = this.chunks.get(index)
      if (!chunk) throw new StorageError('ERR_STORAGE_MISSING', 'get', `piece ${index} is not stored`)
      return chunk.slice(offset, offset + length)
    })
  }

  /**
   * Per file (or one pseudo-file '' covering the torrent when no files were given): `size` is how many bytes
   * from the file's start are stored (contiguous pieces), never null: memory has no files to lose.
   */
  stat (): Promise<FileStat[]> {
    return this.ops.run('stat', async () => {
      const files = this.opts.files ?? [{ path: '', offset: 0, length: this.length }]
      return files.map(f => {
        let end = f.offset
        const fileEnd = f.offset + f.length
        while (end < fileEnd && this.chunks.has(Math.floor(end / this.chunkLength))) {
          end = (Math.floor(end / this.chunkLength) + 1) * this.chunkLength
        }
        return { path: f.path, offset: f.offset, length: f.length, size: Math.min(end, fileEnd) - f.offset, mtimeMs: null }
      })
    })
  }

  async close (): Promise<void> {
    await this.ops.shutDown()
  }

  async destroy (): Promise<void> {
    await this.close()
    this.chunks.clear()
    this.bytes = 0
  }
}
