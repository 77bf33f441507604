/**
 * A user file of a torrent (webtorrent's File): where it lies in the torrent's data, how much of it is
 * verified, and its piece selection. Streaming reads come with the full client API issue.
 */
import type { TorrentFile } from '../metainfo/types.js'

interface FileHost {
  readonly pieceLength: number
  readonly lastPieceLength: number
  readonly pieceCount: number
  hasPiece (index: number): boolean
  /** Sets this file's priority (0 = not wanted); pieces shared with other files keep the highest. */
  setFilePriority (file: File, priority: number): void
}

export class File {
  readonly name: string
  /** Path under the torrent's download directory ('/'-separated, sanitized). */
  readonly path: string
  readonly length: number
  /** Byte offset in the torrent's data. */
  readonly offset: number
  private readonly host: FileHost
  /** First and last piece holding bytes of this file (-1, -1 for an empty file). */
  readonly startPiece: number
  readonly endPiece: number

  constructor (host: FileHost, f: TorrentFile) {
    this.host = host
    this.name = f.name
    this.path = f.path
    this.length = f.length
    this.offset = f.offset
    if (f.length === 0) {
      this.startPiece = -1
      this.endPiece = -1
    } else {
      this.startPiece = Math.floor(f.offset / host.pieceLength)
      this.endPiece = Math.floor((f.offset + f.length - 1) / host.pieceLength)
    }
  }

  /** webtorrent's alias of `length`. */
  get size (): number {
    return this.length
  }

  /** Verified bytes of this file. */
  get downloaded (): number {
    if (this.length === 0) return 0
    const pl = this.host.pieceLength
    let n = 0
    for (let i = this.startPiece; i <= this.endPiece; i++) {
      if (!this.host.hasPiece(i)) continue
      const pieceStart = i * pl
      const pieceEnd = pieceStart + (i === this.host.pieceCount - 1 ? this.host.lastPieceLength : pl)
      n += Math.min(pieceEnd, this.offset + this.length) - Math.max(pieceStart, this.offset)
    }
    return n
  }

  get progress (): number {
    return this.length === 0 ? 1 : this.downloaded / this.length
  }

  /** Whether `piece` holds bytes of this file. */
  includes (piece: number): boolean {
    return this.length > 0 && piece >= this.startPiece && piece <= this.endPiece
  }

  /** Downloads this file (priority: higher tiers first). */
  select (priority = 1): void {
    this.host.setFilePriority(this, Math.max(1, priority))
  }

  /** Stops downloading this file (pieces it shares with a selected file are still downloaded). */
  deselect (): void {
    this.host.setFilePriority(this, 0)
  }
}
