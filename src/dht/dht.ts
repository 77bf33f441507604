/**
 * The client's DHT node (BEP 5), one per client, over bittorrent-dht (Node only; browsers have no UDP).
 *
 *     const dht = new DhtNode({ bootstrap: ['127.0.0.1:7000'] }, { host: '127.0.0.1', stateFile })
 *     const off = dht.subscribe(infoHash, peer => ...)   // peers found for that torrent
 *     await dht.announce(infoHash, torrentPort)           // get_peers + announce_peer (finds peers too)
 *     await dht.lookup(infoHash)                          // get_peers only
 *     dht.addNode('1.2.3.4', 6881)                        // e.g. from a peer's BEP 5 `port` message
 *     await dht.destroy()                                 // saves the routing table when there is a stateFile
 *
 * Port. The DHT has its own UDP socket: the torrent port's UDP side belongs to uTP (utp-native owns that socket
 * and cannot share it with the KRPC protocol), so the DHT listens on `port` (the client's `dhtPort`), by default
 * the port saved in the state file when there is one and it is free, else any free port (webtorrent does the
 * same: a separate, random dhtPort). Peers learn it through the `port` message.
 *
 * Bootstrap. `bootstrap` as given; absent (`dht: true`) means bittorrent-dht's public routers, which a test
 * must never use: tests always pass local nodes or `[]`.
 *
 * Routing table. With a `stateFile`, the table (nodes with their ids), our node id and our port are read at
 * start (the nodes go straight back into the table; dead ones are evicted by the normal KRPC timeouts) and
 * written at destroy() and every `saveInterval` (10 min), atomically.
 *
 * `addNode` without an id pings the node first; the same address is not pinged again within 10 minutes, so a
 * churning swarm's `port` messages cannot turn into a ping flood.
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { parseIPv4 } from '../util/ip.js'
import { createDhtBackend, loadDhtBackend, dhtSupported, readDhtState, writeDhtState, type DhtBackend, type DhtState } from './platform.js'

export { dhtSupported }

export const DHT_SAVE_INTERVAL = 10 * 60_000
const ADD_NODE_TTL = 10 * 60_000
const MAX_RECENT_ADDS = 4096

/** What the per-torrent discovery needs from a DHT (DhtNode, or a fake in tests). */
export interface DhtLike {
  /** Our DHT UDP port, for the BEP 5 `port` message (0 while not listening). */
  readonly port: number
  /** Resolves with the port once listening (0 if the DHT never listens). */
  whenListening? (): Promise<number>
  /** get_peers then announce_peer with our torrent port; peers found go to the subscribers. */
  announce (infoHash: string, port: number): Promise<void>
  /** get_peers only. */
  lookup (infoHash: string): Promise<void>
  subscribe (infoHash: string, fn: (peer: { host: string, port: number }) => void): () => void
  addNode (host: string, port: number): void
}

/** The client's `dht` option when it is an object (webtorrent passes it to bittorrent-dht). */
export interface DhtOptions {
  /** Bootstrap nodes ('host:port' or {host, port}); [] or false for none. Absent: the public routers. */
  bootstrap?: Array<string | { host: string, port: number }> | false
  /** Our node id (40 hex chars); else the saved one, else random. */
  nodeId?: string | Uint8Array
  /** Other bittorrent-dht options (k, concurrency, maxPeers, maxAge, timeBucketOutdated, ...). */
  [option: string]: unknown
}

export interface DhtNodeOptions {
  /** UDP port (the client's dhtPort); default: the saved one if free, else any free port. */
  port?: number
  /** Address to bind (default all IPv4 interfaces; tests use 127.0.0.1). */
  host?: string
  /** Routing table file (Node). */
  stateFile?: string
  /** ms between state saves (default 10 min; 0 = only at destroy). */
  saveInterval?: number
  /** The implementation (tests); default: the platform's bittorrent-dht. */
  createBackend?: typeof createDhtBackend
}

export interface DhtNodeEvents {
  [event: string]: (...args: any[]) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  listening: (port: number) => void
  /** Bootstrapped (also when no node answered). */
  ready: () => void
  peer: (peer: { host: string, port: number }, infoHash: string) => void
  warning: (err: Error) => void
  /** Cannot listen: the DHT is off for this client. */
  error: (err: Error) => void
}

