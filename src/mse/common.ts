/**
 * MSE/PE ("message stream encryption", also called protocol encryption): what both sides share. The
 * handshake, between the initiator A (who dialed) and the responder B:
 *   A→B  Ya (96 bytes), PadA (0–512)
 *   B→A  Yb (96 bytes), PadB (0–512)
 *   A→B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *        ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B→A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream
 * Y is a Diffie-Hellman public key over the fixed 768-bit prime with generator 2, S the shared secret, SKEY
 * the torrent's info-hash, VC eight zero bytes. ENCRYPT is RC4 keyed with HASH('keyA', S, SKEY) from A and
 * HASH('keyB', S, SKEY) from B, the first 1024 keystream bytes dropped. crypto_provide is a bit set (0x01
 * plaintext, 0x02 RC4); crypto_select is one of its bits: the payload stream after PadD (and after IA) is
 * RC4-encrypted both ways, or plaintext. IA, the start of A's payload, is always RC4-encrypted.
 *
 * Here: the constants, the hashes and key derivation, and MseStream, the ByteStream wrapper both sides are
 * (responder.ts, initiator.ts): it buffers during the handshake, then passes bytes through or RC4s them.
 * Node only (node:crypto's SHA-1 and random bytes; the Diffie-Hellman math is dh.ts); reached through the
 * Node transport.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { Rc4 } from './rc4.js'
import type { ByteStream } from '../wire/types.js'

export { DH_KEY_BYTES as KEY_BYTES } from './dh.js'
/** The longest PadA/PadB/PadC/PadD the protocol allows. */
export const MAX_PAD = 512
export const VC_BYTES = 8
export const CRYPTO_PLAINTEXT = 0x01
export const CRYPTO_RC4 = 0x02
// Most of the initial payload we accept: a BitTorrent handshake is 68 bytes; the field is 16-bit.
export const MAX_IA = 65535
/** How a plaintext BitTorrent handshake starts ("\x13BitTorrent protocol"). */
export const PLAIN_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')])
export const BT_HANDSHAKE_BYTES = 68

/** How a connection's bytes travel: no MSE at all, an MSE handshake then plaintext, or RC4 throughout. */
export type MseMode = 'plaintext' | 'mse-plaintext' | 'mse-rc4'

export const sha1 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')

/** HASH('req1', S): A's synchronisation marker after PadA. */
export const req1Hash = (secret: Buffer): Buffer => sha1(ascii('req1'), secret)
/** HASH('req2', SKEY): what identifies the torrent (xor HASH('req3', S) on the wire). */
export const req2Hash = (skey: Uint8Array): Buffer => sha1(ascii('req2'), skey)
export const req3Hash = (secret: Buffer): Buffer => sha1(ascii('req3'), secret)

/** The two RC4 streams of one side ('A' encrypts with keyA and decrypts with keyB; 'B' the reverse). */
export function ciphers (secret: Buffer, skey: Uint8Array, side: 'A' | 'B'): { encrypt: Rc4, decrypt: Rc4 } {
  const a = new Rc4(sha1(ascii('keyA'), secret, skey)).skip(1024)
  const b = new Rc4(sha1(ascii('keyB'), secret, skey)).skip(1024)
  return side === 'A' ? { encrypt: a, decrypt: b } : { encrypt: b, decrypt: a }
}

/** 0–63 random bytes of the allowed 0–512: enough to vary the packet sizes. */
export function randomPad (): Buffer {
  return randomBytes(randomBytes(1)[0] % 64)
}

type State = 'handshake' | 'plain' | 'rc4' | 'failed'

/**
 * A ByteStream over another one, speaking MSE first (the subclass's `step()` runs the handshake on `buf`),
 * then passing bytes through (`mode` 'plaintext' / 'mse-plaintext') or RC4-ing them ('mse-rc4'). Events:
 * data, drain, end, close, error. A failed handshake destroys the inner stream with a typed error
 * (ERR_MSE_*), also kept in `failure`.
 */
export abstract class MseStream extends Emitter<{ [event: string]: (...args: any[]) => void }> implements ByteStream {
  readonly remoteAddress?: string
  readonly remotePort?: number
  localPort?: number
  /** The inner stream reads into a reused buffer: so do we (RC4 decrypts in place, plaintext passes through). */
  readonly transientChunks?: boolean
  /** How the bytes travel once the handshake is done; null while it runs (or after it failed). */
  mode: MseMode | null = null
  /** Why the handshake failed (ERR_MSE_*), else null. */
  failure: WasmTorrentError | null = null
  protected readonly inner: ByteStream
  /** Handshake bytes received and not consumed yet. */
  protected buf = Buffer.alloc(0)
  protected encrypt: Rc4 | null = null
  protected decrypt: Rc4 | null = null
  private state: State = 'handshake'
  /** Writes made before the handshake finished, copied (the caller may reuse its buffer). */
  private pending: Array<[Uint8Array, ((err?: Error | null) => void) | undefined]> = []

