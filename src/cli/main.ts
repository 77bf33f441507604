/**
 * The `wasmtorrent` command: dispatches to a subcommand module. Bad input ends with one line on stderr
 * ("wasmtorrent: <message>") and exit code 1, never a stack trace; set WASMTORRENT_DEBUG=1 to see stacks.
 */
import { UsageError } from './usage.js'

const VERSION = '0.1.0'

const HELP = `usage: wasmtorrent <command> [options]

commands:
  download <torrent-id> [options]
                                 download a magnet URI, .torrent file or URL, or info-hash; shows
                                 live progress on stderr and prints the result on stdout when done
  seed <path|file.torrent> [options]
                                 seed a file or directory (prints its magnet URI and info-hash on
                                 stdout), or the data of a .torrent file; runs until Ctrl-C
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

download options:
  -o, --out DIR           where to save (default: the current directory)
      --peer HOST:PORT    a peer to dial (repeatable; [IPv6]:PORT)
      --port N            port to listen on, TCP and uTP (default: any free port)
      --host ADDR         address to listen on (default: all interfaces)
  -s, --select I,J        download only these files (indexes as listed by info; ranges like 1-3)
  -d, --download-limit R  at most R KB/s down (1 KB = 1024 bytes, as in webtorrent-cli)
  -u, --upload-limit R    at most R KB/s up (default for both: no limit)
      --timeout S         give up (exit 2) when nothing arrives for S seconds: no metadata, no data
      --keep-seeding      keep running and seeding when done, until Ctrl-C
      --no-utp            TCP only
      --no-dht            no DHT (BEP 5)
      --no-lsd            no Local Service Discovery (BEP 14, LAN multicast)
      --no-nat            no UPnP / NAT-PMP port mapping on the router
                          (all three are off when --host is a loopback address, e.g. 127.0.0.1)
      --secure N          protocol encryption (MSE/PE): 0 plaintext dials; 1 (default) encrypted
                          handshake first, plaintext when the peer drops it; 2 RC4 only, both ways
  -q, --quiet             no progress display (errors and the result line still print)
      --verbose           also print peers connecting and warnings
  Progress goes to stderr: on a terminal one line redrawn in place (percent, done/total, speeds,
  peers, ETA), otherwise a plain line every 3 s and at milestones. stdout gets only the result,
  one line when done: "<info-hash>  <path>  (<size>, <downloaded> in <time>, average <rate>)".
  An interrupted download resumes: the same command rechecks the data on disk, fetches the rest.

seed options:
      --path DIR          for a .torrent: the directory holding its data (default: current)
  -l, --piece-length N    for a path: bytes per piece (default: automatic)
      --peer, --port, --host, -u/--upload-limit, --no-utp, --no-dht, --no-lsd, --no-nat, --secure,
      -q/--quiet, --verbose: as for download
  stdout: the magnet URI, then the info-hash; with a specific --host (e.g. 127.0.0.1) the magnet
  names this seeder (x.pe=HOST:PORT). stderr: upload speed and peers (redrawn on a terminal).

exit codes:
  0    done (download complete; help, info, create succeeded)
  1    bad usage or input: unknown flag, unreadable torrent, no data to seed, bad --select index
  2    download/seed: network or torrent failure: cannot listen, .torrent URL unreachable,
       no metadata or data within --timeout, a torrent that failed (e.g. disk errors)
  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM. The client shuts down cleanly (connections
       closed, files flushed); a second Ctrl-C exits at once.
`

// Subcommands load on demand: `wasmtorrent help` need not load the torrent machinery.
const COMMANDS: Record<string, (args: string[]) => Promise<number | void>> = {
  download: async args => (await import('./download.js')).runDownload(args),
  seed: async args => (await import('./seed.js')).runSeed(args),
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
  return (await run(rest)) ?? 0
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
  process.exitCode = typeof (err as { exitCode?: unknown })?.exitCode === 'number' ? (err as { exitCode: number }).exitCode : 1
}).finally(async () => {
  // End hashing workers (idle ones do not keep the process alive, but ending them is prompt).
  const { destroyHashPool } = await import('../worker/hash-pool.js')
  await destroyHashPool()
  // The command is over: should anything still hold the event loop (a lingering socket), do not hang on it.
  setTimeout(() => process.exit(), 2000).unref()
})
