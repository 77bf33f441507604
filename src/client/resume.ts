/**
 * Resume: which pieces does the data already on disk hold?
 *
 * - Fast resume: a `bitfield` from an earlier session is trusted when it fits this torrent (right length,
 *   spare bits clear, the info-hash it was saved for matches) and every file it claims pieces of is as long
 *   as the torrent says. Otherwise (case 31: wrong info-hash, bitfield length, truncated files) it is ignored
 *   and everything is rechecked.
 * - Recheck: pieces whose bytes lie in missing or short files cannot be complete and are skipped; the rest
 *   are read from the store and hashed on the verifier (worker threads in Node), a few at a time.
 */
import type { ChunkStore, FileStat } from '../storage/index.js'
import type { PieceVerifier } from '../engine/verifier.js'

// Pieces read and hashed at once during a recheck: enough to keep every hashing worker busy while the next
// reads are in flight, few enough to bound memory (RECHECK_PARALLEL x piece length).
const RECHECK_PARALLEL = 8

export interface ResumeInput {
  pieceLength: number
  length: number
  pieceHashes: Uint8Array
  infoHash: string
}

export interface ResumeData {
  /** BEP 3 bitfield bytes of verified pieces. */
  bitfield: Uint8Array
  /** The info-hash the bitfield was saved for, when known. */
  infoHash?: string
}

/** Pieces that lie (partly) in a file that is missing or shorter than the torrent says. */
function piecesInShortFiles (stats: readonly FileStat[], pieceLength: number, pieces: number): Uint8Array {
  const bad = new Uint8Array(pieces)
  for (const f of stats) {
    const have = f.size ?? 0
    if (have >= f.length) continue
    const from = Math.floor((f.offset + have) / pieceLength)
    const to = Math.min(pieces - 1, Math.floor((f.offset + f.length - 1) / pieceLength))
    for (let i = from; i <= to; i++) bad[i] = 1
  }
  return bad
}

function validBitfield (t: ResumeInput, r: ResumeData, pieces: number): boolean {
  if (r.infoHash !== undefined && r.infoHash.toLowerCase() !== t.infoHash) return false
  if (!(r.bitfield instanceof Uint8Array) || r.bitfield.length !== Math.ceil(pieces / 8)) return false
  const spare = pieces & 7
  return spare === 0 || (r.bitfield[r.bitfield.length - 1] & (0xff >> spare)) === 0
}

/** Returns the bitfield of pieces present and correct in `store`. */
export async function checkExisting (t: ResumeInput, store: ChunkStore, verifier: PieceVerifier,
  resume?: ResumeData, onProgress?: (checked: number, total: number) => void): Promise<{ bitfield: Uint8Array, rechecked: boolean }> {
  const pieces = Math.ceil(t.length / t.pieceLength)
  const bitfield = new Uint8Array(Math.ceil(pieces / 8))
  const stats = await store.stat()
  const short = piecesInShortFiles(stats, t.pieceLength, pieces)

  if (resume && validBitfield(t, resume, pieces)) {
    let consistent = true
    for (let i = 0; i < pieces && consistent; i++) {
      if ((resume.bitfield[i >> 3] & (0x80 >> (i & 7))) !== 0 && short[i] === 1) consistent = false
    }
    if (consistent) return { bitfield: resume.bitfield.slice(), rechecked: false }
  }

  const todo: number[] = []
  for (let i = 0; i < pieces; i++) if (short[i] === 0) todo.push(i)
  let next = 0
  let checked = 0
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const i = todo[next++]
      let data: Uint8Array
      try {
        data = await store.get(i)
      } catch {
        continue // unreadable: not present
      }
      const { digest } = await verifier.verify(data, 0)
      const expected = t.pieceHashes.subarray(i * 20, i * 20 + 20)
      let ok = true
      for (let k = 0; k < 20; k++) if (digest[k] !== expected[k]) { ok = false; break }
      if (ok) bitfield[i >> 3] |= 0x80 >> (i & 7)
      onProgress?.(++checked, todo.length)
    }
  }
  await Promise.all(Array.from({ length: Math.min(RECHECK_PARALLEL, todo.length) }, worker))
  return { bitfield, rechecked: true }
}
