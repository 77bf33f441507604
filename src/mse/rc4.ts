/**
 * RC4, for MSE/PE (the BitTorrent "message stream encryption" obfuscation layer). Not for security: it is
 * what the protocol specifies, and Node 17+ no longer ships RC4 in OpenSSL's default provider.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256)
  private i = 0
  private j = 0

  constructor (key: Uint8Array) {
    const s = this.s
    for (let k = 0; k < 256; k++) s[k] = k
    for (let k = 0, j = 0; k < 256; k++) {
      j = (j + s[k] + key[k % key.length]) & 255
      const t = s[k]; s[k] = s[j]; s[j] = t
    }
  }

  /** XORs the keystream into `data` in place and returns it. */
  update (data: Uint8Array): Uint8Array {
    const s = this.s
    let i = this.i
    let j = this.j
    for (let k = 0; k < data.length; k++) {
      i = (i + 1) & 255
      j = (j + s[i]) & 255
      const t = s[i]; s[i] = s[j]; s[j] = t
      data[k] ^= s[(s[i] + s[j]) & 255]
    }
    this.i = i
    this.j = j
    return data
  }

  /** Drops `n` keystream bytes (MSE discards the first 1024). */
  skip (n: number): this {
    this.update(new Uint8Array(n))
    return this
  }
}
