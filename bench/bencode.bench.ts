import npmBencode from 'bencode'
import { bencode } from '../src/index.js'
import type { BenchGroup } from './lib.js'
import { largeMultiFileTorrent, sintelTorrent } from './fixtures.js'

const small = sintelTorrent()
const large = largeMultiFileTorrent()
const smallValue = npmBencode.decode(small)
const largeValue = npmBencode.decode(large)
let sink: unknown

function group (label: string, bytes: Uint8Array, value: unknown, time = 1000): BenchGroup[] {
  return [
    {
      name: `bencode decode: ${label}`,
      bytesPerOp: bytes.length,
      target: 3,
      time,
      cases: [
        { name: 'wasmtorrent', ours: true, fn: () => { sink = bencode.decode(bytes) } },
        { name: 'wasmtorrent (copy: true)', fn: () => { sink = bencode.decode(bytes, { copy: true }) } },
        { name: 'npm bencode 4', baseline: true, fn: () => { sink = npmBencode.decode(bytes) } }
      ]
    },
    {
      name: `bencode encode: ${label}`,
      bytesPerOp: bytes.length,
      time,
      cases: [
        { name: 'wasmtorrent', ours: true, fn: () => { sink = bencode.encode(value) } },
        { name: 'npm bencode 4', baseline: true, fn: () => { sink = npmBencode.encode(value) } }
      ]
    }
  ]
}

export const groups: BenchGroup[] = [
  ...group(`sintel.torrent (${(small.length / 1024).toFixed(0)} KB)`, small, smallValue),
  ...group(`5,000-file torrent (${(large.length / 1e6).toFixed(1)} MB)`, large, largeValue, 2000)
]

export { sink }
