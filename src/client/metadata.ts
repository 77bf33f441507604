/**
 * Getting a magnet's metadata from the swarm: every ready wire of the torrent whose peer offers ut_metadata
 * becomes a candidate; fetches run on up to PARALLEL wires at a time, and the first verified result wins
 * (the shared UtMetadata class then serves it and settles the others). Peers that turn out to be bad sources
 * are not asked again; the promise rejects only when stopped or when `timeout` passes without metadata.
 */
import { WasmTorrentError } from '../errors.js'
import type { Wire } from '../wire/index.js'
import type { UtMetadata, UtMetadataClass } from '../wire/extensions/index.js'

// Wires fetching at once: a few in parallel cover slow peers without asking the whole swarm for the same bytes.
const PARALLEL = 3

export class MetadataFetcher {
  private readonly cls: UtMetadataClass
  private readonly waiting: Wire[] = []
  private readonly running = new Set<Wire>()
  private settled = false
  private resolveFn!: (m: Uint8Array) => void
  private rejectFn!: (e: Error) => void
  private timer: ReturnType<typeof setTimeout> | null = null
  readonly promise: Promise<Uint8Array>

  constructor (cls: UtMetadataClass, opts: { timeout?: number } = {}) {
    this.cls = cls
    this.promise = new Promise((resolve, reject) => { this.resolveFn = resolve; this.rejectFn = reject })
    this.promise.catch(() => {}) // a caller that stops waiting must not cause an unhandled rejection
    if (opts.timeout !== undefined && opts.timeout > 0) {
      this.timer = setTimeout(() => this.fail(new WasmTorrentError('ERR_METADATA_TIMEOUT', 'no peer sent the metadata in time')), opts.timeout)
      const t = this.timer as { unref?: () => void }
      if (typeof t.unref === 'function') t.unref()
    }
    if (cls.metadata) this.succeed(cls.metadata)
  }

  /** Offers a wire that has `use`d the class; it is asked once its extended handshake says it can serve. */
  addWire (wire: Wire): void {
    if (this.settled || wire.destroyed) return
    const ext = wire.extensions.ut_metadata as UtMetadata | undefined
    if (!ext) return
    const offer = (): void => {
      if (this.settled || wire.destroyed || ext.badSource || ext.peerMetadataSize === null) return
      this.waiting.push(wire)
      this.next()
    }
    if (ext.peerMetadataSize !== null) offer()
    else wire.on('extended', (name: string) => { if (name === 'handshake') offer() })
  }

  private next (): void {
    while (!this.settled && this.running.size < PARALLEL && this.waiting.length > 0) {
      const wire = this.waiting.shift()!
      if (wire.destroyed) continue
      const ext = wire.extensions.ut_metadata as UtMetadata
      this.running.add(wire)
      ext.fetch().then(m => this.succeed(m), () => {
        this.running.delete(wire)
        this.next()
      })
    }
  }

  private succeed (m: Uint8Array): void {
    if (this.settled) return
    this.settled = true
    if (this.timer) clearTimeout(this.timer)
    this.resolveFn(m)
  }

  private fail (err: Error): void {
    if (this.settled) return
    this.settled = true
    if (this.timer) clearTimeout(this.timer)
    for (const w of this.running) (w.extensions.ut_metadata as UtMetadata | undefined)?.cancel()
    this.rejectFn(err)
  }

  /** Gives up (torrent destroyed). */
  stop (): void {
    this.fail(new WasmTorrentError('ERR_METADATA_STOPPED', 'metadata fetch stopped'))
  }
}
