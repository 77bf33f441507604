/**
 * Drives a real libtorrent peer (test/helpers/lt-peer.py under Debian's /usr/bin/python3) from tests.
 * Loopback only. Use `system.libtorrent()` + `needs()` to skip/fail when python3-libtorrent is absent.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import type { Interface } from 'node:readline'
import { SYSTEM_PYTHON } from './system.js'
import { JsonLinePeer } from './json-line-peer.js'

export interface LtEvent { event: string, type?: string, message?: string, info_hash?: string, [k: string]: unknown }
export interface LtPeerInfo {
  ip: string, port: number, client: string, pid: string, seed: boolean, utp: boolean, outgoing: boolean,
  source: number, pex: boolean, total_download: number, total_upload: number, num_hashfails: number,
  /** MSE/PE: RC4 after the handshake, an MSE handshake then plaintext, or no MSE. */
  encryption: 'rc4' | 'plaintext' | 'none'
}
export interface LtStatus {
  state: string, progress: number, total_done: number, total_wanted: number, has_metadata: boolean,
  num_peers: number, num_seeds: number, is_seeding: boolean, download_rate: number, upload_rate: number,
  total_upload: number, total_download: number, pieces: boolean[] | null, errc: string | null, peers: LtPeerInfo[]
}

export interface LtOptions { tcp?: boolean, utp?: boolean, port?: number }

export class LtPeer extends JsonLinePeer<LtEvent> {
  private constructor (proc: ChildProcessWithoutNullStreams, lines: Interface, port: number, stderr: string) {
    super('libtorrent', proc, lines, port, stderr)
  }

  static async start (opts: LtOptions = {}): Promise<LtPeer> {
    const args = [join(import.meta.dirname, 'lt-peer.py')]
    if (opts.tcp === false) args.push('--no-tcp')
    if (opts.utp === false) args.push('--no-utp')
    if (opts.port) args.push('--port', String(opts.port))
    const proc = spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const h = await JsonLinePeer.handshake('libtorrent', proc, 15000, line => {
      const ev = JSON.parse(line) as { tcp_port: number | null, utp_port: number | null }
      return ev.tcp_port ?? ev.utp_port ?? 0
    })
    const peer = new LtPeer(proc, h.lines, h.port, h.stderr())
    h.onStderr(d => { peer.stderr += d })
    return peer
  }

  async add (args: { torrent?: string, magnet?: string, save_path: string, seed_mode?: boolean, paused?: boolean,
    sequential?: boolean, upload_mode?: boolean }): Promise<string> {
    return (await this.call<{ info_hash: string }>('add', args)).info_hash
  }

  connect (infoHash: string, port: number, ip = '127.0.0.1'): Promise<unknown> {
    return this.call('connect', { info_hash: infoHash, ip, port })
  }

  status (infoHash: string, pieces = false): Promise<LtStatus> {
    return this.call<LtStatus>('status', { info_hash: infoHash, pieces })
  }

  /** Polls status until `pred` holds. */
  async waitForStatus (infoHash: string, pred: (s: LtStatus) => boolean, timeoutMs = 30000): Promise<LtStatus> {
    const deadline = Date.now() + timeoutMs
    let last: LtStatus | undefined
    while (Date.now() < deadline) {
      last = await this.status(infoHash)
      if (pred(last)) return last
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error('timed out waiting for libtorrent status; last: ' + JSON.stringify({ ...last, peers: last?.peers.length }) +
      ' events: ' + this.events.slice(-10).map(e => e.type + ': ' + e.message).join(' | '))
  }

  create (args: { path: string, out: string, piece_length?: number, trackers?: string[], web_seeds?: string[],
    private?: boolean, mode?: 'v1' | 'hybrid' | 'v2', comment?: string }): Promise<{ info_hash: string | null, info_hash_v2: string | null }> {
    return this.call('create', args)
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode !== null) return
    const exited = new Promise(resolve => this.proc.once('exit', resolve))
    this.proc.stdin.end()
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}
