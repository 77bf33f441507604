/**
 * MSE/PE ("message stream encryption", also called protocol encryption), the receiving side: lets peers
 * that open with an encrypted handshake connect to us. libtorrent, Transmission, and webtorrent (its
 * default `secure: 1`) all open that way. Node only (node:crypto's Diffie-Hellman); reached through the
 * Node transport.
 *
 * An incoming connection that starts with the plaintext BitTorrent handshake ("\x13BitTorrent protocol")
 * passes through untouched. Otherwise the peer is the MSE initiator A, and we are B:
 *   A→B  Ya (96 bytes), PadA (0–512)
 *   B→A  Yb (96 bytes), PadB (0–512)
 *   A→B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *        ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B→A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream
 * S is the DH secret; SKEY is the torrent's info-hash, found among ours by its req2 hash. ENCRYPT is RC4 keyed
 * with HASH('keyA', S, SKEY) from A and HASH('keyB', S, SKEY) from B, the first 1024 keystream bytes dropped.
 * We select plaintext when the peer offers it (no per-byte cost), else RC4. IA, the start of A's payload (its
 * BitTorrent handshake), is always RC4-encrypted.
 *
 * Anything that does not fit fails the connection with a typed error (ERR_MSE_*). The limits are the
 * protocol's own: a pad is at most 512 bytes, so req1 must appear within 512 + 20 bytes after Ya.
 */
import { createDiffieHellman, createHash, randomBytes } from 'node:crypto'
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { Rc4 } from './rc4.js'
import type { ByteStream } from '../wire/types.js'

// The 768-bit MODP prime the protocol fixes, with generator 2.
const PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3' +
  'CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563', 'hex')
const KEY_BYTES = 96
const MAX_PAD = 512
const VC_BYTES = 8
const CRYPTO_PLAINTEXT = 0x01
const CRYPTO_RC4 = 0x02
// Most of the initial payload we accept: a BitTorrent handshake is 68 bytes; the field is 16-bit.
const MAX_IA = 65535
const PLAIN_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')])

const sha1 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')

function pad96 (b: Buffer): Buffer {
  if (b.length === KEY_BYTES) return b
  const out = Buffer.alloc(KEY_BYTES)
  b.copy(out, KEY_BYTES - b.length)
  return out
}

type Phase = 'sniff' | 'ya' | 'req1' | 'skey' | 'head' | 'padc' | 'ia' | 'plain' | 'rc4' | 'failed'

export interface MseResponderOptions {
  /** Hex info-hashes of the torrents a peer may ask for (read when its request arrives). */
  infoHashes: () => Iterable<string>
}

export class MseResponder extends Emitter<{ [event: string]: (...args: any[]) => void }> implements ByteStream {
  readonly remoteAddress?: string
  readonly remotePort?: number
  localPort?: number
  /** 'plaintext' (no MSE), 'mse-plaintext' or 'mse-rc4' once known; null while the handshake runs. */
  mode: 'plaintext' | 'mse-plaintext' | 'mse-rc4' | null = null
  private readonly inner: ByteStream & { remoteAddress?: string, remotePort?: number }
  private readonly opts: MseResponderOptions
  private phase: Phase = 'sniff'
  private buf = Buffer.alloc(0)
  private dh = createDiffieHellman(PRIME, 2)
  private secret: Buffer | null = null
  private decrypt: Rc4 | null = null
  private encrypt: Rc4 | null = null
  private provide = 0
  private padLength = 0
  private iaLength = 0
  /** Writes made by the Wire before the handshake finished (it does not write first, but just in case). */
  private pendingWrites: Array<[Uint8Array, ((err?: Error | null) => void) | undefined]> = []

  constructor (inner: ByteStream, opts: MseResponderOptions) {
    super()
    this.inner = inner
    this.opts = opts
    this.remoteAddress = (inner as { remoteAddress?: string }).remoteAddress
    this.remotePort = (inner as { remotePort?: number }).remotePort
    inner.on('data', (chunk: Uint8Array) => this.onData(chunk))
    inner.on('drain', () => this.emit('drain'))
    inner.on('end', () => this.emit('end'))
    inner.on('close', () => this.emit('close'))
    inner.on('error', (err: Error) => this.emit('error', err))
  }

  write (chunk: Uint8Array, done?: (err?: Error | null) => void): unknown {
    if (this.phase === 'plain') return this.inner.write(chunk, done)
    if (this.phase === 'rc4') return this.inner.write(this.encrypt!.update(Uint8Array.from(chunk)), done)
    this.pendingWrites.push([Uint8Array.from(chunk), done])
    return false
  }

  destroy (err?: Error): unknown {
    return this.inner.destroy(err)
  }

  private fail (code: string, message: string): void {
    this.phase = 'failed'
    this.buf = Buffer.alloc(0)
    this.inner.destroy(new WasmTorrentError(code, `MSE: ${message}`))
  }

