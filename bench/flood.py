#!/usr/bin/env python3
"""UDP floods for bench/rrl.sh and bench/junk.sh.

  flood.py amplify SERVER PORT SECONDS QNAME QTYPE [VICTIMS]
      A reflection attack as the victim sees it: queries for QNAME/QTYPE
      sent as fast as one process can from VICTIMS (16) addresses of one
      /24 (127.0.50.1 and on: on Linux every 127/8 address is local, so
      "spoofed" sources need no raw sockets), the answers read back on
      those addresses. Prints one JSON line: queries, answers (full and
      truncated), bytes in and out with 28 octets of IPv4+UDP headers per
      datagram, and the amplification factor (bytes to the victim per byte
      the attacker sent).

  flood.py junk SERVER PORT SECONDS
      Junk as fast as one process can send it, from one socket, answers
      read and discarded: a mix of datagrams shorter than a DNS header,
      random bytes, headers with QR set (responses), queries without a
      question, questions cut short and datagrams over 4096 octets. Prints
      one JSON line: datagrams sent, per second, and answers received.
"""
import random
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


def junk_messages(n=1024, seed=7):
    rnd = random.Random(seed)
    good = query(1, "www.example.com", 1)
    out = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            m = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 12)))
        elif kind == 1:
            m = bytes(rnd.randrange(256) for _ in range(rnd.randrange(12, 512)))
        elif kind == 2:
            m = good[:2] + bytes([good[2] | 0x80]) + good[3:]
        elif kind == 3:
            m = struct.pack(">HHHHHH", i, 0, 0, 0, 0, 0)
        elif kind == 4:
            m = good[: rnd.randrange(13, len(good) - 1)]
        else:
            m = bytes(4200)
        out.append(m)
    return out


def junk(server, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.setblocking(False)
    dest = (server, port)
    msgs = junk_messages()
    sent = answers = 0
    end = time.monotonic() + seconds

    def drain():
        nonlocal answers
        while True:
            try:
                s.recv(65535)
            except BlockingIOError:
                return
            answers += 1

    while time.monotonic() < end:
        for _ in range(64):
            try:
                s.sendto(msgs[sent & 1023], dest)
            except BlockingIOError:
                break
            sent += 1
        drain()
    time.sleep(0.3)
    drain()
    print(json.dumps({"sent": sent, "pps": round(sent / seconds), "answers": answers}))


def main():
    mode = sys.argv[1]
    if mode == "junk":
        server, port, secs = sys.argv[2:5]
        junk(server, int(port), float(secs))
    elif mode == "amplify":
        server, port, secs, qname, qtype = sys.argv[2:7]
        victims = int(sys.argv[7]) if len(sys.argv) > 7 else 16
        amplify(server, int(port), float(secs), qname, qtype, victims)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
