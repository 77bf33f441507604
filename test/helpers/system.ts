/**
 * Real counterparts installed on the system (libtorrent, aria2, Transmission, opentracker, chromium, ...).
 * A test that needs one calls `needs(...)`: when it is absent the test is skipped with a loud reason locally,
 * and fails in CI (CI=1), where .ci/run must have installed it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const cache = new Map<string, boolean>()

function probe (key: string, check: () => boolean): boolean {
  let ok = cache.get(key)
  if (ok === undefined) {
    try { ok = check() } catch { ok = false }
    cache.set(key, ok)
  }
  return ok
}

/** Debian's python3 (a pyenv python on PATH cannot import Debian's libtorrent module). */
export const SYSTEM_PYTHON = '/usr/bin/python3'

export const system = {
  libtorrent: () => probe('libtorrent', () => {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' })
    return true
  }),
  command: (name: string) => probe('cmd:' + name, () => {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  }),
  file: (path: string) => probe('file:' + path, () => existsSync(path))
}

/**
 * Returns true when `available`; otherwise warns loudly and returns false (use with `it.skipIf(!needs(...))`
 * or `describe.skipIf`). In CI a missing counterpart throws, so the run fails instead of silently skipping.
 */
export function needs (what: string, available: boolean): boolean {
  if (available) return true
  const msg = `SKIPPED: ${what} is not installed here; these tests need the real thing (.ci/run installs it)`
  if (process.env.CI) throw new Error(`${what} is required in CI but missing`)
  console.warn('\n' + '!'.repeat(msg.length) + '\n' + msg + '\n' + '!'.repeat(msg.length))
  return false
}
