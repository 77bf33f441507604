/** Shapes of parsed torrents and magnets (field names follow npm `parse-torrent` / `magnet-uri`). */
import type { BencodeValue } from '../bencode/index.js'

/** A user file of a torrent. Paths are sanitized (see sanitize.ts) and always use '/'. */
export interface TorrentFile {
  /** `name/dir/file` for multi-file torrents, `name` for single-file ones; safe to join under a download root. */
  path: string
  /** Last path component. */
  name: string
  length: number
  /** Byte offset of the file in the torrent's concatenated data (pad files included in the count). */
  offset: number
  /** BEP 47 attributes other than 'p' (e.g. 'x' executable, 'h' hidden), when present. */
  attr?: string
  /** BEP 47 symlink target (sanitized, '/'-separated, relative to the torrent root), only when it stays inside. */
  symlinkPath?: string
}

/** A BEP 47 pad file: zero bytes that align the next file to a piece boundary; never a user file. */
export interface PadFile {
  offset: number
  length: number
}

/** What a magnet URI or a bare info-hash gives: enough to find peers, no metadata yet. */
export interface MagnetTorrent {
  /** v1 info-hash, 40 lower-case hex characters. */
  infoHash: string
  infoHashBuffer: Uint8Array
  /** v2 info-hash (BEP 52, sha2-256) as 64 hex characters, when the magnet has a `btmh` topic. */
  infoHashV2?: string
  name?: string
  announce: string[]
  /** Web seeds (`ws`) and acceptable sources (`as`), as magnet-uri reports them. */
  urlList: string[]
  /** `x.pe` peer addresses (host:port). */
  peerAddresses: string[]
  /** `xs` exact sources. */
  exactSources?: string[]
  /** BEP 53 `so`: selected file indices, ascending. */
  so?: number[]
  keywords?: string[]
}

/** A torrent with its metadata (from a .torrent or, later, from ut_metadata). */
export interface ParsedTorrent extends MagnetTorrent {
  name: string
  /** The decoded info dict. */
  info: Record<string, BencodeValue>
  /** The raw bytes of the info dict exactly as they appeared: the info-hash is their SHA-1. */
  infoBuffer: Uint8Array
  files: TorrentFile[]
  /** BEP 47 pad files, in order (empty when there are none). */
  padFiles: PadFile[]
  /** Total bytes, pad files included (what the pieces cover). */
  length: number
  pieceLength: number
  lastPieceLength: number
  /** Piece hashes as hex strings (parse-torrent's shape). Built on first read from `pieceHashes`. */
  readonly pieces: string[]
  /** Piece hashes, 20 bytes each, concatenated (a view of info.pieces). */
  pieceHashes: Uint8Array
  private?: boolean
  created?: Date
  createdBy?: string
  comment?: string
  /** 'v1', or 'hybrid' for a BEP 52 hybrid torrent loaded through its v1 half. */
  version: 'v1' | 'hybrid'
}

/** Everything parseTorrent accepts. Strings: magnet URI, info-hash (hex/base32), http(s) URL, or a file path. */
export type TorrentId = string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob | ParsedTorrent | MagnetTorrent |
  { infoHash: string, [key: string]: unknown }
