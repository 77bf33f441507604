/** A small HTTP file server with Range support for web seed tests, with modes that misbehave. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

export type ServerMode =
  | 'ok'
  | 'corrupt' // flips a byte in every body
  | 'bad-content-range' // Content-Range off by one
  | 'wrong-total' // Content-Range names another file size
  | 'ignore-range' // 200 with the whole file
  | 'too-long' // 206, no Content-Length, 100 KiB more than asked
  | 'short' // 206, no Content-Length, half the bytes, then ends
  | 'no-headers' // never answers
  | 'stall' // headers and half the body, then nothing
  | 'status' // answers with `status`
  | 'gzip' // claims Content-Encoding: gzip

export interface ServedRequest {
  path: string
  start: number
  end: number
  ranged: boolean
  status: number
}

export class WebSeedServer {
  readonly files = new Map<string, Uint8Array>()
  /** path -> Location of a 302. */
  readonly redirects = new Map<string, string>()
  readonly log: ServedRequest[] = []
  mode: ServerMode = 'ok'
  status = 503
  /** ms before answering each request (to make concurrency visible). */
  delayMs = 0
  /** Per-request mode override (called before `mode` applies). */
  modeFor?: (path: string, n: number) => ServerMode | undefined
  active = 0
  maxActive = 0
  requests = 0
  private readonly server: Server
  port = 0

  private constructor () {
    this.server = createServer((req, res) => { this.handle(req, res) })
    this.server.keepAliveTimeout = 5000
  }

  static async start (): Promise<WebSeedServer> {
    const s = new WebSeedServer()
    await new Promise<void>(resolve => s.server.listen(0, '127.0.0.1', resolve))
    s.port = (s.server.address() as { port: number }).port
    return s
  }

  get origin (): string {
    return `http://127.0.0.1:${this.port}`
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  resetStats (): void {
    this.log.length = 0
    this.active = 0
    this.maxActive = 0
    this.requests = 0
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const n = this.requests++
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    res.once('close', () => { this.active-- })
    const run = (): void => {
      if (res.destroyed || req.socket.destroyed) return // the client went away while we waited
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      const loc = this.redirects.get(path)
      if (loc !== undefined) {
        this.log.push({ path, start: -1, end: -1, ranged: false, status: 302 })
        res.writeHead(302, { location: loc, 'content-length': '0' })
        res.end()
        return
      }
      const data = this.files.get(path)
      if (data === undefined) {
        this.log.push({ path, start: -1, end: -1, ranged: false, status: 404 })
        res.writeHead(404, { 'content-length': '0' })
        res.end()
        return
      }
      const mode = this.modeFor?.(path, n) ?? this.mode
      const m = /^bytes=(\d+)-(\d+)?$/.exec(req.headers.range ?? '')
      const ranged = m !== null
      const start = m ? Number(m[1]) : 0
      const end = m && m[2] !== undefined ? Math.min(Number(m[2]), data.length - 1) : data.length - 1
      if (mode === 'status') {
        this.log.push({ path, start, end, ranged, status: this.status })
        res.writeHead(this.status, { 'content-length': '0' })
        res.end()
        return
      }
      if (mode === 'no-headers') {
        this.log.push({ path, start, end, ranged, status: 0 })
        return
      }
      if (ranged && start >= data.length) {
        this.log.push({ path, start, end, ranged, status: 416 })
        res.writeHead(416, { 'content-range': `bytes */${data.length}`, 'content-length': '0' })
        res.end()
        return
      }
      let body = data.slice(start, end + 1)
      if (mode === 'ignore-range' || !ranged) {
        this.log.push({ path, start: 0, end: data.length - 1, ranged, status: 200 })
        res.writeHead(200, { 'content-length': String(data.length), 'content-type': 'application/octet-stream' })
        res.end(data)
        return
      }
      const headers: Record<string, string> = {
        'content-range': `bytes ${start}-${end}/${data.length}`,
        'content-length': String(body.length),
        'accept-ranges': 'bytes'
      }
      if (mode === 'corrupt') body[body.length >> 1] ^= 0xff
      if (mode === 'bad-content-range') headers['content-range'] = `bytes ${start + 1}-${end + 1}/${data.length}`
      if (mode === 'wrong-total') headers['content-range'] = `bytes ${start}-${end}/${data.length + 1}`
      if (mode === 'gzip') headers['content-encoding'] = 'gzip'
      if (mode === 'too-long' || mode === 'short' || mode === 'stall') delete headers['content-length']
      if (mode === 'too-long') {
        const longer = new Uint8Array(body.length + 100 * 1024)
        longer.set(body)
        body = longer
      }
      this.log.push({ path, start, end, ranged, status: 206 })
      res.writeHead(206, headers)
      if (mode === 'short') {
        res.end(body.subarray(0, body.length >> 1))
        return
      }
      if (mode === 'stall') {
        res.write(body.subarray(0, body.length >> 1))
        return
      }
      res.end(body)
    }
    if (this.delayMs > 0) setTimeout(run, this.delayMs)
    else run()
  }
}
