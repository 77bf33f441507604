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
