/**
 * Opening a torrent's store: a caller-provided factory, else the file-system store under `path` where the
 * runtime has one (Node), else memory. Preloaded data (seeding from buffers) is written in before use.
 */
import { MemoryStore, FsStore, canUseFsStore, storeOptionsFromTorrent, type ChunkStore, type StoreOptions } from '../storage/index.js'
import type { ParsedTorrent } from '../metainfo/types.js'

export type StoreFactory = (opts: Required<StoreOptions> & { path?: string }) => ChunkStore

export async function openStore (t: ParsedTorrent, o: { path?: string, factory?: StoreFactory, preloaded?: Uint8Array }): Promise<ChunkStore> {
  const so = storeOptionsFromTorrent(t)
  let store: ChunkStore
  if (o.factory) store = o.factory({ ...so, path: o.path })
  else if (canUseFsStore && o.path !== undefined && o.preloaded === undefined) store = new FsStore({ ...so, path: o.path })
  else store = new MemoryStore(so)
  if (o.preloaded) {
    const n = Math.ceil(t.length / t.pieceLength)
    for (let i = 0; i < n; i++) await store.put(i, o.preloaded.subarray(i * t.pieceLength, Math.min(t.length, (i + 1) * t.pieceLength)))
  }
  return store
}
