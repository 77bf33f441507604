/**
 * NAT traversal through the full client: a WebTorrent client with `natUpnp: true` (then `natPmp: true`) in the
 * "client" namespace of test/helpers/router.ts, behind Debian's miniupnpd (UPnP IGDv1 + NAT-PMP, nftables) in
 * the "router" namespace. The client maps its listening port by itself once it listens (no NatTraversal of
 * the test's own, unlike test/nat-netns.test.ts): the router's lease file and DNAT rules must show TCP and UDP
 * for that port, a TCP probe from the "internet" namespace must reach the client through the router, and after
 * client.destroy() the mappings must be gone. Nothing leaves the namespaces this file creates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, netnsSupported, type Driver } from './helpers/netns.js'
import { Router, miniupnpdAvailable, CLIENT_IP, ROUTER_LAN_IP, ROUTER_WAN_IP } from './helpers/router.js'
import { needs } from './helpers/system.js'

const ok = needs('root + ip netns + miniupnpd + nftables (apt: miniupnpd miniupnpd-nftables nftables)', netnsSupported() && miniupnpdAvailable())

describe.skipIf(!ok)('full client: NAT traversal against miniupnpd in network namespaces', () => {
  const lab = new Lab()
  const router = new Router(lab)

  const probe = (port: number): Promise<string> => router.probe(port)
  /** Lease file lines for external `port`, as PROTO:EXT:INTIP:INTPORT (timestamp and description dropped). */
  const leasesFor = (port: number): string[] =>
    router.leases().filter(l => l.split(':')[1] === String(port)).map(l => l.split(':').slice(0, 4).join(':')).sort()

  /** Starts a client with these NAT options; resolves with its listening port once both mappings are reported. */
  async function startClient (nat: { natUpnp: boolean, natPmp: boolean }): Promise<{ d: Driver, port: number }> {
    const d = lab.node(router.client, 'client-driver.ts', [JSON.stringify({ tracker: false, dht: false, lsd: false, ...nat })])
    const port = (await d.next(m => m.event === 'listening', 30_000)).port as number
    expect(port).toBeGreaterThan(0)
    // The client maps by itself: wait for its NatTraversal to report TCP and UDP.
    await d.next(m => m.event === 'map' && m.protocol === 'tcp', 20_000)
    await d.next(m => m.event === 'map' && m.protocol === 'udp', 20_000)
    return { d, port }
  }

  async function expectMapped (port: number): Promise<void> {
    expect(leasesFor(port)).toEqual([`TCP:${port}:${CLIENT_IP}:${port}`, `UDP:${port}:${CLIENT_IP}:${port}`])
    expect(await router.dnatRules(port)).toEqual([`tcp ${port} -> ${CLIENT_IP}:${port}`, `udp ${port} -> ${CLIENT_IP}:${port}`])
    expect(await probe(port)).toBe('open') // reaches the client's listening socket through the router
  }

  async function destroyAndExpectGone (d: Driver, port: number): Promise<void> {
    await d.request({ cmd: 'destroy' }, 20_000)
    expect(await d.exited).toBe(0)
    expect(d.messages.filter(m => m.event === 'unmap').map(m => m.protocol).sort()).toEqual(['tcp', 'udp'])
    expect(leasesFor(port)).toEqual([])
    expect(await router.dnatRules(port)).toEqual([])
    expect(await probe(port)).not.toBe('open')
  }

  beforeAll(async () => {
    await router.start()
  }, 60_000)

  afterAll(async () => {
    await lab.destroy()
    router.cleanupDir()
    expect(lab.remaining()).toEqual([])
  })

  it('natUpnp: true — the client maps its port (TCP + UDP) with UPnP IGD; destroy() removes the mappings', async () => {
    const { d, port } = await startClient({ natUpnp: true, natPmp: false })
    const maps = d.messages.filter(m => m.event === 'map')
    expect(maps).toHaveLength(2) // only the torrent port: no DHT here
    for (const m of maps) expect(m).toMatchObject({ internalPort: port, externalPort: port, method: 'upnp' })
    await expectMapped(port)
    // UPnP carries a description (NAT-PMP has none): the client's.
    expect(router.leases().filter(l => l.split(':')[1] === String(port)).every(l => l.endsWith(':wasmtorrent'))).toBe(true)
    expect(d.messages.filter(m => m.event === 'warning')).toEqual([])
    await destroyAndExpectGone(d, port)
  }, 45_000)

  it('natPmp: true — the client maps its port (TCP + UDP) with NAT-PMP via the default gateway; destroy() removes them', async () => {
    const { d, port } = await startClient({ natUpnp: false, natPmp: true })
    const maps = d.messages.filter(m => m.event === 'map')
    expect(maps).toHaveLength(2)
    for (const m of maps) expect(m).toMatchObject({ internalPort: port, externalPort: port, method: 'pmp', gateway: ROUTER_LAN_IP })
    await expectMapped(port)
    expect(d.messages.filter(m => m.event === 'warning')).toEqual([])
    await destroyAndExpectGone(d, port)
  }, 45_000)

  it('natUpnp: false and natPmp: false — nothing is mapped', async () => {
    const d = lab.node(router.client, 'client-driver.ts', [JSON.stringify({ tracker: false, dht: false, lsd: false, natUpnp: false, natPmp: false })])
    const port = (await d.next(m => m.event === 'listening', 30_000)).port as number
    expect((await d.request({ cmd: 'mappings' })).mappings).toEqual([])
    await new Promise(resolve => setTimeout(resolve, 1000))
    expect(leasesFor(port)).toEqual([])
    expect(await probe(port)).not.toBe('open')
    await d.request({ cmd: 'destroy' }, 20_000)
    expect(await d.exited).toBe(0)
  }, 30_000)
})
