/** Command-line parsing helpers shared by the subcommands. */
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Wrong usage of the command line (reported as one line, exit code 1). */
export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>> (args: string[], options: T, positionals: number) {
  let parsed
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(`expected ${positionals} argument${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length} (try: wasmtorrent help)`)
  }
  return parsed
}

/** Bytes with binary units: 1.5 MiB. */
export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

/** "262144", "256K", "256KiB", "4M", "4MiB" -> bytes. */
export function parseSize (s: string): number {
  const m = /^(\d+)\s*(k|kib|kb|m|mib|mb)?$/i.exec(s.trim())
  if (!m) throw new UsageError(`invalid size "${s}" (examples: 262144, 256K, 4M)`)
  const unit = (m[2] ?? '').toLowerCase()
  return Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1)
}

/**
 * A command's failure with its exit code: 1 bad usage or input (UsageError), 2 the network or the torrent
 * failed (no metadata, no progress before --timeout, a storage or listening error), 130/143 interrupted.
 */
export class ExitError extends Error {
  readonly exitCode: number
  constructor (exitCode: number, message: string) {
    super(message)
    this.name = 'ExitError'
    this.exitCode = exitCode
  }
}

export const EXIT_OK = 0
export const EXIT_USAGE = 1
export const EXIT_FAILED = 2
export const EXIT_SIGINT = 130
export const EXIT_SIGTERM = 143

/** MSE/PE protocol encryption, the client's `secure` option: 0 plaintext dials, 1 MSE with plaintext fallback, 2 RC4 only. */
export function parseSecure (s: string): 0 | 1 | 2 {
  if (s === '0' || s === '1' || s === '2') return Number(s) as 0 | 1 | 2
  throw new UsageError(`--secure must be 0, 1 or 2, not ${JSON.stringify(s)}`)
}

/** A TCP/UDP port: 0..65535 (0 = any free port). */
export function parsePort (s: string, flag = '--port'): number {
  if (!/^\d{1,5}$/.test(s.trim()) || Number(s) > 65535) throw new UsageError(`${flag} must be a port number 0-65535, got "${s}"`)
  return Number(s)
}

/** "HOST:PORT" or "[IPv6]:PORT", returned normalized; anything else is a UsageError. */
export function parsePeer (s: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(s.trim())
  if (!m || Number(m[2]) === 0 || Number(m[2]) > 65535) throw new UsageError(`--peer must be HOST:PORT (or [IPv6]:PORT), got "${s}"`)
  return `${m[1]}:${Number(m[2])}`
}

/**
 * A rate limit in KB/s, 1 KB = 1024 bytes as in webtorrent-cli (a fraction is fine: 0.5 = 512 bytes/s) ->
 * bytes/s. Must be positive: leave the flag out for no limit.
 */
export function parseRate (s: string, flag: string): number {
  const n = Number(s)
  if (s.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of KB/s (1 KB = 1024 bytes), got "${s}"`)
  return Math.max(1, Math.round(n * 1024))
}

/** A positive number of seconds. */
export function parseSeconds (s: string, flag: string): number {
  const n = Number(s)
  if (s.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got "${s}"`)
  return n
}

/** "0,2,5" (also "0-3,7") -> sorted distinct file indexes. */
export function parseIndexes (s: string, flag = '--select'): number[] {
  const out = new Set<number>()
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    if (!m) throw new UsageError(`${flag} takes file indexes like 0,2 or 1-3 (see: wasmtorrent info), got "${s}"`)
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a || b - a > 1_000_000) throw new UsageError(`${flag}: bad range "${part.trim()}"`)
    for (let i = a; i <= b; i++) out.add(i)
  }
  return [...out].sort((x, y) => x - y)
}

/**
 * Ctrl-C and SIGTERM: the first calls `stop` (which shuts down cleanly and ends the command with 130 or 143);
 * a second one exits at once. Returns a function that removes the handlers.
 */
export function onInterrupt (stop: (exitCode: number, signal: NodeJS.Signals) => void): () => void {
  let seen = false
  const handler = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM
    if (seen) {
      process.stderr.write(`\nwasmtorrent: ${signal} again, exiting without cleanup\n`)
      process.exit(code)
    }
    seen = true
    stop(code, signal)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}
