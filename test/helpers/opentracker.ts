/**
 * A real opentracker (Debian's /usr/bin/opentracker: HTTP + UDP, whitelist-only build) on 127.0.0.1, for interop
 * tests. Writes its config and whitelist to a temp dir (its chroot), picks free ports, and reloads the whitelist
 * with SIGHUP. See /work/shared/INTEROP.md. Use `needs('opentracker', system.command('opentracker'))`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A port free on 127.0.0.1 for both TCP and UDP (best effort: nothing holds it afterwards). */
export async function freePort (): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const server = createServer()
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
    })
    const udp = createSocket('udp4')
    const ok = await new Promise<boolean>(resolve => {
      udp.once('error', () => resolve(false))
      udp.bind(port, '127.0.0.1', () => resolve(true))
    })
    await new Promise<void>(resolve => server.close(() => resolve()))
    if (ok) {
      await new Promise<void>(resolve => udp.close(() => resolve()))
      return port
    }
    udp.close()
  }
  throw new Error('no free port')
}

export class OpenTracker {
  readonly port: number
  readonly dir: string
  private readonly proc: ChildProcess
  output = ''

  private constructor (proc: ChildProcess, port: number, dir: string) {
    this.proc = proc
    this.port = port
    this.dir = dir
  }

  get httpAnnounce (): string { return `http://127.0.0.1:${this.port}/announce` }
  get udpAnnounce (): string { return `udp://127.0.0.1:${this.port}/announce` }

  /** Starts opentracker with `infoHashes` (hex) whitelisted; resolves once its TCP port accepts connections. */
  static async start (infoHashes: string[] = []): Promise<OpenTracker> {
    const dir = mkdtempSync(join(tmpdir(), 'wt-opentracker-'))
    chmodSync(dir, 0o755) // it chroots here and may drop privileges
    const port = await freePort()
    writeFileSync(join(dir, 'whitelist.txt'), infoHashes.map(h => h.toLowerCase() + '\n').join(''), { mode: 0o644 })
    writeFileSync(join(dir, 'opentracker.conf'), [
      `listen.tcp 127.0.0.1:${port}`,
      `listen.udp 127.0.0.1:${port}`,
      // relative to tracker.rootdir: opentracker chroots there before reading it
      'access.whitelist ./whitelist.txt',
      `tracker.rootdir ${dir}`,
      ''
    ].join('\n'), { mode: 0o644 })
    const proc = spawn('opentracker', ['-f', join(dir, 'opentracker.conf')], { stdio: ['ignore', 'pipe', 'pipe'] })
    const ot = new OpenTracker(proc, port, dir)
    proc.stdout!.on('data', d => { ot.output += d })
    proc.stderr!.on('data', d => { ot.output += d })
    const deadline = Date.now() + 10_000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`opentracker exited (${proc.exitCode}): ${ot.output}`)
      const up = await new Promise<boolean>(resolve => {
        const s = connect(port, '127.0.0.1')
        s.once('connect', () => { s.destroy(); resolve(true) })
        s.once('error', () => resolve(false))
      })
      if (up) return ot
      if (Date.now() > deadline) {
        await ot.stop()
        throw new Error('opentracker did not start: ' + ot.output)
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  /**
   * Whitelists more info-hashes (append + SIGHUP; opentracker reloads the file in the background) and waits until
   * it serves them, probing with `stopped` announces (which register no peer).
   */
  async allow (...infoHashes: string[]): Promise<void> {
    appendFileSync(join(this.dir, 'whitelist.txt'), infoHashes.map(h => h.toLowerCase() + '\n').join(''))
    this.proc.kill('SIGHUP')
    const deadline = Date.now() + 5000
    for (const ih of infoHashes) {
      const q = `info_hash=${ih.replace(/../g, '%$&')}&peer_id=-PROBE-${'0'.repeat(13)}&port=1&left=0&event=stopped&compact=1`
      for (;;) {
        const res = await fetch(`${this.httpAnnounce}?${q}`)
        const body = await res.text()
        if (!body.includes('not authorized')) break
        if (Date.now() > deadline) throw new Error(`opentracker did not reload its whitelist: ${body}`)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    }
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise(resolve => this.proc.once('exit', resolve))
      this.proc.kill('SIGTERM')
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(t)
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * A TCP listener standing in for our peer in tracker interop tests: a real client (libtorrent) that learned our
 * address from a tracker dials it and sends a BitTorrent handshake, whose info-hash `handshake` resolves with.
 */
export async function handshakeSink (): Promise<{ port: number, handshake: Promise<{ infoHash: string, from: string }>, close: () => Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>()
  let resolveHs!: (v: { infoHash: string, from: string }) => void
  const handshake = new Promise<{ infoHash: string, from: string }>(resolve => { resolveHs = resolve })
  const server = createServer(sock => {
    sockets.add(sock)
    let buf = Buffer.alloc(0)
    sock.on('error', () => {})
    sock.on('close', () => sockets.delete(sock))
    sock.on('data', d => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 48 && buf[0] === 19 && buf.subarray(1, 20).toString() === 'BitTorrent protocol') {
        resolveHs({ infoHash: buf.subarray(28, 48).toString('hex'), from: `${sock.remoteAddress}:${sock.remotePort}` })
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    handshake,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
