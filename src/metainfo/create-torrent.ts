/**
 * createTorrent(input, opts) -> .torrent bytes, compatible with npm create-torrent (same info dict for the
 * same files, piece length and options, so the same info-hash), but hashing while streaming on all cores.
 * See create-input.ts for how inputs become files and piece-hashing.ts for the hashing.
 *
 * Differences from create-torrent, on purpose: no public trackers are added when no announce list is given
 * (a torrent announces where its creator says), and piece lengths must be powers of two from 16 KiB to
 * 128 MiB.
 */
import { bencode, type BencodeValue } from '../bencode/index.js'
import { ready } from '../wasm/index.js'
import { collectInput, type CreateTorrentInput } from './create-input.js'
import { CreateTorrentError } from './errors.js'
import { MAX_CREATE_PIECE_LENGTH, MAX_PIECES, MIN_CREATE_PIECE_LENGTH } from './limits.js'
import { createPieceHasher } from './piece-hasher.js'
import { hashPieces } from './piece-hashing.js'
import { autoPieceLength, DEFAULT_MAX_PIECE_LENGTH, isPowerOfTwo } from './piece-length.js'

export type { CreateTorrentInput, CreateTorrentItem, ChunkSource } from './create-input.js'

export interface CreateTorrentOptions {
  /** Torrent name (default: the common folder, or the first input's name). */
  name?: string
  comment?: string
  createdBy?: string
  /** BEP 27 private flag; when given (true or false) it is written into the info dict, as create-torrent does. */
  private?: boolean
  /** Bytes per piece, a power of two from 16 KiB to 128 MiB (default: automatic, see piece-length.ts). */
  pieceLength?: number
  /** Upper bound for the automatic piece length (default 4 MiB). */
  maxPieceLength?: number
  /** Tracker tiers, e.g. [['udp://a'], ['wss://b']]. */
  announceList?: string[][]
  /** Trackers, one tier each (used when announceList is absent). */
  announce?: string | string[]
  /** BEP 19 web seeds. */
  urlList?: string | string[]
  /** Creation date (default now); false leaves it out (reproducible output, like mktorrent -d). */
  creationDate?: Date | number | false
  /** Extra keys for the info dict (e.g. { source: 'x' }); they change the info-hash. */
  info?: Record<string, BencodeValue>
  /** Called as pieces are hashed: bytes hashed so far, total bytes expected. */
  onProgress?: (hashedBytes: number, totalBytes: number) => void
  signal?: AbortSignal
}

function validate (opts: CreateTorrentOptions): void {
  const pl = opts.pieceLength
  if (pl !== undefined && !(isPowerOfTwo(pl) && pl >= MIN_CREATE_PIECE_LENGTH && pl <= MAX_CREATE_PIECE_LENGTH)) {
    throw new CreateTorrentError('ERR_CREATE_OPTIONS',
      `pieceLength must be a power of two from ${MIN_CREATE_PIECE_LENGTH} to ${MAX_CREATE_PIECE_LENGTH} bytes, got ${pl}`)
  }
  const max = opts.maxPieceLength
  if (max !== undefined && !(isPowerOfTwo(max) && max >= MIN_CREATE_PIECE_LENGTH && max <= MAX_CREATE_PIECE_LENGTH)) {
    throw new CreateTorrentError('ERR_CREATE_OPTIONS', `maxPieceLength must be a power of two from ${MIN_CREATE_PIECE_LENGTH} to ${MAX_CREATE_PIECE_LENGTH} bytes`)
  }
  if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name === '')) {
    throw new CreateTorrentError('ERR_CREATE_OPTIONS', 'name must be a non-empty string')
  }
  if (opts.announceList !== undefined && !(Array.isArray(opts.announceList) && opts.announceList.every(t => Array.isArray(t) && t.every(u => typeof u === 'string')))) {
    throw new CreateTorrentError('ERR_CREATE_OPTIONS', 'announceList must be a list of lists of URLs')
  }
}

function announceTiers (opts: CreateTorrentOptions): string[][] {
  if (opts.announceList) return opts.announceList.filter(t => t.length > 0)
  if (typeof opts.announce === 'string') return [[opts.announce]]
  if (Array.isArray(opts.announce)) return opts.announce.map(u => [u])
  return []
}

/** Creates a .torrent from files, directories, bytes, Blobs or streams. Throws CreateTorrentError on bad input. */
export async function createTorrent (input: CreateTorrentInput, opts: CreateTorrentOptions = {}): Promise<Uint8Array> {
  validate(opts)
  await ready
  const { files, name, singleFile } = await collectInput(input, opts.name)
  const estimated = files.reduce((n, f) => n + f.length, 0)
  const pieceLength = opts.pieceLength ?? autoPieceLength(estimated, opts.maxPieceLength ?? DEFAULT_MAX_PIECE_LENGTH)
  if (Math.ceil(estimated / pieceLength) > MAX_PIECES) {
    throw new CreateTorrentError('ERR_CREATE_OPTIONS', `${estimated} bytes in ${pieceLength}-byte pieces exceed ${MAX_PIECES} pieces: use larger pieces`)
  }
  const hasStreams = files.some(f => f.data.kind === 'stream')
  const hasher = createPieceHasher(hasStreams ? Infinity : estimated)
  const pieces = await hashPieces(files, pieceLength, hasher, { onProgress: opts.onProgress, totalBytes: estimated, signal: opts.signal })
  const total = files.reduce((n, f) => n + f.length, 0)
  if (total === 0) throw new CreateTorrentError('ERR_CREATE_EMPTY', 'the inputs hold no data (a torrent needs at least one byte)')

  const info: Record<string, BencodeValue> = { name, 'piece length': pieceLength, pieces }
  if (opts.private !== undefined) info.private = opts.private ? 1 : 0
  if (opts.info) Object.assign(info, opts.info)
  if (singleFile) info.length = total
  else info.files = files.map(f => ({ length: f.length, path: f.path }))

  const torrent: Record<string, BencodeValue> = { info, encoding: 'UTF-8' }
  if (opts.creationDate !== false) {
    const created = opts.creationDate === undefined ? Date.now() : Number(opts.creationDate)
    torrent['creation date'] = Math.ceil(created / 1000)
  }
  const tiers = announceTiers(opts)
  if (tiers.length) {
    torrent.announce = tiers[0][0]
    torrent['announce-list'] = tiers
  }
  if (opts.comment !== undefined) torrent.comment = opts.comment
  if (opts.createdBy !== undefined) torrent['created by'] = opts.createdBy
  if (opts.urlList !== undefined) torrent['url-list'] = typeof opts.urlList === 'string' ? [opts.urlList] : opts.urlList
  return bencode.encode(torrent)
}
