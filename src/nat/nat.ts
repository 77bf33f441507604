/**
 * NAT traversal for the client's listening port: asks the router to forward the port (TCP and UDP: the client
 * listens for TCP and uTP on one port) with NAT-PMP (RFC 6886, via `nat-pmp`) and/or UPnP IGD (via
 * `nat-upnp`), keeps the mappings alive, and removes them on destroy.
 *
 *     const nat = new NatTraversal({ upnp: true, pmp: true })
 *     nat.on('map', m => console.log(`${m.protocol} ${m.externalPort} -> ${m.internalPort} via ${m.method}`))
 *     await nat.map(client.torrentPort)   // TCP + UDP
 *     await nat.destroy()                 // unmaps, waiting at most destroyTimeout
 *
 * Method: with both enabled, NAT-PMP is tried first (one UDP round trip to the default gateway) and UPnP when
 * NAT-PMP gets no answer or is refused — as webtorrent's nat-api does; the method that worked is tried first
 * from then on (for refreshes and the other protocol). External port = internal port requested (NAT-PMP may grant another one; it is reported).
 *
 * Leases: 3600 s requested (libtorrent's upnp_lease_duration and natpmp_lease_duration defaults); refreshed at
 * half the granted lease (RFC 6886 §3.3; libtorrent renews NAT-PMP at about half too). `upnp: 'permanent'`
 * (webtorrent's option) retries a refused timed UPnP lease once as a permanent one (lease 0): routers that only
 * support permanent leases answer OnlyPermanentLeasesSupported (725), which nat-upnp reports only as an HTTP
 * 500, so any refusal triggers the retry. Permanent mappings are not refreshed.
 *
 * A failed refresh is retried every `retryInterval` (60 s); once the lease has run out the mapping is reported
 * gone ('unmap' with `expired: true`) and re-created when a retry succeeds. A failed first mapping is a
 * 'warning' and is not retried. Nothing here throws or emits 'error': a router that cannot map is normal.
 *
 * Gateway (NAT-PMP): `gateway` option, else the default route's gateway from the routing table
 * (/proc/net/route on Linux; no traffic). UPnP finds its gateway by SSDP multicast on the local network.
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { createNatBackend, natSupported, type NatBackend, type NatProtocol } from './platform.js'

export interface NatTraversalOptions {
  /** UPnP IGD: true (default), false, or 'permanent' (fall back to a permanent lease when refused). */
  upnp?: boolean | 'permanent'
  /** NAT-PMP (default true). */
  pmp?: boolean
  /** Requested lease, seconds (default 3600). */
  lease?: number
  /** Port mapping description shown by the router (UPnP). */
  description?: string
  /** NAT-PMP gateway address (default: the default route's gateway). */
  gateway?: string
  /** NAT-PMP retransmission timeouts, ms (default 250, 500, 1000, 2000: RFC 6886's first four). */
  pmpTimeouts?: number[]
  /** Bound on one UPnP operation (discovery + SOAP), ms (default 10 s). */
  upnpTimeout?: number
  /** Retry period after a failed refresh, ms (default 60 s). */
  retryInterval?: number
  /** destroy() waits at most this long for the unmapping, ms (default 3 s). */
  destroyTimeout?: number
  /** A backend other than the platform's (tests, other runtimes). */
  backend?: NatBackend
}

export type NatMethod = 'pmp' | 'upnp'

export interface NatMapping {
  protocol: NatProtocol
  internalPort: number
  externalPort: number
  method: NatMethod
  /** Lease granted, seconds (0 = permanent). */
  lifetime: number
  /** When the lease runs out (ms since the epoch), null when permanent. */
  expiresAt: number | null
  /** NAT-PMP: the gateway that mapped it. */
  gateway?: string
  /** On 'unmap': true when the lease ran out (a refresh failed) rather than being removed. */
  expired?: boolean
}

type NatEvents = {
  [event: string]: (...args: any[]) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  map: (m: NatMapping) => void
  unmap: (m: NatMapping) => void
  warning: (err: Error) => void
}

interface Want {
  protocol: NatProtocol
  port: number
  mapping: NatMapping | null
  timer: ReturnType<typeof setTimeout> | null
}

export class NatTraversal extends Emitter<NatEvents> {
  destroyed = false
  private readonly upnp: boolean | 'permanent'
  private readonly pmp: boolean
  private readonly lease: number
  private readonly description: string
  private readonly pmpTimeouts: number[]
  private readonly upnpTimeout: number
  private readonly retryInterval: number
  private readonly destroyTimeout: number
  private readonly backend: NatBackend | null
  private readonly wants = new Map<string, Want>()
  private gateway: Promise<string | null> | null
  private readonly gatewayOption: string | undefined
  private chain: Promise<unknown> = Promise.resolve()
  private preferred: NatMethod | null = null

