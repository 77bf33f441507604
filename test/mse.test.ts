/**
 * MSE/PE responder (src/mse): a test-side initiator drives it over a loopback socket pair. Real peers
 * (webtorrent secure 1 and 2, libtorrent with encryption forced) are in the e2e tests; these cover the bad input.
 */
import { createDiffieHellman, createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Rc4 } from '../src/mse/rc4.js'
import { MseResponder } from '../src/mse/responder.js'
import { socketPair } from './helpers/sockets.js'

const PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3' +
  'CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563', 'hex')
const IH = 'ab'.repeat(20)
const sha1 = (...p: Uint8Array[]): Buffer => { const h = createHash('sha1'); for (const x of p) h.update(x); return h.digest() }
const pad96 = (b: Buffer): Buffer => Buffer.concat([Buffer.alloc(96 - b.length), b])

const open: Socket[] = []
afterEach(() => { for (const s of open.splice(0)) s.destroy() })

async function pair (): Promise<{ a: Socket, b: MseResponder, got: Buffer[], closed: Promise<Error | undefined> }> {
  const [sa, sb] = await socketPair()
  open.push(sa, sb)
  const b = new MseResponder(sb, { infoHashes: () => [IH] })
  const got: Buffer[] = []
  b.on('data', (c: Uint8Array) => got.push(Buffer.from(c)))
  const closed = new Promise<Error | undefined>(resolve => { let e: Error | undefined; b.on('error', (x: Error) => { e = x }); b.on('close', () => resolve(e)) })
  return { a: sa, b, got, closed }
}

/** Reads from a socket: exactly n bytes, or up to and including the first occurrence of a pattern. */
function reader (s: Socket): { read: (n: number) => Promise<Buffer>, skipPast: (pattern: Buffer) => Promise<void> } {
  let buf = Buffer.alloc(0)
  let waiter: (() => boolean) | null = null
  s.on('data', (c: Buffer) => { buf = Buffer.concat([buf, c]); if (waiter?.() === true) waiter = null })
  const wait = (fn: () => boolean): Promise<void> => new Promise(resolve => {
    const attempt = (): boolean => { if (!fn()) return false; resolve(); return true }
    if (!attempt()) waiter = attempt
  })
  return {
    read: async n => {
      let out = Buffer.alloc(0)
      await wait(() => { if (buf.length < n) return false; out = buf.subarray(0, n); buf = buf.subarray(n); return true })
      return out
    },
    skipPast: async pattern => {
      await wait(() => { const i = buf.indexOf(pattern); if (i < 0) return false; buf = buf.subarray(i + pattern.length); return true })
    }
  }
}

/** Runs the initiator side up to step 3; `mutate` can corrupt the pieces. Returns the RC4 state and S. */
async function initiate (a: Socket, opts: { skey?: string, vc?: Buffer, provide?: number, ia?: Buffer } = {}) {
  const { read, skipPast } = reader(a)
  const dh = createDiffieHellman(PRIME, 2)
  a.write(pad96(dh.generateKeys()))
  const yb = await read(96)
  const S = pad96(dh.computeSecret(yb))
  const skey = Buffer.from(opts.skey ?? IH, 'hex')
  const enc = new Rc4(sha1(Buffer.from('keyA'), S, skey)).skip(1024)
  const dec = new Rc4(sha1(Buffer.from('keyB'), S, skey)).skip(1024)
  const x = sha1(Buffer.from('req2'), skey)
  const r3 = sha1(Buffer.from('req3'), S)
  for (let i = 0; i < 20; i++) x[i] ^= r3[i]
  const ia = opts.ia ?? Buffer.alloc(0)
  const head = Buffer.alloc(8 + 4 + 2 + 2)
  ;(opts.vc ?? Buffer.alloc(8)).copy(head, 0)
  head.writeUInt32BE(opts.provide ?? 3, 8)
  head.writeUInt16BE(0, 12) // PadC
  head.writeUInt16BE(ia.length, 14)
  a.write(Buffer.concat([sha1(Buffer.from('req1'), S), x, enc.update(head), enc.update(Buffer.from(ia))]))
  /** B's answer after its PadB: finds the encrypted VC, returns crypto_select (PadD assumed empty). */
  const answer = async (): Promise<number> => {
    await skipPast(Buffer.from(dec.update(new Uint8Array(8))))
    const rest = dec.update(Buffer.from(await read(6)))
    return Buffer.from(rest).readUInt32BE(0)
  }
  return { read, enc, dec, answer }
}

