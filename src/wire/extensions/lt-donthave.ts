/**
 * lt_donthave (BEP 54): a peer announces it no longer has a piece it announced before (a disk error, a file
 * removed). The message is the piece index as a 4-byte big-endian integer.
 *
 *     const dh = wire.use(LtDonthave) as LtDonthaveExtension
 *     dh.on('donthave', index => availability.lost(index))
 *     dh.donthave(index)       // tell the peer we lost a piece
 *
 * Receiving: the bit is cleared in `wire.peerPieces` and 'donthave' is emitted, only when the peer had the
 * piece (a redundant message is ignored, as libtorrent does). Ignored (with a 'warning'): a payload that is
 * not 4 bytes or an index >= the piece count (libtorrent ignores both), and any message while the piece count
 * is unknown (a magnet before its metadata: the wire keeps that early availability internally).
 */
import { Emitter } from '../../util/emitter.js'
import { WasmTorrentError } from '../../errors.js'
import type { Wire } from '../wire.js'
import type { WireExtension, WireExtensionClass } from '../extension.js'

// A type alias, not an interface: Emitter needs the implicit index signature.
export type LtDonthaveEvents = {
  /** The peer no longer has piece `index` (its bit in wire.peerPieces is now clear). */
  donthave: (index: number) => void
  warning: (err: WasmTorrentError) => void
}

export class LtDonthaveExtension extends Emitter<LtDonthaveEvents> implements WireExtension {
  declare name: string
  readonly wire: Wire
  private peerSupports = false

  constructor (wire: Wire) {
    super()
    this.wire = wire
  }

  /** True once the peer announced lt_donthave. */
  get supported (): boolean {
    return this.peerSupports
  }

  /**
   * Tells the peer we no longer have piece `index`. Returns false when the peer does not support lt_donthave
   * (or the wire is closed). Throws ERR_DONTHAVE_INDEX for an index that is not a piece.
   */
  donthave (index: number): boolean {
    const n = this.wire.pieceCount
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff || (n >= 0 && index >= n)) {
      throw new WasmTorrentError('ERR_DONTHAVE_INDEX', `lt_donthave for piece ${index} of ${n}`)
    }
    const msg = new Uint8Array(4)
    new DataView(msg.buffer).setUint32(0, index)
    return this.wire.extended('lt_donthave', msg)
  }

  onExtendedHandshake (): void {
    this.peerSupports = true
  }

  onMessage (payload: Uint8Array): void {
    if (payload.length !== 4) return this.warn(`lt_donthave payload of ${payload.length} bytes`)
    const index = (payload[0] << 24 | payload[1] << 16 | payload[2] << 8 | payload[3]) >>> 0
    const bf = this.wire.peerPieces
    if (bf === null) return this.warn(`lt_donthave for piece ${index} before the piece count is known`)
    if (index >= this.wire.pieceCount) return this.warn(`lt_donthave for piece ${index} of ${this.wire.pieceCount}`)
    if (!bf.get(index)) return
    bf.clear(index)
    this.emit('donthave', index)
  }

  private warn (message: string): void {
    this.emit('warning', new WasmTorrentError('ERR_DONTHAVE_IGNORED', message + ': ignored'))
  }
}
LtDonthaveExtension.prototype.name = 'lt_donthave'

/** The lt_donthave extension class, for `wire.use(LtDonthave)`. */
export const LtDonthave: WireExtensionClass & { new (wire: Wire): LtDonthaveExtension } = LtDonthaveExtension