function toHexId (v: string | Uint8Array | undefined): string | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'string') {
    if (!/^[0-9a-f]{40}$/i.test(v)) throw new WasmTorrentError('ERR_DHT_OPTIONS', 'dht.nodeId must be 40 hex characters')
    return v.toLowerCase()
  }
  if (v.length !== 20) throw new WasmTorrentError('ERR_DHT_OPTIONS', 'dht.nodeId must be 20 bytes')
  return Array.from(v, b => b.toString(16).padStart(2, '0')).join('')
}

export class DhtNode extends Emitter<DhtNodeEvents> implements DhtLike {
  /** Hex node id (known once the backend exists). */
  nodeId = ''
  port = 0
  listening = false
  ready = false
  destroyed = false
  private backend: DhtBackend | null = null
  private readonly subs = new Map<string, Set<(peer: { host: string, port: number }) => void>>()
  private readonly recentAdds = new Map<string, number>()
  private readonly opts: DhtNodeOptions
  private readonly dhtOpts: DhtOptions
  private readonly readyPromise: Promise<void>
  private resolveReady!: () => void
  private readonly listenPromise: Promise<number>
  private resolveListen!: (port: number) => void
  private saveTimer: ReturnType<typeof setInterval> | null = null
  private destroyPromise: Promise<void> | null = null

  constructor (dhtOpts: DhtOptions = {}, opts: DhtNodeOptions = {}) {
    super()
    if (!dhtSupported && opts.createBackend === undefined) throw new WasmTorrentError('ERR_DHT_UNSUPPORTED', 'the DHT needs UDP, which this platform does not have')
    this.dhtOpts = dhtOpts
    this.opts = opts
    toHexId(dhtOpts.nodeId) // validate now, throw synchronously
    this.readyPromise = new Promise(resolve => { this.resolveReady = resolve })
    this.listenPromise = new Promise(resolve => { this.resolveListen = resolve })
    queueMicrotask(() => { this.start().catch(err => this.fail(err as Error)) })
  }

  /** Resolves once bootstrapped, or at once if the DHT failed or was destroyed. */
  whenReady (): Promise<void> {
    return this.readyPromise
  }

  /** Resolves with the UDP port once listening (0 when the DHT failed or was destroyed first). */
  whenListening (): Promise<number> {
    return this.listenPromise
  }

  /** Routing table size. */
  get nodeCount (): number {
    return this.backend?.nodes().length ?? 0
  }

  private async start (): Promise<void> {
    const state = this.opts.stateFile !== undefined ? await readDhtState(this.opts.stateFile) : null
    if (this.destroyed) return
    const { bootstrap, nodeId, ...extra } = this.dhtOpts
    if (this.opts.createBackend === undefined) await loadDhtBackend()
    if (this.destroyed) return
    const create = this.opts.createBackend ?? createDhtBackend
    const makeBackend = (): DhtBackend => {
      const b = create({ bootstrap, nodeId: toHexId(nodeId) ?? state?.nodeId, extra })
      for (const n of state?.nodes ?? []) b.addNode(n)
      return b
    }
    let backend = makeBackend()
    this.backend = backend
    let port: number
    try {
      port = await backend.listen(this.opts.port ?? state?.port ?? 0, this.opts.host)
    } catch (err) {
      // The saved port is taken (another client on this host): any port will do. An explicit dhtPort is an error.
      if (this.opts.port !== undefined || state?.port === undefined || this.destroyed) throw err
      await backend.destroy()
      if (this.destroyed) return
      backend = makeBackend()
      this.backend = backend
      port = await backend.listen(0, this.opts.host)
    }
    if (this.destroyed) return
    this.nodeId = backend.nodeId
    this.port = port
    this.listening = true
    backend.onPeer((peer, infoHash) => this.onPeer(peer, infoHash))
    backend.onWarning(err => this.emit('warning', err))
    backend.onReady(() => {
      if (this.destroyed || this.ready) return
      this.ready = true
      this.resolveReady()
      this.emit('ready')
    })
    const every = this.opts.saveInterval ?? DHT_SAVE_INTERVAL
    if (this.opts.stateFile !== undefined && every > 0) {
      this.saveTimer = setInterval(() => { this.save().catch(err => this.emit('warning', err as Error)) }, every)
      ;(this.saveTimer as { unref?: () => void }).unref?.()
    }
    this.resolveListen(port)
    this.emit('listening', port)
  }

