/** Tracker layer pieces without network: compact peers, URL checks (case 26), BEP 48, backoff, parsing, tiers. */
import { describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import {
  announceListFor, announceTiers, buildAnnounceUrl, decodeCompactPeers, discoveryAllowed, encodeCompactPeers,
  parseAnnounceResponse, parseScrapeResponse, parseTrackerUrl, scrapeUrlFor, shuffle, trackerBackoff, TrackerError,
  type AnnounceRequest
} from '../src/tracker/index.js'
import { ipv6ToString, parseIPv6 } from '../src/util/ip.js'

const IH = Uint8Array.from({ length: 20 }, (_, i) => i * 13)
const PID = new TextEncoder().encode('-WW0001-abcdefghijkl')

function code (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return (err as TrackerError).code }
  return undefined
}

describe('compact peers (BEP 23, BEP 7)', () => {
  it('decodes IPv4 entries, drops a trailing partial entry, port 0 and 0.0.0.0', () => {
    const b = Uint8Array.from([10, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 1, 0, 80, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9])
    expect(decodeCompactPeers(b)).toEqual([{ host: '10.0.0.1', port: 6881 }, { host: '127.0.0.1', port: 80 }])
  })
  it('decodes IPv6 entries in RFC 5952 form; IPv4-mapped ones become IPv4', () => {
    const peers = [{ host: '2001:db8::1', port: 6881 }, { host: '::1', port: 1 }, { host: 'fe80:0:0:1:2:0:0:3', port: 2 }]
    const enc = encodeCompactPeers([...peers, { host: '1.2.3.4', port: 5 }], 6)
    expect(enc.length).toBe(3 * 18)
    expect(decodeCompactPeers(enc, 6)).toEqual([{ host: '2001:db8::1', port: 6881 }, { host: '::1', port: 1 }, { host: 'fe80::1:2:0:0:3', port: 2 }])
    expect(ipv6ToString(Uint8Array.from(parseIPv6('::ffff:10.1.2.3')!))).toBe('10.1.2.3')
    expect(parseIPv6('1::2::3')).toBeNull()
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toHaveLength(16)
  })
  it('round-trips IPv4', () => {
    const peers = [{ host: '198.51.100.20', port: 51413 }, { host: '203.0.113.8', port: 1 }]
    expect(decodeCompactPeers(encodeCompactPeers(peers, 4), 4)).toEqual(peers)
  })
})

describe('tracker URL checks (case 26)', () => {
  it('accepts http, https, udp, ws, wss', () => {
    expect(parseTrackerUrl('http://tracker.example/announce').kind).toBe('http')
    expect(parseTrackerUrl('https://tracker.example:8443/a/announce.php?passkey=abc').port).toBe(8443)
    const udp = parseTrackerUrl('udp://tracker.example:1337/announce')
    expect([udp.kind, udp.host, udp.port, udp.path]).toEqual(['udp', 'tracker.example', 1337, '/announce'])
    expect(parseTrackerUrl('udp://[::1]:6969').host).toBe('::1')
    expect(parseTrackerUrl('wss://tracker.example').kind).toBe('ws')
    expect(parseTrackerUrl('WS://tracker.example/x').kind).toBe('ws')
  })
  it('refuses other schemes and malformed URLs', () => {
    for (const u of ['file:///etc/passwd', 'ftp://x/announce', 'javascript:alert(1)', 'data:text/plain,x', 'gopher://x/', '/announce', 'tracker.example/announce', '']) {
      expect(code(() => parseTrackerUrl(u)), u).toBe('ERR_TRACKER_URL')
    }
    expect(code(() => parseTrackerUrl('udp://tracker.example/announce'))).toBe('ERR_TRACKER_URL') // no port
    expect(code(() => parseTrackerUrl('http://tracker.example:99999/announce'))).toBe('ERR_TRACKER_URL')
  })
  it('libtorrent SSRF rule: loopback trackers must use an /announce path', () => {
    for (const u of ['http://127.0.0.1:1234/announce', 'http://localhost/announce.php', 'http://[::1]:80/announce?x=1', 'http://127.9.9.9/announce/']) {
      expect(() => parseTrackerUrl(u), u).not.toThrow()
    }
    for (const u of ['http://127.0.0.1:1234/', 'http://localhost:8080/admin', 'http://[::1]/api/delete', 'http://foo.localhost/x',
      'http://127.0.0.1:1234/scrape', 'https://[::ffff:127.0.0.1]/shutdown', 'http://0x7f.1/admin', 'http://0.0.0.0:8080/admin', 'http://[::]/x']) {
      expect(code(() => parseTrackerUrl(u)), u).toBe('ERR_TRACKER_SSRF')
    }
    // Not loopback: any path is fine; UDP/WS are not subject to the HTTP rule (as in libtorrent).
    expect(() => parseTrackerUrl('http://10.0.0.1/tracker')).not.toThrow()
    expect(() => parseTrackerUrl('udp://127.0.0.1:6969/whatever')).not.toThrow()
  })
  it('refuses tracker arguments baked into the query string (libtorrent)', () => {
    expect(code(() => parseTrackerUrl('http://t.example/announce?info_hash=abc'))).toBe('ERR_TRACKER_SSRF')
    expect(code(() => parseTrackerUrl('http://t.example/announce?passkey=1&Peer_Id=x'))).toBe('ERR_TRACKER_SSRF')
    expect(() => parseTrackerUrl('http://t.example/announce?passkey=1&uid=2')).not.toThrow()
  })
  it('refuses IDNA and non-ASCII host names', () => {
    expect(code(() => parseTrackerUrl('http://xn--80ak6aa92e.com/announce'))).toBe('ERR_TRACKER_SSRF')
    expect(code(() => parseTrackerUrl('http://пример.рф/announce'))).toBe('ERR_TRACKER_SSRF')
    expect(code(() => parseTrackerUrl('udp://пример.рф:80/announce'))).toBe('ERR_TRACKER_SSRF')
  })
})

