/**
 * NAT traversal against a real router: Debian's miniupnpd (UPnP IGD + NAT-PMP, nftables backend) in a
 * "router" namespace between a "client" namespace (the library's client + NatTraversal) and an "internet"
 * namespace (a STUN responder for miniupnpd, and the probe). See test/helpers/router.ts.
 *
 * Each test maps the client's listening port (TCP and UDP), checks the router (nft ruleset DNAT rules and the
 * lease file), probes <router WAN>:<port> from the internet namespace over TCP, and checks that destroy()
 * leaves nothing behind. Nothing leaves the namespaces this file creates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, netnsSupported, type Driver, type DriverMessage } from './helpers/netns.js'
import { Router, miniupnpdAvailable, CLIENT_IP, ROUTER_LAN_IP, ROUTER_WAN_IP } from './helpers/router.js'
import { needs } from './helpers/system.js'

const ok = needs('root + ip netns + miniupnpd + nftables (apt: miniupnpd miniupnpd-nftables nftables)', netnsSupported() && miniupnpdAvailable())
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

describe.skipIf(!ok)('NAT traversal against miniupnpd in network namespaces', () => {
  const lab = new Lab()
  const router = new Router(lab)

  const probe = (port: number): Promise<string> => router.probe(port)

  const leasesFor = (port: number): string[] => router.leases().filter(l => l.split(':')[1] === String(port))

  async function start (opts: Record<string, unknown>): Promise<{ d: Driver, port: number }> {
    const d = lab.node(router.client, 'nat-driver.ts', [JSON.stringify(opts)])
    const port = (await d.next(m => m.event === 'listening', 30_000)).port as number
    return { d, port }
  }

  async function expectMapped (port: number): Promise<void> {
    expect(await router.dnatRules(port)).toEqual([`tcp ${port} -> ${CLIENT_IP}:${port}`, `udp ${port} -> ${CLIENT_IP}:${port}`])
    const leases = leasesFor(port)
    expect(leases.map(l => l.split(':').slice(0, 4).join(':')).sort()).toEqual([`TCP:${port}:${CLIENT_IP}:${port}`, `UDP:${port}:${CLIENT_IP}:${port}`])
    expect(await probe(port)).toBe('open')
  }

  async function expectGone (port: number): Promise<void> {
    expect(await router.dnatRules(port)).toEqual([])
    expect(leasesFor(port)).toEqual([])
    expect(await probe(port)).not.toBe('open')
  }

  async function destroy (d: Driver): Promise<DriverMessage> {
    const r = await d.request({ cmd: 'destroy' }, 20_000)
    expect(await d.exited).toBe(0)
    return r
  }

  beforeAll(async () => {
    await router.start()
  }, 60_000)

  afterAll(async () => {
    await lab.destroy()
    router.cleanupDir()
    expect(lab.remaining()).toEqual([])
  })

  it('UPnP: maps TCP and UDP of the client port; the router forwards it; destroy removes it', async () => {
    const { d, port } = await start({ pmp: false })
    expect(await probe(port)).not.toBe('open') // nothing forwarded yet
    const r = await d.request({ cmd: 'map' })
    expect(r.mappings).toHaveLength(2)
    for (const m of r.mappings) expect(m).toMatchObject({ internalPort: port, externalPort: port, method: 'upnp', lifetime: 3600 })
    expect(d.messages.filter(m => m.event === 'map').map(m => m.protocol).sort()).toEqual(['tcp', 'udp'])
    await expectMapped(port)
    expect(leasesFor(port).every(l => l.endsWith(':wasmtorrent'))).toBe(true)
    await destroy(d)
    expect(d.messages.filter(m => m.event === 'unmap').map(m => m.protocol).sort()).toEqual(['tcp', 'udp'])
    await expectGone(port)
  })

  it('NAT-PMP: finds the gateway from the default route, maps, destroy removes it', async () => {
    const { d, port } = await start({ upnp: false })
    const r = await d.request({ cmd: 'map' })
    expect(r.mappings).toHaveLength(2)
    for (const m of r.mappings) expect(m).toMatchObject({ internalPort: port, externalPort: port, method: 'pmp', lifetime: 3600, gateway: ROUTER_LAN_IP })
    await expectMapped(port)
    await destroy(d)
    expect(d.messages.filter(m => m.event === 'unmap')).toHaveLength(2)
    await expectGone(port)
  })

  it('refreshes before the lease runs out (4 s leases, NAT-PMP and UPnP)', async () => {
    for (const opts of [{ upnp: false, lease: 4 }, { pmp: false, lease: 4 }]) {
      const { d, port } = await start(opts)
      const first = (await d.request({ cmd: 'map' })).mappings
      const stamps = (): number[] => leasesFor(port).map(l => Number(l.split(':')[4]))
      const t0 = stamps()
      expect(t0).toHaveLength(2)
      await sleep(9000) // two lease lengths: without refreshes miniupnpd would have dropped them
      await expectMapped(port)
      const t1 = stamps()
      expect(Math.min(...t1)).toBeGreaterThan(Math.max(...t0))
      const now = (await d.request({ cmd: 'mappings' })).mappings
      expect(now.map((m: { expiresAt: number }) => m.expiresAt).sort()[0]).toBeGreaterThan(Math.max(...first.map((m: { expiresAt: number }) => m.expiresAt)))
      expect(d.messages.filter(m => m.event === 'map')).toHaveLength(2) // refreshes are silent
      expect(d.messages.filter(m => m.event === 'warning')).toEqual([])
      await destroy(d)
      await expectGone(port)
    }
  }, 40_000)

  it('both enabled: NAT-PMP first; UPnP when NAT-PMP gets no answer', async () => {
    const both = await start({})
    const r1 = await both.d.request({ cmd: 'map' })
    expect(r1.mappings.map((m: { method: string }) => m.method)).toEqual(['pmp', 'pmp'])
    await expectMapped(both.port)
    await destroy(both.d)
    await expectGone(both.port)

    // A NAT-PMP gateway that does not exist on the LAN: four tries (3.75 s), then UPnP.
    const fallback = await start({ gateway: '10.213.0.99' })
    const r2 = await fallback.d.request({ cmd: 'map' }, 30_000)
    expect(r2.mappings.map((m: { method: string }) => m.method)).toEqual(['upnp', 'upnp'])
    expect(fallback.d.messages.some(m => m.event === 'warning' && m.code === 'ERR_NAT_PMP_TIMEOUT')).toBe(true)
    await expectMapped(fallback.port)
    await destroy(fallback.d)
    await expectGone(fallback.port)
  }, 60_000)

  it('destroy() is bounded when the router stops answering (mapping left to expire)', async () => {
    const { d, port } = await start({ upnp: false, destroyTimeout: 1500 })
    await d.request({ cmd: 'map' })
    await expectMapped(port)
    // The router's LAN side goes away: the unmap requests get no answer.
    await lab.ip(['-n', router.router, 'link', 'set', 'lan', 'down'])
    try {
      const r = await destroy(d)
      expect(r.ms).toBeGreaterThanOrEqual(1400)
      expect(r.ms).toBeLessThan(3000)
    } finally {
      await lab.ip(['-n', router.router, 'link', 'set', 'lan', 'up'])
      await lab.waitUp(router.router, ['lan'])
    }
    expect(leasesFor(port)).toHaveLength(2) // still there: it was not removed, it will expire
  }, 30_000)
})