  private fail (err: Error): void {
    if (this.destroyed) return
    this.resolveReady()
    this.resolveListen(0)
    const e = err instanceof WasmTorrentError ? err : new WasmTorrentError('ERR_DHT_LISTEN', `DHT cannot listen: ${err.message}`, { cause: err })
    const backend = this.backend
    this.backend = null
    backend?.destroy().catch(() => {})
    if (this.listenerCount('error') > 0) this.emit('error', e)
    else this.emit('warning', e)
  }

  private onPeer (peer: { host: string, port: number }, infoHash: string): void {
    this.emit('peer', peer, infoHash)
    const set = this.subs.get(infoHash)
    if (set === undefined) return
    for (const fn of [...set]) fn(peer)
  }

  subscribe (infoHash: string, fn: (peer: { host: string, port: number }) => void): () => void {
    const ih = infoHash.toLowerCase()
    let set = this.subs.get(ih)
    if (set === undefined) this.subs.set(ih, set = new Set())
    set.add(fn)
    return () => {
      set!.delete(fn)
      if (set!.size === 0 && this.subs.get(ih) === set) this.subs.delete(ih)
    }
  }

  private async backendReady (): Promise<DhtBackend> {
    await this.readyPromise
    if (this.destroyed) throw new WasmTorrentError('ERR_DHT_DESTROYED', 'the DHT is destroyed')
    if (this.backend === null) throw new WasmTorrentError('ERR_DHT_UNAVAILABLE', 'the DHT is not running')
    return this.backend
  }

  async announce (infoHash: string, port: number): Promise<void> {
    const b = await this.backendReady()
    await b.announce(infoHash.toLowerCase(), port)
  }

  async lookup (infoHash: string): Promise<void> {
    const b = await this.backendReady()
    await b.lookup(infoHash.toLowerCase())
  }

  /** Adds a node by address (pinged first). IPv4 only (bittorrent-dht speaks BEP 5's IPv4 DHT). */
  addNode (host: string, port: number): void {
    if (this.destroyed || !Number.isInteger(port) || port < 1 || port > 65535) return
    const h = host.toLowerCase().startsWith('::ffff:') ? host.slice(7) : host
    if (parseIPv4(h) === null) return
    const key = `${h}:${port}`
    const now = Date.now()
    const last = this.recentAdds.get(key)
    if (last !== undefined && now - last < ADD_NODE_TTL) return
    this.recentAdds.delete(key)
    this.recentAdds.set(key, now)
    if (this.recentAdds.size > MAX_RECENT_ADDS) this.recentAdds.delete(this.recentAdds.keys().next().value!)
    const add = (): void => { if (!this.destroyed) this.backend?.addNode({ host: h, port }) }
    if (this.backend !== null) add()
    else this.readyPromise.then(add, () => {})
  }

  /** bittorrent-dht's toJSON() shape, with node ids. */
  toJSON (): DhtState {
    const state: DhtState = { version: 1, nodes: this.backend?.nodes() ?? [], savedAt: Date.now() }
    if (this.nodeId !== '') state.nodeId = this.nodeId
    if (this.port !== 0) state.port = this.port
    return state
  }

  /** Writes the routing table to the state file (no-op without one). */
  async save (): Promise<void> {
    if (this.opts.stateFile === undefined || this.backend === null) return
    await writeDhtState(this.opts.stateFile, this.toJSON())
  }

  destroy (): Promise<void> {
    if (this.destroyPromise !== null) return this.destroyPromise
    this.destroyPromise = (async () => {
      if (this.saveTimer !== null) clearInterval(this.saveTimer)
      this.saveTimer = null
      try {
        if (this.listening) await this.save()
      } catch (err) {
        this.emit('warning', err as Error)
      }
      this.destroyed = true
      this.resolveReady()
      this.resolveListen(0)
      this.subs.clear()
      const b = this.backend
      this.backend = null
      await b?.destroy()
    })()
    return this.destroyPromise
  }
}
