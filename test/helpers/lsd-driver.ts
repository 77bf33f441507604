/**
 * Runs one Lsd instance inside a network namespace for test/lsd-netns.test.ts. JSON lines:
 *   argv[2]: LsdOptions as JSON (numbers only; the socket is the real one)
 *   out: { event: 'listening' } | { event: 'peer', host, port, infoHash } | { event: 'sent', infoHash, interfaces, at }
 *        | { event: 'warning', code, message } | { event: 'result', id, ... }
 *   in:  { cmd: 'announce', id, infoHash, port, private?, times? } | { cmd: 'setPrivate', id, infoHash, private }
 *        | { cmd: 'remove', id, infoHash } | { cmd: 'stats', id } | { cmd: 'destroy', id }
 */
import { createInterface } from 'node:readline'
import { Lsd, type LsdOptions } from '../../src/lsd/index.js'

const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }
const opts = JSON.parse(process.argv[2] ?? '{}') as LsdOptions
const lsd = new Lsd(opts)
// Mutable torrent objects: `private` is read by Lsd at each send, like a Torrent whose metadata arrives.
const torrents = new Map<string, { infoHash: string, private: boolean }>()

lsd.on('listening', () => out({ event: 'listening', cookie: lsd.cookie }))
lsd.on('peer', p => out({ event: 'peer', ...p }))
lsd.on('sent', (infoHash, interfaces) => out({ event: 'sent', infoHash, interfaces, at: Date.now() }))
lsd.on('warning', err => out({ event: 'warning', code: (err as { code?: string }).code, message: err.message }))

createInterface({ input: process.stdin }).on('line', line => {
  let cmd: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  try { cmd = JSON.parse(line) } catch { return }
  const reply = (m: Record<string, unknown> = {}): void => out({ event: 'result', id: cmd.id, ...m })
  try {
    switch (cmd.cmd) {
      case 'announce': {
        let t = torrents.get(cmd.infoHash)
        if (t === undefined) {
          t = { infoHash: cmd.infoHash, private: cmd.private === true }
          torrents.set(cmd.infoHash, t)
        }
        const times = cmd.times ?? 1
        for (let i = 0; i < times; i++) lsd.announce(t, cmd.port)
        return reply()
      }
      case 'setPrivate': {
        const t = torrents.get(cmd.infoHash)
        if (t !== undefined) t.private = cmd.private === true
        return reply()
      }
      case 'remove':
        lsd.remove(cmd.infoHash)
        return reply()
      case 'stats':
        return reply({ stats: { ...lsd.stats }, infoHashes: lsd.infoHashes })
      case 'destroy':
        void lsd.destroy().then(() => { reply(); process.exit(0) })
        return
      default:
        return reply({ error: `unknown command ${cmd.cmd}` })
    }
  } catch (err) {
    reply({ error: (err as Error).message, code: (err as { code?: string }).code })
  }
})
process.stdin.on('end', () => { void lsd.destroy().then(() => process.exit(0)) })
