/**
 * parseTorrent vs npm parse-torrent on .torrent bytes. Ours builds parse-torrent's hex `pieces` array lazily
 * (the engine uses the raw hashes), so the "+ read pieces" case is the like-for-like comparison; both are
 * reported. Ours also sanitizes every path and checks the piece count, which parse-torrent does not.
 */
import parseTorrentNpm from 'parse-torrent'
import { parseTorrent } from '../src/index.js'
import type { ParsedTorrent } from '../src/index.js'
import type { BenchGroup } from './lib.js'
import { largeMultiFileTorrent, sintelTorrent } from './fixtures.js'

const small = sintelTorrent()
const large = largeMultiFileTorrent()
let sink: unknown

function group (label: string, bytes: Uint8Array, time: number): BenchGroup {
  return {
    name: `parseTorrent: ${label}`,
    bytesPerOp: bytes.length,
    target: 2,
    time,
    cases: [
      { name: 'wasmtorrent', ours: true, fn: async () => { sink = await parseTorrent(bytes) } },
      { name: 'wasmtorrent + read pieces', fn: async () => { sink = ((await parseTorrent(bytes)) as ParsedTorrent).pieces } },
      { name: 'parse-torrent 11', baseline: true, fn: async () => { sink = await parseTorrentNpm(bytes) } }
    ]
  }
}

export const groups: BenchGroup[] = [
  group(`sintel.torrent (${(small.length / 1024).toFixed(0)} KB)`, small, 1000),
  group(`5,000-file torrent (${(large.length / 1e6).toFixed(1)} MB)`, large, 2000)
]

export { sink }
