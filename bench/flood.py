#!/usr/bin/env python3
"""A spoofed-source UDP flood for bench/rrl.sh.

  flood.py amplify SERVER PORT SECONDS QNAME QTYPE [VICTIMS]
      A reflection attack as the victim sees it: queries for QNAME/QTYPE
      sent as fast as one process can from VICTIMS (16) addresses of one
      /24 (127.0.50.1 and on: on Linux every 127/8 address is local, so
      "spoofed" sources need no raw sockets), the answers read back on
      those addresses. Prints one JSON line: queries, answers (full and
      truncated), bytes in and out with 28 octets of IPv4+UDP headers per
      datagram, and the amplification factor (bytes to the victim per byte
      the attacker sent).
"""
import json
import socket
import struct
import sys
import time

HDR = 28  # IPv4 (20) + UDP (8)
TYPES = {"A": 1, "NS": 2, "TXT": 16, "AAAA": 28, "ANY": 255, "DNSKEY": 48}


def query(qid, qname, qtype):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in qname.rstrip(".").split(".")) + b"\0"
    # RD off, EDNS with a 4096 payload (the server caps it at 1232).
    head = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    opt = b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)
    return head + wire + struct.pack(">HH", qtype, 1) + opt


def amplify(server, port, seconds, qname, qtype, victims=16):
    socks = []
    for i in range(victims):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.50.{i + 1}", 0))
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks.append(s)
    dest = (server, port)
    msgs = [query(i, qname, TYPES[qtype]) for i in range(256)]
    sent = sent_bytes = 0
    full = truncated = got_bytes = 0
    end = time.monotonic() + seconds

    def drain(s):
        nonlocal full, truncated, got_bytes
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                return
            got_bytes += len(data) + HDR
            if len(data) > 2 and data[2] & 0x02:
                truncated += 1
            else:
                full += 1

    while time.monotonic() < end:
        for s in socks:
            for _ in range(8):
                m = msgs[sent & 255]
                try:
                    s.sendto(m, dest)
                except BlockingIOError:
                    break
                sent += 1
                sent_bytes += len(m) + HDR
            drain(s)
    time.sleep(0.3)
    for s in socks:
        drain(s)
    print(json.dumps({
        "queries": sent, "qps": round(sent / seconds), "answers_full": full,
        "answers_truncated": truncated, "bytes_in": sent_bytes, "bytes_out": got_bytes,
        "amplification": round(got_bytes / max(sent_bytes, 1), 3),
    }))


def main():
    mode = sys.argv[1]
    if mode == "amplify":
        server, port, secs, qname, qtype = sys.argv[2:7]
        victims = int(sys.argv[7]) if len(sys.argv) > 7 else 16
        amplify(server, int(port), float(secs), qname, qtype, victims)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
