/** Inputs shared by benchmarks. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bencode } from '../src/index.js'
import { rng, randomBytes, randInt } from '../test/helpers/random.js'

export const FIXTURES = join(import.meta.dirname, '../node_modules/webtorrent-fixtures/fixtures')

/** sintel.torrent from webtorrent-fixtures: a real 26 KB single-torrent file (the "~30 KB torrent"). */
export function sintelTorrent (): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, 'sintel.torrent')))
}

/**
 * A large multi-file torrent shaped like real ones (nested paths, per-file lengths, an announce-list, a
 * pieces string): `files` files, 32 KiB pieces. Deterministic. With the defaults: 5,000 files, ~1.6 MB.
 */
export function largeMultiFileTorrent (files = 5000, seed = 42): Uint8Array {
  const rand = rng(seed)
  const word = () => {
    let s = ''
    for (let i = randInt(rand, 3, 12); i > 0; i--) s += String.fromCharCode(randInt(rand, 97, 122))
    return s
  }
  const list = []
  let total = 0
  for (let i = 0; i < files; i++) {
    const length = randInt(rand, 1, 600_000)
    total += length
    const path = Array.from({ length: randInt(rand, 1, 4) }, word)
    path[path.length - 1] += '.dat'
    list.push({ length, path })
  }
  const pieceLength = 32 * 1024
  const pieces = randomBytes(rand, Math.ceil(total / pieceLength) * 20)
  return bencode.encode({
    announce: 'http://127.0.0.1:8000/announce',
    'announce-list': [['http://127.0.0.1:8000/announce'], ['udp://127.0.0.1:8001']],
    comment: 'benchmark fixture',
    'created by': 'wasmtorrent bench',
    'creation date': 1700000000,
    info: { files: list, name: 'large', 'piece length': pieceLength, pieces }
  })
}
