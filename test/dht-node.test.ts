/**
 * DhtNode (issue 6 item 2) on a local network of bittorrent-dht nodes on 127.0.0.1 (never the public
 * routers): announce and lookup, the routing table saved and reloaded, the saved port, bad state files,
 * addNode from port messages.
 */
import { createSocket } from 'node:dgram'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DhtNode, type DhtState } from '../src/dht/index.js'
import { startDhtNetwork, type DhtNetwork } from './helpers/dht-network.js'
import { waitFor } from './helpers/sockets.js'

const base = mkdtempSync(join(tmpdir(), 'wt-dht-'))
let n = 0
const file = (): string => join(base, `state-${n++}`, 'dht.json')
afterAll(() => rmSync(base, { recursive: true, force: true }))

let net: DhtNetwork
beforeAll(async () => { net = await startDhtNetwork(4) })
afterAll(async () => { await net?.close() })

const nodes: DhtNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(d => d.destroy())) })

function node (opts: ConstructorParameters<typeof DhtNode>[1] = {}, bootstrap: string[] = net.bootstrap): DhtNode {
  const d = new DhtNode({ bootstrap, timeout: 500 }, { host: '127.0.0.1', ...opts }) // KRPC timeout 500 ms: dead nodes of earlier tests cost less
  nodes.push(d)
  return d
}

const IH = 'c0ffee'.padEnd(40, '7')

async function until (pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('DhtNode on a local DHT network', () => {
  it('bootstraps from local nodes; an announce is found by another node\'s lookup', async () => {
    const a = node()
    const b = node()
    await Promise.all([a.whenReady(), b.whenReady()])
    expect(a.listening && b.listening).toBe(true)
    expect(a.port).toBeGreaterThan(0)
    expect(a.port).not.toBe(b.port)
    expect(a.nodeId).toMatch(/^[0-9a-f]{40}$/)
    expect(a.nodeCount).toBeGreaterThanOrEqual(net.nodes.length)
    await a.announce(IH, 5555)
    const found: Array<{ host: string, port: number }> = []
    const off = b.subscribe(IH, p => found.push(p))
    const other: string[] = []
    b.subscribe('dd'.repeat(20), p => other.push(`${p.host}:${p.port}`))
    await b.lookup(IH)
    off()
    expect(found).toContainEqual({ host: '127.0.0.1', port: 5555 })
    expect(other).toEqual([])
  })

  it('saves the routing table (nodes with ids, node id, port) and reloads it without any bootstrap', async () => {
    const stateFile = file()
    const a = node({ stateFile })
    await a.whenReady()
    const id = a.nodeId
    const port = a.port
    const count = a.nodeCount
    expect(count).toBeGreaterThanOrEqual(4)
    await a.destroy()
    expect(existsSync(stateFile)).toBe(true)
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as DhtState
    expect(saved.nodeId).toBe(id)
    expect(saved.port).toBe(port)
    expect(saved.nodes.length).toBe(count)
    expect(saved.nodes.every(x => x.host === '127.0.0.1' && x.port > 0 && /^[0-9a-f]{40}$/.test(x.id!))).toBe(true)

    // Reloaded with no bootstrap at all: same id, same port, the table is back and usable.
    const b = node({ stateFile }, [])
    await b.whenReady()
    expect(b.nodeId).toBe(id)
    expect(b.port).toBe(port)
    expect(b.nodeCount).toBeGreaterThanOrEqual(4)
    const seeder = node()
    await seeder.whenReady()
    await seeder.announce(IH.replace('7', '8'), 6000)
    const found: string[] = []
    b.subscribe(IH.replace('7', '8'), p => found.push(`${p.host}:${p.port}`))
    await b.lookup(IH.replace('7', '8'))
    expect(found).toContain('127.0.0.1:6000')
  })

  it('a saved port that is taken falls back to a free one; an explicit dhtPort that is taken is an error', async () => {
    const sock = createSocket('udp4')
    await new Promise<void>(resolve => sock.bind(0, '127.0.0.1', () => resolve()))
    const taken = sock.address().port
    try {
      const stateFile = file()
      const { mkdirSync } = await import('node:fs')
      mkdirSync(join(stateFile, '..'), { recursive: true })
      writeFileSync(stateFile, JSON.stringify({ version: 1, port: taken, nodes: [] }))
      const a = node({ stateFile })
      await a.whenReady()
      expect(a.listening).toBe(true)
      expect(a.port).not.toBe(taken)
      const b = node({ port: taken })
      const err = waitFor<Error & { code: string }>(b, 'error', 5000)
      b.on('warning', () => {})
      expect((await err)[0].code).toBe('ERR_DHT_LISTEN')
      await b.whenReady() // resolves (no DHT) instead of hanging
      await expect(b.lookup(IH)).rejects.toMatchObject({ code: 'ERR_DHT_UNAVAILABLE' })
    } finally {
      sock.close()
    }
  })

  it('bad or foreign state files are ignored', async () => {
    for (const content of ['not json', '[]', JSON.stringify({ nodes: [{ host: 'evil.example', port: 1 }, { host: '127.0.0.1', port: 0 }, 5], nodeId: 'xyz', port: 99999 })]) {
      const stateFile = file()
      const { mkdirSync } = await import('node:fs')
      mkdirSync(join(stateFile, '..'), { recursive: true })
      writeFileSync(stateFile, content)
      const d = node({ stateFile }, [])
      await d.whenReady()
      expect(d.listening).toBe(true)
      expect(d.nodeCount).toBe(0)
      expect(d.nodeId).toMatch(/^[0-9a-f]{40}$/)
    }
  })

  it('addNode (a peer\'s port message) pings the node and adds it; repeats and junk are ignored', async () => {
    const a = node({}, [])
    const b = node({}, [])
    await Promise.all([a.whenReady(), b.whenReady()])
    expect(a.nodeCount).toBe(0)
    a.addNode('127.0.0.1', b.port)
    a.addNode('::ffff:127.0.0.1', b.port) // the same node, within the 10-minute window
    a.addNode('example.com', 1)
    a.addNode('127.0.0.1', 0)
    a.addNode('::1', 5)
    await until(() => a.nodeCount === 1)
    expect(a.toJSON().nodes.map(x => x.port)).toEqual([b.port])
    // b learned a from a's ping, as KRPC does.
    await until(() => b.nodeCount === 1)
  })

  it('rejects a bad nodeId synchronously; destroy() is idempotent and early-safe', async () => {
    expect(() => new DhtNode({ nodeId: 'zz' })).toThrow(/nodeId/)
    const d = new DhtNode({ bootstrap: [] }, { host: '127.0.0.1' })
    const p1 = d.destroy()
    const p2 = d.destroy()
    expect(p1).toBe(p2)
    await p1
    await d.whenReady()
    await expect(d.announce(IH, 1)).rejects.toMatchObject({ code: 'ERR_DHT_DESTROYED' })
  })
})
