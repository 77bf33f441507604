/**
 * `wasmtorrent download <torrent-id> [--out DIR] [--peer HOST:PORT]... [--port N] [--host ADDR] [--select I,J]
 *  [--quiet] [--keep-seeding] [--download-limit KB/s] [--upload-limit KB/s] [--timeout S] [--secure 0|1|2] [--verbose]`
 *
 * Output: progress, notices and errors on stderr; the result on stdout (one line when done:
 * "<info-hash>  <path>  (<size>, <downloaded> in <time>, average <rate>)").
 * Exit codes: 0 done, 1 bad usage or input, 2 the network or the torrent failed (listening, metadata, no
 * progress before --timeout, storage), 130 Ctrl-C (SIGINT), 143 SIGTERM.
 */
import { mkdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
// The client (the whole engine) is loaded only once the command line is known to be good: bad usage is quick.
import type { WebTorrent, ClientOptions } from '../client/client.js'
import type { Torrent } from '../client/torrent.js'
import { parseTorrent, hasMetadata } from '../metainfo/parse-torrent.js'
import type { MagnetTorrent, ParsedTorrent } from '../metainfo/types.js'
import { ProgressDisplay, RateSampler, formatRate, formatSeconds, snapshot, type Phase, type Snapshot } from './progress.js'
import {
  EXIT_FAILED, EXIT_OK, EXIT_USAGE, ExitError, UsageError, formatBytes, onInterrupt, parse, parseIndexes, parsePeer,
  parsePort, parseRate, parseSecure, parseSeconds
} from './usage.js'

/** Flags shared by download and seed. */
export const NETWORK_OPTIONS = {
  peer: { type: 'string', multiple: true },
  port: { type: 'string' },
  host: { type: 'string' },
  'upload-limit': { type: 'string', short: 'u' },
  'no-utp': { type: 'boolean' },
  'no-dht': { type: 'boolean' },
  'no-lsd': { type: 'boolean' },
  'no-nat': { type: 'boolean' },
  secure: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean' }
} as const

export interface NetworkValues {
  peer?: string[]
  port?: string
  host?: string
  'upload-limit'?: string
  'download-limit'?: string
  'no-utp'?: boolean
  'no-dht'?: boolean
  'no-lsd'?: boolean
  'no-nat'?: boolean
  secure?: string
}

/** 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost (host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/**
 * The client's options from the flags. DHT, LSD (multicast) and NAT port mapping are the client's defaults
 * (on) unless turned off with --no-dht / --no-lsd / --no-nat, and are all off when --host is a loopback
 * address: nothing outside the machine could reach us through them.
 */
export function clientOptions (v: NetworkValues): ClientOptions & { peers: string[] } {
  const loopback = v.host !== undefined && isLoopbackHost(v.host)
  // Spread, not literal keys: each is off only when asked (the client's own default otherwise).
  const off = {
    ...(loopback || v['no-dht'] === true ? { dht: false } : {}),
    ...(loopback || v['no-lsd'] === true ? { lsd: false } : {}),
    ...(loopback || v['no-nat'] === true ? { natUpnp: false, natPmp: false } : {})
  }
  return {
    ...off,
    host: v.host,
    torrentPort: v.port !== undefined ? parsePort(v.port) : 0,
    utp: v['no-utp'] === true ? false : undefined,
    downloadLimit: v['download-limit'] !== undefined ? parseRate(v['download-limit'], '--download-limit') : -1,
    uploadLimit: v['upload-limit'] !== undefined ? parseRate(v['upload-limit'], '--upload-limit') : -1,
    ...(v.secure !== undefined ? { secure: parseSecure(v.secure) } : {}),
    peers: (v.peer ?? []).map(parsePeer)
  }
}

/** A torrent id into a parsed torrent: a URL that cannot be fetched is a network failure (2), the rest bad input (1). */
export async function parseTorrentArg (id: string): Promise<MagnetTorrent | ParsedTorrent> {
  try {
    return await parseTorrent(id)
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_TORRENT_FETCH') throw new ExitError(EXIT_FAILED, (err as Error).message)
    throw err
  }
}

/**
 * One client, one torrent, a live display and a clean end: `finish(code, message?)` stops the display,
 * destroys the client (closing connections, flushing the store) and resolves `done` with the exit code.
 * Ctrl-C / SIGTERM finish with 130 / 143; a second one exits at once; a shutdown that hangs is cut after 5 s.
 */
export class ClientSession {
  readonly client: WebTorrent
  readonly display: ProgressDisplay
  readonly exitCode: Promise<number>
  private resolveExit!: (code: number) => void
  /** True once finish() was called (the client is shutting down). */
  finishing = false
  private readonly removeSignals: () => void
  private readonly verbose: boolean
  private readonly shownWarnings = new Set<string>()
  /** Called on Ctrl-C before shutting down (e.g. to say how far the download got). */
  onInterrupted: ((signal: string) => void) | null = null

  static async create (opts: ClientOptions, display: { sample: () => Snapshot, quiet: boolean, verbose: boolean }): Promise<ClientSession> {
    const { WebTorrent } = await import('../client/client.js')
    return new ClientSession(new WebTorrent(opts), display)
  }

  private constructor (client: WebTorrent, display: { sample: () => Snapshot, quiet: boolean, verbose: boolean }) {
    this.exitCode = new Promise(resolve => { this.resolveExit = resolve })
    this.verbose = display.verbose
    this.display = new ProgressDisplay({ sample: display.sample, quiet: display.quiet })
    this.client = client
    this.client.on('error', err => this.finish(EXIT_FAILED, err.message))
    this.removeSignals = onInterrupt((code, signal) => {
      this.display.stop()
      this.onInterrupted?.(signal)
      this.finish(code)
    })
  }

  /** Warnings: storage problems always (a full disk stalls a download), the rest with --verbose. */
  watch (t: Torrent, exitCodeOf: (err: Error) => number = () => EXIT_FAILED): void {
    t.on('error', (err: Error) => this.finish(exitCodeOf(err), err.message))
    t.on('warning', (err: Error) => {
      const code = (err as { code?: string }).code ?? ''
      if (!this.verbose && !code.startsWith('ERR_STORAGE')) return
      if (this.shownWarnings.has(err.message)) return
      this.shownWarnings.add(err.message)
      this.display.print(`wasmtorrent: warning: ${err.message}`)
    })
    if (this.verbose) {
      t.on('wire', (_w: unknown, addr: string) => this.display.print(`peer connected: ${addr}`))
    }
  }

  finish (code: number, message?: string): void {
    if (this.finishing) return
    this.finishing = true
    this.display.stop()
    if (message !== undefined) process.stderr.write(`wasmtorrent: ${message.split('\n')[0]}\n`)
    // Closing can wait on the network (e.g. removing router port mappings): say so, and never wait long.
    const slow = setTimeout(() => process.stderr.write('wasmtorrent: shutting down (Ctrl-C again to quit at once)\n'), 1000)
    slow.unref()
    const force = setTimeout(() => {
      process.stderr.write('wasmtorrent: shutdown took too long, exiting\n')
      process.exit(code)
    }, 5000)
    force.unref()
    this.client.destroy().catch(() => {}).finally(() => {
      clearTimeout(slow)
      clearTimeout(force)
      this.removeSignals()
      this.resolveExit(code)
    })
  }
}

export async function runDownload (args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...NETWORK_OPTIONS,
    out: { type: 'string', short: 'o' },
    select: { type: 'string', short: 's' },
    'keep-seeding': { type: 'boolean' },
    'download-limit': { type: 'string', short: 'd' },
    timeout: { type: 'string' }
  }, 1)
  const { peers, ...opts } = clientOptions(values)
  const select = values.select !== undefined ? parseIndexes(values.select) : undefined
  const timeoutMs = values.timeout !== undefined ? parseSeconds(values.timeout, '--timeout') * 1000 : 0
  const parsed = await parseTorrentArg(positionals[0])
  const out = resolve(values.out ?? process.cwd())
  try {
    mkdirSync(out, { recursive: true })
  } catch (err) {
    throw new UsageError(`--out ${out}: ${(err as Error).message}`)
  }
  if (!statSync(out).isDirectory()) throw new UsageError(`--out ${out} is not a directory`)
  const quiet = values.quiet === true
  const note = (s: string): void => { if (!quiet) session.display.print(s) }

  let phase: Phase = hasMetadata(parsed) ? 'checking' : 'metadata'
  let t: Torrent | null = null
  const wanted = (): { done: number, total: number } => {
    if (!t || t.length === 0) return { done: 0, total: 0 }
    if (select === undefined) return { done: t.downloaded, total: t.length }
    let done = 0
    let total = 0
    for (const i of select) {
      const f = t.files[i]
      if (f) { done += f.downloaded; total += f.length }
    }
    return { done, total }
  }
  // Speeds measured here over the last 3 s (the torrent's own 5 s meters start low on a short transfer).
  const down = new RateSampler()
  const up = new RateSampler()
  const session = await ClientSession.create(opts, {
    quiet,
    verbose: values.verbose === true,
    sample: () => snapshot(t, phase, wanted(), down, up)
  })

  if (!hasMetadata(parsed) && parsed.peerAddresses.length === 0 && parsed.announce.length === 0 && peers.length === 0 &&
    session.client.dht === null) {
    note('wasmtorrent: note: no peers to dial (no --peer, no x.pe or trackers in the magnet, DHT off); waiting for peers to connect')
  }

  const started = Date.now()
  let startDone = 0
  let lastActivity = Date.now()
  t = session.client.add(parsed, { path: out, peers, select })
  session.watch(t)
  session.display.start()
  const torrent = t

  torrent.on('metadata', () => {
    lastActivity = Date.now()
    phase = 'checking'
    const bad = (select ?? []).filter(i => i >= torrent.files.length)
    if (bad.length > 0) {
      session.finish(EXIT_USAGE, `--select ${bad.join(',')}: the torrent has ${torrent.files.length} file${torrent.files.length === 1 ? '' : 's'} (indexes 0-${torrent.files.length - 1}; see: wasmtorrent info)`)
      return
    }
    const chosen = select ? ` (${select.length} selected)` : ''
    note(`${torrent.name}: ${formatBytes(torrent.length)} in ${torrent.files.length} file${torrent.files.length === 1 ? '' : 's'}${chosen}, to ${out}`)
  })
  torrent.on('ready', () => {
    lastActivity = Date.now()
    startDone = wanted().done
    if (torrent.engine?.done !== true) { // already complete: 'done' follows at once
      phase = 'downloading'
      session.display.milestone()
    }
  })
  torrent.on('download', () => { lastActivity = Date.now() })
  torrent.on('done', () => {
    phase = 'downloading'
    session.display.milestone()
    const elapsed = Date.now() - started
    const { done, total } = wanted()
    const got = done - startDone
    const what = select ? `${formatBytes(total)} selected` : formatBytes(total)
    const how = got === 0 ? 'already complete' : `${formatBytes(got)} in ${formatSeconds(elapsed)}, average ${formatRate(got / Math.max(elapsed, 1) * 1000)}`
    session.display.stop(true)
    process.stdout.write(`${torrent.infoHash}  ${join(out, torrent.name)}  (${what}, ${how})\n`)
    if (values['keep-seeding'] !== true) {
      session.finish(EXIT_OK)
      return
    }
    phase = 'seeding'
    note('seeding; Ctrl-C to stop')
    session.display.start()
  })

  session.onInterrupted = signal => {
    if (torrent.done) return
    const { done, total } = wanted()
    process.stderr.write(total > 0
      ? `wasmtorrent: ${signal}: stopped at ${(100 * done / total).toFixed(1)}%; the same command resumes the download\n`
      : `wasmtorrent: ${signal}: stopped before the metadata arrived\n`)
  }

  if (timeoutMs > 0) {
    const watchdog = setInterval(() => {
      if (torrent.done) { clearInterval(watchdog); return }
      if (phase === 'checking' || Date.now() - lastActivity < timeoutMs) return
      clearInterval(watchdog)
      const peersNow = `${torrent.numPeers} peer${torrent.numPeers === 1 ? '' : 's'} connected`
      session.finish(EXIT_FAILED, phase === 'metadata'
        ? `no metadata received in ${timeoutMs / 1000} s (${peersNow})`
        : `no data received for ${timeoutMs / 1000} s (${peersNow})`)
    }, Math.min(250, timeoutMs))
    watchdog.unref()
    void session.exitCode.then(() => clearInterval(watchdog))
  }
  return await session.exitCode
}
