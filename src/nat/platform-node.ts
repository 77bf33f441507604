/**
 * Node side of "#nat-platform": nat-upnp (UPnP IGD v1: SSDP + SOAP) and nat-pmp (RFC 6886), with the guards
 * those unmaintained packages lack:
 *
 * nat-pmp 1.0.0
 * - binds UDP 5350 (the port for gateway announcements; only one process per host can have it) — we bind its
 *   socket to an ephemeral port first: gateways answer the request's source port;
 * - never retransmits — we resend on a fresh client after each timeout (RFC 6886 starts at 250 ms and doubles);
 * - accepts any datagram as the answer and throws (assert, readUInt*) on short or long ones from its socket
 *   handler, which would crash the process — we only pass it well-formed datagrams from the gateway's port 5351;
 * - emits 'error' with no listener on socket errors — we listen.
 * nat-upnp 1.1.1
 * - one SSDP M-SEARCH per call, 1.8 s wait — we retry discovery;
 * - its SSDP sockets have a one-shot 'error' listener: a second send error would be an unhandled 'error' —
 *   we add a permanent one;
 * - its HTTP requests (the `request` package) have no timeout — the whole operation is bounded here.
 */
import { readFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { endianness } from 'node:os'
import type natUpnpTypes from 'nat-upnp'
import { natUpnpLib, natPmpLib } from '../util/lazy-node.js'
import { WasmTorrentError } from '../errors.js'
import { parseProcNetRoute, parseIpRouteDefault, parseRouteGetDefault } from './gateway.js'
import type { NatBackend, NatProtocol, PmpResult, PortMapRequest } from './platform.js'

export const natSupported = true

function run (cmd: string, args: string[]): Promise<string> {
  return new Promise(resolve => {
    execFile(cmd, args, { timeout: 2000 }, (err, stdout) => resolve(err ? '' : String(stdout)))
  })
}

async function defaultGateway (): Promise<string | null> {
  if (process.platform === 'linux') {
    try {
      const gw = parseProcNetRoute(await readFile('/proc/net/route', 'utf8'), endianness() === 'LE')
      if (gw !== null) return gw
    } catch { /* no /proc: fall through */ }
    return parseIpRouteDefault(await run('ip', ['-4', 'route', 'show', 'default']))
  }
  if (process.platform === 'darwin' || process.platform.endsWith('bsd')) {
    return parseRouteGetDefault(await run('route', ['-n', 'get', 'default']))
  }
  return null
}

const PMP_RESULT: Record<number, string> = {
  1: 'unsupported version',
  2: 'not authorized/refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode'
}

/** One attempt: a fresh client on an ephemeral port, one request, `timeoutMs` to answer. */
function pmpAttempt (gateway: string, req: PortMapRequest, timeoutMs: number): Promise<PmpResult | 'timeout'> {
  return new Promise((resolve, reject) => {
    const client = new (natPmpLib().Client)(gateway)
    let done = false
    const finish = (fn: () => void): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      try { client.close() } catch { /* already closed */ }
      fn()
    }
    const timer = setTimeout(() => finish(() => resolve('timeout')), timeoutMs)
    const fail = (err: unknown): void => finish(() => reject(err instanceof WasmTorrentError ? err
      : new WasmTorrentError('ERR_NAT_PMP_FAILED', `NAT-PMP request to ${gateway} failed: ${(err as Error)?.message ?? err}`, { cause: err })))
    client.on('error', fail)
    const original = client.onmessage
    client.onmessage = function (msg, rinfo) {
      // Only a datagram from the gateway's NAT-PMP port, sized like a mapping answer (RFC 6886: 16 bytes;
      // error answers may be shorter, so at least the 8-byte header).
      if (rinfo.address !== gateway || rinfo.port !== natPmpLib().SERVER_PORT) return
      if (msg.length < 8 || msg.length > 16 || msg[0] !== 0) return
      if (msg.readUInt16BE(2) === 0 && msg.length !== 16) return
      try {
        original.call(client, msg, rinfo)
      } catch (err) {
        fail(err)
      }
    }
    const sock = client.socket
    if (sock === null) return fail(new Error('no socket'))
    sock.once('error', fail)
    sock.bind(0, () => {
      if (done) return
      sock.off('error', fail)
      sock.on('error', fail)
      try {
        client.portMapping({ type: req.protocol, private: req.internalPort, public: req.externalPort, ttl: req.lifetime }, (err, res) => {
          if (err) {
            const code = typeof err.code === 'number' ? err.code : -1
            return fail(new WasmTorrentError(code > 0 ? 'ERR_NAT_PMP_REFUSED' : 'ERR_NAT_PMP_FAILED',
              `NAT-PMP gateway ${gateway} refused ${req.protocol.toUpperCase()} ${req.internalPort}: ${PMP_RESULT[code] ?? err.message} (result ${code})`, { cause: err }))
          }
          if (res === undefined) return fail(new Error('empty answer'))
          finish(() => resolve({ externalPort: res.public, lifetime: res.ttl }))
        })
      } catch (err) {
        fail(err)
      }
    })
  })
}

