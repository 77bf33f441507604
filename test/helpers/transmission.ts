/**
 * transmission-daemon 3.00 as a BitTorrent peer on 127.0.0.1 for the e2e tests, driven over its RPC (HTTP,
 * 127.0.0.1 only, no auth). Its settings.json turns off DHT, LPD, PEX, UPnP/NAT-PMP port forwarding, the
 * blocklist, queues and every rate or ratio limit; uTP is off unless asked for; encryption 0 ("tolerated",
 * plaintext preferred) unless asked for (2: required). Its peer port is bound to 127.0.0.1 (IPv6 to ::1).
 *
 * Known behaviour (INTEROP.md): it never dials 127.x peers it hears of, so we dial it; it drops encrypted
 * handshakes when encryption is 0 (our dials then fall back to plaintext); it requests only after its 10 s rechoke;
 * it does not create 0-byte files.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, stopProcess, until } from './e2e.js'

/** Fields of torrent-get used here (status: 0 stopped, 1/2 checking, 3/4 downloading, 5/6 seeding). */
export interface TrTorrent {
  id: number, hashString: string, status: number, percentDone: number, leftUntilDone: number, sizeWhenDone: number,
  haveValid: number, corruptEver: number, downloadedEver: number, uploadedEver: number, error: number, errorString: string,
  peers: Array<{ address: string, port: number, clientName: string, isEncrypted: boolean, isUTP: boolean, isIncoming: boolean }>
}

const FIELDS = ['id', 'hashString', 'status', 'percentDone', 'leftUntilDone', 'sizeWhenDone', 'haveValid', 'corruptEver',
  'downloadedEver', 'uploadedEver', 'error', 'errorString', 'peers']

export class Transmission {
  log = ''
  private session = ''

  private constructor (private readonly proc: ChildProcess, readonly port: number, readonly rpcPort: number) {
    proc.stdout!.on('data', d => { this.log += d })
    proc.stderr!.on('data', d => { this.log += d })
  }

  /** Starts a daemon with its own config dir under `dir`. */
  static async start (dir: string, opts: { utp?: boolean, encryption?: 0 | 1 | 2 } = {}): Promise<Transmission> {
    const port = await freePort()
    const rpcPort = await freePort()
    const config = join(dir, 'config')
    mkdirSync(config, { recursive: true })
    const settings = {
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      'peer-port': port,
      'peer-port-random-on-start': false,
      'port-forwarding-enabled': false,
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': opts.utp === true,
      encryption: opts.encryption ?? 0,
      'blocklist-enabled': false,
      'rpc-enabled': true,
      'rpc-bind-address': '127.0.0.1',
      'rpc-port': rpcPort,
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': true,
      'rpc-whitelist': '127.0.0.1',
      'rpc-host-whitelist-enabled': false,
      'download-dir': join(dir, 'downloads'),
      'incomplete-dir-enabled': false,
      'watch-dir-enabled': false,
      'start-added-torrents': true,
      'rename-partial-files': false,
      'download-queue-enabled': false,
      'seed-queue-enabled': false,
      'queue-stalled-enabled': false,
      'speed-limit-down-enabled': false,
      'speed-limit-up-enabled': false,
      'alt-speed-enabled': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'scrape-paused-torrents-enabled': false,
      'peer-limit-global': 200,
      'peer-limit-per-torrent': 50,
      'message-level': 1
    }
    writeFileSync(join(config, 'settings.json'), JSON.stringify(settings, null, 2))
    const proc = spawn('transmission-daemon', ['-f', '-g', config, '--log-error'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const tr = new Transmission(proc, port, rpcPort)
    await until('transmission RPC to answer', async () => {
      if (proc.exitCode !== null) throw new Error(`transmission-daemon exited (${proc.exitCode}): ${tr.log}`)
      try {
        await tr.rpc('session-get')
        return true
      } catch { return false }
    }, 15_000, 100)
    return tr
  }

  async rpc<T = any> (method: string, args: Record<string, unknown> = {}): Promise<T> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(`http://127.0.0.1:${this.rpcPort}/transmission/rpc`, {
        method: 'POST',
        headers: { 'X-Transmission-Session-Id': this.session },
        body: JSON.stringify({ method, arguments: args })
      })
      if (res.status === 409) { // CSRF token: retry with the one it hands out
        this.session = res.headers.get('x-transmission-session-id') ?? ''
        continue
      }
      const body = await res.json() as { result: string, arguments: T }
      if (body.result !== 'success') throw new Error(`transmission ${method}: ${body.result}`)
      return body.arguments
    }
    throw new Error('transmission: no session id')
  }

  /** Adds a torrent saving to (or seeding from) `dir`; returns its id. Existing data is verified first. */
  async add (torrent: Uint8Array, dir: string): Promise<number> {
    const r = await this.rpc<{ 'torrent-added'?: { id: number }, 'torrent-duplicate'?: { id: number } }>('torrent-add', {
      metainfo: Buffer.from(torrent).toString('base64'), 'download-dir': dir, paused: false
    })
    return (r['torrent-added'] ?? r['torrent-duplicate'])!.id
  }

  async get (id: number): Promise<TrTorrent> {
    const r = await this.rpc<{ torrents: TrTorrent[] }>('torrent-get', { ids: [id], fields: FIELDS })
    return r.torrents[0]
  }

  /** Polls the torrent until `pred` holds; fails on a torrent error. */
  async waitFor (id: number, pred: (t: TrTorrent) => boolean, timeoutMs: number, what: string): Promise<TrTorrent> {
    let last: TrTorrent | undefined
    try {
      return await until(what, async () => {
        last = await this.get(id)
        if (last.error !== 0) throw new Error(`transmission torrent error ${last.error}: ${last.errorString}`)
        return pred(last) ? last : null
      }, timeoutMs, 200)
    } catch (err) {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}; log: ${this.log.slice(-2000)}`)
    }
  }

  async stop (): Promise<void> {
    await stopProcess(this.proc, 5000)
  }
}