describe('BEP 48 scrape URLs', () => {
  it('replaces a final "announce" path component', () => {
    expect(scrapeUrlFor('http://example.com/announce')).toBe('http://example.com/scrape')
    expect(scrapeUrlFor('http://example.com/x/announce')).toBe('http://example.com/x/scrape')
    expect(scrapeUrlFor('http://example.com/announce.php')).toBe('http://example.com/scrape.php')
    expect(scrapeUrlFor('http://example.com/a/b/announce?x2%0644')).toBe('http://example.com/a/b/scrape?x2%0644')
    expect(scrapeUrlFor('http://example.com/announce?x=2/4')).toBe('http://example.com/scrape?x=2/4')
  })
  it('has none when the last component is not announce', () => {
    expect(scrapeUrlFor('http://example.com/a')).toBeNull()
    expect(scrapeUrlFor('http://example.com/announce/x')).toBeNull()
    expect(scrapeUrlFor('http://example.com/x%064announce')).toBeNull()
    expect(scrapeUrlFor('udp://example.com:80/announce')).toBeNull()
  })
})

describe('backoff (case 25)', () => {
  it('is libtorrent\'s 5 + 5*250/100*fails^2 s, capped at an hour', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(f => trackerBackoff(f))).toEqual([0, 17, 55, 117, 205, 317, 1255])
    expect(trackerBackoff(17)).toBe(3600)
    expect(trackerBackoff(100)).toBe(3600)
    expect(trackerBackoff(2, 100)).toBe(25)
  })
})

