/**
 * `wasmtorrent seed` and `wasmtorrent download` run as child processes from the sources against each other on
 * 127.0.0.1: magnets, byte-identical trees, --select, --download-limit, plain progress when not a TTY, exit
 * codes (0 done, 1 bad input, 2 no metadata before --timeout, 130 on SIGINT), and a small run of the demo.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProgressDisplay, formatLine, type Snapshot } from '../src/cli/progress.js'
import { UsageError, parseIndexes, parsePeer, parsePort, parseRate, parseSecure, parseSeconds } from '../src/cli/usage.js'
import { clientOptions } from '../src/cli/download.js'
import { createTorrent, parseTorrent, type ParsedTorrent } from '../src/metainfo/index.js'
import { TREE, writeTree, sameTree } from './helpers/tree.js'
import { tempDir } from './helpers/metainfo.js'

const ROOT = join(import.meta.dirname, '..')
const MAIN = join(ROOT, 'src/cli/main.ts')
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
// The network rule (only loopback) enforced in the children too: a violation is printed on their stderr.
const GUARD = join(ROOT, 'test/setup/network-guard-register.mjs')
const GUARD_ARGS = existsSync(GUARD) ? ['--import', pathToFileURL(GUARD).href] : []
// Every client here listens on 127.0.0.1, which also turns off DHT, LSD and NAT port mapping.
const LOCAL = ['--host', '127.0.0.1']

interface Run {
  child: ChildProcess
  stdout: string
  stderr: string
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Resolves once stdout or stderr matches. */
  waitFor: (stream: 'stdout' | 'stderr', re: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
}

