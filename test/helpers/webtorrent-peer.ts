/**
 * Drives a webtorrent (npm) peer running in its own Node process (test/helpers/wt-peer.mjs) over JSON lines:
 * a real, separate BitTorrent client on 127.0.0.1 with DHT, LSD, ut_pex, UPnP, NAT-PMP and trackers off.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { stopProcess } from './e2e.js'

export interface WtEvent { event: string, infoHash?: string, message?: string, [k: string]: unknown }
export interface WtStatus {
  progress: number, done: boolean, downloaded: number, uploaded: number, received: number, numPeers: number,
  wires: Array<{ type: string, peerId: string, remoteAddress: string, remotePort: number }>
}
/** webtorrent client options (utp, secure: 0 plaintext / 1 PE with plaintext fallback / 2 PE only, ...). */
export interface WtOptions { utp?: boolean, secure?: number, [k: string]: unknown }

export class WebTorrentPeer {
  readonly port: number
  readonly events: WtEvent[] = []
  stderr = ''
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  private readonly waiters = new Set<{ pred: (e: WtEvent) => boolean, resolve: (e: WtEvent) => void }>()

  private constructor (private readonly proc: ChildProcessWithoutNullStreams, port: number) {
    this.port = port
  }

  static async start (opts: WtOptions = {}): Promise<WebTorrentPeer> {
    const proc = spawn(process.execPath, [join(import.meta.dirname, 'wt-peer.mjs'), JSON.stringify(opts)],
      { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(import.meta.dirname, '..', '..') })
    let stderr = ''
    let peer: WebTorrentPeer | undefined
    proc.stderr.on('data', d => { stderr += d; if (peer) peer.stderr += d })
    const lines = createInterface({ input: proc.stdout })
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('webtorrent peer did not start: ' + stderr)) }, 20_000)
      proc.once('exit', code => { clearTimeout(timer); reject(new Error(`webtorrent peer exited (${code}): ${stderr}`)) })
      lines.once('line', line => {
        clearTimeout(timer)
        resolve((JSON.parse(line) as { port: number }).port)
      })
    })
    peer = new WebTorrentPeer(proc, port)
    peer.stderr = stderr
    lines.on('line', line => peer!.onLine(line))
    proc.on('exit', () => {
      for (const p of peer!.pending.values()) p.reject(new Error('webtorrent peer exited: ' + peer!.stderr))
      peer!.pending.clear()
    })
    return peer
  }

  private onLine (line: string): void {
    let msg: any
    try { msg = JSON.parse(line) } catch { return }
    if (msg.id !== undefined && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id)!
      this.pending.delete(msg.id)
      if (msg.ok) p.resolve(msg)
      else p.reject(new Error('webtorrent: ' + msg.error))
      return
    }
    if (msg.event) {
      this.events.push(msg)
      for (const w of this.waiters) {
        if (w.pred(msg)) {
          this.waiters.delete(w)
          w.resolve(msg)
        }
      }
    }
  }

  call<T = any> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.proc.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    })
  }

  /** Resolves with the first event (past or future) matching `pred`. */
  waitForEvent (pred: (e: WtEvent) => boolean, timeoutMs = 30_000, what = 'a webtorrent event'): Promise<WtEvent> {
    const past = this.events.find(pred)
    if (past) return Promise.resolve(past)
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: WtEvent) => { clearTimeout(timer); resolve(e) } }
      const timer = setTimeout(() => {
        this.waiters.delete(w)
        reject(new Error(`timed out waiting for ${what}; last events: ` +
          this.events.slice(-10).map(e => `${e.event} ${e.message ?? ''}`).join(' | ') + ' stderr: ' + this.stderr.slice(-2000)))
      }, timeoutMs)
      this.waiters.add(w)
    })
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
