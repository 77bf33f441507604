/**
 * LSD (BEP 14) through the full client: two WebTorrent clients, each in its own network namespace, on a
 * bridge (in a third namespace). `lsd: true`; no tracker, no DHT, no NAT, no manual peers. The leecher adds
 * an info-hash-only magnet: the only way it can learn the seeder's address is the seeder's LSD announce, and
 * the metadata then comes over ut_metadata. Both clients run as child processes (test/helpers/client-driver.ts)
 * under `ip netns exec`; nothing leaves the namespaces this file creates.
 *
 *   seed 10.216.0.1 ──┐
 *                     br0 (namespace sw, multicast snooping off)
 *   leech 10.216.0.2 ─┘
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, netnsSupported, type Driver } from './helpers/netns.js'
import { needs } from './helpers/system.js'
import { randomBytes, rng } from './helpers/random.js'

const ok = needs('root + ip netns (network namespaces)', netnsSupported())

const SEED_IP = '10.216.0.1'
const LEECH_IP = '10.216.0.2'
// Everything but LSD off: no tracker, no DHT, no UPnP / NAT-PMP.
const CLIENT_OPTS = { tracker: false, dht: false, lsd: true, natUpnp: false, natPmp: false }

describe.skipIf(!ok)('two full clients find each other with LSD only (network namespaces)', () => {
  const lab = new Lab()
  const dir = mkdtempSync(join(tmpdir(), 'wt-lsd-client-'))
  let seed: Driver, leech: Driver

  beforeAll(async () => {
    const sw = await lab.ns('sw')
    const nsSeed = await lab.ns('seed')
    const nsLeech = await lab.ns('leech')
    await lab.veth({ ns: nsSeed, ifname: 'eth0', addr: `${SEED_IP}/24` }, { ns: sw, ifname: 'ps' })
    await lab.veth({ ns: nsLeech, ifname: 'eth0', addr: `${LEECH_IP}/24` }, { ns: sw, ifname: 'pl' })
    await lab.bridge(sw, 'br0', ['ps', 'pl'])
    for (const ns of [nsSeed, nsLeech]) await lab.waitUp(ns, ['eth0'])
    seed = lab.node(nsSeed, 'client-driver.ts', [JSON.stringify(CLIENT_OPTS)])
    leech = lab.node(nsLeech, 'client-driver.ts', [JSON.stringify(CLIENT_OPTS)])
    // Both clients listen and have joined the LSD group before anything is announced.
    await Promise.all([seed, leech].flatMap(d => [
      d.next(m => m.event === 'listening', 30_000),
      d.next(m => m.event === 'lsdListening', 30_000)
    ]))
  }, 60_000)

  afterAll(async () => {
    await lab.destroy()
    rmSync(dir, { recursive: true, force: true })
    expect(lab.remaining()).toEqual([])
  })

  it('the leecher learns the seeder from LSD and downloads a magnet (ut_metadata) byte-identical', async () => {
    const data = randomBytes(rng(14), 3 * 1024 * 1024 + 4321) // odd size: a short last piece
    const src = join(dir, 'src')
    const dst = join(dir, 'dst')
    // The seeder seeds from a directory of its own so the leecher's download path cannot alias it.
    mkdirSync(src, { recursive: true })
    mkdirSync(dst, { recursive: true })
    writeFileSync(join(src, 'lsd-payload.bin'), data)

    const seedPort = (await seed.next(m => m.event === 'listening')).port as number
    const leechPort = (await leech.next(m => m.event === 'listening')).port as number
    const seeded = await seed.request({ cmd: 'seed', path: join(src, 'lsd-payload.bin'), pieceLength: 32 * 1024 }, 30_000)
    const infoHash = seeded.infoHash as string
    expect(infoHash).toMatch(/^[0-9a-f]{40}$/)

    // An info-hash-only magnet: no tracker, no x.pe, no web seed.
    const magnet = `magnet:?xt=urn:btih:${infoHash}`
    const t0 = Date.now()
    await leech.request({ cmd: 'add', torrentId: magnet, path: dst })
    const lsdPeer = await leech.next(m => m.event === 'peer' && m.infoHash === infoHash, 20_000)
    await leech.next(m => m.event === 'done' && m.infoHash === infoHash, 40_000)
    const elapsed = Date.now() - t0

    // The seeder's address came from LSD: its namespace address and its listening port.
    expect(lsdPeer).toMatchObject({ address: `${SEED_IP}:${seedPort}`, source: 'lsd' })
    const peers = leech.messages.filter(m => m.event === 'peer' && m.infoHash === infoHash)
    expect(peers.every(p => p.source === 'lsd')).toBe(true)
    expect(leech.messages.some(m => m.event === 'metadata' && m.infoHash === infoHash)).toBe(true)

    const ls = await leech.request({ cmd: 'stats', infoHash })
    expect(ls.discovery.offered).toMatchObject({ manual: 0, tracker: 0, dht: 0, lsd: 1 })
    expect(ls.wires).toEqual([expect.stringMatching(new RegExp(`^${SEED_IP.replace(/\./g, '\\.')}:\\d+$`))])
    expect(ls.done).toBe(true)
    expect(ls.downloaded).toBe(data.length)

    // The seeder heard the leecher's announce too (LSD both ways), and uploaded the whole file.
    const sp = await seed.next(m => m.event === 'peer' && m.infoHash === infoHash, 10_000)
    expect(sp).toMatchObject({ address: `${LEECH_IP}:${leechPort}`, source: 'lsd' })
    const ss = await seed.request({ cmd: 'stats', infoHash })
    expect(ss.discovery.offered).toMatchObject({ manual: 0, tracker: 0, dht: 0 })
    expect(ss.uploaded).toBeGreaterThanOrEqual(data.length)

    const got = readFileSync(join(dst, 'lsd-payload.bin'))
    expect(got.length).toBe(data.length)
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0)
    expect(leech.messages.filter(m => m.event === 'error')).toEqual([])
    expect(elapsed).toBeLessThan(40_000)
  }, 60_000)

  it('destroy() shuts both clients down cleanly', async () => {
    for (const d of [leech, seed]) {
      await d.request({ cmd: 'destroy' }, 20_000)
      expect(await d.exited).toBe(0)
    }
  })
})