function start (args: string[], script = MAIN, env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [...GUARD_ARGS, '--import', TSX, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, WASMTORRENT_DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal }))),
    waitFor: (stream, re, timeoutMs = 20000) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(run[stream])
        if (m) { clearTimeout(timer); child[stream]!.off('data', check); resolve(m) }
        return m !== null
      }
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} on ${stream}: ${JSON.stringify(run[stream])}`)), timeoutMs)
      if (!check()) child[stream]!.on('data', () => { setImmediate(check) })
    })
  }
  child.stdout!.on('data', d => { run.stdout += d })
  child.stderr!.on('data', d => { run.stderr += d })
  return run
}

async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string, ms: number }> {
  const t0 = Date.now()
  const r = start(args)
  const { code } = await r.exit
  expect(r.stderr).not.toMatch(/NETWORK RULE VIOLATION/)
  return { code, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 }
}

function expectOneLineError (r: { code: number | null, stdout: string, stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code)
  expect(r.stdout).toBe('')
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines.length, r.stderr).toBe(1)
  expect(lines[0]).toMatch(/^wasmtorrent: /)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

let dir: string
let cleanup: () => void
let seeder: Run
let magnet: string
let infoHash: string
let out = 0
const outDir = (): string => join(dir, `out${out++}`)

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('wt-cli-dl-'))
  writeTree(join(dir, 'album'))
  seeder = start(['seed', join(dir, 'album'), ...LOCAL, '--piece-length', '16K'])
  magnet = (await seeder.waitFor('stdout', /^(magnet:\S+)\n([0-9a-f]{40})\n/m))[1]
  infoHash = /btih:([0-9a-f]{40})/.exec(magnet)![1]
})

afterAll(async () => {
  if (seeder.child.exitCode === null && seeder.child.signalCode === null) {
    seeder.child.kill('SIGKILL')
    await seeder.exit
  }
  cleanup()
})

describe('wasmtorrent seed', () => {
  it('prints the magnet (naming itself as x.pe with --host 127.0.0.1), then the info-hash', async () => {
    const [first, second] = seeder.stdout.split('\n')
    expect(first).toMatch(/^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=album&x\.pe=127\.0\.0\.1:\d+$/)
    expect(second).toBe(infoHash)
    await seeder.waitFor('stderr', /^seeding "album" \(.+ in 6 files\) on port \d+; Ctrl-C to stop$/m)
  })
})

// The child processes run side by side (each starts tsx: ~1.5 s of CPU); timeouts leave room for a busy machine.
const SLOW = 60_000

describe.concurrent('wasmtorrent download from a seed on 127.0.0.1', () => {
  it('downloads a magnet with x.pe at --download-limit: exit 0, byte-identical, plain progress lines, a summary', async () => {
    const o = outDir()
    const r = await cli(['download', magnet, ...LOCAL, '--out', o, '--download-limit', '100'])
    expect(r.code, r.stderr).toBe(0)
    expect(sameTree(join(dir, 'album'), join(o, 'album'))).toEqual([])
    // Not a TTY: whole lines, never redrawn in place: one when the download starts, every 3 s, one at the end.
    expect(r.stderr).not.toMatch(/[\r\x1b]/)
    expect(r.stderr).toMatch(/^album: 504\.7 KiB in 6 files, to /m)
    const progress = r.stderr.split('\n').filter(l => /^ *\d+\.\d%  .+ \/ .+  down .+\/s  up .+\/s  peers \d+  ETA /.test(l))
    expect(progress.length, r.stderr).toBeGreaterThanOrEqual(3)
    expect(progress[0]).toMatch(/^  0\.0%  0 B \/ 504\.7 KiB/)
    expect(progress.at(-1)).toMatch(/^100\.0%  504\.7 KiB \/ 504\.7 KiB .*ETA 0:00$/)
    expect(r.stdout).toMatch(new RegExp(`^${infoHash}  ${o}/album  \\(504\\.7 KiB, 504\\.7 KiB in [\\d.]+ s, average [\\d.]+ KiB/s\\)\\n$`))
    // 504.7 KiB at 100 KiB/s (KB = 1024 bytes), after a burst of at most one second's worth: at least ~4 s.
    const m = /in ([\d.]+) s, average ([\d.]+) KiB\/s/.exec(r.stdout)!
    expect(Number(m[1])).toBeGreaterThan(3)
    expect(Number(m[2])).toBeLessThan(140)
  }, SLOW)

  it('--select downloads only the chosen file; --quiet prints nothing but the result', async () => {
    // The same torrent made here: the file order (and the info-hash: no date in the info dictionary).
    const t = await parseTorrent(await createTorrent(join(dir, 'album'), { pieceLength: 16384 })) as ParsedTorrent
    expect(t.infoHash).toBe(infoHash)
    const files = t.files.map(f => f.path)
    const last = files.indexOf('album/zz-last.bin')
    expect(last).toBeGreaterThanOrEqual(0)
    const o = outDir()
    const r = await cli(['download', magnet, ...LOCAL, '--out', o, '--select', String(last), '--quiet'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/\(293\.0 KiB selected, /)
    expect(sameTree(join(dir, 'album'), join(o, 'album'), TREE.filter(([p]) => p === 'zz-last.bin'))).toEqual([])
    // A file not selected is not downloaded (at most the pieces it shares with a neighbour).
    const c = join(o, 'album/media/clip one.bin')
    expect(existsSync(c) && readFileSync(c).equals(readFileSync(join(dir, 'album/media/clip one.bin')))).toBe(false)
  }, SLOW)

  it('bad usage or input: exit 1 with one line on stderr', async () => {
    const results = await Promise.all([
      cli(['download', join(dir, 'missing.torrent')]),
      cli(['download', magnet, '--peer', 'nohostport']),
      cli(['download', magnet, ...LOCAL, '--out', outDir(), '--select', '42', '--quiet'])
    ])
    const patterns = [/missing\.torrent/, /--peer must be HOST:PORT/, /--select 42: the torrent has 6 files/]
    results.forEach((r, i) => expectOneLineError(r, 1, patterns[i]))
  }, SLOW)

  it('exit 2 when no metadata arrives within --timeout', async () => {
    // A peer that accepts connections and never speaks.
    const mute: Server = createServer(() => {})
    await new Promise<void>(resolve => mute.listen(0, '127.0.0.1', resolve))
    const port = (mute.address() as { port: number }).port
    try {
      const r = await cli(['download', `magnet:?xt=urn:btih:${'ab'.repeat(20)}&x.pe=127.0.0.1:${port}`, '--timeout', '2', ...LOCAL, '--out', outDir(), '--quiet'])
      expectOneLineError(r, 2, /^wasmtorrent: no metadata received in 2 s \(0 peers connected\)$/)
    } finally {
      mute.close()
    }
  }, SLOW)

  it('Ctrl-C (SIGINT) shuts down cleanly with exit 130 within a couple of seconds', async () => {
    const run = start(['download', magnet, ...LOCAL, '--out', outDir(), '--download-limit', '20'])
    await run.waitFor('stderr', /^ *\d+\.\d%  /m, SLOW) // downloading (the handler is installed)
    const t0 = Date.now()
    run.child.kill('SIGINT')
    const { code, signal } = await run.exit
    expect(signal).toBeNull()
    expect(code).toBe(130)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(run.stderr).toMatch(/^wasmtorrent: SIGINT: stopped at \d+\.\d%; the same command resumes the download$/m)
    expect(run.stdout).toBe('')
    expect(run.stderr).not.toMatch(/NETWORK RULE VIOLATION/)
  }, SLOW)

  it('npm run demo with a small size (DEMO_MB=4): exit 0, the copy verified, a throughput line', async () => {
    const run = start([], join(ROOT, 'scripts/demo.ts'), { DEMO_MB: '4' })
    const { code } = await run.exit
    expect(code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^generated +4\.00 MiB of pseudo-random data/m)
    expect(run.stdout).toMatch(/^throughput +[\d.]+ [KMG]?i?B\/s \([\d.]+ MB\/s\)$/m)
    expect(run.stdout).toMatch(/^verified +SHA-1 [0-9a-f]{40}: the copy is byte-identical to the source$/m)
    const tmp = /\((\/[^)]+wasmtorrent-demo-[^)]+)\)/.exec(run.stdout)![1]
    expect(existsSync(tmp)).toBe(false) // cleaned up
    expect(run.stderr).toMatch(/^100\.0%  4\.00 MiB \/ 4\.00 MiB/m)
    expect(run.stderr).not.toMatch(/NETWORK RULE VIOLATION/)
  }, SLOW)
})

describe('argument parsing', () => {
  it('peers, ports, rates (KB = 1024 bytes), seconds, file indexes, client options', () => {
    expect(parsePeer('127.0.0.1:6881')).toBe('127.0.0.1:6881')
    expect(parsePeer('[::1]:6881')).toBe('[::1]:6881')
    expect(parsePeer('example.org:80')).toBe('example.org:80')
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'host:65536', '::1:6881', 'a b:1']) expect(() => parsePeer(bad), bad).toThrow(UsageError)
    expect(parsePort('0')).toBe(0)
    expect(() => parsePort('70000')).toThrow(/--port must be a port number/)
    expect(parseRate('100', '-d')).toBe(102_400)
    expect(parseRate('0.5', '-d')).toBe(512)
    for (const bad of ['0', '-5', 'fast', '']) expect(() => parseRate(bad, '-d'), bad).toThrow(UsageError)
    expect(parseSeconds('2', '--timeout')).toBe(2)
    expect(() => parseSeconds('0', '--timeout')).toThrow(UsageError)
    expect(parseIndexes('2,0,1-3')).toEqual([0, 1, 2, 3])
    // A loopback --host turns off what reaches beyond the machine; otherwise each is off only when asked.
    expect(clientOptions({ host: '127.0.0.1' })).toMatchObject({ dht: false, lsd: false, natUpnp: false, natPmp: false })
    expect(clientOptions({ host: '::1' })).toMatchObject({ dht: false, lsd: false })
    expect(clientOptions({})).not.toHaveProperty('dht')
    expect(clientOptions({ 'no-dht': true, peer: ['10.0.0.2:6881'] })).toMatchObject({ dht: false, peers: ['10.0.0.2:6881'] })
    expect(clientOptions({ 'no-dht': true })).not.toHaveProperty('lsd')
    expect(clientOptions({ 'download-limit': '2' })).toMatchObject({ downloadLimit: 2048, uploadLimit: -1 })
    for (const bad of ['two', '1,', '3-1', '-1']) expect(() => parseIndexes(bad), bad).toThrow(/--select/)
    expect(clientOptions({ secure: '2' })).toMatchObject({ secure: 2 })
    expect(clientOptions({ secure: '0' })).toMatchObject({ secure: 0 })
    expect(clientOptions({})).not.toHaveProperty('secure') // the client's default (1)
    expect(parseSecure('1')).toBe(1)
    for (const bad of ['3', 'yes', '', '-1']) expect(() => parseSecure(bad), bad).toThrow(/--secure must be 0, 1 or 2/)
  })
})

describe('--secure against a seed that requires encryption (--secure 2)', () => {
  let rc4Seeder: Run
  let rc4Magnet: string
  beforeAll(async () => {
    rc4Seeder = start(['seed', join(dir, 'album'), ...LOCAL, '--piece-length', '32K', '--secure', '2'])
    rc4Magnet = (await rc4Seeder.waitFor('stdout', /^(magnet:\S+)\n[0-9a-f]{40}\n/m))[1]
  }, SLOW)
  afterAll(async () => {
    rc4Seeder.child.kill('SIGKILL')
    await rc4Seeder.exit
  })

  it.concurrent('--secure 0 (plaintext dials) is refused by it: exit 2, no metadata', async () => {
    const r = await cli(['download', rc4Magnet, '--secure', '0', '--timeout', '3', ...LOCAL, '--out', outDir(), '--quiet'])
    expectOneLineError(r, 2, /^wasmtorrent: no metadata received in 3 s \(0 peers connected\)$/)
  }, SLOW)

  it.concurrent('the default (MSE offering plaintext or RC4) and --secure 2 download from it, byte-identical', async () => {
    for (const flags of [[], ['--secure', '2']]) {
      const o = outDir()
      const r = await cli(['download', rc4Magnet, ...flags, ...LOCAL, '--out', o, '--quiet'])
      expect(r.code, r.stderr).toBe(0)
      expect(sameTree(join(dir, 'album'), join(o, 'album'))).toEqual([])
    }
  }, SLOW)
})

describe('shutdown of the seed', () => {
  it('seed exits 130 on SIGINT, promptly; a path that does not exist is bad input (1)', async () => {
    const t0 = Date.now()
    seeder.child.kill('SIGINT')
    const { code, signal } = await seeder.exit
    expect(signal).toBeNull()
    expect(code).toBe(130)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(seeder.stderr).not.toMatch(/NETWORK RULE VIOLATION/)
    expectOneLineError(await cli(['seed', join(dir, 'no-such-dir')]), 1, /no-such-dir: no such file or directory/)
  })
})

describe('the progress display', () => {
  const snap: Snapshot = { phase: 'downloading', done: 50 * 1024 * 1024, total: 200 * 1024 * 1024, downloadSpeed: 10 * 1024 * 1024, uploadSpeed: 0, uploaded: 0, peers: 3, eta: 15_000 }

  it('formats percent, done/total, speeds, peers and ETA', () => {
    expect(formatLine(snap)).toBe(' 25.0%  50.0 MiB / 200.0 MiB  down 10.0 MiB/s  up 0 B/s  peers 3  ETA 0:15')
    expect(formatLine({ ...snap, eta: Infinity })).toMatch(/ETA --:--$/)
    expect(formatLine({ ...snap, phase: 'metadata' })).toBe('fetching metadata  peers 3')
  })

  it('on a TTY redraws one line in place, cut to the terminal width, at most 4 times a second', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 40 }) as unknown as NodeJS.WriteStream
    let written = ''
    ;(stream as unknown as PassThrough).on('data', d => { written += d })
    let n = 0
    const d = new ProgressDisplay({ sample: () => ({ ...snap, done: snap.done + 1024 * 1024 * (n++ % 2) }), stream })
    d.start()
    await new Promise(resolve => setTimeout(resolve, 1100))
    d.print('a message')
    d.stop()
    const draws = written.split('\r\x1b[2K').filter(s => /^ 25\.\d%/.test(s))
    expect(draws.length).toBeGreaterThanOrEqual(3)
    expect(draws.length).toBeLessThanOrEqual(7) // 1 at start + ~4 a second + 1 after the message
    expect(draws.every(s => s.length <= 39)).toBe(true)
    expect(written).toContain('\r\x1b[2Ka message\n')
    expect(written.endsWith('\r\x1b[2K')).toBe(true) // the live line is removed on stop
  })
})
