/**
 * MSE/PE (src/mse) over loopback socket pairs: the responder driven by a test-side initiator, the initiator by a
 * test-side responder (max pads, bad answers), and our initiator against our responder. Real peers (webtorrent
 * secure 1 and 2, libtorrent with encryption forced, Transmission dropping MSE) are in the e2e tests.
 */
import { createDiffieHellman, createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Rc4 } from '../src/mse/rc4.js'
import { MseResponder } from '../src/mse/responder.js'
import { MseInitiator } from '../src/mse/initiator.js'
import { DhKeyPair } from '../src/mse/dh.js'
import type { MseStream } from '../src/mse/common.js'
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

describe('Diffie-Hellman (BigInt, MSE group)', () => {
  it('agrees with node:crypto\'s DiffieHellman on the protocol prime, both ways, with 96-byte keys', () => {
    for (let i = 0; i < 5; i++) {
      const ours = new DhKeyPair()
      const ref = createDiffieHellman(PRIME, 2)
      const refPub = pad96(ref.generateKeys())
      expect(ours.publicKey).toHaveLength(96)
      expect(ours.secret(refPub).equals(pad96(ref.computeSecret(ours.publicKey)))).toBe(true)
      expect(new DhKeyPair().publicKey.equals(ours.publicKey)).toBe(false) // a fresh private key each time
    }
  })

  it('refuses peer keys that would make the secret predictable, and keys of the wrong size', () => {
    const dh = new DhKeyPair()
    const P = BigInt('0x' + PRIME.toString('hex'))
    const key = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(192, '0'), 'hex')
    for (const bad of [0n, 1n, P - 1n, P, P + 5n]) expect(() => dh.secret(key(bad))).toThrow(/out of range/)
    expect(() => dh.secret(Buffer.alloc(95, 7))).toThrow(/96 bytes/)
    expect(dh.secret(key(2n))).toHaveLength(96)
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

// ---------------------------------------------------------------------------------------- the initiator

const BT_HS = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 0xab), Buffer.alloc(20, 0x2d)])

/** Collects what a wrapper emits: data, the error it closed with. */
function watch (s: MseStream): { got: Buffer[], text: () => string, closed: Promise<Error | undefined> } {
  const got: Buffer[] = []
  s.on('data', (c: Uint8Array) => got.push(Buffer.from(c)))
  const closed = new Promise<Error | undefined>(resolve => { let e: Error | undefined; s.on('error', (x: Error) => { e ??= x }); s.on('close', () => resolve(e)) })
  return { got, text: () => Buffer.concat(got).toString('latin1'), closed }
}

