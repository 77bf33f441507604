/** A file-system store that corrupts what it reads: a seeder built on it sends bad blocks (case 29). */
import { FsStore, type GetOptions, type StoreOptions } from '../../src/index.js'

/** Flips one byte of the second 16 KiB block of every piece it reads (so some pieces mix good and bad blocks). */
export class CorruptingStore extends FsStore {
  corrupted = 0
  override async get (index: number, opts: GetOptions = {}): Promise<Uint8Array> {
    const data = await super.get(index, opts)
    const off = opts.offset ?? 0
    if (off <= 16384 && off + data.length > 16384) {
      const out = data.slice()
      out[16384 - off] ^= 0xff
      this.corrupted++
      return out
    }
    return data
  }
}

/** A `store` option for client.add(): the store it made is in `.store`. */
export function corruptingStoreFactory (): { factory: (o: Required<StoreOptions> & { path?: string }) => CorruptingStore, store: CorruptingStore | null } {
  const box: { factory: (o: Required<StoreOptions> & { path?: string }) => CorruptingStore, store: CorruptingStore | null } = {
    store: null,
    factory: o => (box.store = new CorruptingStore({ ...o, path: o.path! }))
  }
  return box
}
