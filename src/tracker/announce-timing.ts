/**
 * When a TrackerClient announces: the intervals trackers ask for and their floors, the backoff after failures,
 * and the one timer per slot (announce-policy.ts) that fires the next announce.
 *
 * Timing (bad-input case 25, libtorrent's numbers):
 *  - after an answer, the next regular announce is `interval` seconds later (1800 when absent), never sooner than
 *    `minAnnounceInterval` (300 s); `min interval` (30 s when absent) gates update();
 *  - after a failure, the next attempt waits libtorrent's quadratic backoff: 5 + 5·250/100·fails² seconds
 *    (17, 55, 117, 205, 317, … capped at one hour; `trackerBackoff()`), or longer when the failure carried
 *    `min interval` / BEP 31 `retry in` (`retry in: never` disables the tracker). In a multi-tracker slot the
 *    fails are counted per round over the slot.
 */
import { unrefTimer } from './timers.js'
import { TrackerError } from './errors.js'
import type { Timers } from './types.js'
import type { Slot } from './announce-policy.js'

/** libtorrent's min_announce_interval: a tracker asking for less gets 300 s anyway (case 25). */
export const MIN_ANNOUNCE_INTERVAL = 300
/** libtorrent's default when a tracker gives no interval. */
export const DEFAULT_INTERVAL = 1800
/** libtorrent's default `min interval`. */
export const DEFAULT_MIN_INTERVAL = 30
/** libtorrent's stop_tracker_timeout. */
export const DEFAULT_STOP_TIMEOUT = 5000

const RETRY_DELAY_MIN = 5
const RETRY_DELAY_MAX = 3600

/**
 * Seconds to wait after the `fails`-th consecutive failure: libtorrent's
 * 5 + fails² · 5 · ratio / 100 (integer seconds, ratio = tracker_backoff, 250 by default), at most one hour.
 */
export function trackerBackoff (fails: number, ratio = 250): number {
  if (fails <= 0) return 0
  return Math.min(RETRY_DELAY_MAX, RETRY_DELAY_MIN + Math.floor(fails * fails * RETRY_DELAY_MIN * ratio / 100))
}

/** Cancels the slot's timer, if any. */
export function clearSlotTimer (timers: Timers, s: Slot): void {
  if (s.hasTimer) timers.clearTimeout(s.timer)
  s.hasTimer = false
}

/** (Re)sets the slot's timer: `fire` runs in `delayMs`; every tracker of the slot shows it as nextAnnounce. */
export function scheduleSlot (timers: Timers, s: Slot, delayMs: number, fire: () => void): void {
  clearSlotTimer(timers, s)
  const at = timers.now() + delayMs
  s.nextAt = at
  for (const e of s.tiers.flat()) e.nextAnnounce = at
  s.timer = timers.setTimeout(() => {
    s.hasTimer = false
    fire()
  }, delayMs)
  s.hasTimer = true
  unrefTimer(s.timer)
}

/** An AbortSignal that fires after `ms` on the given timers (so a fake clock drives it too). */
export function timeoutSignal (timers: Timers, ms: number): { signal: AbortSignal, cancel: () => void } {
  const c = new AbortController()
  const h = timers.setTimeout(() => c.abort(new TrackerError('ERR_TRACKER_TIMEOUT', 'timed out')), ms)
  return { signal: c.signal, cancel: () => timers.clearTimeout(h) }
}
