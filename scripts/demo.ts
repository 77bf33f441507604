/**
 * `npm run demo`. Until the swarm engine lands (issue 5: a local seeder and downloader on loopback), this
 * shows the WASM codecs at work on a real torrent: decode, info-hash from the raw bytes, piece verification of
 * the real content, and the speed against the JavaScript libraries the kernels replace.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import npmBencode from 'bencode'
import { bencode, sha1, toHex } from '../src/index.js'

const fixtures = join(import.meta.dirname, '../node_modules/webtorrent-fixtures/fixtures')
const torrentBytes = readFileSync(join(fixtures, 'leaves.torrent'))
const content = readFileSync(join(fixtures, 'Leaves of Grass by Walt Whitman.epub'))

const { value, raw } = bencode.decodeWithRaw(torrentBytes)
const info = (value as { info: { name: Uint8Array, 'piece length': number, pieces: Uint8Array, length: number } }).info
const name = new TextDecoder().decode(info.name)
const pieceLength = info['piece length']
const pieceCount = info.pieces.length / 20

console.log(`torrent     ${name}`)
console.log(`info-hash   ${sha1.hex(raw.info)}  (SHA-1 of the raw info bytes)`)
console.log(`size        ${info.length.toLocaleString()} bytes in ${pieceCount} pieces of ${pieceLength / 1024} KiB`)

// Verify every piece of the real content against the torrent, in one batch call.
const digests = sha1.batch(content, pieceLength)
let good = 0
for (let i = 0; i < pieceCount; i++) {
  if (toHex(digests.subarray(i * 20, i * 20 + 20)) === toHex(info.pieces.subarray(i * 20, i * 20 + 20))) good++
}
console.log(`verified    ${good}/${pieceCount} pieces (sha1 engine: ${sha1.engine})`)

function opsPerSec (fn: () => unknown): number {
  for (let i = 0; i < 2000; i++) fn()
  const t = performance.now()
  let n = 0
  while (performance.now() - t < 500) { fn(); n++ }
  return n / ((performance.now() - t) / 1000)
}
const sintel = readFileSync(join(fixtures, 'sintel.torrent'))
const ours = opsPerSec(() => bencode.decode(sintel))
const theirs = opsPerSec(() => npmBencode.decode(sintel))
console.log(`decode      sintel.torrent: ${Math.round(ours).toLocaleString()}/s vs npm bencode ${Math.round(theirs).toLocaleString()}/s (${(ours / theirs).toFixed(1)}x)`)
process.exit(good === pieceCount ? 0 : 1)