async function until (cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** Our initiator on one end, our responder on the other; `raw` is every byte that crossed the wire (both ways). */
async function ours (opts: { rc4Only?: boolean, responderRc4Only?: boolean } = {}) {
  const [sa, sb] = await socketPair()
  open.push(sa, sb)
  const raw: Buffer[] = []
  sa.on('data', (c: Buffer) => raw.push(Buffer.from(c)))
  sb.on('data', (c: Buffer) => raw.push(Buffer.from(c)))
  const a = new MseInitiator(sa, { infoHash: IH, rc4Only: opts.rc4Only })
  const b = new MseResponder(sb, { infoHashes: () => [IH], rc4Only: opts.responderRc4Only })
  return { a, b, wa: watch(a), wb: watch(b), raw: () => Buffer.concat(raw) }
}

/**
 * A test-side responder B: reads A's step 1 and 3, answers with PadB, ENCRYPT(VC, select, PadD). Returns what
 * A offered and sent as IA, and the RC4 streams for the payload.
 */
async function respond (s: Socket, opts: { padB?: number, vc?: Buffer, select?: number, padD?: number } = {}) {
  const { read, skipPast } = reader(s)
  const ya = await read(96)
  const dh = createDiffieHellman(PRIME, 2)
  s.write(Buffer.concat([pad96(dh.generateKeys()), Buffer.alloc(opts.padB ?? 0, 0x5a)]))
  const S = pad96(dh.computeSecret(ya))
  await skipPast(sha1(Buffer.from('req1'), S))
  const x = await read(20)
  const want = sha1(Buffer.from('req2'), Buffer.from(IH, 'hex'))
  const r3 = sha1(Buffer.from('req3'), S)
  for (let i = 0; i < 20; i++) want[i] ^= r3[i]
  expect(x.equals(want)).toBe(true)
  const skey = Buffer.from(IH, 'hex')
  const enc = new Rc4(sha1(Buffer.from('keyB'), S, skey)).skip(1024)
  const dec = new Rc4(sha1(Buffer.from('keyA'), S, skey)).skip(1024)
  const head = Buffer.from(dec.update(Buffer.from(await read(14))))
  expect(head.subarray(0, 8).equals(Buffer.alloc(8))).toBe(true)
  const provide = head.readUInt32BE(8)
  const padC = head.readUInt16BE(12)
  if (padC > 0) dec.update(Buffer.from(await read(padC)))
  const iaLen = Buffer.from(dec.update(Buffer.from(await read(2)))).readUInt16BE(0)
  const ia = iaLen > 0 ? Buffer.from(dec.update(Buffer.from(await read(iaLen)))) : Buffer.alloc(0)
  const padD = opts.padD ?? 0
  const answer = Buffer.alloc(8 + 4 + 2 + Math.min(padD, 1000))
  ;(opts.vc ?? Buffer.alloc(8)).copy(answer, 0)
  answer.writeUInt32BE(opts.select ?? 2, 8)
  answer.writeUInt16BE(padD, 12)
  s.write(enc.update(answer))
  return { provide, ia, enc, dec, read }
}

describe('MSE initiator against our responder', () => {
  it('both offered: the responder selects plaintext; the handshake rides as IA; bytes pass both ways intact', async () => {
    const { a, b, wa, wb, raw } = await ours()
    a.write(BT_HS) // queued before the MSE handshake completes: sent as IA
    a.write(Buffer.from('after-the-handshake'))
    await until(() => wb.text().length >= 68 + 19)
    expect(Buffer.concat(wb.got).equals(Buffer.concat([BT_HS, Buffer.from('after-the-handshake')]))).toBe(true)
    expect(a.mode).toBe('mse-plaintext')
    expect(b.mode).toBe('mse-plaintext')
    b.write(Buffer.from('reply from B'))
    await until(() => wa.text() === 'reply from B')
    a.write(Buffer.from('plain from A'))
    await until(() => wb.text().endsWith('plain from A'))
    // Plaintext selected: the payload after the handshake crosses the wire as is; IA (the handshake) does not.
    expect(raw().includes('reply from B')).toBe(true)
    expect(raw().includes('after-the-handshake')).toBe(true)
    expect(raw().includes('BitTorrent protocol')).toBe(false)
    expect(a.failure).toBeNull()
  })

  it('RC4 only (secure 2): 1 MiB each way arrives intact and never crosses the wire in the clear', async () => {
    const { a, b, wa, wb, raw } = await ours({ rc4Only: true, responderRc4Only: true })
    const up = Buffer.alloc(1 << 20)
    const down = Buffer.alloc(1 << 20)
    for (let i = 0; i < up.length; i++) { up[i] = (i * 7 + (i >> 9)) & 255; down[i] = (i * 13 + (i >> 10)) & 255 }
    a.write(BT_HS)
    a.write(up)
    await until(() => wb.got.reduce((n, c) => n + c.length, 0) >= 68 + up.length)
    b.write(down)
    await until(() => wa.got.reduce((n, c) => n + c.length, 0) >= down.length)
    expect(a.mode).toBe('mse-rc4')
    expect(b.mode).toBe('mse-rc4')
    expect(Buffer.concat(wb.got).equals(Buffer.concat([BT_HS, up]))).toBe(true)
    expect(Buffer.concat(wa.got).equals(down)).toBe(true)
    const wire = raw()
    expect(wire.includes(up.subarray(5000, 5064))).toBe(false)
    expect(wire.includes(down.subarray(5000, 5064))).toBe(false)
    expect(wire.includes('BitTorrent protocol')).toBe(false)
  })

  it('a responder requiring RC4 selects it even when plaintext is offered', async () => {
    const { a, b, wa } = await ours({ responderRc4Only: true })
    a.write(BT_HS)
    await until(() => a.mode !== null && b.mode !== null)
    expect(a.mode).toBe('mse-rc4')
    expect(b.mode).toBe('mse-rc4')
    b.write(Buffer.from('encrypted reply'))
    await until(() => wa.text() === 'encrypted reply')
  })

  it('a responder requiring RC4 refuses a plaintext handshake (ERR_MSE_PLAINTEXT_REFUSED) and offers without RC4 (ERR_MSE_CRYPTO)', async () => {
    const [s1, s2] = await socketPair()
    const [s3, s4] = await socketPair()
    open.push(s1, s2, s3, s4)
    const r1 = watch(new MseResponder(s2, { infoHashes: () => [IH], rc4Only: true }))
    s1.write(BT_HS)
    expect(await r1.closed).toMatchObject({ code: 'ERR_MSE_PLAINTEXT_REFUSED' })
    expect(r1.got).toEqual([])
    const r2 = watch(new MseResponder(s4, { infoHashes: () => [IH], rc4Only: true }))
    await initiate(s3, { provide: 1 })
    expect(await r2.closed).toMatchObject({ code: 'ERR_MSE_CRYPTO' })
  })
})

describe('MSE initiator against a test-side responder', () => {
  async function dial (opts: { rc4Only?: boolean } = {}) {
    const [sa, sb] = await socketPair()
    open.push(sa, sb)
    const a = new MseInitiator(sa, { infoHash: IH, rc4Only: opts.rc4Only })
    return { a, w: watch(a), sb }
  }

  it('finds the verification constant after a 512-byte PadB, skips a 512-byte PadD, then RC4 both ways', async () => {
    const { a, w, sb } = await dial()
    a.write(BT_HS)
    const b = await respond(sb, { padB: 512, padD: 512, select: 2 })
    expect(b.provide).toBe(3)
    expect(b.ia.equals(BT_HS)).toBe(true)
    sb.write(b.enc.update(Buffer.from('hello A')))
    await until(() => w.text() === 'hello A')
    expect(a.mode).toBe('mse-rc4')
    a.write(Buffer.from('hello B'))
    expect(Buffer.from(b.dec.update(Buffer.from(await b.read(7)))).toString()).toBe('hello B')
  })

  it('secure 2 offers RC4 only; a plaintext selection is refused with ERR_MSE_CRYPTO', async () => {
    const { w, sb } = await dial({ rc4Only: true })
    const b = await respond(sb, { select: 1 })
    expect(b.provide).toBe(2)
    expect(b.ia.length).toBe(0) // nothing queued: no IA
    expect(await w.closed).toMatchObject({ code: 'ERR_MSE_CRYPTO' })
  })

  it('a selection of a method never offered: ERR_MSE_CRYPTO', async () => {
    const { w, sb } = await dial()
    await respond(sb, { select: 0x04 })
    expect(await w.closed).toMatchObject({ code: 'ERR_MSE_CRYPTO' })
  })

  it('a bad verification constant is never found: ERR_MSE_SYNC', async () => {
    const { a, w, sb } = await dial()
    await respond(sb, { vc: Buffer.alloc(8, 1), padB: 400 })
    sb.write(Buffer.alloc(200, 0x33)) // more than 512 + 8 bytes after Yb, none of them ENCRYPT(VC)
    expect(await w.closed).toMatchObject({ code: 'ERR_MSE_SYNC' })
    expect(a.mode).toBeNull()
    expect(a.failure).toMatchObject({ code: 'ERR_MSE_SYNC' })
  })

  it('a PadD over 512 bytes: ERR_MSE_PAD', async () => {
    const { w, sb } = await dial()
    await respond(sb, { padD: 600 })
    expect(await w.closed).toMatchObject({ code: 'ERR_MSE_PAD' })
  })

  it('garbage instead of an MSE answer: ERR_MSE_SYNC', async () => {
    const { w, sb } = await dial()
    sb.write(Buffer.alloc(96 + 600, 0x55))
    expect(await w.closed).toMatchObject({ code: 'ERR_MSE_SYNC' })
  })

  it('the peer closing during the handshake (a peer that drops MSE): ERR_MSE_CLOSED, nothing delivered', async () => {
    const { a, w, sb } = await dial()
    a.write(BT_HS)
    await new Promise(resolve => sb.once('data', resolve)) // Ya arrived
    sb.destroy()
    expect(await w.closed).toMatchObject({ code: 'ERR_MSE_CLOSED' })
    expect(a.mode).toBeNull()
    expect(w.got).toEqual([])
  })

  it('closed by our side before the handshake completes (a handshake timeout): failure ERR_MSE_ABORTED', async () => {
    const { a, w } = await dial()
    a.destroy()
    await w.closed
    expect(a.failure).toMatchObject({ code: 'ERR_MSE_ABORTED' })
  })
})
