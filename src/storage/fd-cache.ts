/**
 * A bounded LRU cache of open files. A torrent may have tens of thousands of files and a process a few
 * thousand descriptors at most (often `ulimit -n` = 1024, shared with sockets), so the fs store keeps at
 * most `max` files open (default 128: enough that sequential and rarest-first access rarely reopen, small
 * enough that several torrents plus the peer sockets stay far below common limits).
 *
 * The bound is strict: handles being opened, in use, or being closed all count. An in-use handle is never
 * closed under its user; when every slot is in use, the next acquisition waits for a release. A caller must
 * hold at most one handle at a time (the fs store does), so waiting cannot deadlock.
 *
 * Files are opened read-only until a write needs them: seeding from a read-only location works, and reads
 * never create files. A read-only handle is replaced by a read-write one on the first write (the old handle
 * closes once its current users are done).
 */

export interface Closable {
  close (): Promise<void>
}

export type Opener<H> = (key: number, writable: boolean) => Promise<H>

interface Entry<H> {
  key: number
  writable: boolean
  handle: Promise<H>
  refs: number
  /** Out of the map (evicted or replaced): close when refs drops to 0. */
  retired: boolean
  closed: boolean
}

export const DEFAULT_MAX_OPEN_FILES = 128

export class FdCache<H extends Closable> {
  readonly max: number
  private readonly open: Opener<H>
  /** Live entries in LRU order (first = least recently used). */
  private readonly entries = new Map<number, Entry<H>>()
  /** Handles opening, open or closing: never above `max`. */
  private slots = 0
  private waiters: Array<() => void> = []
  private readonly closing = new Set<Promise<void>>()

  constructor (open: Opener<H>, max = DEFAULT_MAX_OPEN_FILES) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max open files must be a positive integer')
    this.open = open
    this.max = max
  }

  /** Handles currently counted against the bound (for tests and diagnostics). */
  get size (): number {
    return this.slots
  }

  /** Runs `fn` with file `key` open (read-write when `writable`), keeping the handle open meanwhile. */
  async use<T> (key: number, writable: boolean, fn: (handle: H) => Promise<T>): Promise<T> {
    const entry = await this.acquire(key, writable)
    try {
      return await fn(await entry.handle)
    } finally {
      this.release(entry)
    }
  }

  private async acquire (key: number, writable: boolean): Promise<Entry<H>> {
    for (;;) {
      const e = this.entries.get(key)
      if (e && (e.writable || !writable)) {
        e.refs++
        this.entries.delete(key) // move to the most recently used end
        this.entries.set(key, e)
        return e
      }
      if (e) this.retire(e) // read-only, a write needs read-write: reopen
      if (this.slots < this.max) return this.create(key, writable)
      // Full: unless a close already under way will free a slot, close the least recently used idle handle
      // (its slot frees when the close completes); with every handle in use, wait for a release.
      if (this.closing.size === 0) this.evictOne()
      await this.waitForSlot()
    }
  }

  private create (key: number, writable: boolean): Entry<H> {
    this.slots++
    let handle: Promise<H>
    try {
      handle = this.open(key, writable)
    } catch (err) {
      handle = Promise.reject(err)
    }
    const entry: Entry<H> = { key, writable, handle, refs: 1, retired: false, closed: false }
    this.entries.set(key, entry)
    entry.handle.catch(() => {
      // Failed to open: forget it; users see the error through `use`.
      if (this.entries.get(key) === entry) this.entries.delete(key)
      entry.retired = true
      this.slots--
      this.wake()
    })
    return entry
  }

  private release (entry: Entry<H>): void {
    entry.refs--
    if (entry.refs > 0) return
    if (entry.retired) this.closeEntry(entry)
    else this.wake()
  }

  /** Removes `entry` from the cache; it closes as soon as nobody uses it. */
  private retire (entry: Entry<H>): void {
    if (entry.retired) return
    entry.retired = true
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key)
    if (entry.refs === 0) this.closeEntry(entry)
  }

  /** Closes the least recently used idle handle; false when every handle is in use. */
  private evictOne (): boolean {
    for (const e of this.entries.values()) {
      if (e.refs === 0) {
        this.retire(e)
        return true
      }
    }
    return false
  }

  private closeEntry (entry: Entry<H>): void {
    if (entry.closed) return
    entry.closed = true
    // A handle whose open failed gave its slot back already (see create).
    const p: Promise<void> = entry.handle.then(h => h.close().then(() => true, () => true), () => false).then(opened => {
      if (opened) this.slots--
      this.closing.delete(p)
      this.wake()
    })
    this.closing.add(p)
  }

  private waitForSlot (): Promise<void> {
    return new Promise(resolve => this.waiters.push(resolve))
  }

  private wake (): void {
    const w = this.waiters
    this.waiters = []
    for (const resolve of w) resolve()
  }

  /** Closes every handle. Call only when no `use` is under way (the stores drain their operations first). */
  async closeAll (): Promise<void> {
    for (const e of [...this.entries.values()]) this.retire(e)
    while (this.closing.size) await Promise.all([...this.closing])
  }
}