  /** `earlyCloseFails`: the peer closing before the handshake completes is an ERR_MSE_CLOSED error. */
  constructor (inner: ByteStream, earlyCloseFails: boolean) {
    super()
    this.inner = inner
    this.remoteAddress = inner.remoteAddress
    this.remotePort = inner.remotePort
    this.localPort = (inner as { localPort?: number }).localPort
    this.transientChunks = inner.transientChunks
    const early = (): void => {
      if (!earlyCloseFails || this.state !== 'handshake') return
      this.state = 'failed'
      this.failure = new WasmTorrentError('ERR_MSE_CLOSED', 'MSE: the peer closed the connection during the handshake')
      this.emit('error', this.failure)
    }
    inner.on('data', (chunk: Uint8Array) => this.onData(chunk))
    inner.on('drain', () => this.emit('drain'))
    inner.on('end', () => { early(); this.emit('end') })
    inner.on('close', () => { early(); this.emit('close') })
    inner.on('error', (err: Error) => {
      if (this.state === 'handshake') {
        this.state = 'failed'
        this.failure = err instanceof WasmTorrentError && err.code.startsWith('ERR_MSE_')
          ? err
          : new WasmTorrentError('ERR_MSE_STREAM', `MSE: ${err.message}`, { cause: err })
      }
      this.emit('error', err)
    })
  }

  write (chunk: Uint8Array, done?: (err?: Error | null) => void): unknown {
    if (this.state === 'plain') return this.inner.write(chunk, done)
    // A copy: the caller's buffer may be a storage block or a pooled one.
    if (this.state === 'rc4') return this.inner.write(this.encrypt!.update(Uint8Array.from(chunk)), done)
    this.pending.push([Uint8Array.from(chunk), done])
    return true
  }

  destroy (err?: Error): unknown {
    if (this.state === 'handshake') {
      // Our side gave up first (the Wire's handshake timeout, a pool decision).
      this.state = 'failed'
      this.failure = new WasmTorrentError('ERR_MSE_ABORTED', 'MSE: closed by us before the handshake completed', { cause: err })
    }
    return this.inner.destroy(err)
  }

  /** Runs the handshake as far as `buf` allows; throws or calls fail() on bad input, finish() when done. */
  protected abstract step (): void

  protected fail (code: string, message: string): void {
    this.state = 'failed'
    this.buf = Buffer.alloc(0)
    this.failure = new WasmTorrentError(code, `MSE: ${message}`)
    this.inner.destroy(this.failure)
  }

  /** Takes the writes queued so far as one buffer (with one callback for all of them). */
  protected takePending (): { bytes: Buffer, done: (err?: Error | null) => void } {
    const list = this.pending.splice(0)
    const bytes = Buffer.concat(list.map(([c]) => c))
    return { bytes, done: err => { for (const [, d] of list) d?.(err) } }
  }

  /** Puts bytes back at the head of the queued writes. */
  protected unshiftPending (bytes: Uint8Array, done?: (err?: Error | null) => void): void {
    if (bytes.length > 0 || done !== undefined) this.pending.unshift([bytes, done])
  }

  /** The handshake is done: `first` (already decrypted) is the payload that came with it. */
  protected finish (mode: MseMode, first: Uint8Array, rc4: boolean): void {
    this.mode = mode
    this.state = rc4 ? 'rc4' : 'plain'
    this.buf = Buffer.alloc(0)
    for (const [chunk, done] of this.pending.splice(0)) {
      if (chunk.length > 0) this.write(chunk, done)
      else done?.()
    }
    if (first.length > 0) this.emit('data', first)
  }

  private onData (chunk: Uint8Array): void {
    if (this.state === 'plain') { this.emit('data', chunk); return }
    // Decrypted in place: the chunk is ours during the event (a fresh buffer, or the socket's reused one).
    if (this.state === 'rc4') { this.emit('data', this.decrypt!.update(chunk)); return }
    if (this.state === 'failed') return
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk])
    try {
      this.step()
    } catch (err) {
      this.fail('ERR_MSE_HANDSHAKE', (err as Error).message)
    }
  }
}
