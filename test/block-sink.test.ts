/**
 * Blocks written straight into piece buffers (the wire's block sink): a block being written belongs to its
 * writer until it completes or the writer goes; copies from others meanwhile are dropped (their bytes would be
 * overwritten), and a writer that dies halfway leaves the block to others.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ActivePiece, BLOCK_LENGTH } from '../src/engine/piece-table.js'
import type { SwarmPeer } from '../src/engine/types.js'
import { Wire } from '../src/wire/index.js'
import { encodePiece } from '../src/wire-codec/index.js'
import { socketPair, waitFor } from './helpers/sockets.js'
import { MapStore, makeTorrent, connect, newSwarm, destroySwarms } from './helpers/swarm.js'

afterEach(destroySwarms)

const peer = (name: string): SwarmPeer => ({ name } as unknown as SwarmPeer)

describe('ActivePiece write targets', () => {
  it('gives a target only for a block requested from that peer, not received, and not being written', () => {
    const p = new ActivePiece(0, 3 * BLOCK_LENGTH, new Uint8Array(3 * BLOCK_LENGTH))
    const a = peer('a')
    const b = peer('b')
    expect(p.writeTarget(a, 0, BLOCK_LENGTH)).toBe(null) // not requested
    p.request(0, a)
    p.request(0, b) // endgame duplicate
    expect(p.writeTarget(a, 0, BLOCK_LENGTH - 1)).toBe(null) // wrong length
    expect(p.writeTarget(a, 100, BLOCK_LENGTH)).toBe(null) // not a block boundary
    const t = p.writeTarget(a, 0, BLOCK_LENGTH)!
    expect(t.buffer).toBe(p.buffer.buffer)
    expect(t.byteOffset).toBe(p.buffer.byteOffset)
    expect(p.writeTarget(b, 0, BLOCK_LENGTH)).toBe(null) // a is writing it
    // b's copy arrives first: dropped, and b's request is gone (a still has the block).
    expect(p.receive(0, new Uint8Array(BLOCK_LENGTH).fill(2), b)).toBe(null)
    expect(p.requesters[0]).toEqual([a])
    // a's bytes land in place: accepted without a copy; b's bytes are nowhere.
    t.fill(1)
    expect(p.receive(0, t, a)).toEqual([])
    expect(p.received).toBe(1)
    expect(p.buffer.subarray(0, BLOCK_LENGTH).every(x => x === 1)).toBe(true)
    expect(p.writers[0]).toBe(null)
  })

  it('a writer that goes away leaves the block to the next peer', () => {
    const p = new ActivePiece(0, BLOCK_LENGTH, new Uint8Array(BLOCK_LENGTH))
    const a = peer('a')
    const b = peer('b')
    p.request(0, a)
    p.writeTarget(a, 0, BLOCK_LENGTH)!.fill(9, 0, 100) // half written
    p.dropWriter(a)
    p.unrequest(0, a)
    p.request(0, b)
    const copy = new Uint8Array(BLOCK_LENGTH).fill(3)
    expect(p.receive(0, copy, b)).toEqual([])
    expect(p.buffer.every(x => x === 3)).toBe(true)
    expect(p.complete).toBe(true)
  })
})

describe('Swarm with block sinks over loopback TCP', () => {
  it('a seeder that dies halfway through a block: the download completes from another, byte-identical', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(16 * PL, PL, 11)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false)
    let hashfails = 0
    leecher.on('hashfail', () => hashfails++)
    const done = waitFor(leecher, 'done', 20000)

    // A "seeder" that answers the first request with half a block, then drops the connection.
    const [sa, sb] = await socketPair()
    const fake = new Wire(sa)
    const wb = new Wire(sb)
    leecher.addWire(wb)
    wb.once('handshake', () => wb.handshake('cd'.repeat(20), '2d5757303030302d' + 'ee'.repeat(12)))
    fake.handshake('cd'.repeat(20), '2d5757303030302d' + 'ff'.repeat(12))
    fake.once('ready', () => { fake.setPieces(t.n); fake.haveAll(); fake.unchoke() })
    const half = new Promise<number>(resolve => {
      fake.once('request', (index: number, begin: number, length: number) => {
        const msg = encodePiece(index, begin, t.data.subarray(index * PL + begin, index * PL + begin + length))
        sa.write(msg.subarray(0, 13 + 5000), () => { sa.destroy(); resolve(index) })
      })
    })
    const index = await half
    await waitFor(wb, 'close', 5000)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    await connect(seeder, leecher)
    await done
    expect(index).toBeGreaterThanOrEqual(0)
    expect(hashfails).toBe(0)
    expect(Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
  })
})
