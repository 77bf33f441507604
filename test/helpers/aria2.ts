/**
 * aria2c (1.36) as a BitTorrent peer on 127.0.0.1 for the e2e tests: one process per torrent, TCP only (aria2
 * has no uTP), DHT/LPD/PEX off, no trackers reached (the torrents have none), plaintext, watched over its
 * JSON-RPC interface (127.0.0.1 only). It never learns our address (no tracker, no DHT): we dial it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { freePort, stopProcess, until } from './e2e.js'

export interface Aria2Status {
  gid: string, status: string, totalLength: string, completedLength: string, uploadLength: string,
  connections: string, numSeeders?: string, seeder?: string, errorCode?: string, errorMessage?: string
}
export interface Aria2Peer { peerId: string, ip: string, port: string, seeder: string, amChoking: string, peerChoking: string }

export class Aria2 {
  log = ''
  private gid: string | null = null

  private constructor (private readonly proc: ChildProcess, readonly port: number, readonly rpcPort: number) {
    proc.stdout!.on('data', d => { this.log += d })
    proc.stderr!.on('data', d => { this.log += d })
  }

  /**
   * Starts aria2c on `torrent`, saving to / seeding from `dir`. `seed`: the data is there (checked, then
   * seeded without end); otherwise it downloads, and stops seeding once complete (--seed-time=0; with RPC on,
   * aria2 keeps running: see whenComplete).
   */
  static async start (opts: { torrent: string, dir: string, seed: boolean }): Promise<Aria2> {
    const port = await freePort()
    const rpcPort = await freePort()
    const args = [
      '--no-conf=true',
      `--dir=${opts.dir}`,
      '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
      '--interface=127.0.0.1', '--disable-ipv6=true',
      `--listen-port=${port}`,
      '--file-allocation=none',
      '--bt-save-metadata=false', '--auto-save-interval=0', '--save-session-interval=0',
      '--bt-require-crypto=false', '--bt-min-crypto-level=plain',
      '--enable-rpc=true', `--rpc-listen-port=${rpcPort}`, '--rpc-listen-all=false',
      `--stop-with-process=${process.pid}`, // never outlives the test process
      '--console-log-level=warn', '--summary-interval=0', '--download-result=hide',
      // A seeder checks the data first (and seeds for ever); a leecher verifies each piece it gets.
      ...(opts.seed ? ['--check-integrity=true', '--bt-hash-check-seed=true', '--seed-ratio=0.0'] : ['--seed-time=0']),
      opts.torrent
    ]
    const proc = spawn('aria2c', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const a = new Aria2(proc, port, rpcPort)
    await until('aria2 RPC to answer', async () => {
      if (proc.exitCode !== null) throw new Error(`aria2c exited (${proc.exitCode}): ${a.log}`)
      try {
        const active = await a.rpc<Aria2Status[]>('aria2.tellActive', [['gid']])
        a.gid = active[0]?.gid ?? null
        return a.gid !== null
      } catch { return false }
    }, 15_000, 50)
    return a
  }

  async rpc<T = unknown> (method: string, params: unknown[] = []): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.rpcPort}/jsonrpc`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })
    })
    const body = await res.json() as { result?: T, error?: { message: string } }
    if (body.error) throw new Error('aria2: ' + body.error.message)
    return body.result as T
  }

  status (): Promise<Aria2Status> {
    return this.rpc<Aria2Status>('aria2.tellStatus', [this.gid])
  }

  peers (): Promise<Aria2Peer[]> {
    return this.rpc<Aria2Peer[]>('aria2.getPeers', [this.gid])
  }

  /** Waits until it seeds (its hash check of the data passed) and its BitTorrent port accepts connections. */
  async whenSeeding (timeoutMs = 30_000): Promise<void> {
    await until('aria2 to seed', async () => {
      const s = await this.status()
      if (s.status === 'error') throw new Error(`aria2: ${s.errorMessage}: ${this.log}`)
      return s.seeder === 'true'
    }, timeoutMs, 100)
  }

  /** Waits until the download is complete (every piece verified by aria2); fails on an aria2 error. */
  async whenComplete (timeoutMs: number): Promise<Aria2Status> {
    return await until('aria2 to complete', async () => {
      const s = await this.status()
      if (s.status === 'error') throw new Error(`aria2: ${s.errorMessage}: ${this.log}`)
      return s.status === 'complete' ? s : null
    }, timeoutMs, 100)
  }

  async stop (): Promise<void> {
    await stopProcess(this.proc, 3000)
  }
}
