/**
 * A tiny STUN (RFC 5389) Binding responder for the "internet" namespace of the NAT tests. miniupnpd refuses to
 * forward ports when its WAN address is in a reserved range (198.18.0.0/15 here) unless a STUN server tells it
 * the address is its real, unfiltered external one (`ext_perform_stun=yes`). It sends four Binding requests,
 * some with CHANGE-REQUEST; we answer each one from this socket with MAPPED-ADDRESS, XOR-MAPPED-ADDRESS and
 * OTHER-ADDRESS (RFC 5780). Prints { event: 'ready' } and { event: 'request', from } lines.
 *   argv[2]: { host, port }
 */
import { createSocket } from 'node:dgram'

const { host, port } = JSON.parse(process.argv[2]) as { host: string, port: number }
const MAGIC = 0x2112a442
const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }

function addressAttr (type: number, ip: string, p: number, xor: boolean): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(type, 0)
  b.writeUInt16BE(8, 2)
  b.writeUInt8(0, 4)
  b.writeUInt8(1, 5) // IPv4
  const octets = ip.split('.').map(Number)
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0
  b.writeUInt16BE(xor ? p ^ (MAGIC >>> 16) : p, 6)
  b.writeUInt32BE(xor ? (addr ^ MAGIC) >>> 0 : addr, 8)
  return b
}

const sock = createSocket('udp4')
sock.on('message', (msg, rinfo) => {
  if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001) return
  out({ event: 'request', from: rinfo.address, port: rinfo.port })
  const attrs = Buffer.concat([
    addressAttr(0x0001, rinfo.address, rinfo.port, false), // MAPPED-ADDRESS
    addressAttr(0x0020, rinfo.address, rinfo.port, true), // XOR-MAPPED-ADDRESS
    addressAttr(0x802c, host, port, false), // OTHER-ADDRESS
    addressAttr(0x0005, host, port, false) // CHANGED-ADDRESS (RFC 3489)
  ])
  const head = Buffer.alloc(20)
  head.writeUInt16BE(0x0101, 0) // Binding Success Response
  head.writeUInt16BE(attrs.length, 2)
  msg.copy(head, 4, 4, 20) // magic cookie + transaction id
  sock.send(Buffer.concat([head, attrs]), rinfo.port, rinfo.address)
})
sock.bind(port, host, () => out({ event: 'ready' }))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
