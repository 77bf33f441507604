/**
 * Rate limits as token buckets, webtorrent's semantics: a rate in bytes per second, -1 for unlimited, 0 to
 * block all transfer. Buckets chain (a torrent's bucket has the client's as parent): taking n bytes takes them
 * from every bucket up the chain, or from none.
 *
 * Downloads are paced at request time (a block request takes its length), since peers send only what we
 * request; uploads are paced before a block is sent. Callers that cannot take now queue a retry with
 * `whenAvailable`, which fires once the whole chain could grant the bytes.
 */
const UNLIMITED = -1

// A bucket holds at most one second of its rate (and never less than one 16 KiB block, so a low limit still
// lets whole blocks through): bursts stay short, and a limit change takes effect within a second.
const BURST_SECONDS = 1
const MIN_BURST = 16 * 1024

export class RateLimiter {
  private _rate: number
  private tokens: number
  private last: number
  private readonly parent: RateLimiter | null
  private readonly now: () => number
  private readonly waiters: Array<{ n: number, fn: () => void }> = []
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor (rate = UNLIMITED, parent: RateLimiter | null = null, now: () => number = Date.now) {
    this._rate = normalize(rate)
    this.parent = parent
    this.now = now
    this.last = now()
    this.tokens = this.capacity()
  }

  get rate (): number {
    return this._rate
  }

  /** Changes the rate at runtime (-1 unlimited, 0 blocks); queued takers are re-evaluated. */
  setRate (rate: number): void {
    this.refill()
    this._rate = normalize(rate)
    this.tokens = Math.min(this.tokens, this.capacity())
    this.wake()
  }

  private capacity (): number {
    return this._rate === UNLIMITED ? Infinity : Math.max(this._rate * BURST_SECONDS, MIN_BURST)
  }

  private refill (): void {
    const t = this.now()
    if (this._rate > 0) this.tokens = Math.min(this.capacity(), this.tokens + (t - this.last) * this._rate / 1000)
    this.last = t
  }

  /** Whether n bytes could be taken now from this bucket and its parents. */
  canTake (n: number): boolean {
    if (this._rate === 0) return false
    if (this._rate !== UNLIMITED) {
      this.refill()
      if (this.tokens < n) return false
    }
    return this.parent === null || this.parent.canTake(n)
  }

  /** Takes n bytes from the whole chain if all can grant them; returns whether it did. */
  tryTake (n: number): boolean {
    if (!this.canTake(n)) return false
    this.take(n)
    return true
  }

  private take (n: number): void {
    if (this._rate !== UNLIMITED) this.tokens -= n
    this.parent?.take(n)
  }

  /** Milliseconds until n bytes could be taken (Infinity while some bucket is blocked). */
  delay (n: number): number {
    let d = 0
    if (this._rate === 0) return Infinity
    if (this._rate !== UNLIMITED) {
      this.refill()
      if (this.tokens < n) d = Math.ceil((n - this.tokens) * 1000 / this._rate)
    }
    return Math.max(d, this.parent?.delay(n) ?? 0)
  }

  /** Calls `fn` once n bytes can be taken (it does not take them: fn should call tryTake). */
  whenAvailable (n: number, fn: () => void): void {
    this.waiters.push({ n, fn })
    this.parent?.addChild(this)
    this.schedule()
  }

  private readonly children = new Set<RateLimiter>()
  private addChild (c: RateLimiter): void {
    this.children.add(c)
    this.parent?.addChild(this)
  }

  private schedule (): void {
    if (this.timer !== null || this.waiters.length === 0) return
    const d = this.delay(this.waiters[0].n)
    if (!Number.isFinite(d)) return // blocked: woken by setRate
    this.timer = setTimeout(() => { this.timer = null; this.wake() }, Math.max(1, d))
    const t = this.timer as { unref?: () => void }
    if (typeof t.unref === 'function') t.unref()
  }

  private wake (): void {
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null }
    for (const c of this.children) c.wake()
    this.children.clear()
    while (this.waiters.length > 0 && this.canTake(this.waiters[0].n)) {
      this.waiters.shift()!.fn()
    }
    if (this.waiters.length > 0) {
      this.parent?.addChild(this)
      this.schedule()
    }
  }

  /** Drops queued callbacks (on destroy). */
  clear (): void {
    this.waiters.length = 0
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null }
  }
}

function normalize (rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) return UNLIMITED
  return Math.floor(rate)
}
