#!/usr/bin/python3
"""A libtorrent (python3-libtorrent, Debian) peer driven over JSON lines, for interop tests and benches.

Run with Debian's /usr/bin/python3. Listens on 127.0.0.1 only; DHT, LSD, UPnP and NAT-PMP are off.
stdin: one JSON command per line, {"id": n, "cmd": ..., ...}; stdout: one JSON object per line, either a
reply {"id": n, "ok": true, ...} / {"id": n, "ok": false, "error": "..."} or an event {"event": ...}.

Options (argv): --tcp/--no-tcp, --utp/--no-utp, --port N (0 = any free port), --seed-mode-defaults.
Commands:
  add        {torrent: path | magnet: uri, save_path, seed_mode?, paused?, sequential?, upload_mode?}
             -> {info_hash}
  connect    {info_hash, ip, port}
  status     {info_hash} -> {state, progress, total_done, total_wanted, has_metadata, num_peers, num_seeds,
             download_rate, upload_rate, total_upload, total_download, pieces, peers: [...]}
  create     {path, out, piece_length?, trackers?, web_seeds?, private?, mode: "v1"|"hybrid"|"v2", comment?}
             -> {info_hash (v1), info_hash_v2?}
  torrent_file {info_hash} -> {bytes_hex} (metadata as a .torrent, once known)
  pause / resume / remove {info_hash, delete_files?}
  settings   {settings: {...}} applies a settings_pack dict
  quit
Events: listening {tcp_port, utp_port}, alert {type, message, info_hash?}, for the alerts tests care about.
"""
import json
import queue
import sys
import threading
import time

import libtorrent as lt

ALERTS = {
    'torrent_finished_alert', 'metadata_received_alert', 'metadata_failed_alert', 'hash_failed_alert',
    'peer_ban_alert', 'peer_connect_alert', 'peer_disconnected_alert', 'peer_error_alert',
    'torrent_error_alert', 'file_error_alert', 'listen_failed_alert', 'listen_succeeded_alert',
    'incoming_connection_alert', 'peer_blocked_alert', 'tracker_error_alert', 'tracker_reply_alert',
    'add_torrent_alert', 'piece_finished_alert', 'torrent_checked_alert', 'invalid_request_alert',
    'block_timeout_alert', 'scrape_reply_alert', 'scrape_failed_alert', 'udp_error_alert',
}


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def parse_args(argv):
    opts = {'tcp': True, 'utp': True, 'port': 0}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--no-tcp':
            opts['tcp'] = False
        elif a == '--no-utp':
            opts['utp'] = False
        elif a == '--port':
            opts['port'] = int(argv[i + 1])
            i += 1
        i += 1
    return opts


def make_session(opts):
    s = lt.high_performance_seed()
    s.update({
        'listen_interfaces': '127.0.0.1:%d' % opts['port'],
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        # every peer in a loopback test is 127.0.0.1
        'allow_multiple_connections_per_ip': True,
        'enable_incoming_utp': opts['utp'],
        'enable_outgoing_utp': opts['utp'],
        'enable_incoming_tcp': opts['tcp'],
        'enable_outgoing_tcp': opts['tcp'],
        # a tracker hands libtorrent its own address; keep re-dials of real peers quick (INTEROP.md)
        'min_reconnect_time': 2,
        # plaintext out, anything in: no MSE/PE round trip before the BitTorrent handshake
        'out_enc_policy': int(lt.enc_policy.pe_disabled),
        'in_enc_policy': int(lt.enc_policy.pe_enabled),
        'alert_mask': lt.alert.category_t.all_categories,
        'alert_queue_size': 100000,
        'user_agent': 'libtorrent-interop-test',
        'announce_to_all_trackers': True,
        'announce_to_all_tiers': True,
    })
    ses = lt.session(s)
    return ses


def v1_hex(handle):
    ih = handle.info_hashes()
    return str(ih.v1) if ih.has_v1() else str(ih.v2)[:40]


def peer_list(handle):
    res = []
    for p in handle.get_peer_info():
        res.append({
            'ip': p.ip[0], 'port': p.ip[1], 'client': p.client.decode('utf-8', 'replace')
            if isinstance(p.client, bytes) else str(p.client),
            'pid': str(p.pid),
            'seed': bool(p.flags & lt.peer_info.seed),
            # python3-libtorrent 2.0.8 does not bind peer_info.utp_socket (bit 17 of peer_flags_t)
            'utp': bool(p.flags & getattr(lt.peer_info, 'utp_socket', 1 << 17)),
            'outgoing': bool(p.flags & lt.peer_info.outgoing_connection),
            'source': int(p.source), 'pex': bool(p.source & lt.peer_info.pex),
            'total_download': p.total_download, 'total_upload': p.total_upload,
            'num_hashfails': p.num_hashfails,
            # MSE/PE: 'rc4' (RC4 after the handshake), 'plaintext' (MSE handshake, then plaintext), or 'none'
            'encryption': 'rc4' if p.flags & lt.peer_info.rc4_encrypted else
            'plaintext' if p.flags & lt.peer_info.plaintext_encrypted else 'none',
        })
    return res


