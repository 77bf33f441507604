/**
 * Sends PEX (BEP 11) to a torrent's peers: every PEX_INTERVAL, each wire whose peer supports ut_pex is told
 * which of our other peers appeared and disappeared since the last message to it. A peer's address is its
 * listen address: the `p` of its extended handshake, or the port we dialed.
 */
import type { Wire } from '../wire/index.js'
import { PEX_INTERVAL, type UtPexExtension } from '../wire/extensions/index.js'

function listenAddress (w: Wire): string | null {
  if (w.destroyed || !w.remoteAddress) return null
  const p = w.peerExtendedHandshake.p
  const port = typeof p === 'number' && p > 0 && p < 65536 ? p : w.type.endsWith('Outgoing') ? w.remotePort : undefined
  if (port === undefined) return null
  return w.remoteAddress.includes(':') ? `[${w.remoteAddress}]:${port}` : `${w.remoteAddress}:${port}`
}

function split (addr: string): { host: string, port: number } {
  const i = addr.lastIndexOf(':')
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) }
}

export class PexAnnouncer {
  private readonly sent = new WeakMap<Wire, Set<string>>()
  private readonly timer: ReturnType<typeof setInterval>

  constructor (private readonly wires: () => Wire[], interval = PEX_INTERVAL) {
    this.timer = setInterval(() => this.tick(), interval)
    const t = this.timer as { unref?: () => void }
    if (typeof t.unref === 'function') t.unref()
  }

  tick (): void {
    const wires = this.wires()
    const addrs = new Map<Wire, string>()
    for (const w of wires) { const a = listenAddress(w); if (a) addrs.set(w, a) }
    for (const w of wires) {
      const ext = w.extensions.ut_pex as UtPexExtension | undefined
      if (!ext?.supported) continue
      const current = new Set<string>()
      for (const [o, a] of addrs) if (o !== w) current.add(a)
      const prev = this.sent.get(w) ?? new Set<string>()
      const added = [...current].filter(a => !prev.has(a)).map(split)
      const dropped = [...prev].filter(a => !current.has(a)).map(split)
      if (added.length > 0 || dropped.length > 0) ext.sendPex({ added, dropped })
      this.sent.set(w, current)
    }
  }

  destroy (): void {
    clearInterval(this.timer)
  }
}
