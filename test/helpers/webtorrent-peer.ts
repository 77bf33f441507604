/**
 * Drives a webtorrent (npm) peer running in its own Node process (test/helpers/wt-peer.mjs) over JSON lines:
 * a real, separate BitTorrent client on 127.0.0.1 with DHT, LSD, ut_pex, UPnP, NAT-PMP and trackers off.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import type { Interface } from 'node:readline'
import { stopProcess } from './e2e.js'
import { JsonLinePeer } from './json-line-peer.js'

export interface WtEvent { event: string, infoHash?: string, message?: string, [k: string]: unknown }
export interface WtStatus {
  progress: number, done: boolean, downloaded: number, uploaded: number, received: number, numPeers: number,
  wires: Array<{ type: string, peerId: string, remoteAddress: string, remotePort: number }>
}
/** webtorrent client options (utp, secure: 0 plaintext / 1 PE with plaintext fallback / 2 PE only, ...). */
export interface WtOptions { utp?: boolean, secure?: number, [k: string]: unknown }

export class WebTorrentPeer extends JsonLinePeer<WtEvent> {
  private constructor (proc: ChildProcessWithoutNullStreams, lines: Interface, port: number, stderr: string) {
    super('webtorrent', proc, lines, port, stderr)
  }

  static async start (opts: WtOptions = {}): Promise<WebTorrentPeer> {
    const proc = spawn(process.execPath, [join(import.meta.dirname, 'wt-peer.mjs'), JSON.stringify(opts)],
      { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(import.meta.dirname, '..', '..') })
    const h = await JsonLinePeer.handshake('webtorrent', proc, 20_000, line => (JSON.parse(line) as { port: number }).port)
    const peer = new WebTorrentPeer(proc, h.lines, h.port, h.stderr())
    h.onStderr(d => { peer.stderr += d })
    return peer
  }

  /** Seeds a file or directory (webtorrent creates the torrent, with no trackers). */
  async seed (path: string, pieceLength?: number): Promise<{ infoHash: string, torrentFile: Buffer }> {
    const r = await this.call<{ infoHash: string, torrentFile: string }>('seed', { path, pieceLength })
    return { infoHash: r.infoHash, torrentFile: Buffer.from(r.torrentFile, 'base64') }
  }

  async add (torrentFile: Uint8Array, path: string): Promise<string> {
    return (await this.call<{ infoHash: string }>('add', { torrent: Buffer.from(torrentFile).toString('base64'), path })).infoHash
  }

  addPeer (infoHash: string, addr: string): Promise<{ added: boolean }> {
    return this.call('addPeer', { infoHash, addr })
  }

  status (infoHash: string): Promise<WtStatus> {
    return this.call<WtStatus>('status', { infoHash })
  }

  whenDone (infoHash: string, timeoutMs: number): Promise<WtEvent> {
    return this.waitForEvent(e => e.event === 'done' && e.infoHash === infoHash, timeoutMs, `webtorrent to finish ${infoHash}`)
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return
    const exited = new Promise(resolve => this.proc.once('exit', resolve))
    this.proc.stdin.end() // it destroys its client and exits
    await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 2000))])
    await stopProcess(this.proc, 2000)
  }
}
