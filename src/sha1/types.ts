/** An incremental SHA-1 computation (for pieces that arrive block by block). */
export interface Sha1Hasher {
  update (data: Uint8Array): this
  /** The 20-byte digest; the hasher cannot be used afterwards. */
  digest (): Uint8Array
}

/** A SHA-1 implementation the seam can choose. */
export interface Sha1Engine {
  readonly name: string
  digest (data: Uint8Array): Uint8Array
  /** Digests of consecutive `itemLen`-byte items (the last may be shorter), 20 bytes each, concatenated. */
  digestBatch (data: Uint8Array, itemLen: number): Uint8Array
  createHasher (): Sha1Hasher
}
