#!/usr/bin/python3
"""libtorrent (python3-libtorrent, Debian) as the reference for .torrent files. Run with /usr/bin/python3.

One command per run, JSON on stdout:
  info <file.torrent>
      -> {info_hash, name, num_pieces, piece_length, total_size, files: [{path, size, pad}]}
         or {error} when libtorrent refuses the torrent
  make <path> <out.torrent> <v1|hybrid|v2> <piece_length> [tracker]
      -> {info_hash, info_hash_v2?}   (hybrid/v2 torrents get BEP 47 pad files from libtorrent)
  verify <file.torrent> <save_path>
      -> {num_pieces, have, seeding}  (libtorrent hash-checks the data on disk against the torrent)
No network: the session listens on 127.0.0.1 only, with DHT, LSD, UPnP and NAT-PMP off.
"""
import json
import os
import sys
import time

import libtorrent as lt


def info(path):
    try:
        ti = lt.torrent_info(path)
    except Exception as e:  # libtorrent refuses the file
        return {"error": str(e)}
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        files.append({
            "path": fs.file_path(i),
            "size": fs.file_size(i),
            "pad": bool(fs.file_flags(i) & lt.file_storage.flag_pad_file),
        })
    return {
        "info_hash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "num_pieces": ti.num_pieces(),
        "piece_length": ti.piece_length(),
        "total_size": ti.total_size(),
        "files": files,
    }


def make(path, out, mode, piece_length, tracker=None):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    flags = {"v1": lt.create_torrent.v1_only, "hybrid": 0, "v2": lt.create_torrent.v2_only}[mode]
    ct = lt.create_torrent(fs, int(piece_length), flags=flags)
    if tracker:
        ct.add_tracker(tracker)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    data = lt.bencode(ct.generate())
    with open(out, "wb") as f:
        f.write(data)
    ti = lt.torrent_info(out) if mode != "v2" else None
    res = {}
    if ti is not None:
        res["info_hash"] = str(ti.info_hashes().v1)
    return res


def verify(path, save_path):
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "alert_mask": 0,
    })
    ti = lt.torrent_info(path)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save_path
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    deadline = time.time() + 60
    while time.time() < deadline:
        s = h.status()
        if s.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data) and s.has_metadata:
            if s.state in (lt.torrent_status.seeding, lt.torrent_status.finished, lt.torrent_status.downloading):
                break
        time.sleep(0.05)
    s = h.status()
    return {"num_pieces": ti.num_pieces(), "have": s.num_pieces, "seeding": s.is_seeding}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    res = {"info": info, "make": make, "verify": verify}[cmd](*args)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
