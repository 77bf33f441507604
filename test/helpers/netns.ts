/**
 * Network namespaces for tests that need a real network (multicast, a router): each Lab creates its own
 * namespaces (`ip netns add`), veth pairs and bridges, runs commands and Node driver scripts inside them, and
 * removes everything in destroy() — processes first (SIGTERM, then SIGKILL), then the namespaces (their veths
 * and bridges go with them). Nothing is created in the host's own namespace.
 *
 * Names are `wtns-<pid>-<n>-<name>`. A lab left behind by a crashed run (its pid is gone) is swept when the
 * next Lab is created, and a process 'exit' hook removes this process's labs if afterAll never ran, so a
 * failed run cannot break the next one.
 *
 * Needs root and iproute2 (`netnsSupported()` checks by creating and deleting a namespace).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dirname, resolve } from 'node:path'

const PREFIX = 'wtns-'
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const HELPERS_DIR = resolve(REPO_ROOT, 'test/helpers')

let probed: boolean | undefined

/** True when this process can create network namespaces (root + iproute2 + kernel support). */
export function netnsSupported (): boolean {
  if (probed !== undefined) return probed
  probed = false
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const name = `${PREFIX}${process.pid}-probe`
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' })
    execFileSync('ip', ['-n', name, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'], { stdio: 'ignore' })
    probed = true
  } catch {
    probed = false
  } finally {
    try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch { /* not created */ }
  }
  return probed
}

function listNamespaces (): string[] {
  try {
    return readdirSync('/run/netns')
  } catch {
    return []
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Kills every process inside `ns` and deletes it (synchronous: usable from an 'exit' hook). */
function removeNamespaceSync (ns: string): void {
  for (let round = 0; round < 2; round++) {
    let pids: number[] = []
    try {
      pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number)
    } catch { /* gone */ }
    if (pids.length === 0) break
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch { /* exited */ } }
    // Give the kernel a moment to reap them.
    const until = Date.now() + 500
    while (Date.now() < until && pids.some(alive)) { /* spin briefly */ }
  }
  try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* already gone */ }
}

/** Removes labs left by processes that no longer exist. */
export function sweepStaleLabs (): string[] {
  const removed: string[] = []
  for (const ns of listNamespaces()) {
    const m = /^wtns-(\d+)-/.exec(ns)
    if (m === null) continue
    const pid = Number(m[1])
    if (pid === process.pid || alive(pid)) continue
    removeNamespaceSync(ns)
    removed.push(ns)
  }
  return removed
}

const liveLabs = new Set<Lab>()
let exitHook = false
let labCounter = 0

export interface ExecResult { code: number, stdout: string, stderr: string }

