/**
 * Typed errors of the metainfo layer. Codes are stable (callers may switch on them); messages may change.
 *  - MetainfoError: a .torrent / info dict that is malformed, over a limit, or of an unsupported version
 *    (ERR_TORRENT_INVALID, ERR_TORRENT_MISSING_FIELD, ERR_TORRENT_INVALID_FIELD, ERR_TORRENT_TOO_LARGE,
 *    ERR_TORRENT_TOO_MANY_PIECES, ERR_TORRENT_PIECES_MISMATCH, ERR_TORRENT_NOT_V1, ERR_TORRENT_VERSION,
 *    ERR_TORRENT_PATH_TOO_DEEP, ERR_TORRENT_DUPLICATE_PATHS, ERR_TORRENT_INFO_HASH_MISMATCH).
 *  - MagnetError: a magnet URI that is not a usable BitTorrent magnet (ERR_MAGNET_INVALID, ERR_MAGNET_NOT_V1).
 *  - TorrentIdError: a torrent id that is none of the accepted kinds, or could not be loaded
 *    (ERR_TORRENT_ID_INVALID, ERR_TORRENT_FETCH, ERR_TORRENT_PATH_UNSUPPORTED).
 *  - CreateTorrentError: bad input or options for createTorrent (ERR_CREATE_INPUT, ERR_CREATE_NO_FILES,
 *    ERR_CREATE_EMPTY, ERR_CREATE_OPTIONS, ERR_CREATE_FILE_CHANGED, ERR_CREATE_PATH_UNSUPPORTED, ERR_CREATE_READ).
 */
import { WasmTorrentError } from '../errors.js'

export class MetainfoError extends WasmTorrentError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'MetainfoError'
  }
}

export class MagnetError extends WasmTorrentError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'MagnetError'
  }
}

export class TorrentIdError extends WasmTorrentError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'TorrentIdError'
  }
}

export class CreateTorrentError extends WasmTorrentError {
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'CreateTorrentError'
  }
}

/** A downloaded .torrent (URL or file) over the size limit. */
export function tooLarge (what: string, maxBytes: number): MetainfoError {
  return new MetainfoError('ERR_TORRENT_TOO_LARGE', `${what} is larger than ${maxBytes} bytes`)
}
