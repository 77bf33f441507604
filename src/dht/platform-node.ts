/**
 * Node side of "#dht-platform": bittorrent-dht on its own UDP socket, and the routing table file.
 */
import { mkdir, open, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type DHTClass from 'bittorrent-dht'
import { WasmTorrentError } from '../errors.js'
import type { DhtBackend, DhtBackendOptions, DhtState } from './platform.js'

export const dhtSupported = true

// bittorrent-dht (an ES module, ~15 MB of RSS with its dependencies) loads when a DHT starts, not at import.
let DHT: typeof DHTClass | undefined
export async function loadDhtBackend (): Promise<void> {
  DHT ??= (await import('bittorrent-dht')).default
}

/** A state file larger than this is not ours (a full routing table is ~3,200 nodes, ~250 KiB of JSON). */
const MAX_STATE_BYTES = 1024 * 1024
const MAX_STATE_NODES = 4000

export function createDhtBackend (opts: DhtBackendOptions): DhtBackend {
  const dhtOpts: Record<string, unknown> = { ...opts.extra }
  // bittorrent-dht's `host` means "add ourselves as a peer under this address when announcing": not wanted.
  delete dhtOpts.host
  if (opts.bootstrap !== undefined) dhtOpts.bootstrap = opts.bootstrap === false ? false : opts.bootstrap
  if (opts.nodeId !== undefined) dhtOpts.nodeId = Buffer.from(opts.nodeId, 'hex')
  if (DHT === undefined) throw new WasmTorrentError('ERR_DHT_NOT_LOADED', 'loadDhtBackend() must finish before createDhtBackend()')
  const dht = new DHT(dhtOpts)
  // Errors after listening (EACCES on send, ...) are warnings; listen() reports bind errors itself.
  let onListenError: ((err: Error) => void) | null = null
  const warnings: Array<(err: Error) => void> = []
  dht.on('error', (err: Error) => {
    if (onListenError !== null) onListenError(err)
    else for (const fn of warnings) fn(err)
  })
  return {
    nodeId: dht.nodeId.toString('hex'),
    listen (port, host) {
      return new Promise((resolve, reject) => {
        onListenError = err => { onListenError = null; reject(err) }
        dht.once('listening', () => {
          onListenError = null
          resolve(dht.address().port)
        })
        dht.listen(port, host)
      })
    },
    announce (infoHash, port) {
      return new Promise((resolve, reject) => {
        if (dht.destroyed) return reject(destroyedError())
        dht.announce(infoHash, port, err => err ? reject(err) : resolve())
      })
    },
    lookup (infoHash) {
      return new Promise((resolve, reject) => {
        if (dht.destroyed) return reject(destroyedError())
        dht.lookup(infoHash, err => err ? reject(err) : resolve())
      })
    },
    addNode (node) {
      if (dht.destroyed) return
      dht.addNode(node.id !== undefined ? { id: Buffer.from(node.id, 'hex'), host: node.host, port: node.port } : { host: node.host, port: node.port })
    },
    nodes () {
      return dht.nodes.toArray().map(n => ({ host: n.host, port: n.port, id: Buffer.from(n.id).toString('hex') }))
    },
    onPeer (fn) {
      dht.on('peer', (peer: { host: string, port: number }, infoHash: Buffer) => fn(peer, infoHash.toString('hex')))
    },
    onReady (fn) {
      if (dht.ready) queueMicrotask(fn)
      else dht.once('ready', fn)
    },
    onWarning (fn) {
      warnings.push(fn)
      dht.on('warning', fn)
    },
    destroy () {
      return new Promise(resolve => dht.destroy(() => resolve()))
    }
  }
}

function destroyedError (): Error {
  return new WasmTorrentError('ERR_DHT_DESTROYED', 'the DHT is destroyed')
}

/** The saved routing table, or null when there is none or it is not valid (a bad file is ignored, not fatal). */
export async function readDhtState (path: string): Promise<DhtState | null> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const st = await fh.stat()
      if (!st.isFile() || st.size > MAX_STATE_BYTES) return null
      text = await fh.readFile('utf8')
    } finally {
      await fh.close()
    }
  } catch {
    return null
  }
  return validateState(text)
}

export function validateState (text: string): DhtState | null {
  let j: unknown
  try { j = JSON.parse(text) } catch { return null }
  if (j === null || typeof j !== 'object') return null
  const o = j as Record<string, unknown>
  const nodes: DhtState['nodes'] = []
  if (Array.isArray(o.nodes)) {
    for (const n of o.nodes.slice(0, MAX_STATE_NODES)) {
      if (n === null || typeof n !== 'object') continue
      const { host, port, id } = n as Record<string, unknown>
      if (typeof host !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) continue
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
      nodes.push(typeof id === 'string' && /^[0-9a-f]{40}$/i.test(id) ? { host, port, id: id.toLowerCase() } : { host, port })
    }
  }
  const state: DhtState = { version: 1, nodes }
  if (typeof o.nodeId === 'string' && /^[0-9a-f]{40}$/i.test(o.nodeId)) state.nodeId = o.nodeId.toLowerCase()
  if (typeof o.port === 'number' && Number.isInteger(o.port) && o.port > 0 && o.port < 65536) state.port = o.port
  return state
}

/** Writes the state atomically (temp file + rename), creating the directory. */
export async function writeDhtState (path: string, state: DhtState): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`
  await writeFile(tmp, JSON.stringify(state) + '\n', { mode: 0o600 })
  await rename(tmp, path)
}