describe('HTTP announce request and response', () => {
  const req: AnnounceRequest = { infoHash: IH, peerId: PID, port: 6881, uploaded: 10, downloaded: 20, left: null, numwant: 50, key: 0xabc }

  it('builds the query: escaped ids, key as 8 hex digits, compact, numwant, event', () => {
    const u = new URL(buildAnnounceUrl('http://t.example/announce?passkey=p', { ...req, event: 'started' }))
    expect(u.searchParams.get('passkey')).toBe('p')
    expect(u.searchParams.get('key')).toBe('00000ABC')
    expect(u.searchParams.get('left')).toBe('16384') // unknown size: libtorrent's stand-in, never 0
    expect(u.searchParams.get('event')).toBe('started')
    expect(u.searchParams.get('numwant')).toBe('50')
    expect(u.searchParams.get('compact')).toBe('1')
    expect(u.searchParams.get('peer_id')).toBe('-WW0001-abcdefghijkl')
    expect(u.search).toContain('info_hash=%00%0D%1A%27')
    const stopped = new URL(buildAnnounceUrl('http://t.example/announce', { ...req, event: 'stopped', trackerId: Uint8Array.of(1, 65) }))
    expect(stopped.searchParams.get('numwant')).toBe('0')
    expect(stopped.search).toContain('trackerid=%01A')
    expect(new URL(buildAnnounceUrl('http://t.example/announce', req)).searchParams.has('event')).toBe(false)
  })

  it('parses compact, dict and peers6 peers with the other fields', () => {
    const peers6 = encodeCompactPeers([{ host: '2001:db8::2', port: 7000 }], 6)
    const body = bencode.encode({
      interval: 1800, 'min interval': 60, complete: 3, incomplete: 4, downloaded: 9, 'tracker id': 'tid',
      'warning message': 'be nice', peers: encodeCompactPeers([{ host: '1.2.3.4', port: 5 }]), peers6
    })
    const r = parseAnnounceResponse(body)
    expect(r).toMatchObject({ interval: 1800, minInterval: 60, complete: 3, incomplete: 4, downloaded: 9, warning: 'be nice' })
    expect(new TextDecoder().decode(r.trackerId)).toBe('tid')
    expect(r.peers).toEqual([{ host: '1.2.3.4', port: 5 }, { host: '2001:db8::2', port: 7000 }])
    const dict = parseAnnounceResponse(bencode.encode({
      interval: 5,
      peers: [{ ip: '10.0.0.2', port: 6881, 'peer id': 'x'.repeat(20) }, { ip: '[2001:db8::5]', port: 1 }, { ip: 'peer.example', port: 2 },
        { ip: 'bad host', port: 3 }, { ip: '1.1.1.1', port: 0 }, { port: 4 }, 'junk']
    }))
    expect(dict.peers).toEqual([{ host: '10.0.0.2', port: 6881 }, { host: '2001:db8::5', port: 1 }, { host: 'peer.example', port: 2 }])
  })

  it('failure reason becomes ERR_TRACKER_FAILURE with retry hints (BEP 31)', () => {
    let err = catchErr(() => parseAnnounceResponse(bencode.encode({ 'failure reason': 'unregistered torrent', 'retry in': 10 })))
    expect(err.code).toBe('ERR_TRACKER_FAILURE')
    expect(err.message).toContain('unregistered torrent')
    expect(err.retryAfter).toBe(600)
    err = catchErr(() => parseAnnounceResponse(bencode.encode({ 'failure reason': 'go away', 'retry in': 'never' })))
    expect(err.retryNever).toBe(true)
  })

  it('rejects non-dicts and garbage; tolerates trailing bytes', () => {
    expect(catchErr(() => parseAnnounceResponse(new TextEncoder().encode('<html>'))).code).toBe('ERR_TRACKER_RESPONSE')
    expect(catchErr(() => parseAnnounceResponse(bencode.encode([1, 2]))).code).toBe('ERR_TRACKER_RESPONSE')
    const ok = new Uint8Array([...bencode.encode({ interval: 10, peers: new Uint8Array(0) }), 10])
    expect(parseAnnounceResponse(ok).interval).toBe(10)
  })

  it('parses scrape files keyed by raw info-hash bytes (UTF-8-valid or not)', () => {
    const ascii = new TextEncoder().encode('aaaaaaaaaaaaaaaaaaaa')
    const te = new TextEncoder()
    // bencode.encode takes string keys: write the dict with binary keys by hand.
    const str = (b: Uint8Array): number[] => [...te.encode(`${b.length}:`), ...b]
    const body = Uint8Array.from([
      ...te.encode('d5:filesd'),
      ...str(IH), ...bencode.encode({ complete: 1, downloaded: 3, incomplete: 2 }),
      ...str(ascii), ...bencode.encode({ complete: 4, downloaded: 6, incomplete: 5 }),
      ...te.encode('ee')
    ])
    const r = parseScrapeResponse(body, [IH, ascii, new Uint8Array(20)])
    expect(r).toEqual([
      { infoHash: Buffer.from(IH).toString('hex'), complete: 1, incomplete: 2, downloaded: 3 },
      { infoHash: Buffer.from(ascii).toString('hex'), complete: 4, incomplete: 5, downloaded: 6 }
    ])
  })
})

describe('announce lists (BEP 12)', () => {
  it('flat lists become one tier per URL; duplicates and refused URLs are dropped', () => {
    const { tiers, rejected } = announceTiers(['http://a.example/announce', 'udp://b.example:1/announce', 'http://a.example/announce', 'file:///x', 'http://127.0.0.1/admin'])
    expect(tiers.map(t => t.map(x => x.url))).toEqual([['http://a.example/announce'], ['udp://b.example:1/announce']])
    expect(rejected.map(e => e.code)).toEqual(['ERR_TRACKER_URL', 'ERR_TRACKER_SSRF'])
  })
  it('shuffles within tiers, never across', () => {
    const list = [['http://a/announce', 'http://b/announce', 'http://c/announce'], ['http://d/announce', 'http://e/announce']]
    let seed = 1
    const random = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
    const { tiers } = announceTiers(list, { random })
    expect(tiers.map(t => t.map(x => x.url).sort())).toEqual(list)
    expect(announceTiers(list, { shuffle: false }).tiers.map(t => t.map(x => x.url))).toEqual(list)
    expect(shuffle([1, 2, 3, 4], () => 0)).toEqual([2, 3, 4, 1])
  })
})

describe('private torrents (BEP 27)', () => {
  it('allow trackers only', () => {
    expect(discoveryAllowed({ private: true })).toEqual({ trackers: true, dht: false, pex: false, lsd: false, extraTrackers: false })
    expect(discoveryAllowed({})).toEqual({ trackers: true, dht: true, pex: true, lsd: true, extraTrackers: true })
  })
  it('ignore extra trackers', () => {
    expect(announceListFor({ announce: ['http://a/announce'], private: true }, ['http://b/announce'])).toEqual([['http://a/announce']])
    expect(announceListFor({ announce: ['http://a/announce'] }, ['http://b/announce', 'http://a/announce'])).toEqual([['http://a/announce'], ['http://b/announce']])
    expect(announceListFor({ announceList: [['x', 'y']], announce: ['x', 'y'] })).toEqual([['x', 'y']])
  })
})

function catchErr (fn: () => unknown): TrackerError {
  try { fn() } catch (err) { return err as TrackerError }
  throw new Error('did not throw')
}
