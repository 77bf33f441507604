/**
 * A raw multicast listener and injector for the LSD namespace tests (not using src/lsd, so it can count what
 * really goes over the wire and send what our Lsd would never send). JSON lines:
 *   argv[2]: { group, port, iface }   iface = this namespace's address to join the group on
 *   out: { event: 'ready' } | { event: 'packet', from, fromPort, data (base64), at } | { event: 'result', id }
 *   in:  { cmd: 'send', id, data (base64), source? (local address to send from) }
 */
import { createSocket, type Socket } from 'node:dgram'
import { createInterface } from 'node:readline'

const { group, port, iface } = JSON.parse(process.argv[2]) as { group: string, port: number, iface: string }
const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }

const listener = createSocket({ type: 'udp4', reuseAddr: true })
listener.on('message', (msg, rinfo) => out({ event: 'packet', from: rinfo.address, fromPort: rinfo.port, data: msg.toString('base64'), at: Date.now() }))
listener.bind(port, '0.0.0.0', () => {
  listener.addMembership(group, iface)
  listener.setMulticastLoopback(false)
  out({ event: 'ready' })
})

const senders = new Map<string, Socket>()
function sender (source: string): Promise<Socket> {
  const s = senders.get(source)
  if (s !== undefined) return Promise.resolve(s)
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: 'udp4' })
    sock.once('error', reject)
    sock.bind(0, source, () => {
      sock.setMulticastInterface(source)
      sock.setMulticastTTL(1)
      sock.setMulticastLoopback(false)
      senders.set(source, sock)
      resolve(sock)
    })
  })
}

createInterface({ input: process.stdin }).on('line', line => {
  let cmd: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  try { cmd = JSON.parse(line) } catch { return }
  if (cmd.cmd !== 'send') return out({ event: 'result', id: cmd.id, error: 'unknown command' })
  sender(cmd.source ?? iface).then(sock => {
    sock.send(Buffer.from(cmd.data, 'base64'), port, group, err => out({ event: 'result', id: cmd.id, error: err?.message }))
  }, (err: Error) => out({ event: 'result', id: cmd.id, error: err.message }))
})
process.stdin.on('end', () => process.exit(0))
