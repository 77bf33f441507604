/**
 * Automatic piece length, create-torrent's rule (npm `piece-length`) so that torrents made from the same files
 * get the same info-hash: the power of two nearest to size/1024 (about 1024 pieces), at least 16 KiB, at most
 * `max` (create-torrent's default maxPieceLength, 4 MiB). Unlike `piece-length` it does not wrap around for
 * sizes past 1.5 TiB (a JS 32-bit shift quirk there).
 */
export const DEFAULT_MAX_PIECE_LENGTH = 4 * 1024 * 1024
const MIN = 16 * 1024

export function autoPieceLength (totalBytes: number, max = DEFAULT_MAX_PIECE_LENGTH): number {
  const exp = Math.floor(Math.log2(totalBytes < 1024 ? 1 : totalBytes / 1024) + 0.5)
  return Math.min(Math.max(MIN, 2 ** exp), max)
}

export function isPowerOfTwo (n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n
}
