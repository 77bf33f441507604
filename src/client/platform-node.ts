// Node: downloads go under the system temp directory by default, like webtorrent's /tmp/webtorrent.
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

export function defaultDownloadPath (): string | undefined {
  return join(tmpdir(), 'wasmtorrent')
}

/** The store root for seeding `path`: its parent directory (the torrent is named after the path itself). */
export function seedRootOf (path: string): string {
  return dirname(resolve(path))
}
