/**
 * The platform seam of the DHT ("#dht-platform" in package.json): Node gets bittorrent-dht (its own UDP socket)
 * and file-system state; browsers get a stub that reports no DHT, so neither bittorrent-dht nor node:dgram /
 * node:fs reach dist/browser.
 */
export { dhtSupported, loadDhtBackend, createDhtBackend, readDhtState, writeDhtState } from '#dht-platform'

/** What DhtNode needs from a DHT implementation (bittorrent-dht's instance, in Node). */
export interface DhtBackend {
  /** Hex node id. */
  readonly nodeId: string
  /** Binds the UDP socket; resolves with the bound port. */
  listen (port: number, host: string | undefined): Promise<number>
  announce (infoHash: string, port: number): Promise<void>
  lookup (infoHash: string): Promise<void>
  /** Adds a node: with an id straight into the routing table, without one after it answers a ping. */
  addNode (node: { host: string, port: number, id?: string }): void
  /** Routing table nodes. */
  nodes (): Array<{ host: string, port: number, id: string }>
  onPeer (fn: (peer: { host: string, port: number }, infoHash: string) => void): void
  onReady (fn: () => void): void
  onWarning (fn: (err: Error) => void): void
  destroy (): Promise<void>
}

export interface DhtBackendOptions {
  /** Bootstrap nodes ('host:port' strings or {host, port}); false or [] for none; undefined = public routers. */
  bootstrap?: Array<string | { host: string, port: number }> | false
  nodeId?: string
  /** Passed through to bittorrent-dht (k, concurrency, maxPeers, timeBucketOutdated, maxAge, ...). */
  extra?: Record<string, unknown>
}

/** The routing table file (JSON): bittorrent-dht's toJSON() nodes, with ids so they go back in unpinged. */
export interface DhtState {
  version: 1
  nodeId?: string
  /** The UDP port we had: reused next time when free (nodes that know us keep finding us). */
  port?: number
  nodes: Array<{ host: string, port: number, id?: string }>
  savedAt?: number
}
