/**
 * Shared scaffolding for the end-to-end interop tests (test/e2e-*.test.ts): temp dirs, free ports, a large
 * random file, byte comparison, our client pinned to 127.0.0.1 with no trackers, polling.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebTorrent, type ClientOptions } from '../../src/index.js'
import { sleep } from './sockets.js'
import { TREE, sameTree } from './tree.js'
import { LOCAL_ONLY } from './local.js'

export const BIG_SIZE = 64 * 1024 * 1024 + 12_345 // ~64 MiB, not a multiple of the piece or block length

/** A temp base directory with numbered subdirectories; `cleanup()` removes everything. */
export function tempDirs (prefix: string): { base: string, dir: () => string, cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), prefix))
  let n = 0
  return {
    base,
    dir: () => mkdtempSync(join(base, `d${n++}-`)),
    cleanup: () => rmSync(base, { recursive: true, force: true })
  }
}

/** A TCP port free on 127.0.0.1 right now (for counterparts that need one on their command line). */
export async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', resolve) })
  const port = (srv.address() as { port: number }).port
  await new Promise(resolve => srv.close(resolve))
  return port
}

/** Writes `size` random bytes to `dir/name` (in 4 MiB chunks) and returns the path. */
export function writeBigFile (dir: string, name: string, size = BIG_SIZE): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  const fd = openSync(path, 'w')
  try {
    for (let off = 0; off < size; off += 4 << 20) writeSync(fd, randomBytes(Math.min(4 << 20, size - off)))
  } finally {
    closeSync(fd)
  }
  return path
}

/** True when both files exist and hold the same bytes (compared in 4 MiB chunks). */
export function sameFile (a: string, b: string): boolean {
  let sa, sb
  try { sa = statSync(a); sb = statSync(b) } catch { return false }
  if (sa.size !== sb.size) return false
  const fa = openSync(a, 'r')
  const fb = openSync(b, 'r')
  try {
    const ba = Buffer.alloc(4 << 20)
    const bb = Buffer.alloc(4 << 20)
    for (let off = 0; off < sa.size;) {
      const n = readSync(fa, ba, 0, ba.length, off)
      readSync(fb, bb, 0, n, off)
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false
      off += n
    }
    return true
  } finally {
    closeSync(fa)
    closeSync(fb)
  }
}

/**
 * sameTree() for a counterpart that does not create 0-byte files when it downloads (Transmission 3.00 and
 * webtorrent 3.0.21 do not): every non-empty file must be identical; a 0-byte file may be absent, but if it is
 * there it must be empty.
 */
export function sameTreeButEmpty (a: string, b: string, tree = TREE): string[] {
  const diffs = sameTree(a, b, tree.filter(([, n]) => n > 0))
  for (const [p, n] of tree) {
    if (n !== 0) continue
    try {
      if (statSync(join(b, p)).size !== 0) diffs.push(`${p}: not empty`)
    } catch {}
  }
  return diffs
}

/** Our client on 127.0.0.1 only, with no trackers (we have no DHT/LSD/UPnP/NAT-PMP at all). */
export async function ourClient (clients: WebTorrent[], opts: ClientOptions = {}): Promise<WebTorrent> {
  const c = new WebTorrent({ ...LOCAL_ONLY, tracker: false, ...opts })
  clients.push(c)
  await c.whenListening()
  if (c.torrentPort === 0) throw new Error('our client is not listening')
  return c
}

/** Polls `pred` every `every` ms until it returns a truthy value. */
export async function until<T> (what: string, pred: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000, every = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await pred()
    if (v) return v
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what)
    await sleep(every)
  }
}

/** Resolves with the torrent-like emitter's 'done' (or at once when already done); rejects on 'error'/timeout. */
export function whenDone (t: { done: boolean, once (e: string, fn: (...a: any[]) => void): unknown }, timeoutMs: number, what = 'download'): Promise<void> {
  if (t.done) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} to complete`)), timeoutMs)
    t.once('done', () => { clearTimeout(timer); resolve() })
    t.once('error', (err: Error) => { clearTimeout(timer); reject(err) })
  })
}

/** Stops a child process: SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopProcess (proc: { exitCode: number | null, signalCode: string | null, kill (s?: NodeJS.Signals): boolean, once (e: 'exit', fn: () => void): unknown }, graceMs = 3000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
  proc.kill('SIGTERM')
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
