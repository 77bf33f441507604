/**
 * MSE/PE, the dialing side (A): opens a connection we dialed with the encrypted handshake (see common.ts), so
 * that peers refusing plaintext (libtorrent with pe_forced, Transmission with encryption required, webtorrent
 * `secure: 2`) accept us. Node only; reached through the Node transport (dialEncrypted).
 *
 *   - We send Ya and a random PadA at once, read Yb (96 bytes), then find B's ENCRYPT(VC) by scanning for the
 *     8 bytes VC encrypted with keyB's RC4 stream: B's PadB (0–512 bytes) is unmarked, so it must appear
 *     within 512 + 8 bytes after Yb (else ERR_MSE_SYNC).
 *   - Step 3 goes out as soon as Yb is in: req1, the torrent (SKEY = its info-hash), VC, crypto_provide
 *     (0x03 plaintext or RC4, or 0x02 RC4 only with `rc4Only`), a random PadC, and IA.
 *   - IA (decision): when the first bytes queued by our side are a BitTorrent handshake (they always are: the
 *     pool sends ours right after the dial), those 68 bytes go out as IA, which saves the round trip of
 *     waiting for B's answer before the handshake. Anything else queued waits for crypto_select. Only the
 *     handshake, never more: webtorrent's responder reads an IA that is exactly one handshake.
 *   - B's crypto_select must be one of the methods offered (ERR_MSE_CRYPTO), PadD at most 512 (ERR_MSE_PAD).
 *     Plaintext selected: everything after PadD is plaintext both ways; RC4: both directions stay RC4.
 *
 * The peer closing before that is ERR_MSE_CLOSED (Transmission with encryption "tolerated" drops encrypted
 * handshakes this way): the pool then redials in plaintext when allowed (pool.ts). There is no timer here: the
 * Wire's handshake timeout runs from the moment the connection is made and covers the MSE handshake too.
 */
import {
  BT_HANDSHAKE_BYTES, CRYPTO_PLAINTEXT, CRYPTO_RC4, KEY_BYTES, MAX_PAD, MseStream, PLAIN_PREFIX, VC_BYTES, ciphers,
  randomPad, req1Hash, req2Hash, req3Hash
} from './common.js'
import { DhKeyPair } from './dh.js'
import { WasmTorrentError } from '../errors.js'
import type { ByteStream } from '../wire/types.js'

type Phase = 'yb' | 'vc' | 'select' | 'padd' | 'done'

export interface MseInitiatorOptions {
  /** The torrent being dialed (hex info-hash): SKEY. */
  infoHash: string
  /** Offer RC4 only (webtorrent's `secure: 2`); default: plaintext or RC4, the peer picks. */
  rc4Only?: boolean
}

export class MseInitiator extends MseStream {
  private phase: Phase = 'yb'
  private dh: DhKeyPair | null = new DhKeyPair()
  private readonly skey: Buffer
  private readonly provide: number
  /** ENCRYPT(VC) under keyB: what B's answer starts with. */
  private vcPattern: Buffer | null = null
  private select = 0
  private padLength = 0

  constructor (inner: ByteStream, opts: MseInitiatorOptions) {
    super(inner, true)
    if (!/^[0-9a-fA-F]{40}$/.test(opts.infoHash)) throw new WasmTorrentError('ERR_MSE_ARGUMENT', 'MSE: infoHash must be 40 hex characters')
    this.skey = Buffer.from(opts.infoHash, 'hex')
    this.provide = opts.rc4Only === true ? CRYPTO_RC4 : CRYPTO_PLAINTEXT | CRYPTO_RC4
    inner.write(Buffer.concat([this.dh!.publicKey, randomPad()]))
  }

  /** Advances the handshake as far as the buffered bytes allow. */
  protected step (): void {
    for (;;) {
      const b = this.buf
      switch (this.phase) {
        case 'yb': {
          if (b.length < KEY_BYTES) return
          const secret = this.dh!.secret(b.subarray(0, KEY_BYTES))
          this.dh = null
          const c = ciphers(secret, this.skey, 'A')
          this.encrypt = c.encrypt
          this.decrypt = c.decrypt
          this.vcPattern = Buffer.from(this.decrypt.update(new Uint8Array(VC_BYTES)))
          this.sendStep3(secret)
          this.buf = b.subarray(KEY_BYTES)
          this.phase = 'vc'
          continue
        }
        case 'vc': {
          const at = b.indexOf(this.vcPattern!)
          if (at < 0 || at > MAX_PAD) {
            if (at > MAX_PAD || b.length >= MAX_PAD + VC_BYTES) return this.fail('ERR_MSE_SYNC', 'no verification constant within 512 bytes of padding')
            return
          }
          this.buf = b.subarray(at + VC_BYTES)
          this.phase = 'select'
          continue
        }
        case 'select': {
          if (b.length < 6) return
          const head = Buffer.from(this.decrypt!.update(Uint8Array.from(b.subarray(0, 6))))
          this.select = head.readUInt32BE(0)
          this.padLength = head.readUInt16BE(4)
          if ((this.select !== CRYPTO_PLAINTEXT && this.select !== CRYPTO_RC4) || (this.select & this.provide) === 0) {
            return this.fail('ERR_MSE_CRYPTO', `the peer selected a method we did not offer (crypto_select ${this.select}, offered ${this.provide})`)
          }
          if (this.padLength > MAX_PAD) return this.fail('ERR_MSE_PAD', `PadD of ${this.padLength} bytes (at most ${MAX_PAD})`)
          this.buf = b.subarray(6)
          this.phase = 'padd'
          continue
        }
        case 'padd': {
          if (b.length < this.padLength) return
          this.decrypt!.update(Uint8Array.from(b.subarray(0, this.padLength)))
          const rest = b.subarray(this.padLength)
          const rc4 = this.select === CRYPTO_RC4
          const first = rc4 ? this.decrypt!.update(Uint8Array.from(rest)) : Uint8Array.from(rest)
          this.phase = 'done'
          return this.finish(rc4 ? 'mse-rc4' : 'mse-plaintext', first, rc4)
        }
        default:
          return
      }
    }
  }

  /** A→B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S), ENCRYPT(VC, provide, PadC, IA). */
  private sendStep3 (secret: Buffer): void {
    const x = req2Hash(this.skey)
    const r3 = req3Hash(secret)
    for (let i = 0; i < 20; i++) x[i] ^= r3[i]
    const queued = this.takePending()
    let ia: Buffer = Buffer.alloc(0)
    if (queued.bytes.length >= BT_HANDSHAKE_BYTES && queued.bytes.subarray(0, PLAIN_PREFIX.length).equals(PLAIN_PREFIX)) {
      ia = queued.bytes.subarray(0, BT_HANDSHAKE_BYTES)
    }
    this.unshiftPending(queued.bytes.subarray(ia.length), queued.done)
    const padC = randomPad()
    const head = Buffer.alloc(VC_BYTES + 4 + 2 + padC.length + 2 + ia.length) // VC is zeros
    let o = VC_BYTES
    o = head.writeUInt32BE(this.provide, o)
    o = head.writeUInt16BE(padC.length, o)
    o += padC.copy(head, o)
    o = head.writeUInt16BE(ia.length, o)
    ia.copy(head, o)
    this.inner.write(Buffer.concat([req1Hash(secret), x, this.encrypt!.update(head)]))
  }
}
