/**
 * The `wasmtorrent` command: dispatches to a subcommand module. Bad input ends with one line on stderr
 * ("wasmtorrent: <message>") and exit code 1, never a stack trace; set WASMTORRENT_DEBUG=1 to see stacks.
 */
import { UsageError } from './usage.js'

const VERSION = '0.1.0'

const HELP = `usage: wasmtorrent <command> [options]

commands:
  info <torrent-id> [--json]     show what a .torrent file, URL, magnet URI or info-hash holds;
                                 for a magnet with peers (x.pe) the metadata is fetched from them
                                 (--no-fetch: only what the magnet holds; --timeout S, default 30)
  create <path> [options]        create a .torrent from a file or directory
  version                        print the version
  help                           print this help

create options:
  -o, --out FILE          output file (default: <name>.torrent)
  -a, --announce URL      tracker (repeatable, one tier each)
  -w, --url-list URL      web seed (repeatable)
  -l, --piece-length N    bytes per piece: a power of two, e.g. 262144, 256K, 4M (default: automatic)
  -p, --private           set the private flag
  -n, --name NAME         torrent name (default: the file or directory name)
  -c, --comment TEXT      comment
      --no-date           leave out the creation date (reproducible output)
  -q, --quiet             no progress on stderr
`

// Subcommands load on demand: `wasmtorrent help` need not load the torrent machinery.
const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  info: async args => (await import('./info.js')).runInfo(args),
  create: async args => (await import('./create.js')).runCreate(args),
  version: async () => { process.stdout.write(VERSION + '\n') },
  help: async () => { process.stdout.write(HELP) }
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(HELP)
    return command === undefined ? 1 : 0
  }
  if (command === '--version' || command === '-v') return main(['version'])
  const run = COMMANDS[command]
  if (!run) throw new UsageError(`unknown command "${command}" (try: wasmtorrent help)`)
  await run(rest)
  return 0
}

function oneLine (err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  return msg.split('\n')[0]
}

main(process.argv.slice(2)).then(code => {
  process.exitCode = code
}, err => {
  process.stderr.write(`wasmtorrent: ${oneLine(err)}\n`)
  if (process.env.WASMTORRENT_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + '\n')
  process.exitCode = 1
}).finally(async () => {
  // End hashing workers (idle ones do not keep the process alive, but ending them is prompt).
  const { destroyHashPool } = await import('../worker/hash-pool.js')
  await destroyHashPool()
})
