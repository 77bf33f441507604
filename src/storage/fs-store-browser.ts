/**
 * Browsers have no file system: the fs store's constructor throws ERR_STORAGE_UNSUPPORTED ("#fs-store",
 * default condition). Use the memory store, or pass your own ChunkStore.
 */
import { StorageError, type FsStoreOptions } from './chunk-store.js'
import type { FsStore as NodeFsStore } from './fs-store.js'

export type { FsStoreOptions } from './chunk-store.js'

/** True where the fs store works (false here). */
export const canUseFsStore = false

class UnsupportedFsStore {
  constructor (_opts: FsStoreOptions) {
    throw new StorageError('ERR_STORAGE_UNSUPPORTED', 'create', 'the file-system store is not available in this runtime: use the memory store or a custom store')
  }
}

export const FsStore = UnsupportedFsStore as unknown as typeof NodeFsStore
