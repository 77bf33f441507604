#!/usr/bin/python3
"""One download by libtorrent (python3-libtorrent 2.0.8), in its own process: the reference downloader.
argv: torrentPath outDir peerPort. Prints one JSON line: {ms, cpuMs, rssMB, bytes}. Loopback only."""
import json, resource, sys, time
import libtorrent as lt

torrent, out, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = lt.high_performance_seed()
s.update({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
          'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
          # TCP for every downloader in this bench (the seeder has uTP off; trying uTP first costs ~4 s)
          'enable_outgoing_utp': False, 'enable_incoming_utp': False,
          'out_enc_policy': int(lt.enc_policy.pe_disabled), 'in_enc_policy': int(lt.enc_policy.pe_enabled)})
ses = lt.session(s)
t0 = time.monotonic()
r0 = resource.getrusage(resource.RUSAGE_SELF)
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = out
h = ses.add_torrent(atp)
h.connect_peer(('127.0.0.1', port))
while not h.status().is_seeding:
    ses.wait_for_alert(100)
    ses.pop_alerts()
ms = (time.monotonic() - t0) * 1000
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
print(json.dumps({'ms': ms, 'cpuMs': cpu, 'rssMB': r1.ru_maxrss / 1024, 'bytes': h.torrent_file().total_size()}))
