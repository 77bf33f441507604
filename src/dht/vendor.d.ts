// Minimal types for bittorrent-dht 11 (it ships none). Only what src/dht uses.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'
  interface DhtNodeRecord { id?: Buffer, host: string, port: number }
  interface KBucketLike {
    toArray (): Array<{ id: Buffer, host: string, port: number }>
    count (): number
  }
  class DHT extends EventEmitter {
    constructor (opts?: Record<string, unknown>)
    readonly nodeId: Buffer
    readonly nodes: KBucketLike
    listening: boolean
    ready: boolean
    destroyed: boolean
    listen (port?: number, address?: string, onlistening?: () => void): void
    address (): { address: string, port: number, family: string }
    announce (infoHash: string | Buffer, port: number, cb?: (err: Error | null) => void): void
    lookup (infoHash: string | Buffer, cb?: (err: Error | null, n?: number) => void): () => void
    addNode (node: DhtNodeRecord): void
    removeNode (id: Buffer | string): void
    toJSON (): { nodes: Array<{ host: string, port: number }>, values: Record<string, unknown> }
    destroy (cb?: () => void): void
  }
  export default DHT
}
