/**
 * Runs the library's client and a NatTraversal for its port inside the "client" namespace of
 * test/nat-netns.test.ts. JSON lines:
 *   argv[2]: NatTraversalOptions as JSON
 *   out: { event: 'listening', port } | { event: 'map' | 'unmap', ...NatMapping } | { event: 'warning', code, message }
 *        | { event: 'result', id, ... }
 *   in:  { cmd: 'map', id, protocols? } | { cmd: 'mappings', id } | { cmd: 'destroy', id } (unmaps, then exits)
 */
import { createInterface } from 'node:readline'
import { WebTorrent } from '../../src/client/index.js'
import { NatTraversal, type NatTraversalOptions } from '../../src/nat/index.js'

const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }
const opts = JSON.parse(process.argv[2] ?? '{}') as NatTraversalOptions

// The client listens for TCP and uTP on one port: that is the port to map.
// Everything else off: this driver maps the port itself with its own NatTraversal.
const client = new WebTorrent({ tracker: false, dht: false, lsd: false, natUpnp: false, natPmp: false })
await client.whenListening()
const port = client.torrentPort
const nat = new NatTraversal(opts)
nat.on('map', m => out({ event: 'map', ...m }))
nat.on('unmap', m => out({ event: 'unmap', ...m }))
nat.on('warning', err => out({ event: 'warning', code: (err as { code?: string }).code, message: err.message }))
out({ event: 'listening', port })

createInterface({ input: process.stdin }).on('line', line => {
  let cmd: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  try { cmd = JSON.parse(line) } catch { return }
  const reply = (m: Record<string, unknown> = {}): void => out({ event: 'result', id: cmd.id, ...m })
  switch (cmd.cmd) {
    case 'map':
      nat.map(port, cmd.protocols).then(mappings => reply({ mappings }), (err: Error) => reply({ error: err.message }))
      return
    case 'mappings':
      return reply({ mappings: nat.mappings })
    case 'destroy': {
      const t0 = Date.now()
      void nat.destroy().then(async () => {
        const ms = Date.now() - t0
        await client.destroy()
        reply({ ms })
        process.exit(0)
      })
      return
    }
    default:
      return reply({ error: `unknown command ${cmd.cmd}` })
  }
})