/** A process started inside a namespace; its output is kept, and it is killed by Lab.destroy(). */
export class LabProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  exitCode: number | null = null
  readonly exited: Promise<number | null>

  constructor (child: ChildProcess) {
    this.child = child
    child.stdout?.setEncoding('utf8')
    child.stderr?.setEncoding('utf8')
    child.stdout?.on('data', (d: string) => { this.stdout += d })
    child.stderr?.on('data', (d: string) => { this.stderr += d })
    this.exited = new Promise(resolve => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal !== null ? -1 : null)
        resolve(this.exitCode)
      })
      child.once('error', () => resolve(-1))
    })
  }

  get running (): boolean {
    return this.exitCode === null && this.child.exitCode === null && this.child.signalCode === null
  }

  async kill (graceMs = 2000): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGTERM')
    const t = setTimeout(() => { if (this.running) this.child.kill('SIGKILL') }, graceMs)
    await this.exited
    clearTimeout(t)
  }

  /** Resolves when `re` matches stdout or stderr; rejects on exit or timeout. */
  async waitForOutput (re: RegExp, timeoutMs = 10_000): Promise<void> {
    const start = Date.now()
    while (!re.test(this.stdout) && !re.test(this.stderr)) {
      if (!this.running) throw new Error(`process exited (${this.exitCode}) before printing ${re}:\n${this.stdout}\n${this.stderr}`)
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${re}:\n${this.stdout}\n${this.stderr}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DriverMessage = { event: string, [k: string]: any }

/**
 * A Node script run inside a namespace (`ip netns exec NS node --import tsx SCRIPT`) speaking JSON lines:
 * it prints one JSON object per line ({ event, ... }) and reads commands ({ cmd, ... }) on stdin.
 */
export class Driver extends LabProcess {
  readonly messages: DriverMessage[] = []
  private waiters: Array<{ pred: (m: DriverMessage) => boolean, resolve: (m: DriverMessage) => void, reject: (e: Error) => void, from: number }> = []
  private reqId = 0

  constructor (child: ChildProcess, readonly name: string) {
    super(child)
    const rl = createInterface({ input: child.stdout! })
    rl.on('line', line => {
      let m: DriverMessage
      try {
        m = JSON.parse(line)
      } catch {
        return
      }
      this.messages.push(m)
      for (const w of this.waiters.slice()) {
        if (w.pred(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
    })
    void this.exited.then(code => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`driver ${name} exited (${code}):\n${this.stderr.slice(-2000)}`))
    })
  }

  send (cmd: Record<string, unknown>): void {
    this.child.stdin?.write(JSON.stringify(cmd) + '\n')
  }

  /** The first message (already received or future) matching `pred`. */
  next (pred: (m: DriverMessage) => boolean, timeoutMs = 10_000, fromIndex = 0): Promise<DriverMessage> {
    for (let i = fromIndex; i < this.messages.length; i++) if (pred(this.messages[i])) return Promise.resolve(this.messages[i])
    if (!this.running) return Promise.reject(new Error(`driver ${this.name} is not running:\n${this.stderr.slice(-2000)}`))
    return new Promise<DriverMessage>((resolve, reject) => {
      const w: { pred: (m: DriverMessage) => boolean, resolve: (m: DriverMessage) => void, reject: (e: Error) => void, from: number } =
        { pred, resolve, reject, from: fromIndex }
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w)
        if (i >= 0) this.waiters.splice(i, 1)
        reject(new Error(`driver ${this.name}: timed out after ${timeoutMs} ms; messages: ${JSON.stringify(this.messages.slice(-20))}\nstderr: ${this.stderr.slice(-2000)}`))
      }, timeoutMs)
      w.resolve = (m: DriverMessage) => { clearTimeout(t); resolve(m) }
      w.reject = (e: Error) => { clearTimeout(t); reject(e) }
      this.waiters.push(w)
    })
  }

  /** Sends a command with an id and waits for the driver's { event: 'result', id } answer. */
  async request (cmd: Record<string, unknown>, timeoutMs = 20_000): Promise<DriverMessage> {
    const id = ++this.reqId
    const from = this.messages.length
    this.send({ ...cmd, id })
    const m = await this.next(x => x.event === 'result' && x.id === id, timeoutMs, from)
    if (m.error !== undefined) throw new Error(`driver ${this.name}: ${cmd.cmd} failed: ${m.error}`)
    return m
  }
}

export interface VethEnd {
  ns: string
  ifname: string
  /** CIDR, e.g. 10.214.0.1/24. */
  addr?: string
}

export class Lab {
  readonly id: string
  private readonly namespaces: string[] = []
  private readonly processes: LabProcess[] = []
  destroyed = false

  constructor () {
    sweepStaleLabs()
    this.id = `${PREFIX}${process.pid}-${++labCounter}`
    liveLabs.add(this)
    if (!exitHook) {
      exitHook = true
      process.on('exit', () => {
        for (const lab of liveLabs) lab.destroySync()
      })
    }
  }

  /** Creates namespace `<lab>-<name>` with loopback up; returns its full name. */
  async ns (name: string): Promise<string> {
    const full = `${this.id}-${name}`
    await this.ip(['netns', 'add', full])
    this.namespaces.push(full)
    await this.ip(['-n', full, 'link', 'set', 'lo', 'up'])
    return full
  }

