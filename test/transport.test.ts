/**
 * The transport layer below the pool: address parsing, dial order, TCP and uTP dials (timeouts, refusals,
 * aborts), the shared TCP/uTP listener, the browser stub, and the browser bundle staying free of Node modules.
 */
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseAddress, normalizeHost, type Transport, type TransportSocket } from '../src/transport/index.js'
import { NodeTransport, UTP_SUPPORT } from '../src/transport/node.js'
import { createTransport as createBrowserTransport } from '../src/transport/browser.js'
import { dialOrder, dialPeer } from '../src/transport/dialer.js'
import type { IncomingConnection } from '../src/transport/types.js'
import { waitFor } from './helpers/sockets.js'

const transports: Transport[] = []
const sockets: TransportSocket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(transports.splice(0).map(t => t.close()))
})

async function listening (opts: { utp?: boolean } = {}, onConnection: (c: IncomingConnection) => void = c => { sockets.push(c.socket) }): Promise<NodeTransport> {
  const t = new NodeTransport(opts)
  transports.push(t)
  await t.listen(0, '127.0.0.1', onConnection)
  return t
}

async function freeUdpPort (): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

describe('addresses', () => {
  it('parses host:port, [v6]:port and objects into a normal form', () => {
    expect(parseAddress('1.2.3.4:6881')).toEqual({ host: '1.2.3.4', port: 6881, key: '1.2.3.4:6881' })
    expect(parseAddress('[2001:DB8::1]:51413')).toEqual({ host: '2001:db8::1', port: 51413, key: '[2001:db8::1]:51413' })
    expect(parseAddress('[::ffff:10.0.0.1]:80')?.key).toBe('10.0.0.1:80')
    expect(parseAddress({ host: 'example.org', port: 1 })?.key).toBe('example.org:1')
    for (const bad of ['1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', '300.1.1.1:80', ':80', '0.0.0.0:80', '[::]:80', 'a b:1', '2001:db8::1:80']) {
      expect(parseAddress(bad), bad).toBeNull()
    }
    expect(parseAddress(null as never)).toBeNull()
    expect(normalizeHost('::FFFF:127.0.0.1')).toBe('127.0.0.1')
  })
})

describe('dial order', () => {
  const fake = (utp: boolean, port = 6881): Transport => ({ tcp: true, utp, port } as Transport)
  it('TCP first by default, uTP first when preferred or when it worked last; uTP never for IPv6 or before listening', () => {
    expect(dialOrder(fake(true), '1.2.3.4', {})).toEqual(['tcp', 'utp'])
    expect(dialOrder(fake(true), '1.2.3.4', { preferUtp: true })).toEqual(['utp', 'tcp'])
    expect(dialOrder(fake(true), '1.2.3.4', { last: 'utp' })).toEqual(['utp', 'tcp'])
    expect(dialOrder(fake(true), '1.2.3.4', { preferUtp: true, last: 'tcp' })).toEqual(['tcp', 'utp'])
    expect(dialOrder(fake(true), '2001:db8::1', { preferUtp: true })).toEqual(['tcp'])
    expect(dialOrder(fake(false), '1.2.3.4', { preferUtp: true })).toEqual(['tcp'])
    expect(dialOrder(fake(true, 0), '1.2.3.4', { preferUtp: true })).toEqual(['tcp'])
    expect(dialOrder({ tcp: false, utp: false, port: 0 } as Transport, '1.2.3.4', {})).toEqual([])
  })
})

