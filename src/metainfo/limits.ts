/** Limits of the metainfo layer, each with the reason it has that value. */

/** Largest .torrent accepted, from bytes, a file or a URL: libtorrent's default (max torrent file 10 MB). */
export const MAX_TORRENT_BYTES = 10 * 1000 * 1000

/** Most pieces accepted in a torrent: libtorrent's default `max_pieces` (0x200000). */
export const MAX_PIECES = 0x200000

/**
 * Largest piece length accepted when parsing: a piece is held in memory whole while it is verified, so 512 MiB
 * bounds that; real torrents use <= 64 MiB (libtorrent refuses to create pieces larger than 128 MiB).
 */
export const MAX_PIECE_LENGTH = 512 * 1024 * 1024

/** Deepest directory nesting in a file path (bad-input case 9; libtorrent rejects deeper paths too). */
export const MAX_PATH_DEPTH = 100

/**
 * Most file paths that may need renaming because they collide (same name, case-insensitively, or a file named
 * like a directory). More than this is a crafted torrent (bad-input case 9): rejected, also to keep the
 * renaming work bounded.
 */
export const MAX_DUPLICATE_PATHS = 500

/** Longest path component in UTF-8 bytes: NAME_MAX on Linux and macOS, and NTFS's 255 UTF-16 units. */
export const MAX_COMPONENT_BYTES = 255

/** Body limit for a .torrent fetched over HTTP(S): the same as a .torrent file (MAX_TORRENT_BYTES). */
export const MAX_FETCH_BYTES = MAX_TORRENT_BYTES

/** Time limit for fetching a .torrent URL (parse-torrent's 30 s). */
export const FETCH_TIMEOUT_MS = 30_000

/** Redirects followed when fetching a .torrent URL (browsers' and undici's customary small bound). */
export const MAX_FETCH_REDIRECTS = 5

/** Most file indices a magnet's BEP 53 `so` ranges may expand to (a range like 0-4294967295 is a bomb). */
export const MAX_SELECT_INDICES = 1 << 20

/** Piece lengths createTorrent accepts: powers of two from 16 KiB (one block, BEP 52) to 128 MiB (libtorrent's create_torrent limit; bounds in-flight hashing memory). */
export const MIN_CREATE_PIECE_LENGTH = 16 * 1024
export const MAX_CREATE_PIECE_LENGTH = 128 * 1024 * 1024
