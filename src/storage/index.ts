// Storage: the chunk-store interface, the memory store, the piece -> file mapping.
// The Node file-system store is ./fs-store.ts, reached through "#fs-store" (browser: fs-store-browser.ts).
export {
  StorageError, isUploadOnlyError, storageErrorFrom, storeOptionsFromTorrent, piecesInIncompleteFiles, PieceGeometry
} from './chunk-store.js'
export type {
  ChunkStore, DelegatedWrite, GetOptions, WriteTarget, StoreOptions, StoreFile, FileStat, FsStoreOptions, StorageErrorCode, StorageOp
} from './chunk-store.js'
export { MemoryStore } from './memory-store.js'
export type { MemoryStoreOptions } from './memory-store.js'
export { FileMapping } from './file-mapping.js'
export type { Segment } from './file-mapping.js'
export { FdCache, DEFAULT_MAX_OPEN_FILES } from './fd-cache.js'
export { FsStore, canUseFsStore } from '#fs-store'
