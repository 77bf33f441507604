/** The platform seam for torrent ids that are file paths or URLs ("#torrent-source" in package.json). */
export { canReadPaths, readTorrentPath, fetchTorrentUrl } from '#torrent-source'

export interface FetchOptions {
  maxBytes: number
  timeoutMs: number
  maxRedirects: number
  signal?: AbortSignal
}
