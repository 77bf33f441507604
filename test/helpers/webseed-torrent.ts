/** Torrents with multi-file layouts (pad files, 0-byte files) for web seed tests. */
import { createHash } from 'node:crypto'
import type { PadFile, TorrentFile } from '../../src/metainfo/types.js'
import type { BencodeValue } from '../../src/bencode/index.js'
import type { WebSeedTorrent } from '../../src/webseed/index.js'
import { rng, randomBytes } from './random.js'
import type { WebSeedServer } from './webseed-server.js'

export interface FileSpec {
  /** Path components under the torrent name (ignored for single-file torrents). */
  path: string[]
  length: number
  pad?: boolean
}

export interface TestTorrent {
  torrent: WebSeedTorrent
  data: Uint8Array
  hashes: Uint8Array<ArrayBuffer>
  n: number
  full: Uint8Array<ArrayBuffer>
  /** Contents of each user file, in order. */
  contents: Uint8Array[]
}

/** A multi-file torrent (info.files present) of `specs`; pad files hold zeros. `single` makes a single-file one. */
export function buildTorrent (name: string, specs: FileSpec[], pieceLength: number, seed = 1, single = false): TestTorrent {
  const total = specs.reduce((a, s) => a + s.length, 0)
  const data = randomBytes(rng(seed), total)
  const files: TorrentFile[] = []
  const padFiles: PadFile[] = []
  const contents: Uint8Array[] = []
  let offset = 0
  for (const s of specs) {
    if (s.pad === true) {
      data.fill(0, offset, offset + s.length)
      if (s.length > 0) padFiles.push({ offset, length: s.length })
    } else {
      const path = single ? name : [name, ...s.path].join('/')
      files.push({ path, name: single ? name : s.path[s.path.length - 1], length: s.length, offset })
      contents.push(data.slice(offset, offset + s.length))
    }
    offset += s.length
  }
  const n = Math.ceil(total / pieceLength)
  const hashes = new Uint8Array(n * 20)
  for (let i = 0; i < n; i++) hashes.set(createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest(), i * 20)
  const full = new Uint8Array(Math.ceil(n / 8))
  for (let i = 0; i < n; i++) full[i >> 3] |= 0x80 >> (i & 7)
  const enc = new TextEncoder()
  const info = (single
    ? { name: enc.encode(name), length: total, 'piece length': pieceLength }
    : {
        name: enc.encode(name),
        'piece length': pieceLength,
        files: specs.map(s => s.pad === true
          ? { length: s.length, path: [enc.encode('.pad'), enc.encode(String(s.length))], attr: enc.encode('p') }
          : { length: s.length, path: s.path.map(c => enc.encode(c)) })
      }) as unknown as Record<string, BencodeValue>
  return { torrent: { name, pieceLength, length: total, files, padFiles, info }, data, hashes, n, full, contents }
}

/** Serves the torrent's files under `prefix` the way BEP 19 lays them out ('<prefix><name>/<path>'). */
export function serveTorrent (server: WebSeedServer, t: TestTorrent, prefix = '/seed/', single = false): void {
  const specsFiles = t.torrent.files
  specsFiles.forEach((f, i) => {
    server.files.set(single ? prefix + t.torrent.name : prefix + f.path, t.contents[i])
  })
}
