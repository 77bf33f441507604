/**
 * The client's local-network services: LSD (BEP 14, one multicast listener for all torrents) and NAT
 * traversal (UPnP IGD / NAT-PMP mappings of the torrent port, TCP and UDP, and of the DHT's UDP port).
 * Both are on by default for users, like webtorrent; tests and benches turn them off. Node only: browsers
 * have neither (lsdSupported / natSupported are false there).
 */
import { Lsd, type LsdPeer, type LsdTorrent } from '../lsd/index.js'
import { lsdSupported } from '../lsd/platform.js'
import { NatTraversal } from '../nat/index.js'
import { natSupported } from '../nat/platform.js'

export interface LocalServiceOptions {
  lsd?: boolean
  natUpnp?: boolean | 'permanent'
  natPmp?: boolean
}

export class LocalServices {
  readonly lsd: Lsd | null = null
  readonly nat: NatTraversal | null = null

  constructor (opts: LocalServiceOptions, onPeer: (p: LsdPeer) => void, onWarning: (err: Error) => void) {
    if (opts.lsd !== false && lsdSupported) {
      const lsd = new Lsd()
      lsd.on('peer', onPeer)
      lsd.on('warning', onWarning)
      this.lsd = lsd
    }
    const upnp = opts.natUpnp ?? true
    const pmp = opts.natPmp ?? true
    if ((upnp !== false || pmp) && natSupported) {
      const nat = new NatTraversal({ upnp, pmp, description: 'wasmtorrent' })
      nat.on('warning', onWarning)
      this.nat = nat
    }
  }

  /** Maps the ports once the client listens (a failed mapping is a warning, never an error). */
  onListening (torrentPort: number, dhtPort: number): void {
    if (!this.nat || torrentPort === 0) return
    this.nat.map(torrentPort).catch(() => {})
    if (dhtPort > 0 && dhtPort !== torrentPort) this.nat.map(dhtPort, ['udp']).catch(() => {})
  }

  /** LSD announces of a (non-private) torrent; the Lsd re-reads `torrent.private` before every send. */
  announce (torrent: LsdTorrent, port: number): void {
    if (!this.lsd || torrent.private === true || port === 0) return
    this.lsd.announce(torrent, port)
  }

  remove (infoHash: string): void {
    this.lsd?.remove(infoHash)
  }

  async destroy (): Promise<void> {
    await Promise.allSettled([this.lsd?.destroy(), this.nat?.destroy()])
  }
}
