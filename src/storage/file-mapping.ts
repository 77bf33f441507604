/**
 * Maps piece ranges onto a multi-file layout. The torrent's data is its files concatenated in order, BEP 47
 * pad files included; a piece may start in one file and end in another, or span many tiny files. A range
 * becomes a list of segments, each inside one user file or one pad file (pad segments are never written and
 * read as zeros). 0-byte files cover no bytes and never appear in segments.
 */
import type { PadFile } from '../metainfo/types.js'
import { PieceGeometry, StorageError, type StoreFile } from './chunk-store.js'

/** Part of a range that lies in one file. */
export interface Segment {
  /** Index into the layout's `files`, or -1 for a pad file. */
  file: number
  /** Byte offset inside that file. */
  fileOffset: number
  length: number
  /** Byte offset inside the range (the piece buffer when the range starts at the piece). */
  bufOffset: number
}

export class FileMapping extends PieceGeometry {
  readonly files: readonly StoreFile[]
  // The non-empty files and pad files sorted by offset: start offsets, and file index (-1 for pads).
  private readonly starts: number[] = []
  private readonly owners: number[] = []

  constructor (pieceLength: number, length: number, files: readonly StoreFile[], padFiles: readonly PadFile[] = []) {
    super(pieceLength, length)
    this.files = files
    const spans: Array<{ offset: number, length: number, owner: number }> = []
    files.forEach((f, i) => {
      if (!Number.isSafeInteger(f.length) || f.length < 0 || !Number.isSafeInteger(f.offset) || f.offset < 0) {
        throw new StorageError('ERR_STORAGE_OPTIONS', 'create', `file ${i} has an invalid offset or length`)
      }
      if (f.length > 0) spans.push({ offset: f.offset, length: f.length, owner: i })
    })
    for (const p of padFiles) {
      if (!Number.isSafeInteger(p.length) || p.length < 0 || !Number.isSafeInteger(p.offset) || p.offset < 0) {
        throw new StorageError('ERR_STORAGE_OPTIONS', 'create', 'a pad file has an invalid offset or length')
      }
      if (p.length > 0) spans.push({ offset: p.offset, length: p.length, owner: -1 })
    }
    spans.sort((a, b) => a.offset - b.offset)
    let end = 0
    for (const s of spans) {
      if (s.offset !== end) {
        throw new StorageError('ERR_STORAGE_OPTIONS', 'create', `files must cover the torrent without gaps or overlaps (byte ${Math.min(end, s.offset)})`)
      }
      this.starts.push(s.offset)
      this.owners.push(s.owner)
      end += s.length
    }
    if (end !== length) {
      throw new StorageError('ERR_STORAGE_OPTIONS', 'create', `files add up to ${end} bytes, the torrent has ${length}`)
    }
  }

  /** Index of the span holding torrent byte `pos` (binary search). */
  private spanAt (pos: number): number {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.starts[mid] <= pos) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  private spanEnd (i: number): number {
    return i + 1 < this.starts.length ? this.starts[i + 1] : this.length
  }

  /** Segments of `length` bytes at torrent offset `start` (which must lie inside the torrent). */
  range (start: number, length: number): Segment[] {
    const out: Segment[] = []
    if (length <= 0) return out
    let pos = start
    const end = start + length
    for (let i = this.spanAt(pos); pos < end; i++) {
      const spanStart = this.starts[i]
      const n = Math.min(end, this.spanEnd(i)) - pos
      out.push({ file: this.owners[i], fileOffset: pos - spanStart, length: n, bufOffset: pos - start })
      pos += n
    }
    return out
  }

  /** Segments of `length` bytes at `offset` inside piece `index` (both already range-checked). */
  segments (index: number, offset = 0, length = this.pieceLengthOf(index) - offset): Segment[] {
    return this.range(index * this.chunkLength + offset, length)
  }

  /** The pieces file `i` lies in, or null for a 0-byte file. */
  piecesOfFile (i: number): { first: number, last: number } | null {
    const f = this.files[i]
    if (f.length === 0) return null
    return { first: Math.floor(f.offset / this.chunkLength), last: Math.floor((f.offset + f.length - 1) / this.chunkLength) }
  }
}