describe('NodeTransport', () => {
  it('utp-native loads here (linux-x64 prebuild)', () => {
    expect(UTP_SUPPORT).toBe(true)
  })

  it('listens on one port for TCP and uTP and accepts both', async () => {
    const seen: IncomingConnection[] = []
    const server = await listening({}, c => { seen.push(c); sockets.push(c.socket) })
    expect(server.port).toBeGreaterThan(0)
    const client = await listening()
    const tcp = await client.dial('tcp', '127.0.0.1', server.port, { timeout: 2000 })
    const utp = await client.dial('utp', '127.0.0.1', server.port, { timeout: 2000 })
    sockets.push(tcp, utp)
    utp.write(new Uint8Array([1])) // uTP: the server side learns of the connection on its first packet
    for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise(resolve => setTimeout(resolve, 10))
    expect(seen.map(c => c.kind).sort()).toEqual(['tcp', 'utp'])
    for (const c of seen) expect(c.remoteAddress).toBe('127.0.0.1')
    // The uTP connection leaves from the shared socket: its source port is the listening port.
    expect(seen.find(c => c.kind === 'utp')!.remotePort).toBe(client.port)
    expect(utp.localPort).toBe(client.port)
  })

  it('TCP: a refused dial fails fast with ERR_TRANSPORT_CONNECT_REFUSED', async () => {
    const t = await listening({ utp: false })
    const srv = createServer()
    await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
    const port = (srv.address() as { port: number }).port
    await new Promise(resolve => srv.close(resolve))
    const t0 = Date.now()
    await expect(t.dial('tcp', '127.0.0.1', port, { timeout: 2000 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECT_REFUSED' })
    expect(Date.now() - t0).toBeLessThan(500)
  })

  it('uTP: a dial to a port nobody answers times out with ERR_TRANSPORT_CONNECT_TIMEOUT', async () => {
    const t = await listening()
    const port = await freeUdpPort()
    const t0 = Date.now()
    await expect(t.dial('utp', '127.0.0.1', port, { timeout: 300 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECT_TIMEOUT' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('an aborted dial rejects with ERR_TRANSPORT_ABORTED', async () => {
    const t = await listening()
    const port = await freeUdpPort()
    const ac = new AbortController()
    const p = t.dial('utp', '127.0.0.1', port, { timeout: 5000, signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    await expect(p).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ABORTED' })
    // dialPeer stops at an abort instead of trying the next transport.
    const ac2 = new AbortController()
    ac2.abort()
    await expect(dialPeer(t, '127.0.0.1', port, ['utp', 'tcp'], 1000, ac2.signal)).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ABORTED' })
  })

  it('dialPeer falls back to the next transport and reports every attempt when all fail', async () => {
    const t = await listening()
    const port = await freeUdpPort()
    const err = await dialPeer(t, '127.0.0.1', port, ['tcp', 'utp'], 200).catch(e => e)
    expect(err.code).toBe('ERR_TRANSPORT_CONNECT_TIMEOUT') // the last attempt (uTP)
    expect(err.attempts.map((e: { code: string }) => e.code)).toEqual(['ERR_TRANSPORT_CONNECT_REFUSED', 'ERR_TRANSPORT_CONNECT_TIMEOUT'])
  })

  it('uTP dials need a listening socket; utp: false has none', async () => {
    const t = new NodeTransport()
    transports.push(t)
    await expect(t.dial('utp', '127.0.0.1', 1, { timeout: 100 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_UNSUPPORTED' })
    const off = await listening({ utp: false })
    expect(off.utp).toBe(false)
    await expect(off.dial('utp', '127.0.0.1', 1, { timeout: 100 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_UNSUPPORTED' })
    // Nothing holds UDP on its port.
    const udp = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(off.port, '127.0.0.1', resolve) })
    udp.close()
  })

  it('an explicit port whose UDP twin is taken fails with ERR_TRANSPORT_LISTEN; port 0 then finds a pair', async () => {
    // (The bounded retry of listen(0) on a UDP collision cannot be forced from here: the kernel picks the port.)
    const udp = createSocket('udp4')
    await new Promise<void>(resolve => udp.bind(0, '127.0.0.1', resolve))
    const taken = udp.address().port
    const t = new NodeTransport({ listenAttempts: 3 })
    transports.push(t)
    await expect(t.listen(taken, '127.0.0.1', () => {})).rejects.toMatchObject({ code: 'ERR_TRANSPORT_LISTEN' })
    const ok = await t.listen(0, '127.0.0.1', () => {})
    expect(ok).not.toBe(taken)
    await expect(t.listen(0, '127.0.0.1', () => {})).rejects.toMatchObject({ code: 'ERR_TRANSPORT_LISTEN' })
    udp.close()
  })

  it('close() releases both sockets at once, with connections open', async () => {
    const server = await listening()
    const client = await listening()
    const utp = await client.dial('utp', '127.0.0.1', server.port, { timeout: 2000 })
    const tcp = await client.dial('tcp', '127.0.0.1', server.port, { timeout: 2000 })
    sockets.push(tcp)
    const closed = waitFor(utp as unknown as { once (e: string, fn: () => void): void }, 'close')
    const t0 = Date.now()
    await client.close()
    await closed // the uTP connection reports 'close' although its peer never acknowledged anything
    expect(Date.now() - t0).toBeLessThan(300)
    const udp = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(client.port, '127.0.0.1', resolve) })
    udp.close()
  })
})

describe('browser side', () => {
  it('the browser transport has neither TCP nor uTP', async () => {
    const t = createBrowserTransport()
    expect(t.tcp).toBe(false)
    expect(t.utp).toBe(false)
    await expect(t.listen(0, undefined, () => {})).rejects.toMatchObject({ code: 'ERR_TRANSPORT_UNSUPPORTED' })
    await expect(t.dial('tcp', '1.2.3.4', 1, { timeout: 1 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_UNSUPPORTED' })
  })

  it('a browser bundle of the transport module contains no Node module and no utp-native', async () => {
    const esbuild = await import('esbuild')
    const res = await esbuild.build({
      entryPoints: [join(import.meta.dirname, '../src/transport/index.ts')],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      conditions: ['browser', 'module', 'import', 'default'],
      logLevel: 'silent',
      metafile: true
    })
    const text = res.outputFiles[0].text
    expect(text.match(/node:|utp-native/g)).toBeNull()
    const inputs = Object.keys(res.metafile!.inputs)
    expect(inputs).toContain('src/transport/browser.ts')
    expect(inputs.filter(i => /transport\/(node|tcp|utp)\.ts/.test(i))).toEqual([])
  })
})
