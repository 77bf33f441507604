// Types for the untyped JS baselines the metainfo tests and benchmarks compare against.
declare module 'parse-torrent' {
  const parseTorrent: (id: unknown) => Promise<any>
  export default parseTorrent
  export function toMagnetURI (obj: unknown): string
  export function toTorrentFile (obj: unknown): Uint8Array
  export function remote (id: unknown, cb: (err: Error | null, parsed?: any) => void): void
}
declare module 'create-torrent' {
  const createTorrent: (input: unknown, opts: Record<string, unknown>, cb: (err: Error | null, torrent: Uint8Array) => void) => void
  export default createTorrent
}
declare module 'magnet-uri' {
  const decode: (uri: string) => any
  export default decode
  export function encode (obj: unknown): string
}
declare module 'piece-length' {
  const pieceLength: (bytes: number) => number
  export default pieceLength
}