class Peer:
    def __init__(self, opts):
        self.ses = make_session(opts)
        self.handles = {}

    def handle(self, ih):
        h = self.handles.get(ih)
        if h is None:
            raise KeyError('unknown info_hash %s' % ih)
        return h

    def cmd_add(self, c):
        if 'torrent' in c:
            atp = lt.add_torrent_params()
            atp.ti = lt.torrent_info(c['torrent'])
        else:
            atp = lt.parse_magnet_uri(c['magnet'])
        atp.save_path = c.get('save_path', '.')
        flags = atp.flags
        flags &= ~lt.torrent_flags.auto_managed
        flags &= ~lt.torrent_flags.paused
        if c.get('seed_mode'):
            flags |= lt.torrent_flags.seed_mode
        if c.get('paused'):
            flags |= lt.torrent_flags.paused
        if c.get('sequential'):
            flags |= lt.torrent_flags.sequential_download
        if c.get('upload_mode'):
            flags |= lt.torrent_flags.upload_mode
        atp.flags = flags
        h = self.ses.add_torrent(atp)
        ih = v1_hex(h)
        self.handles[ih] = h
        return {'info_hash': ih}

    def cmd_connect(self, c):
        self.handle(c['info_hash']).connect_peer((c['ip'], int(c['port'])))
        return {}

    def cmd_status(self, c):
        h = self.handle(c['info_hash'])
        st = h.status()
        return {
            'state': str(st.state), 'progress': st.progress, 'total_done': st.total_done,
            'total_wanted': st.total_wanted, 'has_metadata': st.has_metadata,
            'num_peers': st.num_peers, 'num_seeds': st.num_seeds, 'is_seeding': st.is_seeding,
            'download_rate': st.download_rate, 'upload_rate': st.upload_rate,
            'total_upload': st.total_payload_upload, 'total_download': st.total_payload_download,
            'pieces': [bool(x) for x in st.pieces] if c.get('pieces') else None,
            'errc': str(st.errc.message()) if st.errc.value() else None,
            'peers': peer_list(h),
        }

    def cmd_torrent_file(self, c):
        h = self.handle(c['info_hash'])
        ti = h.torrent_file()
        if ti is None:
            raise RuntimeError('no metadata yet')
        ct = lt.create_torrent(ti)
        return {'bytes_hex': lt.bencode(ct.generate()).hex()}

    def cmd_create(self, c):
        fs = lt.file_storage()
        lt.add_files(fs, c['path'])
        mode = c.get('mode', 'v1')
        flags = 0
        if mode == 'v1':
            flags = lt.create_torrent.v1_only
        elif mode == 'v2':
            flags = lt.create_torrent.v2_only
        ct = lt.create_torrent(fs, int(c.get('piece_length', 0)), flags=flags)
        for i, t in enumerate(c.get('trackers', [])):
            ct.add_tracker(t, i)
        for w in c.get('web_seeds', []):
            ct.add_url_seed(w)
        if c.get('private'):
            ct.set_priv(True)
        if c.get('comment'):
            ct.set_comment(c['comment'])
        import os
        lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(c['path'])))
        data = lt.bencode(ct.generate())
        with open(c['out'], 'wb') as f:
            f.write(data)
        ti = lt.torrent_info(c['out'])
        ih = ti.info_hashes()
        return {'info_hash': str(ih.v1) if ih.has_v1() else None,
                'info_hash_v2': str(ih.v2) if ih.has_v2() else None}

    def cmd_pause(self, c):
        self.handle(c['info_hash']).pause()
        return {}

    def cmd_resume(self, c):
        self.handle(c['info_hash']).resume()
        return {}

    def cmd_remove(self, c):
        h = self.handles.pop(c['info_hash'])
        self.ses.remove_torrent(h, lt.session.delete_files if c.get('delete_files') else 0)
        return {}

    def cmd_settings(self, c):
        self.ses.apply_settings(c['settings'])
        return {}

    def pump_alerts(self):
        for a in self.ses.pop_alerts():
            name = type(a).__name__
            if name == 'listen_succeeded_alert':
                continue
            if name in ALERTS:
                ev = {'event': 'alert', 'type': name, 'message': a.message()}
                h = getattr(a, 'handle', None)
                if h is not None and h.is_valid():
                    try:
                        ev['info_hash'] = v1_hex(h)
                    except Exception:
                        pass
                out(ev)


def main():
    opts = parse_args(sys.argv[1:])
    peer = Peer(opts)
    # Wait for the listen sockets, then report the port (TCP and uTP share it).
    deadline = time.time() + 10
    while peer.ses.listen_port() == 0 and time.time() < deadline:
        time.sleep(0.01)
    port = peer.ses.listen_port()
    out({'event': 'listening', 'tcp_port': port if opts['tcp'] else None, 'utp_port': port if opts['utp'] else None})

    cmds = queue.Queue()

    def reader():
        for line in sys.stdin:
            line = line.strip()
            if line:
                cmds.put(line)
        cmds.put(None)

    threading.Thread(target=reader, daemon=True).start()
    while True:
        try:
            line = cmds.get(timeout=0.05)
        except queue.Empty:
            peer.pump_alerts()
            continue
        if line is None:
            break
        try:
            c = json.loads(line)
        except ValueError as e:
            out({'ok': False, 'error': 'bad json: %s' % e})
            continue
        if c.get('cmd') == 'quit':
            out({'id': c.get('id'), 'ok': True})
            break
        fn = getattr(peer, 'cmd_' + str(c.get('cmd')), None)
        try:
            if fn is None:
                raise ValueError('unknown command %s' % c.get('cmd'))
            res = fn(c)
            res['id'] = c.get('id')
            res['ok'] = True
            out(res)
        except Exception as e:  # report, keep serving
            out({'id': c.get('id'), 'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})
        peer.pump_alerts()


if __name__ == '__main__':
    main()
