/**
 * A peer process driven over JSON lines (stdin commands `{id, cmd, ...}`, stdout answers `{id, ok, ...}` and
 * events `{event, ...}`): the shared part of the libtorrent and webtorrent drivers.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'

export interface PeerEvent { event: string, message?: string, [k: string]: unknown }

export class JsonLinePeer<E extends PeerEvent> {
  readonly port: number
  readonly events: E[] = []
  stderr = ''
  protected readonly proc: ChildProcessWithoutNullStreams
  private readonly name: string
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  private readonly waiters = new Set<{ pred: (e: E) => boolean, resolve: (e: E) => void }>()

  protected constructor (name: string, proc: ChildProcessWithoutNullStreams, lines: Interface, port: number, stderr: string) {
    this.name = name
    this.proc = proc
    this.port = port
    this.stderr = stderr
    lines.on('line', line => this.onLine(line))
    proc.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} peer exited: ${this.stderr}`))
      this.pending.clear()
    })
  }

  /**
   * Starts reading `proc`: resolves with what `parseFirst` makes of its first line (its listening port), or
   * rejects if it exits or says nothing within `timeoutMs`. Collects stderr meanwhile.
   */
  protected static async handshake (name: string, proc: ChildProcessWithoutNullStreams, timeoutMs: number,
    parseFirst: (line: string) => number): Promise<{ lines: Interface, port: number, stderr: () => string, onStderr: (fn: (d: string) => void) => void }> {
    const lines = createInterface({ input: proc.stdout })
    let stderr = ''
    let forward: ((d: string) => void) | null = null
    proc.stderr.on('data', d => { stderr += d; forward?.(String(d)) })
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${name} peer did not start: ${stderr}`)) }, timeoutMs)
      proc.once('exit', code => { clearTimeout(timer); reject(new Error(`${name} peer exited (${code}): ${stderr}`)) })
      lines.once('line', line => { clearTimeout(timer); resolve(parseFirst(line)) })
    })
    return { lines, port, stderr: () => stderr, onStderr: fn => { forward = fn } }
  }

  private onLine (line: string): void {
    let msg: any
    try { msg = JSON.parse(line) } catch { return }
    if (msg.id !== undefined && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id)!
      this.pending.delete(msg.id)
      if (msg.ok) p.resolve(msg)
      else p.reject(new Error(`${this.name}: ${msg.error}`))
      return
    }
    if (msg.event) {
      this.events.push(msg)
      for (const w of this.waiters) {
        if (w.pred(msg)) {
          this.waiters.delete(w)
          w.resolve(msg)
        }
      }
    }
  }

  call<T = any> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.proc.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    })
  }

  /** Resolves with the first event (past or future) matching `pred`. */
  waitForEvent (pred: (e: E) => boolean, timeoutMs = 30_000, what = `a ${this.name} event`): Promise<E> {
    const past = this.events.find(pred)
    if (past) return Promise.resolve(past)
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: E) => { clearTimeout(timer); resolve(e) } }
      const timer = setTimeout(() => {
        this.waiters.delete(w)
        reject(new Error(`timed out waiting for ${what}; last events: ` +
          this.events.slice(-15).map(e => `${e.event} ${String(e.type ?? '')} ${e.message ?? ''}`).join(' | ') + ' stderr: ' + this.stderr.slice(-2000)))
      }, timeoutMs)
      this.waiters.add(w)
    })
  }
}
