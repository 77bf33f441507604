/**
 * Pieces being downloaded: per block, its state and who requested / sent it; the piece's data is assembled in
 * one buffer until it is complete and handed to verification.
 *
 * A block is requested from at most one peer, except in endgame, when every missing block is already
 * requested and idle peers may duplicate a request (the first copy to arrive wins, the others are cancelled).
 */
import type { SwarmPeer } from './types.js'

/** 16 KiB: the block size every client requests (BEP 3 recommends 2^14; larger is dropped by many peers). */
export const BLOCK_LENGTH = 16 * 1024

// Block states.
export const BLOCK_FREE = 0
export const BLOCK_REQUESTED = 1
export const BLOCK_RECEIVED = 2

const NO_PEERS: readonly SwarmPeer[] = Object.freeze([])

export class ActivePiece {
  readonly index: number
  readonly length: number
  readonly blockCount: number
  /** BLOCK_* per block. */
  readonly state: Uint8Array
  /** Peers a block is requested from (usually one; more in endgame). */
  readonly requesters: Array<SwarmPeer[] | null>
  /** Who sent each received block (smart ban: blame after a hash failure). */
  readonly senders: Array<SwarmPeer | null>
  /**
   * A peer writing this block straight into `buffer` (its wire's block sink), from the block's header until
   * it completes or the peer goes: nobody else's copy of the block is taken meanwhile, since those bytes would
   * be overwritten.
   */
  readonly writers: Array<SwarmPeer | null>
  buffer: Uint8Array
  received = 0
  /** Blocks not requested from anyone. */
  free: number
  /** Date.now() of the last block received, for stall detection. */
  lastActivity = Date.now()

  constructor (index: number, length: number, buffer: Uint8Array) {
    this.index = index
    this.length = length
    this.blockCount = Math.ceil(length / BLOCK_LENGTH)
    this.state = new Uint8Array(this.blockCount)
    this.requesters = new Array(this.blockCount).fill(null)
    this.senders = new Array(this.blockCount).fill(null)
    this.writers = new Array(this.blockCount).fill(null)
    this.buffer = buffer
    this.free = this.blockCount
  }

  blockLength (block: number): number {
    return block === this.blockCount - 1 ? this.length - block * BLOCK_LENGTH : BLOCK_LENGTH
  }

  get complete (): boolean {
    return this.received === this.blockCount
  }

  /** Marks `block` requested from `wire`. */
  request (block: number, wire: SwarmPeer): void {
    if (this.state[block] === BLOCK_FREE) {
      this.state[block] = BLOCK_REQUESTED
      this.free--
      this.requesters[block] = [wire]
    } else {
      (this.requesters[block] ??= []).push(wire)
    }
  }

  /** A request for `block` from `wire` failed (reject, choke, timeout, close): the block is free again if no one else has it. */
  unrequest (block: number, wire: SwarmPeer): void {
    if (this.state[block] !== BLOCK_REQUESTED) return
    const list = this.requesters[block]
    if (list) {
      const i = list.indexOf(wire)
      if (i >= 0) list.splice(i, 1)
      if (list.length > 0) return
    }
    this.requesters[block] = null
    this.state[block] = BLOCK_FREE
    this.free++
  }

  /**
   * Stores a received block; returns the other peers it was also requested from (to cancel), or null when the
   * block was not wanted any more (already received from someone else).
   */
  receive (block: number, data: Uint8Array, wire: SwarmPeer): readonly SwarmPeer[] | null {
    if (this.state[block] === BLOCK_RECEIVED) return null
    const writer = this.writers[block]
    if (writer !== null && writer !== wire) {
      // Another peer is writing this block in place: its bytes win. This copy is dropped, and its request
      // with it (so the block is not left waiting for an answer that came).
      this.unrequest(block, wire)
      return null
    }
    this.writers[block] = null
    if (this.state[block] === BLOCK_FREE) this.free--
    const at = block * BLOCK_LENGTH
    // Written in place through the wire's block sink: nothing to copy.
    if (data.buffer !== this.buffer.buffer || data.byteOffset !== this.buffer.byteOffset + at) this.buffer.set(data, at)
    this.state[block] = BLOCK_RECEIVED
    this.senders[block] = wire
    const list = this.requesters[block]
    // Nearly always the only requester is the sender: no array for that case (a block's hot path).
    const others = list === null || (list.length === 1 && list[0] === wire) ? NO_PEERS : list.filter(w => w !== wire)
    this.requesters[block] = null
    this.received++
    this.lastActivity = Date.now()
    return others
  }

  /** First free block, or -1. */
  firstFree (): number {
    if (this.free === 0) return -1
    return this.state.indexOf(BLOCK_FREE)
  }

  /**
   * The place in `buffer` for `wire` to write block `block` (begin `begin`, `length` bytes) into, or null:
   * only for a block requested from `wire`, not received, and not being written by another peer.
   */
  writeTarget (wire: SwarmPeer, begin: number, length: number): Uint8Array | null {
    if (begin % BLOCK_LENGTH !== 0) return null
    const block = begin / BLOCK_LENGTH
    if (block >= this.blockCount || this.blockLength(block) !== length) return null
    if (this.state[block] !== BLOCK_REQUESTED || this.writers[block] !== null) return null
    if (this.requesters[block]?.includes(wire) !== true) return null
    this.writers[block] = wire
    return this.buffer.subarray(begin, begin + length)
  }

  /** `wire` is gone: its half-written blocks are open to others again (they overwrite the partial bytes). */
  dropWriter (wire: SwarmPeer): void {
    for (let b = 0; b < this.blockCount; b++) if (this.writers[b] === wire) this.writers[b] = null
  }

  /** `wire` has a pending request in this piece (no allocation: called per active piece on every refill). */
  isRequestedBy (wire: SwarmPeer): boolean {
    for (const l of this.requesters) if (l !== null && l.includes(wire)) return true
    return false
  }

  /** Wires with a pending request in this piece. */
  requestersOf (): Set<SwarmPeer> {
    const out = new Set<SwarmPeer>()
    for (const l of this.requesters) if (l) for (const w of l) out.add(w)
    return out
  }
}
