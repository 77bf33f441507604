/**
 * Choking (BEP 3 tit-for-tat, as libtorrent and webtorrent do it):
 * - every RECHOKE_INTERVAL, the interested peers that gave us the most (download rate from them) keep the
 *   upload slots; when we are seeding, the peers we upload to fastest do;
 * - one more, chosen at random among the choked interested peers, is unchoked optimistically and keeps that
 *   slot for OPTIMISTIC_INTERVAL, so newcomers get a chance to prove themselves;
 * - between rechokes, a newly interested peer is unchoked at once while a slot is free (fast start).
 */
import type { SwarmPeer } from './types.js'

// libtorrent and webtorrent rechoke every 10 s and rotate the optimistic unchoke every 30 s.
const RECHOKE_INTERVAL = 10_000
const OPTIMISTIC_INTERVAL = 30_000

interface ChokerHost {
  readonly wires: Set<SwarmPeer>
  readonly done: boolean
}

export class Choker {
  private readonly host: ChokerHost
  private readonly slots: number
  private optimistic: SwarmPeer | null = null
  private lastOptimistic = 0
  private readonly timer: ReturnType<typeof setInterval>

  constructor (host: ChokerHost, slots: number) {
    this.host = host
    this.slots = Math.max(0, slots)
    this.timer = setInterval(() => this.rechoke(), RECHOKE_INTERVAL)
    const t = this.timer as { unref?: () => void }
    if (typeof t.unref === 'function') t.unref()
  }

  private unchokedCount (): number {
    let n = 0
    for (const w of this.host.wires) if (!w.amChoking && w !== this.optimistic) n++
    return n
  }

  onWire (wire: SwarmPeer): void {
    if (wire.peerInterested) this.onInterested(wire)
  }

  onInterested (wire: SwarmPeer): void {
    if (wire.amChoking && this.unchokedCount() < this.slots) wire.unchoke()
  }

  onUninterested (wire: SwarmPeer): void {
    if (!wire.amChoking && wire !== this.optimistic) {
      wire.choke()
      // Give the freed slot to someone waiting.
      for (const w of this.host.wires) {
        if (w.peerInterested && w.amChoking) { this.onInterested(w); break }
      }
    }
  }

  onClose (wire: SwarmPeer): void {
    if (wire === this.optimistic) this.optimistic = null
    for (const w of this.host.wires) {
      if (w !== wire && w.peerInterested && w.amChoking) { this.onInterested(w); break }
    }
  }

  rechoke (now = Date.now()): void {
    const seeding = this.host.done
    const interested = [...this.host.wires].filter(w => w.peerInterested && !w.destroyed)
    interested.sort((a, b) => seeding ? b.uploadSpeed() - a.uploadSpeed() : b.downloadSpeed() - a.downloadSpeed())
    if (this.optimistic && (this.optimistic.destroyed || now - this.lastOptimistic >= OPTIMISTIC_INTERVAL)) this.optimistic = null
    const keep = new Set(interested.filter(w => w !== this.optimistic).slice(0, this.slots))
    if (this.optimistic === null) {
      const candidates = interested.filter(w => !keep.has(w))
      if (candidates.length > 0) {
        this.optimistic = candidates[Math.floor(Math.random() * candidates.length)]
        this.lastOptimistic = now
      }
    }
    if (this.optimistic) keep.add(this.optimistic)
    for (const w of this.host.wires) {
      if (keep.has(w)) w.unchoke()
      else if (!w.amChoking) w.choke()
    }
  }

  destroy (): void {
    clearInterval(this.timer)
  }
}
