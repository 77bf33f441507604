/** Browsers have no file-system paths: createTorrent refuses string inputs ("#create-fs", default condition). */
import { CreateTorrentError } from './errors.js'
import type { FsFile } from './create-fs.js'

export const canWalkPaths = false

function unsupported (): never {
  throw new CreateTorrentError('ERR_CREATE_PATH_UNSUPPORTED', 'file-system paths cannot be read in this runtime: pass Files, Blobs or Uint8Arrays')
}

export async function isFilePath (_path: string): Promise<boolean> {
  unsupported()
}

export async function expandPath (_path: string, _keepRoot: boolean): Promise<FsFile[]> {
  unsupported()
}

export function basename (path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean)
  return parts[parts.length - 1] ?? ''
}
