/**
 * MSE/PE, the receiving side (B): lets peers that open with an encrypted handshake connect to us. libtorrent,
 * Transmission, webtorrent (its default `secure: 1`) and our own initiator (initiator.ts) all open that way.
 * The protocol is described in common.ts. Node only; reached through the Node transport (acceptEncrypted).
 *
 * An incoming connection that starts with the plaintext BitTorrent handshake ("\x13BitTorrent protocol")
 * passes through untouched, unless `rc4Only` (ERR_MSE_PLAINTEXT_REFUSED). Otherwise the peer is the MSE
 * initiator A. SKEY is the torrent's info-hash, found among ours by its req2 hash. We select plaintext when
 * the peer offers it (no per-byte cost) and `rc4Only` is off, else RC4 (`rc4Only`: offers without RC4 are
 * refused with ERR_MSE_CRYPTO). IA, the start of A's payload (its BitTorrent handshake), is always
 * RC4-encrypted.
 *
 * Anything that does not fit fails the connection with a typed error (ERR_MSE_*). The limits are the
 * protocol's own: a pad is at most 512 bytes, so req1 must appear within 512 + 20 bytes after Ya.
 */
import {
  CRYPTO_PLAINTEXT, CRYPTO_RC4, KEY_BYTES, MAX_IA, MAX_PAD, MseStream, PLAIN_PREFIX, VC_BYTES, ciphers, randomPad,
  req1Hash, req2Hash, req3Hash
} from './common.js'
import { DhKeyPair } from './dh.js'
import type { ByteStream } from '../wire/types.js'

type Phase = 'sniff' | 'ya' | 'req1' | 'skey' | 'head' | 'padc' | 'ia' | 'done'

export interface MseResponderOptions {
  /** Hex info-hashes of the torrents a peer may ask for (read when its request arrives). */
  infoHashes: () => Iterable<string>
  /** Refuse plaintext: plaintext BitTorrent handshakes and MSE offers without RC4 (webtorrent's `secure: 2`). */
  rc4Only?: boolean
}

export class MseResponder extends MseStream {
  private readonly opts: MseResponderOptions
  private phase: Phase = 'sniff'
  private secret: Buffer | null = null
  private provide = 0
  private padLength = 0
  private iaLength = 0

  constructor (inner: ByteStream, opts: MseResponderOptions) {
    super(inner, false)
    this.opts = opts
  }

  /** Advances the handshake as far as the buffered bytes allow. */
  protected step (): void {
    for (;;) {
      const b = this.buf
      switch (this.phase) {
        case 'sniff': {
          const n = Math.min(b.length, PLAIN_PREFIX.length)
          if (b.subarray(0, n).equals(PLAIN_PREFIX.subarray(0, n))) {
            if (n < PLAIN_PREFIX.length) return // could still be either
            if (this.opts.rc4Only === true) return this.fail('ERR_MSE_PLAINTEXT_REFUSED', 'plaintext handshake refused (encryption required)')
            this.phase = 'done'
            return this.finish('plaintext', b, false)
          }
          this.phase = 'ya'
          continue
        }
        case 'ya': {
          if (b.length < KEY_BYTES) return
          const ya = b.subarray(0, KEY_BYTES)
          // The key pair is made only now, once the peer turned out to speak MSE (dh.ts: it costs ~0.3 ms).
          const dh = new DhKeyPair()
          this.secret = dh.secret(ya)
          this.inner.write(Buffer.concat([dh.publicKey, randomPad()]))
          this.buf = b.subarray(KEY_BYTES)
          this.phase = 'req1'
          continue
        }
        case 'req1': {
          const want = req1Hash(this.secret!)
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
          const req3 = req3Hash(this.secret!)
          let skey: Buffer | null = null
          for (const ih of this.opts.infoHashes()) {
            const cand = Buffer.from(ih, 'hex')
            const req2 = req2Hash(cand)
            let same = true
            for (let i = 0; i < 20 && same; i++) same = (req2[i] ^ req3[i]) === x[i]
            if (same) { skey = cand; break }
          }
          if (skey === null) return this.fail('ERR_MSE_UNKNOWN_TORRENT', 'the peer asked for a torrent we do not have')
          const c = ciphers(this.secret!, skey, 'B')
          this.encrypt = c.encrypt
          this.decrypt = c.decrypt
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
          const usable = this.opts.rc4Only === true ? CRYPTO_RC4 : CRYPTO_PLAINTEXT | CRYPTO_RC4
          if ((this.provide & usable) === 0) return this.fail('ERR_MSE_CRYPTO', `no method we accept offered (crypto_provide ${this.provide})`)
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
          const rc4 = this.opts.rc4Only === true || (this.provide & CRYPTO_PLAINTEXT) === 0
          const select = Buffer.alloc(VC_BYTES + 6) // VC, crypto_select, len(PadD) = 0
          select.writeUInt32BE(rc4 ? CRYPTO_RC4 : CRYPTO_PLAINTEXT, VC_BYTES)
          this.inner.write(this.encrypt!.update(select))
          const tail = rc4 ? this.decrypt!.update(Uint8Array.from(rest)) : Uint8Array.from(rest)
          const first = new Uint8Array(ia.length + tail.length)
          first.set(ia)
          first.set(tail, ia.length)
          this.phase = 'done'
          return this.finish(rc4 ? 'mse-rc4' : 'mse-plaintext', first, rc4)
        }
        default:
          return
      }
    }
  }
}
