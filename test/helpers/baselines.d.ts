// Types for the untyped JS libraries the tests and benchmarks compare against.
declare module 'bencode' {
  const bencode: {
    encode (value: unknown): Uint8Array
    decode (data: Uint8Array | string, start?: number | string, end?: number | string, encoding?: string): any
    byteLength (value: unknown): number
    encodingLength (value: unknown): number
  }
  export default bencode
}
declare module 'bittorrent-protocol' {
  const Protocol: new () => any
  export default Protocol
}
