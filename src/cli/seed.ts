/**
 * `wasmtorrent seed <path|file.torrent> [--path DIR] [--peer HOST:PORT]... [--port N] [--host ADDR]
 *  [--upload-limit KB/s] [--piece-length N] [--quiet] [--verbose]`
 *
 * A file or directory: creates the torrent (hashing it) and seeds the data where it is. A file ending in
 * .torrent: checks the data under --path (default: the current directory) and seeds it. Prints the magnet URI
 * and then the info-hash on stdout (the magnet names this seeder as x.pe when --host is a specific address);
 * notices and the live display (upload speed, peers) go to stderr. Runs until Ctrl-C: exit 130 (SIGTERM 143),
 * 1 bad usage or input (no data found), 2 network failure (e.g. the port is taken).
 */
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Torrent } from '../client/torrent.js'
import { hasMetadata } from '../metainfo/parse-torrent.js'
import { RateSampler, snapshot, type Phase } from './progress.js'
import { ClientSession, NETWORK_OPTIONS, clientOptions, parseTorrentArg } from './download.js'
import { EXIT_FAILED, EXIT_USAGE, UsageError, formatBytes, parse, parseSize } from './usage.js'

// Errors about the input (what is being seeded), not the network.
const INPUT_ERROR = /^ERR_(CREATE|TORRENT|METAINFO|MAGNET|SEED)/

export async function runSeed (args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...NETWORK_OPTIONS,
    path: { type: 'string' },
    'piece-length': { type: 'string', short: 'l' }
  }, 1)
  const { peers, ...opts } = clientOptions(values)
  const input = resolve(positionals[0])
  let st
  try {
    st = statSync(input)
  } catch {
    throw new UsageError(`${positionals[0]}: no such file or directory`)
  }
  const isTorrentFile = st.isFile() && /\.torrent$/i.test(input)
  if (values.path !== undefined && !isTorrentFile) throw new UsageError('--path is for seeding a .torrent file: the directory that holds its data')
  if (values['piece-length'] !== undefined && isTorrentFile) throw new UsageError('--piece-length is for creating a torrent, not for seeding a .torrent file')
  const pieceLength = values['piece-length'] !== undefined ? parseSize(values['piece-length']) : undefined
  const dataDir = resolve(values.path ?? process.cwd())
  const parsed = isTorrentFile ? await parseTorrentArg(input) : null
  if (parsed && !hasMetadata(parsed)) throw new UsageError(`${positionals[0]} is not a .torrent file`)
  const quiet = values.quiet === true

  let phase: Phase = isTorrentFile ? 'checking' : 'hashing'
  const hashed = { done: 0, total: 0 }
  let t: Torrent | null = null
  const down = new RateSampler()
  const up = new RateSampler()
  const session = await ClientSession.create(opts, {
    quiet,
    verbose: values.verbose === true,
    sample: () => snapshot(t, phase, phase === 'hashing' ? hashed : { done: t?.downloaded ?? 0, total: t?.length ?? 0 }, down, up)
  })
  const note = (s: string): void => { if (!quiet) session.display.print(s) }

  t = parsed
    ? session.client.add(parsed, { path: dataDir, peers })
    : session.client.seed(input, {
      peers,
      pieceLength,
      createdBy: 'wasmtorrent',
      onProgress: (done: number, total: number) => { hashed.done = done; hashed.total = total }
    })
  const torrent = t
  session.watch(torrent, err => INPUT_ERROR.test((err as { code?: string }).code ?? '') ? EXIT_USAGE : EXIT_FAILED)
  session.display.start()
  torrent.on('metadata', () => { phase = 'checking' })
  torrent.on('ready', () => {
    void (async () => {
      await session.client.whenListening()
      if (session.finishing) return
      if (!torrent.done) {
        if (torrent.downloaded === 0) {
          session.finish(EXIT_USAGE, `no data of "${torrent.name}" found under ${dataDir} (--path: the directory that holds it)`)
          return
        }
        note(`wasmtorrent: warning: only ${(100 * torrent.progress).toFixed(1)}% of "${torrent.name}" is under ${dataDir}; seeding that and downloading the rest from peers`)
      }
      const port = session.client.torrentPort
      const specific = opts.host !== undefined && !['0.0.0.0', '::', ''].includes(opts.host)
      const magnet = torrent.magnetURI + (specific && port > 0 ? `&x.pe=${hostPort(opts.host!, port)}` : '')
      phase = torrent.done ? 'seeding' : 'downloading'
      session.display.stop()
      process.stdout.write(`${magnet}\n${torrent.infoHash}\n`)
      note(`seeding "${torrent.name}" (${formatBytes(torrent.length)} in ${torrent.files.length} file${torrent.files.length === 1 ? '' : 's'}) on port ${port}; Ctrl-C to stop`)
      session.display.start()
    })()
  })
  torrent.on('done', () => { phase = 'seeding' })
  return await session.exitCode
}

function hostPort (host: string, port: number): string {
  return host.includes(':') ? encodeURIComponent(`[${host}]:${port}`) : `${host}:${port}`
}
