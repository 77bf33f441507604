/**
 * Transfer rate over a sliding window of whole seconds (default 5 s, like webtorrent's `throughput`): bytes
 * are added to the current second's bucket; the rate is the window's sum over its span. O(1) per add.
 */
const DEFAULT_WINDOW_SECONDS = 5

export class SpeedMeter {
  private readonly buckets: Float64Array
  private readonly window: number
  private second = 0
  private total = 0
  private readonly now: () => number
  private readonly created: number

  constructor (windowSeconds = DEFAULT_WINDOW_SECONDS, now: () => number = Date.now) {
    this.window = windowSeconds
    this.buckets = new Float64Array(windowSeconds)
    this.now = now
    this.created = now()
    this.second = Math.floor(this.created / 1000)
  }

  private advance (sec: number): void {
    const gap = sec - this.second
    if (gap <= 0) return
    if (gap >= this.window) {
      this.buckets.fill(0)
      this.total = 0
    } else {
      for (let s = this.second + 1; s <= sec; s++) {
        const i = s % this.window
        this.total -= this.buckets[i]
        this.buckets[i] = 0
      }
    }
    this.second = sec
  }

  add (bytes: number): void {
    const sec = Math.floor(this.now() / 1000)
    if (sec !== this.second) this.advance(sec)
    this.buckets[sec % this.window] += bytes
    this.total += bytes
  }

  /** Bytes per second over the window. */
  rate (): number {
    const t = this.now()
    this.advance(Math.floor(t / 1000))
    // The current second is partial: divide by the time the window really covers, and never by more time
    // than the meter has existed (else a new meter reads up to window-times too low). At least 250 ms, so
    // the first block does not read as an absurd rate.
    const span = Math.min(this.window - 1 + (t % 1000) / 1000, (t - this.created) / 1000)
    return this.total / Math.max(span, 0.25)
  }
}
