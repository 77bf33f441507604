/**
 * Node: the files under createTorrent's path inputs ("#create-fs", node condition). Directories are walked
 * recursively in a deterministic order (entries sorted by their UTF-8 bytes, which is also Node's readdir
 * order that create-torrent relies on), hidden and junk entries skipped, symlinks followed with cycle
 * detection, anything that is neither file nor directory ignored.
 */
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { CreateTorrentError } from './errors.js'
import { isSkippedDirEntry } from './junk.js'
import { MAX_PATH_DEPTH } from './limits.js'
import type { FsFile } from './create-fs.js'

export const canWalkPaths = true

export function basename (p: string): string {
  return path.basename(path.resolve(p))
}

async function statOrThrow (p: string) {
  try {
    return await stat(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CreateTorrentError('ERR_CREATE_INPUT', `cannot read ${p}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, { cause: err })
  }
}

export async function isFilePath (p: string): Promise<boolean> {
  return (await statOrThrow(p)).isFile()
}

function byteOrder (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/**
 * The files under `p`, with torrent paths relative to `p` itself, or to its parent when `keepRoot` (then the
 * input's own name is the first component).
 */
export async function expandPath (p: string, keepRoot: boolean): Promise<FsFile[]> {
  const root = path.resolve(p)
  const out: FsFile[] = []
  const ancestors = new Set<string>()

  async function walk (fsPath: string, rel: string[]): Promise<void> {
    const s = await statOrThrow(fsPath)
    if (s.isFile()) {
      out.push({ fsPath, path: rel, length: s.size })
      return
    }
    if (!s.isDirectory()) return
    if (rel.length > MAX_PATH_DEPTH) {
      throw new CreateTorrentError('ERR_CREATE_INPUT', `${fsPath} is nested more than ${MAX_PATH_DEPTH} directories deep`)
    }
    const id = `${s.dev}:${s.ino}`
    if (ancestors.has(id)) return // a symlink back to an ancestor: walk it once
    ancestors.add(id)
    const entries = (await readdir(fsPath)).filter(e => !isSkippedDirEntry(e)).sort(byteOrder)
    for (const e of entries) await walk(path.join(fsPath, e), [...rel, e])
    ancestors.delete(id)
  }

  const s = await statOrThrow(root)
  const name = path.basename(root)
  if (s.isFile()) out.push({ fsPath: root, path: [name], length: s.size })
  else await walk(root, keepRoot ? [name] : [])
  return out
}
