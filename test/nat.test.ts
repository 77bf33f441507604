/**
 * NAT traversal without a router: gateway discovery parsers, NatTraversal's policy (methods, leases, refresh,
 * retries, bounded destroy) over a fake backend, and the real NAT-PMP backend (nat-pmp + our guards) against a
 * hostile fake gateway on 127.0.0.1. The real router is test/nat-netns.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSocket, type Socket } from 'node:dgram'
import { build } from 'esbuild'
import { NatTraversal, parseProcNetRoute, parseIpRouteDefault, parseRouteGetDefault, type NatBackend, type NatMapping, type PortMapRequest } from '../src/nat/index.js'
import { WasmTorrentError } from '../src/errors.js'
import { createNatBackend } from '../src/nat/platform-node.js'

describe('default gateway from the routing table', () => {
  const HEAD = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
  it('/proc/net/route: the lowest-metric default route with a gateway', () => {
    const text = HEAD +
      'eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n' + // 192.168.0.0/24, no gateway
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n' + // default via 192.168.1.1 metric 600
      'eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' + // default via 192.168.0.1 metric 100
      'tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n' // default dev tun0 (no gateway flag)
    expect(parseProcNetRoute(text)).toBe('192.168.0.1')
    expect(parseProcNetRoute(text, false)).toBe('1.0.168.192')
    expect(parseProcNetRoute(HEAD + 'eth0\t00000000\t0100A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n')).toBeNull() // not RTF_UP
    expect(parseProcNetRoute(HEAD)).toBeNull()
    expect(parseProcNetRoute('garbage\n\n\t\t')).toBeNull()
    // This namespace layout (test/helpers/router.ts): default via 10.213.0.1.
    expect(parseProcNetRoute(HEAD + 'eth0\t00000000\t0100D50A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n')).toBe('10.213.0.1')
  })
  it('`ip -4 route show default` and `route -n get default`', () => {
    expect(parseIpRouteDefault('default via 10.0.0.1 dev eth0 proto dhcp metric 100\n')).toBe('10.0.0.1')
    expect(parseIpRouteDefault('default dev wg0 scope link\n')).toBeNull()
    expect(parseIpRouteDefault('default via fe80::1 dev eth0\n')).toBeNull()
    expect(parseRouteGetDefault('   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.254\n  interface: en0\n')).toBe('192.168.1.254')
    expect(parseRouteGetDefault('route: writing to routing socket: not in table\n')).toBeNull()
  })
})

type Call = { op: 'pmp' | 'upnp' | 'upnpUnmap', req: Partial<PortMapRequest>, at: number }

/** A scripted backend: each call asks `answer` what to do. */
function fakeBackend (answer: (c: Call) => Promise<unknown> | unknown, gateway: string | null = '192.168.0.1'): NatBackend & { calls: Call[] } {
  const calls: Call[] = []
  const call = async (c: Call): Promise<any> => { calls.push(c); return answer(c) } // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    calls,
    defaultGateway: async () => gateway,
    pmpMap: (_gw, req) => call({ op: 'pmp', req, at: Date.now() }),
    upnpMap: (req) => call({ op: 'upnp', req, at: Date.now() }).then(() => {}),
    upnpUnmap: (req) => call({ op: 'upnpUnmap', req, at: Date.now() }).then(() => {})
  }
}
const pmpOk = (c: Call): unknown => c.op === 'pmp' ? { externalPort: c.req.lifetime === 0 ? 0 : c.req.externalPort, lifetime: c.req.lifetime } : undefined
const refused = (method: string): WasmTorrentError => new WasmTorrentError(method === 'pmp' ? 'ERR_NAT_PMP_REFUSED' : 'ERR_NAT_UPNP_REFUSED', `${method} refused`)