  constructor (opts: NatTraversalOptions = {}) {
    super()
    this.upnp = opts.upnp ?? true
    this.pmp = opts.pmp ?? true
    this.lease = opts.lease ?? 3600
    if (!Number.isInteger(this.lease) || this.lease < 1) throw new WasmTorrentError('ERR_NAT_OPTIONS', 'lease must be a positive number of seconds')
    this.description = opts.description ?? 'wasmtorrent'
    this.pmpTimeouts = opts.pmpTimeouts ?? [250, 500, 1000, 2000]
    this.upnpTimeout = opts.upnpTimeout ?? 10_000
    this.retryInterval = opts.retryInterval ?? 60_000
    this.destroyTimeout = opts.destroyTimeout ?? 3000
    this.gatewayOption = opts.gateway
    this.gateway = null
    this.backend = opts.backend ?? (natSupported && (this.upnp !== false || this.pmp) ? createNatBackend() : null)
    if (this.backend === null && (this.upnp !== false || this.pmp)) {
      queueMicrotask(() => this.warn(new WasmTorrentError('ERR_NAT_UNSUPPORTED', 'NAT traversal (UPnP, NAT-PMP) is not available on this platform')))
    }
  }

  /** The current mappings. */
  get mappings (): NatMapping[] {
    const out: NatMapping[] = []
    for (const w of this.wants.values()) if (w.mapping !== null) out.push({ ...w.mapping })
    return out
  }

