/**
 * One run of bench/wire-throughput.e2e.ts, in its own process so CPU time is measured per implementation:
 * a seeding wire and a leeching wire over loopback TCP; the leecher keeps PIPELINE 16 KiB requests
 * outstanding until TOTAL bytes arrived. Prints one JSON line {bytes, ms, cpuMs}.
 * `raw-tcp` is no protocol at all, the ceiling any implementation can reach here: one side writes ready-made
 * piece messages (13-byte header + 16 KiB) as fast as the socket drains, the other reads them into one reused
 * buffer (onread, as our dialed sockets do) and counts bytes.
 */
import { createServer, connect, type Socket } from 'node:net'
import Protocol from 'bittorrent-protocol'
import { Wire } from '../src/wire/index.js'
import { dialTcp } from '../src/transport/tcp.js'

const impl = process.argv[2]
const TOTAL = Number(process.argv[3] ?? 1 << 30)
const BLOCK = 16384
const PIPELINE = Number(process.env.PIPELINE ?? 128)
const BLOCKS_PER_PIECE = 64 // 1 MiB pieces
const block = new Uint8Array(BLOCK).map((_, i) => i & 255)
const IH = 'ab'.repeat(20)
const PA = '2d4141303030302d' + '01'.repeat(12)
const PB = '2d4242303030302d' + '02'.repeat(12)

/** A connected pair; the dialing side is made the way each library's users get it (ours: dialTcp, onread). */
async function sockets (): Promise<[Socket, Socket]> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>(resolve => server.once('connection', resolve))
  const port = (server.address() as { port: number }).port
  let c: Socket
  if (impl === 'wasmtorrent' || impl === 'raw-tcp') {
    c = await dialTcp('127.0.0.1', port, { timeout: 5000 })
  } else {
    c = connect(port, '127.0.0.1')
    await new Promise(resolve => c.once('connect', resolve))
  }
  const s = await accepted
  server.close()
  return [c, s]
}

interface Side { request (index: number, begin: number, length: number, cb: (err: Error | null, b?: Uint8Array) => void): void }

function runLeecher (side: Side, done: (bytes: number) => void): void {
  let next = 0
  let received = 0
  const total = Math.floor(TOTAL / BLOCK)
  const issue = (): void => {
    if (next >= total) return
    const n = next++
    side.request(Math.floor(n / BLOCKS_PER_PIECE), (n % BLOCKS_PER_PIECE) * BLOCK, BLOCK, (err, b) => {
      if (err) throw err
      received += b!.length
      if (received >= total * BLOCK) done(received)
      else issue()
    })
  }
  for (let i = 0; i < PIPELINE; i++) issue()
}

const [sa, sb] = await sockets()
const start = performance.now()
const cpu0 = process.cpuUsage()
const finish = (bytes: number): void => {
  const ms = performance.now() - start
  const c = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ impl, bytes, ms, cpuMs: (c.user + c.system) / 1000 }))
  process.exit(0)
}

if (impl === 'raw-tcp') {
  const msg = new Uint8Array(13 + BLOCK)
  msg.set(block, 13)
  let sent = 0
  const pump = (): void => {
    while (sent < TOTAL) {
      sent += BLOCK
      if (!sb.write(msg)) { sb.once('drain', pump); return }
    }
  }
  let got = 0
  const want = Math.floor(TOTAL / BLOCK) * (13 + BLOCK)
  sa.on('data', (d: Uint8Array) => {
    got += d.length
    if (got >= want) finish(Math.floor(TOTAL / BLOCK) * BLOCK)
  })
  pump()
} else if (impl === 'wasmtorrent') {
  const seed = new Wire(sb, { pieces: 1 << 20 })
  const leech = new Wire(sa, { pieces: 1 << 20 })
  seed.on('handshake', () => seed.handshake(IH, PB))
  seed.on('request', (i, b, len, respond) => respond(null, block))
  seed.on('interested', () => seed.unchoke())
  // As in the engine: blocks land straight in a piece buffer through the wire's block sink (one copy, the
  // same one webtorrent makes from bittorrent-protocol's views into its piece buffers).
  const pieceBuffer = new Uint8Array(BLOCKS_PER_PIECE * BLOCK)
  leech.blockSink = { target: (_i, begin, length) => pieceBuffer.subarray(begin, begin + length), landed: () => {} }
  leech.on('unchoke', () => runLeecher(leech, finish))
  leech.on('ready', () => leech.interested())
  leech.handshake(IH, PA)
} else {
  const seed = new Protocol()
  const leech = new Protocol()
  sb.pipe(seed).pipe(sb)
  sa.pipe(leech).pipe(sa)
  seed.on('handshake', () => seed.handshake(IH, PB))
  seed.on('request', (i: number, b: number, len: number, respond: (e: Error | null, d: Uint8Array) => void) => respond(null, block))
  seed.on('interested', () => seed.unchoke())
  leech.on('unchoke', () => runLeecher(leech, finish))
  leech.on('handshake', () => leech.interested())
  leech.handshake(IH, PA)
}
