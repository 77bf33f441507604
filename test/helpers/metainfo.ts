/** Helpers for the metainfo tests: temp dirs, the create-torrent baseline, libtorrent's view of a torrent. */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import createTorrentBaseline from 'create-torrent'
import { SYSTEM_PYTHON } from './system.js'

const run = promisify(execFile)

export const FIXTURES = join(import.meta.dirname, '../../node_modules/webtorrent-fixtures/fixtures')

export function tempDir (prefix = 'wt-meta-'): { dir: string, cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** npm create-torrent, promisified. */
export function createTorrentNpm (input: unknown, opts: Record<string, unknown> = {}): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    createTorrentBaseline(input, { announceList: [], ...opts }, (err, t) => err ? reject(err) : resolve(t))
  })
}

export interface LtInfo {
  info_hash: string
  name: string
  num_pieces: number
  piece_length: number
  total_size: number
  files: Array<{ path: string, size: number, pad: boolean }>
  error?: string
}

async function lt<T> (...args: string[]): Promise<T> {
  const { stdout } = await run(SYSTEM_PYTHON, [join(import.meta.dirname, 'lt_metainfo.py'), ...args], { timeout: 60_000 })
  return JSON.parse(stdout) as T
}

export const libtorrent = {
  info: (torrent: string) => lt<LtInfo>('info', torrent),
  make: (path: string, out: string, mode: 'v1' | 'hybrid' | 'v2', pieceLength: number, tracker?: string) =>
    lt<{ info_hash?: string }>('make', path, out, mode, String(pieceLength), ...(tracker ? [tracker] : [])),
  verify: (torrent: string, savePath: string) => lt<{ num_pieces: number, have: number, seeding: boolean }>('verify', torrent, savePath)
}