  /**
   * Maps `port` (same external port requested) for each protocol, and keeps the mappings alive until unmap()
   * or destroy(). Resolves with the mappings made; failures are 'warning's.
   */
  async map (port: number, protocols: NatProtocol[] = ['tcp', 'udp']): Promise<NatMapping[]> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WasmTorrentError('ERR_NAT_ARGS', `invalid port ${port}`)
    if (this.destroyed || this.backend === null) return []
    const out: NatMapping[] = []
    for (const protocol of protocols) {
      const key = `${protocol}:${port}`
      let w = this.wants.get(key)
      if (w === undefined) {
        w = { protocol, port, mapping: null, timer: null }
        this.wants.set(key, w)
      }
      const want = w
      const m = await this.serial(() => this.ensure(want, true))
      if (m !== null) out.push(m)
    }
    return out
  }

  /** Removes the mappings of `port` (both protocols unless given). */
  async unmap (port: number, protocols: NatProtocol[] = ['tcp', 'udp']): Promise<void> {
    const jobs: Array<Promise<void>> = []
    for (const protocol of protocols) {
      const w = this.wants.get(`${protocol}:${port}`)
      if (w === undefined) continue
      this.wants.delete(`${protocol}:${port}`)
      if (w.timer !== null) clearTimeout(w.timer)
      w.timer = null
      // Nothing mapped (yet): nothing to queue behind a mapping attempt in flight, which undoes its own result
      // once it sees the want is gone (see ensure()).
      if (w.mapping !== null) jobs.push(this.serial(() => this.release(w)))
    }
    await Promise.all(jobs)
  }

  /** Unmaps everything, waiting at most `destroyTimeout`; then stops. */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    const ports = [...new Set([...this.wants.values()].map(w => w.port))]
    const unmapping = Promise.all(ports.map(p => this.unmap(p)))
    this.destroyed = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<void>(resolve => { timer = setTimeout(resolve, this.destroyTimeout) })
    await Promise.race([unmapping, timeout])
    clearTimeout(timer)
  }

  private warn (err: Error): void {
    if (this.listenerCount('warning') > 0) this.emit('warning', err)
  }

  /** NAT operations run one at a time (nat-pmp and the router's state machine like it that way). */
  private serial<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn)
    this.chain = p.catch(() => {})
    return p
  }

  private pmpGateway (): Promise<string | null> {
    if (this.gateway === null) {
      this.gateway = this.gatewayOption !== undefined
        ? Promise.resolve(this.gatewayOption)
        : (this.backend as NatBackend).defaultGateway().catch(() => null)
      void this.gateway.then(gw => {
        if (gw === null) this.warn(new WasmTorrentError('ERR_NAT_NO_GATEWAY', 'no IPv4 default gateway: NAT-PMP disabled'))
      })
    }
    return this.gateway
  }

  /** Maps or refreshes `w`; returns the mapping or null. Schedules the next refresh/retry. */
  private async ensure (w: Want, first: boolean): Promise<NatMapping | null> {
    if (this.destroyed || this.wants.get(`${w.protocol}:${w.port}`) !== w) return null
    const backend = this.backend as NatBackend
    const methods: NatMethod[] = []
    if (this.pmp) methods.push('pmp')
    if (this.upnp !== false) methods.push('upnp')
    // The method that worked last for this port, else for any port, goes first.
    const prefer = w.mapping?.method ?? this.preferred
    if (prefer !== null && methods[0] !== prefer) methods.reverse()
    const errors: Error[] = []
    let got: NatMapping | null = null
    for (const method of methods) {
      try {
        got = method === 'pmp' ? await this.mapPmp(backend, w) : await this.mapUpnp(backend, w)
        if (got !== null) break
      } catch (err) {
        errors.push(err as Error)
      }
    }
    // unmap()/destroy() ran while we were mapping: undo it.
    if (this.destroyed || this.wants.get(`${w.protocol}:${w.port}`) !== w) {
      if (got !== null) {
        w.mapping = got
        await this.release(w)
      }
      return null
    }
    if (got === null) {
      for (const err of errors) this.warn(err)
      const why = errors.map(e => e.message).join('; ') || 'no method enabled'
      this.warn(new WasmTorrentError('ERR_NAT_MAP', `could not ${first ? 'map' : 'refresh'} ${w.protocol.toUpperCase()} port ${w.port}: ${why}`))
      if (!first) {
        const old = w.mapping
        if (old !== null && old.expiresAt !== null && Date.now() >= old.expiresAt) {
          w.mapping = null
          this.emit('unmap', { ...old, expired: true })
        }
        this.arm(w, this.retryInterval)
      }
      return null
    }
    // A method that failed before another one worked: worth knowing, once (the winner goes first from now on).
    for (const err of errors) this.warn(err)
    this.preferred = got.method
    const old = w.mapping
    w.mapping = got
    if (old === null || old.externalPort !== got.externalPort || old.method !== got.method) {
      if (old !== null && old.method !== got.method) {
        // Switched method: the old one's mapping would linger until its lease ends; remove it.
        await this.releaseMapping(old).catch(() => {})
      }
      this.emit('map', { ...got })
    }
    if (got.lifetime > 0) this.arm(w, got.lifetime * 1000 / 2)
    return { ...got }
  }

  private arm (w: Want, ms: number): void {
    if (w.timer !== null) clearTimeout(w.timer)
    w.timer = setTimeout(() => {
      w.timer = null
      void this.serial(() => this.ensure(w, false))
    }, ms)
    ;(w.timer as { unref?: () => void }).unref?.()
  }

  private async mapPmp (backend: NatBackend, w: Want): Promise<NatMapping | null> {
    const gateway = await this.pmpGateway()
    if (gateway === null) return null
    const externalPort = w.mapping?.method === 'pmp' ? w.mapping.externalPort : w.port
    const r = await backend.pmpMap(gateway, { protocol: w.protocol, internalPort: w.port, externalPort, lifetime: this.lease, description: this.description }, this.pmpTimeouts)
    if (r.lifetime === 0) throw new WasmTorrentError('ERR_NAT_PMP_FAILED', `NAT-PMP gateway ${gateway} granted a zero lease`)
    return { protocol: w.protocol, internalPort: w.port, externalPort: r.externalPort, method: 'pmp', lifetime: r.lifetime, expiresAt: Date.now() + r.lifetime * 1000, gateway }
  }

  private async mapUpnp (backend: NatBackend, w: Want): Promise<NatMapping | null> {
    const req = { protocol: w.protocol, internalPort: w.port, externalPort: w.port, lifetime: this.lease, description: this.description }
    try {
      await backend.upnpMap(req, this.upnpTimeout)
    } catch (err) {
      if (this.upnp !== 'permanent' || (err as WasmTorrentError).code !== 'ERR_NAT_UPNP_REFUSED') throw err
      await backend.upnpMap({ ...req, lifetime: 0 }, this.upnpTimeout)
      return { protocol: w.protocol, internalPort: w.port, externalPort: w.port, method: 'upnp', lifetime: 0, expiresAt: null }
    }
    return { protocol: w.protocol, internalPort: w.port, externalPort: w.port, method: 'upnp', lifetime: this.lease, expiresAt: Date.now() + this.lease * 1000 }
  }

  private async releaseMapping (m: NatMapping): Promise<void> {
    const backend = this.backend as NatBackend
    if (m.method === 'pmp') {
      // RFC 6886 §3.4: lifetime 0 deletes; the external port is ignored (sent as 0).
      await backend.pmpMap(m.gateway as string, { protocol: m.protocol, internalPort: m.internalPort, externalPort: 0, lifetime: 0, description: this.description }, this.pmpTimeouts)
    } else {
      await backend.upnpUnmap({ protocol: m.protocol, externalPort: m.externalPort }, this.upnpTimeout)
    }
  }

  private async release (w: Want): Promise<void> {
    const m = w.mapping
    if (m === null) return
    w.mapping = null
    try {
      await this.releaseMapping(m)
      this.emit('unmap', { ...m })
    } catch (err) {
      this.warn(new WasmTorrentError('ERR_NAT_UNMAP', `could not unmap ${m.protocol.toUpperCase()} port ${m.externalPort} (${m.method}): ${(err as Error).message}`, { cause: err }))
    }
  }
}