describe('RC4', () => {
  it('matches the classic test vectors', () => {
    const hex = (k: string, p: string): string => Buffer.from(new Rc4(Buffer.from(k)).update(Buffer.from(p))).toString('hex')
    expect(hex('Key', 'Plaintext')).toBe('bbf316e8d940af0ad3')
    expect(hex('Wiki', 'pedia')).toBe('1021bf0420')
    expect(hex('Secret', 'Attack at dawn')).toBe('45a01f645fc35b383552544b9bf5')
  })
})

describe('MSE responder', () => {
  it('passes a plaintext BitTorrent handshake through untouched', async () => {
    const { a, b, got } = await pair()
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48, 7)])
    a.write(hs.subarray(0, 5)) // split inside the 20-byte prefix
    await new Promise(resolve => setTimeout(resolve, 20))
    a.write(hs.subarray(5))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(Buffer.concat(got).equals(hs)).toBe(true)
    expect(b.mode).toBe('plaintext')
  })

  it('completes a handshake offering both methods: selects plaintext, delivers IA, then plain bytes both ways', async () => {
    const { a, b, got } = await pair()
    const { read, answer } = await initiate(a, { provide: 3, ia: Buffer.from('hello') })
    expect(await answer()).toBe(1)
    a.write(Buffer.from(' world'))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(Buffer.concat(got).toString()).toBe('hello world')
    expect(b.mode).toBe('mse-plaintext')
    b.write(Buffer.from('back'))
    expect((await read(4)).toString()).toBe('back')
  })

  it('RC4 only: every byte after the handshake is encrypted both ways', async () => {
    const { a, b, got } = await pair()
    const { read, enc, dec, answer } = await initiate(a, { provide: 2, ia: Buffer.from('ab') })
    expect(await answer()).toBe(2)
    a.write(enc.update(Buffer.from('cd')))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(Buffer.concat(got).toString()).toBe('abcd')
    expect(b.mode).toBe('mse-rc4')
    b.write(Buffer.from('secret'))
    expect(Buffer.from(dec.update(Buffer.from(await read(6)))).toString()).toBe('secret')
  })

  it('a torrent we do not have: ERR_MSE_UNKNOWN_TORRENT and the connection closes', async () => {
    const { a, closed } = await pair()
    await initiate(a, { skey: 'cd'.repeat(20) })
    expect(await closed).toMatchObject({ code: 'ERR_MSE_UNKNOWN_TORRENT' })
  })

  it('a wrong verification constant: ERR_MSE_VC', async () => {
    const { a, closed } = await pair()
    await initiate(a, { vc: Buffer.alloc(8, 1) })
    expect(await closed).toMatchObject({ code: 'ERR_MSE_VC' })
  })

  it('no method we support offered: ERR_MSE_CRYPTO', async () => {
    const { a, closed } = await pair()
    await initiate(a, { provide: 0x10 })
    expect(await closed).toMatchObject({ code: 'ERR_MSE_CRYPTO' })
  })

  it('garbage with no req1 hash within the 512-byte padding limit: ERR_MSE_SYNC', async () => {
    const { a, closed } = await pair()
    a.write(Buffer.alloc(96 + 600, 0x55))
    expect(await closed).toMatchObject({ code: 'ERR_MSE_SYNC' })
  })
})
