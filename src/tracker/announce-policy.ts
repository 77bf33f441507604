/**
 * Which trackers of a TrackerClient are announced to in parallel and which are each other's backups: the
 * client's per-tracker state (Entry), grouped into tiers and the tiers into slots, each slot announced on its
 * own schedule (announce-timing.ts).
 *
 * Announce-list policy (BEP 12 tiers; trackers shuffled within a tier once; the one that answers is promoted to
 * the front of its tier). Three modes, as libtorrent's announce_to_all_tiers / announce_to_all_trackers:
 *  - default (`announceToAllTiers: true`, `announceToAllTrackers: false`): every tier is announced to, in
 *    parallel, and within a tier trackers are tried in order until one answers (BEP 12 fail-over). A flat list
 *    (what parseTorrent and magnets give) is one tier per URL, so this announces to every tracker in parallel —
 *    what webtorrent users get — while a real multi-tracker tier keeps its backup semantics. qBittorrent ships
 *    the same combination.
 *  - `announceToAllTrackers: true`: every tracker on its own (webtorrent's behaviour even inside tiers).
 *  - `announceToAllTiers: false`: strict BEP 12: one tracker at a time, tier by tier.
 *
 * The tiers themselves (URL checks, shuffle, promotion) come from announce-list.ts; trackers this platform
 * cannot reach (UDP without a socket, WebSocket without an implementation) are refused here.
 */
import { announceTiers } from './announce-list.js'
import { TrackerError } from './errors.js'
import { udpSupported, WebSocketImpl } from './platform.js'
import type { TrackerKind, TrackerUrl } from './url.js'
import type { UdpTrackerSocket } from './udp-tracker.js'
import type { WsTrackerConnection, WsTrackerPool } from './ws-tracker.js'

/** What status() reports per tracker (libtorrent's announce_entry, roughly). */
export interface TrackerStatus {
  url: string
  tier: number
  kind: TrackerKind
  /** Last announce succeeded. */
  working: boolean
  /** Consecutive failures of this tracker. */
  fails: number
  lastError?: string
  /** When the next announce to this tracker is due (ms, the client's clock), if scheduled. */
  nextAnnounce?: number
  interval?: number
  minInterval?: number
  complete?: number
  incomplete?: number
  updating: boolean
  startSent: boolean
  completeSent: boolean
  /** BEP 31 `retry in: never`. */
  disabled: boolean
}

/** One tracker's state in a TrackerClient (what status() reports, and what the client keeps to itself). */
export interface Entry extends Omit<TrackerStatus, 'url' | 'kind'> {
  t: TrackerUrl
  trackerId?: Uint8Array
  ws?: WsTrackerConnection
  unsubscribe?: () => void
}

/** Trackers announced to as one: the first that answers ends the round (BEP 12 fail-over). */
export interface Slot {
  /** Trackers of this slot, tier by tier (shared with `tiers` so promotion shows). */
  tiers: Entry[][]
  timer: unknown
  hasTimer: boolean
  /** When the timer fires (ms), while hasTimer. */
  nextAt: number
  busy: boolean
  rerun: boolean
  fails: number
  /** Earliest time update() may announce (the answering tracker's min interval). */
  minAt: number
}

/**
 * The usable trackers of an announce option, tier by tier, and the URLs refused (by announce-list.ts, or
 * because this platform cannot reach them). `udp` / `ws`: the client's shared UDP socket and WebSocket pool.
 */
export function trackerTiers (opts: { announce?: ReadonlyArray<string | readonly string[]> | string,
  random?: () => number, udp?: UdpTrackerSocket, ws?: WsTrackerPool }): { tiers: Entry[][], rejected: TrackerError[] } {
  const { tiers, rejected } = announceTiers(opts.announce, { random: opts.random })
  const out: Entry[][] = []
  tiers.forEach((tier) => {
    const entries: Entry[] = []
    for (const t of tier) {
      if (t.kind === 'udp' && opts.udp === undefined && !udpSupported) {
        rejected.push(new TrackerError('ERR_TRACKER_UNSUPPORTED', `${t.url}: UDP trackers are not available on this platform`, { announce: t.url }))
        continue
      }
      if (t.kind === 'ws' && !(opts.ws?.supported ?? WebSocketImpl !== undefined)) {
        rejected.push(new TrackerError('ERR_TRACKER_UNSUPPORTED', `${t.url}: no WebSocket on this platform`, { announce: t.url }))
        continue
      }
      entries.push({ t, tier: 0, fails: 0, working: false, updating: false, startSent: false, completeSent: false, disabled: false })
    }
    if (entries.length > 0) {
      for (const e of entries) e.tier = out.length
      out.push(entries)
    }
  })
  return { tiers: out, rejected }
}

/** The slots of the three modes above. The slots share the arrays of `tiers`, so promotion shows in both. */
export function announceSlots (tiers: Entry[][], opts: { announceToAllTiers?: boolean, announceToAllTrackers?: boolean }): Slot[] {
  const slot = (tiersOfSlot: Entry[][]): Slot => ({ tiers: tiersOfSlot, timer: undefined, hasTimer: false, nextAt: 0, busy: false, rerun: false, fails: 0, minAt: 0 })
  if (opts.announceToAllTrackers === true) return tiers.flat().map(e => slot([[e]]))
  else if (opts.announceToAllTiers === false) return tiers.length > 0 ? [slot(tiers)] : []
  else return tiers.map(t => slot([t]))
}

/** What status() reports for one tracker. */
export function trackerStatus (e: Entry): TrackerStatus {
  const s: TrackerStatus = {
    url: e.t.url,
    tier: e.tier,
    kind: e.t.kind,
    working: e.working,
    fails: e.fails,
    updating: e.updating,
    startSent: e.startSent,
    completeSent: e.completeSent,
    disabled: e.disabled
  }
  if (e.lastError !== undefined) s.lastError = e.lastError
  if (e.nextAnnounce !== undefined) s.nextAnnounce = e.nextAnnounce
  if (e.interval !== undefined) s.interval = e.interval
  if (e.minInterval !== undefined) s.minInterval = e.minInterval
  if (e.complete !== undefined) s.complete = e.complete
  if (e.incomplete !== undefined) s.incomplete = e.incomplete
  return s
}