  /** A veth pair between two namespaces (created directly inside them), with addresses, brought up. */
  async veth (a: VethEnd, b: VethEnd): Promise<void> {
    await this.ip(['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns])
    for (const end of [a, b]) {
      if (end.addr !== undefined) await this.ip(['-n', end.ns, 'addr', 'add', end.addr, 'dev', end.ifname])
      await this.ip(['-n', end.ns, 'link', 'set', end.ifname, 'up'])
    }
  }

  /** A bridge in `ns` enslaving `ports` (multicast snooping off: it floods multicast like a dumb switch). */
  async bridge (ns: string, name: string, ports: string[]): Promise<void> {
    await this.ip(['-n', ns, 'link', 'add', name, 'type', 'bridge', 'mcast_snooping', '0'])
    for (const p of ports) await this.ip(['-n', ns, 'link', 'set', p, 'master', name])
    await this.ip(['-n', ns, 'link', 'set', name, 'up'])
  }

  /** Waits until every listed interface reports operstate UP (veths take a moment; nat-upnp needs it). */
  async waitUp (ns: string, ifnames: string[], timeoutMs = 10_000): Promise<void> {
    const start = Date.now()
    for (;;) {
      const out = (await this.exec(ns, 'ip', ['-o', 'link', 'show'])).stdout
      const down = ifnames.filter(i => !new RegExp(`^\\d+: ${i}[@:].*state UP`, 'm').test(out))
      // Addresses must also have left the "tentative" state (IPv4 has none; kept for IPv6 use).
      if (down.length === 0) return
      if (Date.now() - start > timeoutMs) throw new Error(`interfaces not up in ${ns}: ${down.join(', ')}\n${out}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  /** Runs `ip ARGS` on the host (namespace management). */
  async ip (args: string[]): Promise<string> {
    const r = await execAsync('ip', args)
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
    return r.stdout
  }

  /** Runs a command inside `ns` to completion. */
  exec (ns: string, cmd: string, args: string[], opts: { timeoutMs?: number, input?: string } = {}): Promise<ExecResult> {
    return execAsync('ip', ['netns', 'exec', ns, cmd, ...args], opts)
  }

  /** Like exec(), but throws unless the command exits 0. */
  async run (ns: string, cmd: string, args: string[], opts: { timeoutMs?: number, input?: string } = {}): Promise<string> {
    const r = await this.exec(ns, cmd, args, opts)
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns} failed (${r.code}): ${r.stderr}${r.stdout}`)
    return r.stdout
  }

  /** Starts a long-running command inside `ns`; it is killed by destroy(). */
  spawn (ns: string, cmd: string, args: string[], env: Record<string, string> = {}): LabProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    const p = new LabProcess(child)
    this.processes.push(p)
    return p
  }

  /** Starts a TypeScript driver script (path relative to test/helpers/) inside `ns` with tsx. */
  node (ns: string, script: string, args: string[] = [], env: Record<string, string> = {}): Driver {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', resolve(HELPERS_DIR, script), ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env }
    })
    const d = new Driver(child, `${script}@${ns}`)
    this.processes.push(d)
    return d
  }

  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await Promise.allSettled(this.processes.map(p => p.kill()))
    for (const ns of this.namespaces) removeNamespaceSync(ns)
    liveLabs.delete(this)
  }

  /** Synchronous teardown for the process 'exit' hook. */
  destroySync (): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const p of this.processes) { try { p.child.kill('SIGKILL') } catch { /* exited */ } }
    for (const ns of this.namespaces) removeNamespaceSync(ns)
    liveLabs.delete(this)
  }

  /** Names of this lab's namespaces that still exist (for tests of the teardown). */
  remaining (): string[] {
    return listNamespaces().filter(n => n.startsWith(this.id + '-'))
  }
}

function execAsync (cmd: string, args: string[], opts: { timeoutMs?: number, input?: string } = {}): Promise<ExecResult> {
  return new Promise(resolve => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}