  private onData (chunk: Uint8Array): void {
    if (this.phase === 'plain') { this.emit('data', chunk); return }
    // Decrypted in place: incoming socket chunks are fresh buffers nobody else holds (no copy per read).
    if (this.phase === 'rc4') { this.emit('data', this.decrypt!.update(chunk)); return }
    if (this.phase === 'failed') return
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk])
    try {
      this.step()
    } catch (err) {
      this.fail('ERR_MSE_HANDSHAKE', (err as Error).message)
    }
  }

  /** Advances the handshake as far as the buffered bytes allow. */
  private step (): void {
    for (;;) {
      const b = this.buf
      switch (this.phase) {
        case 'sniff': {
          const n = Math.min(b.length, PLAIN_PREFIX.length)
          if (b.subarray(0, n).equals(PLAIN_PREFIX.subarray(0, n))) {
            if (n < PLAIN_PREFIX.length) return // could still be either
            return this.finish('plaintext', b, null)
          }
          this.phase = 'ya'
          continue
        }
        case 'ya': {
          if (b.length < KEY_BYTES) return
          const ya = b.subarray(0, KEY_BYTES)
          const yb = pad96(this.dh.generateKeys())
          this.secret = pad96(this.dh.computeSecret(ya))
          this.inner.write(Buffer.concat([yb, randomBytes(randomPadLength())]))
          this.buf = b.subarray(KEY_BYTES)
          this.phase = 'req1'
          continue
        }
        case 'req1': {
          const want = sha1(ascii('req1'), this.secret!)
          const at = b.indexOf(want)
          if (at < 0) {
            if (b.length > MAX_PAD + want.length) return this.fail('ERR_MSE_SYNC', 'no req1 hash within 512 bytes of padding')
            return
          }
          this.buf = b.subarray(at + want.length)
          this.phase = 'skey'
          continue
        }
        case 'skey': {
          if (b.length < 20) return
          const x = b.subarray(0, 20)
          const req3 = sha1(ascii('req3'), this.secret!)
          let skey: Buffer | null = null
          for (const ih of this.opts.infoHashes()) {
            const cand = Buffer.from(ih, 'hex')
            const req2 = sha1(ascii('req2'), cand)
            let same = true
            for (let i = 0; i < 20 && same; i++) same = (req2[i] ^ req3[i]) === x[i]
            if (same) { skey = cand; break }
          }
          if (skey === null) return this.fail('ERR_MSE_UNKNOWN_TORRENT', 'the peer asked for a torrent we do not have')
          this.decrypt = new Rc4(sha1(ascii('keyA'), this.secret!, skey)).skip(1024)
          this.encrypt = new Rc4(sha1(ascii('keyB'), this.secret!, skey)).skip(1024)
          this.buf = b.subarray(20)
          this.phase = 'head'
          continue
        }
        case 'head': {
          if (b.length < VC_BYTES + 6) return
          const head = this.decrypt!.update(Uint8Array.from(b.subarray(0, VC_BYTES + 6)))
          for (let i = 0; i < VC_BYTES; i++) if (head[i] !== 0) return this.fail('ERR_MSE_VC', 'bad verification constant')
          const dv = new DataView(head.buffer, head.byteOffset, head.byteLength)
          this.provide = dv.getUint32(VC_BYTES)
          this.padLength = dv.getUint16(VC_BYTES + 4)
          if (this.padLength > MAX_PAD) return this.fail('ERR_MSE_PAD', `PadC of ${this.padLength} bytes (at most ${MAX_PAD})`)
          if ((this.provide & (CRYPTO_PLAINTEXT | CRYPTO_RC4)) === 0) return this.fail('ERR_MSE_CRYPTO', `no method we support offered (crypto_provide ${this.provide})`)
          this.buf = b.subarray(VC_BYTES + 6)
          this.phase = 'padc'
          continue
        }
        case 'padc': {
          if (b.length < this.padLength + 2) return
          const part = this.decrypt!.update(Uint8Array.from(b.subarray(0, this.padLength + 2)))
          this.iaLength = (part[this.padLength] << 8) | part[this.padLength + 1]
          if (this.iaLength > MAX_IA) return this.fail('ERR_MSE_IA', 'initial payload too long')
          this.buf = b.subarray(this.padLength + 2)
          this.phase = 'ia'
          continue
        }
        case 'ia': {
          if (b.length < this.iaLength) return
          const ia = this.decrypt!.update(Uint8Array.from(b.subarray(0, this.iaLength)))
          const rest = b.subarray(this.iaLength)
          const rc4 = (this.provide & CRYPTO_PLAINTEXT) === 0
          const select = Buffer.alloc(VC_BYTES + 6) // VC, crypto_select, len(PadD) = 0
          select.writeUInt32BE(rc4 ? CRYPTO_RC4 : CRYPTO_PLAINTEXT, VC_BYTES)
          this.inner.write(this.encrypt!.update(select))
          const tail = rc4 ? this.decrypt!.update(Uint8Array.from(rest)) : Uint8Array.from(rest)
          const first = new Uint8Array(ia.length + tail.length)
          first.set(ia)
          first.set(tail, ia.length)
          return this.finish(rc4 ? 'mse-rc4' : 'mse-plaintext', first, rc4)
        }
        default:
          return
      }
    }
  }

  private finish (mode: 'plaintext' | 'mse-plaintext' | 'mse-rc4', first: Uint8Array, rc4: boolean | null): void {
    this.mode = mode
    this.phase = rc4 === true ? 'rc4' : 'plain'
    this.buf = Buffer.alloc(0)
    this.dh = null as unknown as ReturnType<typeof createDiffieHellman>
    for (const [chunk, done] of this.pendingWrites.splice(0)) this.write(chunk, done)
    if (first.length > 0) this.emit('data', first)
  }
}

function randomPadLength (): number {
  return randomBytes(1)[0] % 64 // 0–63 of the allowed 0–512: enough to vary the packet size
}
