/**
 * Where the data of a torrent being seeded lives: a file or directory path (Node: the store's root is its
 * parent directory, since the torrent's name is the path's last component), or bytes (Uint8Arrays and Blobs,
 * concatenated in order, as createTorrent lays them out).
 */
import { WasmTorrentError } from '../errors.js'
import type { CreateTorrentInput } from '../metainfo/index.js'
import { seedRootOf } from '#client-platform'

export interface SeedSource {
  path?: string
  data?: Uint8Array
}

export async function seedSource (input: CreateTorrentInput): Promise<SeedSource> {
  const items = Array.isArray(input) ? input : [input]
  if (items.length === 1 && typeof items[0] === 'string') return { path: seedRootOf(items[0]) }
  const parts: Uint8Array[] = []
  for (const it of items) {
    if (it instanceof Uint8Array) parts.push(it)
    else if (typeof Blob !== 'undefined' && it instanceof Blob) parts.push(new Uint8Array(await it.arrayBuffer()))
    else {
      throw new WasmTorrentError('ERR_SEED_INPUT', 'seed() takes one file or directory path, or Uint8Arrays / Blobs; ' +
        'for other inputs create the torrent with createTorrent() and add it with its data in place')
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0)
  const data = new Uint8Array(total)
  let off = 0
  for (const p of parts) { data.set(p, off); off += p.length }
  return { data }
}
