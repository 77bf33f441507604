/**
 * The live progress display of `download` and `seed` (and the demo), always on stderr:
 *  - on a TTY, one line redrawn in place ("\r" + clear line) at most 4 times a second, cut to the width;
 *  - otherwise (piped, logged), a plain line every few seconds and at milestones (metadata, done), so a log
 *    shows how a download went without being flooded; while seeding, only when something changed.
 * Messages printed through `print` appear above the live line.
 */
import { formatBytes } from './usage.js'

export type Phase = 'metadata' | 'hashing' | 'checking' | 'downloading' | 'seeding'

export interface Snapshot {
  phase: Phase
  /** Verified bytes of what is wanted (the selected files), and its total (0 while unknown). */
  done: number
  total: number
  /** Bytes/s over the last seconds. */
  downloadSpeed: number
  uploadSpeed: number
  uploaded: number
  peers: number
  /** ms until done at the current speed; Infinity when unknown or stalled. */
  eta: number
}

/**
 * A transfer rate from a running byte counter, over the last few seconds of real time. Unlike a fixed
 * 5-second window it is right from the first second (a short transfer would otherwise show a fraction of its
 * speed and a far too long ETA).
 */
export class RateSampler {
  private readonly samples: Array<[number, number]>
  private readonly windowMs: number
  private readonly now: () => number

  constructor (initial = 0, windowMs = 3000, now: () => number = () => performance.now()) {
    this.windowMs = windowMs
    this.now = now
    this.samples = [[now(), initial]]
  }

  /** Bytes/s given the counter's current value. */
  rate (total: number): number {
    const t = this.now()
    const last = this.samples[this.samples.length - 1]
    if (t - last[0] >= 50) this.samples.push([t, total])
    while (this.samples.length > 2 && t - this.samples[1][0] >= this.windowMs) this.samples.shift()
    const [t0, b0] = this.samples[0]
    return t > t0 ? Math.max(0, total - b0) / (t - t0) * 1000 : 0
  }
}

/** ms to transfer `missing` bytes at `speed` bytes/s (Infinity when stalled, 0 when nothing is missing). */
/** The torrent fields a progress snapshot reads (null before the torrent exists). */
interface SampledTorrent { received: number, uploaded: number, numPeers: number }

/** A progress snapshot of `t` in `phase`, `progress` being the done/total of what is wanted. */
export function snapshot (t: SampledTorrent | null | undefined, phase: Phase, progress: { done: number, total: number },
  down: RateSampler, up: RateSampler): Snapshot {
  const downloadSpeed = down.rate(t?.received ?? 0)
  return {
    phase,
    done: progress.done,
    total: progress.total,
    downloadSpeed,
    uploadSpeed: up.rate(t?.uploaded ?? 0),
    uploaded: t?.uploaded ?? 0,
    peers: t?.numPeers ?? 0,
    eta: progress.total > 0 ? eta(progress.total - progress.done, downloadSpeed) : Infinity
  }
}

export function eta (missing: number, speed: number): number {
  return missing <= 0 ? 0 : speed > 0 ? missing / speed * 1000 : Infinity
}

export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

