/**
 * A real home router in network namespaces, for the NAT traversal tests (recipe: shared/INTEROP.md, "A real
 * router in network namespaces"):
 *
 *   client 10.213.0.2/24 ──veth── 10.213.0.1/24 router 198.18.0.1/24 ──veth── 198.18.0.2/24 internet
 *   (default via .1)               miniupnpd (UPnP IGDv1 + NAT-PMP),          STUN responder (UDP 3478)
 *                                   nftables NAT, ip_forward=1
 *
 * The router's ruleset is ours (Debian's nft_init.sh is broken): one `table inet filter` with a forward chain
 * (policy drop; established, LAN→WAN and `jump miniupnpd`), NAT prerouting/postrouting chains jumping to
 * miniupnpd's, masquerade on the WAN, and the empty chains miniupnpd fills. 198.18.0.0/15 is a reserved range
 * miniupnpd will not forward to unless STUN vouches for it: the STUN responder does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Lab, LabProcess } from './netns.js'
import { system } from './system.js'

export const CLIENT_IP = '10.213.0.2'
export const ROUTER_LAN_IP = '10.213.0.1'
export const ROUTER_WAN_IP = '198.18.0.1'
export const INTERNET_IP = '198.18.0.2'

export function miniupnpdAvailable (): boolean {
  return system.command('miniupnpd') && system.command('nft')
}

const RULESET = `
flush ruleset
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump prerouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump postrouting_miniupnpd
    oifname "wan" masquerade
  }
  chain postrouting_miniupnpd {
  }
}
`

export interface RouterOptions {
  upnp?: boolean
  natpmp?: boolean
}

// TCP connect from the internet namespace: 'open' only when the router forwards the port to the client.
const PROBE = `
const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]) })
const t = setTimeout(() => { console.log('timeout'); process.exit(0) }, 3000)
s.on('connect', () => { console.log('open'); clearTimeout(t); s.destroy(); process.exit(0) })
s.on('error', e => { console.log(e.code); clearTimeout(t); process.exit(0) })
`

export class Router {
  client = ''
  router = ''
  internet = ''
  readonly dir: string
  miniupnpd: LabProcess | null = null
  stun: LabProcess | null = null

  /** Dials the router's WAN address at `port` from the internet namespace: 'open', 'timeout' or an error code. */
  async probe (port: number): Promise<string> {
    return (await this.lab.run(this.internet, process.execPath, ['-e', PROBE, ROUTER_WAN_IP, String(port)])).trim()
  }

  constructor (private readonly lab: Lab) {
    // Config and lease files of routers whose test process died (SIGKILL: no afterAll) go first.
    for (const name of readdirSync(tmpdir())) {
      const m = /^wt-router-(\d+)-/.exec(name)
      if (m === null || Number(m[1]) === process.pid) continue
      try { process.kill(Number(m[1]), 0); continue } catch (err) { if ((err as NodeJS.ErrnoException).code === 'EPERM') continue }
      rmSync(join(tmpdir(), name), { recursive: true, force: true })
    }
    this.dir = mkdtempSync(join(tmpdir(), `wt-router-${process.pid}-`))
  }

  get leaseFile (): string {
    return join(this.dir, 'upnp.leases')
  }

  /** Creates the namespaces, links, addresses, routes and the ruleset, and starts STUN and miniupnpd. */
  async start (opts: RouterOptions = {}): Promise<void> {
    const lab = this.lab
    this.client = await lab.ns('client')
    this.router = await lab.ns('router')
    this.internet = await lab.ns('internet')
    await lab.veth({ ns: this.client, ifname: 'eth0', addr: `${CLIENT_IP}/24` }, { ns: this.router, ifname: 'lan', addr: `${ROUTER_LAN_IP}/24` })
    await lab.veth({ ns: this.router, ifname: 'wan', addr: `${ROUTER_WAN_IP}/24` }, { ns: this.internet, ifname: 'eth0', addr: `${INTERNET_IP}/24` })
    await lab.waitUp(this.client, ['eth0'])
    await lab.waitUp(this.router, ['lan', 'wan'])
    await lab.waitUp(this.internet, ['eth0'])
    await lab.ip(['-n', this.client, 'route', 'add', 'default', 'via', ROUTER_LAN_IP])
    await lab.run(this.router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'])
    await lab.run(this.router, 'nft', ['-f', '-'], { input: RULESET })

    const stun = lab.node(this.internet, 'stun-server.ts', [JSON.stringify({ host: INTERNET_IP, port: 3478 })])
    this.stun = stun
    await stun.next(m => m.event === 'ready', 20_000)

    const conf = join(this.dir, 'miniupnpd.conf')
    writeFileSync(conf, [
      'ext_ifname=wan',
      'listening_ip=lan',
      'http_port=5000',
      `enable_natpmp=${opts.natpmp === false ? 'no' : 'yes'}`,
      `enable_upnp=${opts.upnp === false ? 'no' : 'yes'}`,
      'secure_mode=yes',
      'ipv6_disable=yes',
      'force_igd_desc_v1=yes',
      'system_uptime=yes',
      'notify_interval=60',
      'clean_ruleset_interval=600',
      `lease_file=${this.leaseFile}`,
      'uuid=3e3c7a2c-6d2f-4f7e-9c1a-0123456789ab',
      'ext_perform_stun=yes',
      `ext_stun_host=${INTERNET_IP}`,
      'ext_stun_port=3478',
      `allow 1024-65535 ${CLIENT_IP.replace(/\.\d+$/, '.0')}/24 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      ''
    ].join('\n'))
    this.miniupnpd = lab.spawn(this.router, 'miniupnpd', ['-f', conf, '-d', '-P', join(this.dir, 'miniupnpd.pid')])
    // Ready once it listens for HTTP (UPnP) / NAT-PMP; it logs to stderr with -d.
    await this.miniupnpd.waitForOutput(/HTTP listening on port|Listening for NAT-PMP/, 20_000)
    await new Promise(resolve => setTimeout(resolve, 300))
    if (!this.miniupnpd.running) throw new Error(`miniupnpd exited:\n${this.miniupnpd.stderr}`)
  }

  /** The router's nftables ruleset (miniupnpd's dnat rules land in prerouting_miniupnpd). */
  async ruleset (): Promise<string> {
    return this.lab.run(this.router, 'nft', ['list', 'ruleset'])
  }

  /** miniupnpd's lease file lines: PROTO:EXTPORT:INTIP:INTPORT:TIMESTAMP:DESCRIPTION. */
  leases (): string[] {
    if (!existsSync(this.leaseFile)) return []
    return readFileSync(this.leaseFile, 'utf8').split('\n').filter(Boolean)
  }

  /**
   * The DNAT rules miniupnpd added for external `port`, e.g. "tcp 37961 -> 10.213.0.2:37961". nft prints
   * them as `iif "wan" @nh,72,8 0x6 th dport 37961 dnat ip to 10.213.0.2:37961` (0x6 = TCP, 0x11 = UDP).
   */
  async dnatRules (port: number): Promise<string[]> {
    const rs = await this.ruleset()
    const chain = /chain prerouting_miniupnpd \{([\s\S]*?)\n\t\}/.exec(rs)?.[1] ?? ''
    const out: string[] = []
    for (const line of chain.split('\n')) {
      const m = /@nh,72,8 (0x[0-9a-f]+) th dport (\d+) dnat ip to (\S+)/.exec(line)
      if (m === null || Number(m[2]) !== port) continue
      const proto = m[1] === '0x6' ? 'tcp' : m[1] === '0x11' ? 'udp' : m[1]
      out.push(`${proto} ${m[2]} -> ${m[3]}`)
    }
    return out.sort()
  }

  cleanupDir (): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
