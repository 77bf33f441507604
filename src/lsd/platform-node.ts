/**
 * Node side of "#lsd-platform": one UDP socket bound to 0.0.0.0:6771 (SO_REUSEADDR, so other clients on this
 * host can bind it too), joined to the LSD group on each IPv4 interface by address. Joining and sending by
 * interface address means no multicast route is needed (without one, a plain addMembership fails with ENODEV and
 * send with ENETUNREACH). Sends are serialised: IP_MULTICAST_IF is set before each interface's send and the next
 * send waits for the previous callback.
 */
import { createSocket, type Socket } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import { WasmTorrentError } from '../errors.js'
import type { LsdSocket, LsdSocketOptions } from './platform.js'

export const lsdSupported = true

interface V4Iface { address: string, netmask: string }

function ipv4ToInt (s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (m === null) return null
  let n = 0
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i])
    if (b > 255) return null
    n = (n * 256) + b
  }
  return n >>> 0
}

function localV4Interfaces (): V4Iface[] {
  const out: V4Iface[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal) out.push({ address: a.address, netmask: a.netmask })
    }
  }
  return out
}

export function createLsdSocket (opts: LsdSocketOptions): LsdSocket {
  const sock: Socket = createSocket({ type: 'udp4', reuseAddr: true })
  const joined = new Set<string>()
  let closed = false
  let ifaceCache: { at: number, list: V4Iface[] } | null = null
  let chain: Promise<unknown> = Promise.resolve()
  const errorFns: Array<(err: Error) => void> = []
  const reportError = (err: Error): void => { for (const fn of errorFns) fn(err) }

  const interfaces = (): V4Iface[] => {
    const now = Date.now()
    if (ifaceCache === null || now - ifaceCache.at > 5000) ifaceCache = { at: now, list: localV4Interfaces() }
    return ifaceCache.list
  }

  /** Joins the group on new interfaces and leaves it on vanished ones; returns the addresses to send from. */
  const refreshMembership = (): string[] => {
    ifaceCache = null
    const wanted = opts.interfaces ?? interfaces().map(i => i.address)
    for (const addr of [...joined]) {
      if (wanted.includes(addr)) continue
      joined.delete(addr)
      try { sock.dropMembership(opts.group, addr) } catch { /* the interface is gone already */ }
    }
    for (const addr of wanted) {
      if (joined.has(addr)) continue
      try {
        sock.addMembership(opts.group, addr)
        joined.add(addr)
      } catch (err) {
        // EADDRINUSE: a second address on an interface already joined; still send from it.
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') joined.add(addr)
        else reportError(new WasmTorrentError('ERR_LSD_MEMBERSHIP', `cannot join ${opts.group} on ${addr}: ${(err as Error).message}`, { cause: err }))
      }
    }
    return [...joined]
  }

  const sendOn = (data: Uint8Array, iface: string): Promise<boolean> => new Promise(resolve => {
    if (closed) return resolve(false)
    try {
      sock.setMulticastInterface(iface)
      sock.send(data, opts.port, opts.group, err => {
        if (err) reportError(new WasmTorrentError('ERR_LSD_SEND', `LSD send on ${iface} failed: ${err.message}`, { cause: err }))
        resolve(!err)
      })
    } catch (err) {
      reportError(new WasmTorrentError('ERR_LSD_SEND', `LSD send on ${iface} failed: ${(err as Error).message}`, { cause: err }))
      resolve(false)
    }
  })

  return {
    open () {
      return new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(new WasmTorrentError('ERR_LSD_SOCKET', `cannot bind UDP port ${opts.port} for LSD: ${err.message}`, { cause: err }))
        sock.once('error', onError)
        sock.bind({ port: opts.port, address: '0.0.0.0', exclusive: false }, () => {
          sock.off('error', onError)
          sock.on('error', reportError)
          try {
            sock.setMulticastTTL(opts.ttl)
            sock.setMulticastLoopback(true)
          } catch (err) {
            return reject(new WasmTorrentError('ERR_LSD_SOCKET', `cannot configure the LSD socket: ${(err as Error).message}`, { cause: err }))
          }
          refreshMembership()
          resolve()
        })
      })
    },
    send (data) {
      const run = async (): Promise<number> => {
        if (closed) return 0
        let sent = 0
        for (const iface of refreshMembership()) if (await sendOn(data, iface)) sent++
        return sent
      }
      const p = chain.then(run, run)
      chain = p
      return p
    },
    onMessage (fn) {
      sock.on('message', (msg, rinfo) => fn(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port }))
    },
    onError (fn) { errorFns.push(fn) },
    isOnLink (address) {
      const a = ipv4ToInt(address)
      if (a === null) return false
      for (const i of interfaces()) {
        const addr = ipv4ToInt(i.address)
        const mask = ipv4ToInt(i.netmask)
        if (addr === null || mask === null) continue
        if (((a & mask) >>> 0) === ((addr & mask) >>> 0)) return true
      }
      return false
    },
    close () {
      if (closed) return
      closed = true
      try { sock.close() } catch { /* not bound */ }
    }
  }
}