/** 0:07, 12:34, 1:02:03; "--:--" when unknown. */
export function formatDuration (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--'
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor(s / 60) % 60
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** Seconds with a sensible precision: 0.84 s, 12.3 s, 125 s. */
export function formatSeconds (ms: number): string {
  const s = ms / 1000
  return `${s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : Math.round(s)} s`
}

export function formatLine (s: Snapshot): string {
  const peers = `peers ${s.peers}`
  switch (s.phase) {
    case 'metadata':
      return `fetching metadata  ${peers}`
    case 'hashing':
      return `hashing ${s.total > 0 ? (100 * s.done / s.total).toFixed(1) : '0.0'}%  ${formatBytes(s.done)} / ${formatBytes(s.total)}`
    case 'checking':
      return `checking existing data  ${peers}`
    case 'seeding':
      return `seeding  up ${formatRate(s.uploadSpeed)}  uploaded ${formatBytes(s.uploaded)}  ${peers}`
    case 'downloading': {
      const pct = s.total > 0 ? (100 * s.done / s.total).toFixed(1).padStart(5) : '  0.0'
      return `${pct}%  ${formatBytes(s.done)} / ${formatBytes(s.total)}  down ${formatRate(s.downloadSpeed)}  ` +
        `up ${formatRate(s.uploadSpeed)}  ${peers}  ETA ${formatDuration(s.eta)}`
    }
  }
}

export interface ProgressOptions {
  sample: () => Snapshot
  /** Default: process.stderr. */
  stream?: NodeJS.WriteStream
  /** Redraw in place (default: whether the stream is a TTY). */
  tty?: boolean
  /** Off: nothing but `print`ed messages. */
  quiet?: boolean
  /** Redraw interval on a TTY (default 250 ms). */
  ttyIntervalMs?: number
  /** Plain line interval otherwise (default 3 s). */
  plainIntervalMs?: number
}

export class ProgressDisplay {
  private readonly sample: () => Snapshot
  private readonly stream: NodeJS.WriteStream
  readonly tty: boolean
  private readonly quiet: boolean
  private readonly ttyIntervalMs: number
  private readonly plainIntervalMs: number
  private timer: ReturnType<typeof setInterval> | null = null
  private drawn = false
  private drawnLine = ''
  private lastPlain = 0
  private lastPlainLine = ''

  constructor (opts: ProgressOptions) {
    this.sample = opts.sample
    this.stream = opts.stream ?? process.stderr
    this.tty = opts.tty ?? this.stream.isTTY === true
    this.quiet = opts.quiet === true
    this.ttyIntervalMs = opts.ttyIntervalMs ?? 250
    this.plainIntervalMs = opts.plainIntervalMs ?? 3000
  }

  start (): void {
    if (this.quiet || this.timer) return
    this.lastPlain = Date.now()
    this.timer = setInterval(() => this.tick(), this.tty ? this.ttyIntervalMs : Math.min(this.plainIntervalMs, 1000))
    this.timer.unref()
    if (this.tty) this.draw()
  }

  private tick (): void {
    if (this.tty) { this.draw(); return }
    if (Date.now() - this.lastPlain < this.plainIntervalMs) return
    const s = this.sample()
    // A line only when something changed (waiting for metadata, or seeding for days, must not flood a log).
    if (this.plainKey(s) === this.lastPlainLine) return
    this.plain(s)
  }

  private draw (): void {
    let line = formatLine(this.sample())
    const width = this.stream.columns
    if (width !== undefined && width > 1 && line.length > width - 1) line = line.slice(0, width - 1)
    if (this.drawn && line === this.drawnLine) return
    this.stream.write(`\r\x1b[2K${line}`)
    this.drawn = true
    this.drawnLine = line
  }

  private plain (s: Snapshot): void {
    this.lastPlain = Date.now()
    this.lastPlainLine = this.plainKey(s)
    this.stream.write(formatLine(s) + '\n')
  }

  /** What must change for another plain line: the line itself; while seeding, what was uploaded or the peers. */
  private plainKey (s: Snapshot): string {
    return s.phase === 'seeding' ? formatLine({ ...s, uploadSpeed: 0 }) : formatLine(s)
  }

  /** A milestone: a plain line now (not on a TTY, where the live line shows it anyway). */
  milestone (): void {
    if (this.quiet || this.tty || !this.timer) return
    this.plain(this.sample())
  }

  /** A message on its own line (above the live line on a TTY). Shown even when quiet unless `progressOnly`. */
  print (message: string, progressOnly = false): void {
    if (progressOnly && this.quiet) return
    this.clear()
    this.stream.write(message + '\n')
    if (this.tty && this.timer) this.draw()
  }

  private clear (): void {
    if (this.drawn) this.stream.write('\r\x1b[2K')
    this.drawn = false
  }

  /** Stops redrawing; the live line is removed, or with `keepLine` drawn a last time and kept. */
  stop (keepLine = false): void {
    const running = this.timer !== null
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (keepLine && running && this.tty) {
      this.draw()
      this.stream.write('\n')
      this.drawn = false
    } else {
      this.clear()
    }
  }
}
