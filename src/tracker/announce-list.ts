/**
 * Announce lists (BEP 12): tiers of tracker URLs. Trackers are shuffled within each tier once, tried in order,
 * and the one that answers is moved to the front of its tier.
 */
import { TrackerError } from './errors.js'
import { parseTrackerUrl, type TrackerUrl } from './url.js'

export interface AnnounceTiers {
  /** Usable trackers, tier by tier (empty tiers dropped, duplicates kept only at their first place). */
  tiers: TrackerUrl[][]
  /** URLs refused by the URL checks (scheme, SSRF), with the reason. */
  rejected: TrackerError[]
}

/**
 * Tiers from either a BEP 12 `announce-list` (string[][]) or a flat list (string[], as parseTorrent and magnets
 * give: each URL becomes its own tier, as libtorrent does for magnet `tr` parameters).
 */
export function announceTiers (announce: ReadonlyArray<string | readonly string[]> | string | undefined,
  opts: { shuffle?: boolean, random?: () => number } = {}): AnnounceTiers {
  const list: Array<readonly string[]> = typeof announce === 'string'
    ? [[announce]]
    : (announce ?? []).map(t => typeof t === 'string' ? [t] : t)
  const seen = new Set<string>()
  const tiers: TrackerUrl[][] = []
  const rejected: TrackerError[] = []
  for (const tier of list) {
    if (!Array.isArray(tier)) continue
    const out: TrackerUrl[] = []
    for (const raw of tier) {
      if (typeof raw !== 'string') continue
      const url = raw.trim()
      if (url === '' || seen.has(url)) continue
      seen.add(url)
      try {
        out.push(parseTrackerUrl(url))
      } catch (err) {
        if (err instanceof TrackerError) rejected.push(err)
        else throw err
      }
    }
    if (out.length > 0) tiers.push(opts.shuffle === false ? out : shuffle(out, opts.random ?? Math.random))
  }
  return { tiers, rejected }
}

/** Fisher–Yates, in place. */
export function shuffle<T> (arr: T[], random: () => number = Math.random): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = arr[i]
    arr[i] = arr[j]
    arr[j] = t
  }
  return arr
}

/** BEP 12: moves `item` to the front of `tier` (in place). */
export function promote<T> (tier: T[], item: T): void {
  const i = tier.indexOf(item)
  if (i > 0) {
    tier.splice(i, 1)
    tier.unshift(item)
  }
}
