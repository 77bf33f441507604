/**
 * Diffie-Hellman over MSE's fixed group: the 768-bit MODP prime below (RFC 2409's first Oakley group) with
 * generator 2, in BigInt arithmetic.
 *
 * Why not node:crypto: making a DiffieHellman object checks its prime every time, ~18 ms of main-thread CPU
 * per connection measured here (createDiffieHellman(prime, 2) and getDiffieHellman('modp1') alike), and the
 * responder needs one for every incoming connection before it knows whether the peer speaks MSE at all. Here a
 * key pair costs ~0.3 ms and the shared secret ~0.2 ms, with the 160-bit private keys the MSE specification
 * recommends (at least 128 bits; more adds no security, only time).
 */
import { randomBytes } from 'node:crypto'

const PRIME_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3' +
  'CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563'
const P = BigInt('0x' + PRIME_HEX)
/** Public keys and secrets are sent as 96-byte big-endian numbers, left-padded with zeros. */
export const DH_KEY_BYTES = 96
const PRIVATE_KEY_BITS = 160

function modPow (base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n
  let b = base % mod
  let e = exp
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % mod
    b = (b * b) % mod
    e >>= 1n
  }
  return result
}

function toBytes (n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(DH_KEY_BYTES * 2, '0'), 'hex')
}

function fromBytes (b: Uint8Array): bigint {
  return BigInt('0x' + (Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') || '0'))
}

/** One side's key pair for one handshake: a fresh private key, its public key (Y) and the shared secret (S). */
export class DhKeyPair {
  readonly publicKey: Buffer
  private readonly x: bigint

  constructor () {
    // The top bit set: a private key of exactly 160 bits, never a short one.
    this.x = fromBytes(randomBytes(PRIVATE_KEY_BITS / 8)) | (1n << BigInt(PRIVATE_KEY_BITS - 1))
    this.publicKey = toBytes(modPow(2n, this.x, P))
  }

  /**
   * S from the peer's public key (96 bytes). A key outside 2 … P−2 would make S predictable (0, 1 or ±1):
   * it is refused with an Error (the handshake fails).
   */
  secret (peerKey: Uint8Array): Buffer {
    if (peerKey.length !== DH_KEY_BYTES) throw new Error(`a DH public key has ${DH_KEY_BYTES} bytes, not ${peerKey.length}`)
    const y = fromBytes(peerKey)
    if (y <= 1n || y >= P - 1n) throw new Error('the peer\'s DH public key is out of range')
    return toBytes(modPow(y, this.x, P))
  }
}