async function pmpMap (gateway: string, req: PortMapRequest, timeouts: number[]): Promise<PmpResult> {
  for (const t of timeouts) {
    const r = await pmpAttempt(gateway, req, t)
    if (r !== 'timeout') return r
  }
  throw new WasmTorrentError('ERR_NAT_PMP_TIMEOUT', `no NAT-PMP answer from ${gateway}:5351 after ${timeouts.length} tries`)
}

const SEARCH_TIMEOUT = 2000

/** Runs one nat-upnp operation on a fresh client: discovery retried while time remains, all bounded by timeoutMs. */
function upnpOp (what: string, timeoutMs: number, op: (client: ReturnType<typeof natUpnpTypes.createClient>, cb: (err: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = natUpnpLib().createClient()
    client.timeout = SEARCH_TIMEOUT
    // A second send error on an SSDP socket would otherwise be an unhandled 'error' event.
    for (const s of client.ssdp.sockets) s.on('error', () => {})
    const started = Date.now()
    let done = false
    const finish = (err: WasmTorrentError | null): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      // Close on the next turn: nat-upnp binds its sockets in process.nextTick and would throw on closed ones.
      setTimeout(() => { try { client.close() } catch { /* closed */ } }, 0)
      if (err) reject(err); else resolve()
    }
    const timer = setTimeout(() => finish(new WasmTorrentError('ERR_NAT_UPNP_TIMEOUT', `UPnP ${what}: no answer within ${timeoutMs} ms`)), timeoutMs)
    const attempt = (): void => {
      try {
        op(client, err => {
          if (done) return
          if (err === null) return finish(null)
          if (err.message === 'timeout') {
            // No gateway answered this M-SEARCH: search again if there is time for another one.
            if (Date.now() - started + SEARCH_TIMEOUT < timeoutMs) return attempt()
            return finish(new WasmTorrentError('ERR_NAT_UPNP_NO_GATEWAY', `UPnP ${what}: no Internet Gateway Device answered`))
          }
          const refused = /^Request failed: \d+$/.test(err.message)
          finish(new WasmTorrentError(refused ? 'ERR_NAT_UPNP_REFUSED' : 'ERR_NAT_UPNP_FAILED', `UPnP ${what}: ${err.message}`, { cause: err }))
        })
      } catch (err) {
        finish(new WasmTorrentError('ERR_NAT_UPNP_FAILED', `UPnP ${what}: ${(err as Error).message}`, { cause: err }))
      }
    }
    // Let nat-upnp bind its SSDP sockets (it does so in process.nextTick) before searching.
    setImmediate(attempt)
  })
}

export function createNatBackend (): NatBackend {
  return {
    defaultGateway,
    pmpMap,
    upnpMap (req, timeoutMs) {
      return upnpOp(`map ${req.protocol.toUpperCase()} ${req.externalPort}`, timeoutMs, (client, cb) => client.portMapping({
        public: req.externalPort,
        private: req.internalPort,
        protocol: req.protocol.toUpperCase(),
        description: req.description,
        ttl: req.lifetime
      }, cb))
    },
    upnpUnmap (req: { protocol: NatProtocol, externalPort: number }, timeoutMs: number) {
      return upnpOp(`unmap ${req.protocol.toUpperCase()} ${req.externalPort}`, timeoutMs, (client, cb) => client.portUnmapping({
        public: req.externalPort,
        protocol: req.protocol.toUpperCase()
      }, cb))
    }
  }
}