describe('NatTraversal policy (fake backend, fake clock)', () => {
  let nat: NatTraversal
  const events: Array<[string, NatMapping | string]> = []
  const watch = (n: NatTraversal): NatTraversal => {
    n.on('map', m => events.push(['map', m]))
    n.on('unmap', m => events.push(['unmap', m]))
    n.on('warning', e => events.push(['warning', (e as WasmTorrentError).code]))
    return n
  }
  beforeEach(() => { vi.useFakeTimers({ now: 0 }); events.length = 0 })
  afterEach(async () => {
    const p = nat?.destroy()
    await vi.runAllTimersAsync()
    await p
    vi.useRealTimers()
  })

  it('maps TCP and UDP with NAT-PMP, 3600 s leases, refreshed silently at half the lease', async () => {
    const be = fakeBackend(pmpOk)
    nat = watch(new NatTraversal({ backend: be }))
    const ms = await nat.map(6881)
    expect(ms.map(m => [m.protocol, m.method, m.externalPort, m.lifetime, m.gateway])).toEqual([['tcp', 'pmp', 6881, 3600, '192.168.0.1'], ['udp', 'pmp', 6881, 3600, '192.168.0.1']])
    expect(be.calls.map(c => [c.op, c.req.protocol, c.req.internalPort, c.req.externalPort, c.req.lifetime])).toEqual([['pmp', 'tcp', 6881, 6881, 3600], ['pmp', 'udp', 6881, 6881, 3600]])
    expect(events.map(e => e[0])).toEqual(['map', 'map'])
    await vi.advanceTimersByTimeAsync(1800_000 - 1)
    expect(be.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(be.calls).toHaveLength(4)
    await vi.advanceTimersByTimeAsync(1800_000)
    expect(be.calls).toHaveLength(6)
    expect(events.map(e => e[0])).toEqual(['map', 'map'])
    // A granted lifetime shorter than asked sets the refresh period; a different external port is reported.
    const be2 = fakeBackend(c => ({ externalPort: 40000, lifetime: 100 }))
    const n2 = watch(new NatTraversal({ backend: be2 }))
    const m2 = await n2.map(7000, ['tcp'])
    expect(m2[0]).toMatchObject({ externalPort: 40000, lifetime: 100 })
    await vi.advanceTimersByTimeAsync(50_000)
    expect(be2.calls).toHaveLength(2)
    expect(be2.calls[1].req.externalPort).toBe(40000) // refresh asks for the port it has
    await n2.destroy()
  })

  it('falls back to UPnP when NAT-PMP fails, and keeps using the method that worked', async () => {
    const be = fakeBackend(c => { if (c.op === 'pmp') throw new WasmTorrentError('ERR_NAT_PMP_TIMEOUT', 'no answer') })
    nat = watch(new NatTraversal({ backend: be }))
    const ms = await nat.map(6881)
    expect(ms.map(m => m.method)).toEqual(['upnp', 'upnp'])
    expect(be.calls.map(c => `${c.op}/${c.req.protocol}`)).toEqual(['pmp/tcp', 'upnp/tcp', 'upnp/udp'])
    expect(events.filter(e => e[0] === 'warning').map(e => e[1])).toEqual(['ERR_NAT_PMP_TIMEOUT'])
    await vi.advanceTimersByTimeAsync(1800_000)
    expect(be.calls.slice(3).map(c => c.op)).toEqual(['upnp', 'upnp'])
  })

  it('no default gateway: NAT-PMP is skipped with a warning', async () => {
    const be = fakeBackend(() => undefined, null)
    nat = watch(new NatTraversal({ backend: be }))
    expect((await nat.map(6881)).map(m => m.method)).toEqual(['upnp', 'upnp'])
    expect(events.filter(e => e[0] === 'warning').map(e => e[1])).toEqual(['ERR_NAT_NO_GATEWAY'])
    expect(be.calls.every(c => c.op === 'upnp')).toBe(true)
  })

  it("natUpnp 'permanent' retries a refused lease as a permanent mapping; plain true does not", async () => {
    const be = fakeBackend(c => { if (c.req.lifetime !== 0) throw refused('upnp') })
    nat = watch(new NatTraversal({ backend: be, pmp: false, upnp: 'permanent' }))
    const ms = await nat.map(6881, ['tcp'])
    expect(ms).toEqual([expect.objectContaining({ method: 'upnp', lifetime: 0, expiresAt: null })])
    expect(be.calls.map(c => c.req.lifetime)).toEqual([3600, 0])
    await vi.advanceTimersByTimeAsync(10 * 3600_000)
    expect(be.calls).toHaveLength(2) // permanent: never refreshed

    const be2 = fakeBackend(c => { if (c.req.lifetime !== 0) throw refused('upnp') })
    const n2 = watch(new NatTraversal({ backend: be2, pmp: false, upnp: true }))
    expect(await n2.map(6882, ['tcp'])).toEqual([])
    expect(be2.calls).toHaveLength(1)
    expect(events.filter(e => e[0] === 'warning').map(e => e[1])).toEqual(['ERR_NAT_UPNP_REFUSED', 'ERR_NAT_MAP'])
    await vi.advanceTimersByTimeAsync(3600_000)
    expect(be2.calls).toHaveLength(1) // a failed first mapping is not retried
    await n2.destroy()
  })

  it('a failing refresh is retried every minute; past the lease the mapping is reported gone, then re-made', async () => {
    let down = false
    const be = fakeBackend(c => { if (down) throw new WasmTorrentError('ERR_NAT_PMP_TIMEOUT', 'no answer'); return pmpOk(c) })
    nat = watch(new NatTraversal({ backend: be, upnp: false, lease: 600 }))
    await nat.map(6881, ['tcp'])
    down = true
    await vi.advanceTimersByTimeAsync(300_000) // refresh at 300 s fails
    expect(be.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(be.calls).toHaveLength(3)
    expect(events.filter(e => e[0] === 'unmap')).toEqual([])
    await vi.advanceTimersByTimeAsync(300_000) // the lease ran out at 600 s
    expect(events.filter(e => e[0] === 'unmap')).toEqual([['unmap', expect.objectContaining({ protocol: 'tcp', expired: true })]])
    expect(nat.mappings).toEqual([])
    down = false
    await vi.advanceTimersByTimeAsync(60_000)
    expect(nat.mappings).toHaveLength(1)
    expect(events.filter(e => e[0] === 'map')).toHaveLength(2)
  })

  it('destroy() unmaps (NAT-PMP lifetime 0, UPnP DeletePortMapping) and emits unmap', async () => {
    const be = fakeBackend(pmpOk)
    nat = watch(new NatTraversal({ backend: be }))
    await nat.map(6881)
    const be2 = fakeBackend(() => undefined)
    const n2 = watch(new NatTraversal({ backend: be2, pmp: false }))
    await n2.map(6882)
    await Promise.all([nat.destroy(), n2.destroy()])
    expect(be.calls.slice(2).map(c => [c.op, c.req.protocol, c.req.externalPort, c.req.lifetime])).toEqual([['pmp', 'tcp', 0, 0], ['pmp', 'udp', 0, 0]])
    expect(be2.calls.slice(2).map(c => [c.op, c.req.protocol, c.req.externalPort])).toEqual([['upnpUnmap', 'tcp', 6882], ['upnpUnmap', 'udp', 6882]])
    expect(events.filter(e => e[0] === 'unmap')).toHaveLength(4)
    expect(nat.mappings).toEqual([])
    expect(await nat.map(6883)).toEqual([])
  })

  it('destroy() waits at most destroyTimeout for a router that does not answer', async () => {
    let hang = false
    const be = fakeBackend(c => hang ? new Promise(() => {}) : pmpOk(c))
    nat = watch(new NatTraversal({ backend: be, destroyTimeout: 2000 }))
    await nat.map(6881)
    hang = true
    let done = false
    void nat.destroy().then(() => { done = true })
    await vi.advanceTimersByTimeAsync(1999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toBe(true)
  })

  it('destroy() does not wait behind a mapping attempt when nothing was mapped', async () => {
    const be = fakeBackend(() => new Promise(() => {})) // a router that never answers
    nat = watch(new NatTraversal({ backend: be, upnp: false, destroyTimeout: 3000 }))
    void nat.map(6881)
    await vi.advanceTimersByTimeAsync(0)
    let done = false
    void nat.destroy().then(() => { done = true })
    await vi.advanceTimersByTimeAsync(0)
    expect(done).toBe(true)
  })

  it('unmap() or destroy() during a mapping undoes it when it completes', async () => {
    let release: () => void = () => {}
    const be = fakeBackend(c => c.req.lifetime === 0 ? pmpOk(c) : new Promise(resolve => { release = () => resolve(pmpOk(c)) }))
    nat = watch(new NatTraversal({ backend: be, upnp: false }))
    const mapping = nat.map(6881, ['tcp'])
    await vi.advanceTimersByTimeAsync(0)
    const destroyed = nat.destroy()
    release()
    expect(await mapping).toEqual([])
    await destroyed
    expect(be.calls.map(c => c.req.lifetime)).toEqual([3600, 0])
    expect(events.filter(e => e[0] === 'map')).toEqual([])
  })

  it('options and arguments', async () => {
    nat = new NatTraversal({ backend: fakeBackend(pmpOk) })
    await expect(nat.map(0)).rejects.toMatchObject({ code: 'ERR_NAT_ARGS' })
    await expect(nat.map(70000)).rejects.toMatchObject({ code: 'ERR_NAT_ARGS' })
    expect(() => new NatTraversal({ lease: 0 })).toThrow(expect.objectContaining({ code: 'ERR_NAT_OPTIONS' }))
    // Both off: nothing is created, map() maps nothing.
    const off = new NatTraversal({ upnp: false, pmp: false })
    expect(await off.map(6881)).toEqual([])
    await off.destroy()
  })
})

describe('NAT-PMP backend (nat-pmp + guards) against a fake gateway on 127.0.0.1', () => {
  let gw: Socket
  let handler: (msg: Buffer, rinfo: { address: string, port: number }) => void = () => {}
  const backend = createNatBackend()
  const req: PortMapRequest = { protocol: 'tcp', internalPort: 6881, externalPort: 6881, lifetime: 3600, description: 'x' }
  const answer = (msg: Buffer, result = 0, ext = 6881, life = 3600): Buffer => {
    const b = Buffer.alloc(16)
    b[1] = 128 + msg[1]
    b.writeUInt16BE(result, 2)
    b.writeUInt32BE(12345, 4)
    b.writeUInt16BE(msg.readUInt16BE(4), 8)
    b.writeUInt16BE(ext, 10)
    b.writeUInt32BE(life, 12)
    return b
  }

  beforeEach(async () => {
    gw = createSocket('udp4')
    gw.on('message', (m, r) => handler(m, r))
    await new Promise<void>((resolve, reject) => { gw.once('error', reject); gw.bind(5351, '127.0.0.1', () => resolve()) })
  })
  afterEach(() => { gw.close() })

  it('maps: request format, answer parsed, sent from an ephemeral port (not 5350)', async () => {
    const seen: Array<{ msg: Buffer, port: number }> = []
    handler = (msg, r) => { seen.push({ msg, port: r.port }); gw.send(answer(msg, 0, 40000, 7200), r.port, r.address) }
    expect(await backend.pmpMap('127.0.0.1', req, [500])).toEqual({ externalPort: 40000, lifetime: 7200 })
    expect(seen).toHaveLength(1)
    expect([...seen[0].msg]).toEqual([0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0x0e, 0x10])
    expect(seen[0].port).not.toBe(5350)
    handler = (msg, r) => gw.send(answer(msg), r.port, r.address)
    expect(await backend.pmpMap('127.0.0.1', { ...req, protocol: 'udp' }, [500])).toEqual({ externalPort: 6881, lifetime: 3600 })
  })

  it('ignores short, long, wrong-version, wrong-opcode and wrong-source datagrams without crashing', async () => {
    const other = createSocket('udp4')
    await new Promise<void>(resolve => other.bind(0, '127.0.0.1', () => resolve()))
    handler = (msg, r) => {
      const good = answer(msg, 0, 6999, 60)
      gw.send(Buffer.from([0]), r.port, r.address) // 1 byte: nat-pmp would throw a RangeError
      gw.send(Buffer.concat([good, Buffer.alloc(4)]), r.port, r.address) // 20 bytes: nat-pmp would fail an assert
      gw.send(Buffer.from([1, ...good.subarray(1)]), r.port, r.address) // version 1
      gw.send(Buffer.from([0, 129, ...good.subarray(2)]), r.port, r.address) // answer to another opcode
      gw.send(good.subarray(0, 12), r.port, r.address) // success code but truncated
      other.send(answer(msg, 0, 1111, 60), r.port, r.address) // right shape, wrong source port
      setTimeout(() => gw.send(good, r.port, r.address), 50)
    }
    expect(await backend.pmpMap('127.0.0.1', req, [1000])).toEqual({ externalPort: 6999, lifetime: 60 })
    other.close()
  })

  it('retransmits after each timeout (nat-pmp alone never does), then gives up', async () => {
    let n = 0
    handler = (msg, r) => { if (++n === 3) gw.send(answer(msg), r.port, r.address) }
    expect(await backend.pmpMap('127.0.0.1', req, [100, 100, 100, 100])).toEqual({ externalPort: 6881, lifetime: 3600 })
    expect(n).toBe(3)
    n = 0
    handler = () => { n++ }
    const t0 = Date.now()
    await expect(backend.pmpMap('127.0.0.1', req, [100, 200])).rejects.toMatchObject({ code: 'ERR_NAT_PMP_TIMEOUT' })
    expect(n).toBe(2)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
  })

  it('a refusal (result code) is ERR_NAT_PMP_REFUSED', async () => {
    handler = (msg, r) => gw.send(answer(msg, 2).subarray(0, 8), r.port, r.address)
    await expect(backend.pmpMap('127.0.0.1', req, [500])).rejects.toMatchObject({ code: 'ERR_NAT_PMP_REFUSED', message: expect.stringMatching(/not authorized/) })
  })
})

describe('browser build', () => {
  it('src/nat bundles for browsers without nat-upnp, nat-pmp or node:* and reports NAT unsupported', async () => {
    const r = await build({
      entryPoints: ['src/nat/index.ts'],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      conditions: ['browser', 'module', 'import', 'default'],
      logLevel: 'silent'
    })
    const code = r.outputFiles[0].text
    // No import of them (comments may name them).
    expect(code).not.toMatch(/(from|import)\s*\(?\s*["'](node:|nat-upnp|nat-pmp|dgram|os["'])|require\(/)
    expect(code).not.toContain('M-SEARCH') // nat-upnp's code is not in it
    expect(code).toContain('ERR_NAT_UNSUPPORTED')
  })
})
