import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { takeViolations } from './setup/network-guard.js'

describe('the test network guard', () => {
  it('refuses TCP and UDP to anything but loopback, and allows loopback', () => {
    expect(() => connect(6881, '10.0.0.1')).toThrow(/network rule/)
    expect(() => connect({ host: '203.0.113.8', port: 53 })).toThrow(/network rule/)
    expect(() => connect({ host: 'router.example', port: 6881 })).toThrow(/network rule/)
    const udp = createSocket('udp4')
    expect(() => udp.send(Buffer.from('x'), 6771, '239.192.152.143')).toThrow(/network rule/)
    expect(() => udp.send(Buffer.from('x'), 0, 1, 5351, '192.168.1.1')).toThrow(/network rule/)
    udp.send(Buffer.from('x'), 9, '127.0.0.1', () => udp.close())
    const ok = connect(1, '127.0.0.1')
    ok.on('error', () => {})
    ok.destroy()
    expect(takeViolations().map(e => e.message.replace(/ refused.*/, ''))).toEqual([
      'network rule: TCP connect to 10.0.0.1', 'network rule: TCP connect to 203.0.113.8',
      'network rule: TCP connect to router.example', 'network rule: UDP send to 239.192.152.143',
      'network rule: UDP send to 192.168.1.1'
    ])
  })
})
