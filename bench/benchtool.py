#!/usr/bin/env python3
"""Helpers of the bench/ scripts: a start-up probe and API clients.

  benchtool.py wait --port P [--pidfile F] [--ready R] [--timeout S] (--zones-file F | ZONE...)
      Polls SOA of every zone over UDP on 127.0.0.1:P from before the server
      starts (creates R once its socket is ready). Prints "FIRST ALL": the
      wall-clock times (seconds since the epoch) at which the first zone and
      at which every zone had answered NOERROR with AA set. Until the server
      answers anything it sends a few queries every 5 ms; then 256 random
      pending zones every 20 ms, and when all of those answer, one pass over
      every pending zone. ALL is late by about one such pass (about 0.1 s for
      10,000 zones). Exits 3 if the pid in F dies, 2 on timeout.
  benchtool.py wait-api [--host H] --port P --pid PID [--timeout S]
      Waits until GET /v1/health on H [127.0.0.1] answers 200.
  benchtool.py writes --port P --token T --zone Z --zone-file F --count N --total M
                      --dns-port Q [--pid PID] [--seed S]
      N timed single-RRset PUTs over one keep-alive connection, alternating
      between replacing the A RRset of an existing name of F and adding a new
      name, then more of the same until M changes in all. Verifies over DNS that
      the last change of each phase is answered. Prints "key value" lines.
  benchtool.py create --port P --token T --list L --dir D
      POST /v1/zones for every zone named in L (zone file D/NAME.zone), in order.
  benchtool.py probe-create --port P --token T --template F --count N
      N times: create a new zone (F's content under a new name) through the
      API, timed, then delete it (not timed). Prints "key value" lines.
  benchtool.py secondary-create --port P --token T --zone Z --primary A:P
                                --key-name K --key-secret S [--algorithm A]
      POST /v1/tsig-keys (K, A [hmac-sha256], base64 secret S), then POST
      /v1/zones: Z as a secondary zone of A:P, transfers signed with K.
"""
import argparse
import http.client
import json
import math
import os
import random
import select
import socket
import struct
import sys
import time


SAMPLE = 256  # zones queried per round while a server loads

# --- DNS ---------------------------------------------------------------------

def wire_name(name):
    labels = [l for l in name.rstrip(".").split(".") if l]
    return b"".join(bytes([len(l)]) + l.encode("ascii") for l in labels) + b"\0"


def make_query(qid, wname, qtype):
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wname + struct.pack("!HH", qtype, 1)


def question_name(d):
    """The wire-format question name of a response, lowercased, or None."""
    off = 12
    while off < len(d):
        n = d[off]
        if n == 0:
            return d[12:off + 1].lower()
        if n & 0xC0:
            return None
        off += 1 + n
    return None


def skip_name(d, off):
    while True:
        n = d[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def query_a(port, name, tries=3):
    """The A records answered for name (a list of dotted quads), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        for _ in range(tries):
            qid = random.randrange(65536)
            s.sendto(make_query(qid, wire_name(name), 1), ("127.0.0.1", port))
            try:
                d, _ = s.recvfrom(65535)
            except socket.timeout:
                continue
            rid, flags, qd, an = struct.unpack("!HHHH", d[:8])
            if rid != qid:
                continue
            off = 12
            for _ in range(qd):
                off = skip_name(d, off) + 4
            out = []
            for _ in range(an):
                off = skip_name(d, off)
                rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", d[off:off + 10])
                off += 10
                if rtype == 1 and rdlen == 4:
                    out.append(".".join(str(b) for b in d[off:off + 4]))
                off += rdlen
            return out
        return None
    finally:
        s.close()


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def cmd_wait(a):
    zones = list(a.zones)
    if a.zones_file:
        with open(a.zones_file) as f:
            zones += [l.strip() for l in f if l.strip()]
    if not zones:
        sys.exit("wait: no zones")
    queries, index = [], {}
    for i, z in enumerate(zones):
        w = wire_name(z)
        index[w.lower()] = i
        queries.append(make_query(i & 0xFFFF, w, 6))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    except OSError:
        pass
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    dest = ("127.0.0.1", a.port)
    if a.ready:
        open(a.ready, "w").close()
    done = [False] * len(zones)
    pending = list(range(len(zones)))
    first = last = None
    up = False  # any answer at all (Knot answers SERVFAIL for zones not loaded yet)
    deadline = time.monotonic() + a.timeout
    pid = None
    rot = 0
    rnd = random.Random(1)

    def drain(wait):
        nonlocal first, last, up
        end = time.monotonic() + wait
        while True:
            try:
                d = s.recv(4096)
            except BlockingIOError:
                left = end - time.monotonic()
                if left <= 0:
                    return
                select.select([s], [], [], left)
                continue
            now = time.time()
            if len(d) < 12:
                continue
            up = True
            flags, _qd, an = struct.unpack("!HHH", d[2:8])
            if not flags & 0x8000 or flags & 0xF or not flags & 0x0400 or an == 0:
                continue
            i = index.get(question_name(d))
            if i is not None and not done[i]:
                done[i] = True
                last = now
                if first is None:
                    first = now

    def send(batch):
        for k, i in enumerate(batch):
            try:
                s.sendto(queries[i], dest)
            except (BlockingIOError, ConnectionRefusedError):
                pass
            if k % 128 == 127:
                drain(0)

    while pending:
        if time.monotonic() > deadline:
            print(f"wait: {len(pending)} of {len(zones)} zones not answering after {a.timeout} s",
                  file=sys.stderr)
            sys.exit(2)
        if pid is None and a.pidfile and os.path.exists(a.pidfile):
            with open(a.pidfile) as f:
                pid = int(f.read().strip())
        if pid is not None and proc_state(pid) in (None, "Z", "X"):
            print(f"wait: server process {pid} exited", file=sys.stderr)
            sys.exit(3)
        if not up:
            # Nothing listening yet: a few queries every 5 ms.
            send([pending[(rot + k) % len(pending)] for k in range(min(8, len(pending)))])
            rot += 8
            drain(0.005)
        else:
            # A sample of the pending zones every 20 ms; when the whole sample
            # answers, one pass over every pending zone.
            sample = pending if len(pending) <= SAMPLE else rnd.sample(pending, SAMPLE)
            send(sample)
            drain(0.02)
            if len(sample) < len(pending) and all(done[i] for i in sample):
                send([i for i in pending if not done[i]])
                drain(0.02)
        pending = [i for i in pending if not done[i]]
    print(f"{first:.6f} {last:.6f}")


# --- HTTP API ----------------------------------------------------------------

class Api:
    def __init__(self, port, token):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = None
        self.reconnects = -1

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                self.reconnects += 1
            try:
                self.conn.request(method, path, body=data, headers=self.headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError


def rate(count, secs):
    r = count / secs if secs > 0 else 0.0
    return f"{r:.2f}" if r < 10 else f"{r:.1f}"


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def rss_kib(pid):
    if not pid:
        return 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def a_owners(path):
    """Single-label owners with an A RRset in a zone file (as genzone.py writes them)."""
    out = []
    with open(path) as f:
        for line in f:
            if not line or line[0] in " \t$@*;_":
                continue
            t = line.split(None, 4)
            if len(t) < 4 or "." in t[0]:
                continue
            k = 1
            while k < len(t) - 1 and (t[k].isdigit() or t[k] in ("IN", "in")):
                k += 1
            if t[k] == "A":
                out.append(t[0])
    return out


def progress(label, done, total, t0):
    el = time.monotonic() - t0
    print(f"    {label}: {done}/{total} in {el:.1f} s ({done / el if el else 0:.1f}/s)",
          file=sys.stderr, flush=True)


def cmd_writes(a):
    rnd = random.Random(a.seed)
    owners = a_owners(a.zone_file)
    if not owners:
        sys.exit(f"writes: no names with an A RRset in {a.zone_file}")
    api = Api(a.port, a.token)
    tag = f"{rnd.getrandbits(24):06x}"
    total = max(a.total, a.count)
    out = {"rss_before_kib": rss_kib(a.pid), "candidates": len(owners)}
    lat = []
    changed = 0
    last = None
    t0 = time.monotonic()
    tick = t0
    phase_end = t0
    for i in range(total):
        value = f"100.{64 + ((i >> 16) & 63)}.{(i >> 8) & 255}.{i & 255}"
        name = rnd.choice(owners) if i % 2 == 0 else f"new{tag}x{i}"
        path = f"/v1/zones/{a.zone}/rrsets/{name}/A"
        s = time.perf_counter()
        status, body = api.request("PUT", path, {"ttl": 300, "records": [value]})
        el = time.perf_counter() - s
        if status != 200:
            sys.exit(f"writes: PUT {path} answered {status}: {body[:300]!r}")
        if json.loads(body).get("changed"):
            changed += 1
        last = (name, value)
        if i < a.count:
            lat.append(el)
        now = time.monotonic()
        if now - tick >= 10:
            tick = now
            progress("writes", i + 1, total, t0)
        if i + 1 == a.count:
            phase_end = now
            answer = query_a(a.dns_port, f"{name}.{a.zone}")
            out["verify"] = "ok" if answer == [value] else f"FAILED({answer})"
            out["rss_after_count_kib"] = rss_kib(a.pid)
    t_end = time.monotonic()
    answer = query_a(a.dns_port, f"{last[0]}.{a.zone}")
    lat.sort()
    secs = phase_end - t0
    out.update({
        "count": a.count, "seconds": f"{secs:.3f}", "rate": rate(a.count, secs),
        "p50_ms": f"{percentile(lat, 0.5) * 1e3:.2f}", "p99_ms": f"{percentile(lat, 0.99) * 1e3:.2f}",
        "max_ms": f"{lat[-1] * 1e3 if lat else 0:.2f}",
        "last_name": f"{last[0]}.{a.zone}", "last_value": last[1],
        "total": total, "total_seconds": f"{t_end - t0:.3f}",
        "total_rate": rate(total, t_end - t0),
        "changed": changed, "reconnects": api.reconnects,
        "verify_total": "ok" if answer == [last[1]] else f"FAILED({answer})",
        "rss_after_total_kib": rss_kib(a.pid),
    })
    for k, v in out.items():
        print(k, v)


def cmd_create(a):
    with open(a.list) as f:
        names = [l.strip() for l in f if l.strip()]
    texts = []
    for n in names:
        with open(os.path.join(a.dir, n + ".zone")) as f:
            texts.append(f.read())
    api = Api(a.port, a.token)
    lat = []
    t0 = tick = time.monotonic()
    for k, (n, text) in enumerate(zip(names, texts)):
        s = time.perf_counter()
        status, body = api.request("POST", "/v1/zones", {"name": n, "zonefile": text})
        lat.append(time.perf_counter() - s)
        if status != 201:
            sys.exit(f"create: POST /v1/zones {n} answered {status}: {body[:300]!r}")
        now = time.monotonic()
        if now - tick >= 10:
            tick = now
            progress("create", k + 1, len(names), t0)
    secs = time.monotonic() - t0
    lat.sort()
    for k, v in (("count", len(names)), ("seconds", f"{secs:.3f}"),
                 ("rate", rate(len(names), secs)),
                 ("p50_ms", f"{percentile(lat, 0.5) * 1e3:.2f}"),
                 ("p99_ms", f"{percentile(lat, 0.99) * 1e3:.2f}"),
                 ("max_ms", f"{lat[-1] * 1e3 if lat else 0:.2f}"),
                 ("last_ms", f"{lat and lat[-1] * 1e3:.2f}")):
        print(k, v)


def cmd_probe_create(a):
    with open(a.template) as f:
        lines = [l for l in f if not l.startswith("$ORIGIN")]
    rnd = random.Random()
    tag = f"{rnd.getrandbits(24):06x}"
    api = Api(a.port, a.token)
    lat = []
    for i in range(a.count):
        name = f"probe{i}-{tag}.bench"
        text = f"$ORIGIN {name}.\n" + "".join(lines)
        s = time.perf_counter()
        status, body = api.request("POST", "/v1/zones", {"name": name, "zonefile": text})
        lat.append(time.perf_counter() - s)
        if status != 201:
            sys.exit(f"probe-create: POST /v1/zones {name} answered {status}: {body[:300]!r}")
        status, body = api.request("DELETE", f"/v1/zones/{name}")
        if status != 204:
            sys.exit(f"probe-create: DELETE /v1/zones/{name} answered {status}: {body[:300]!r}")
    s = sorted(lat)
    for k, v in (("count", a.count), ("median_ms", f"{percentile(s, 0.5) * 1e3:.2f}"),
                 ("min_ms", f"{s[0] * 1e3:.2f}"), ("p90_ms", f"{percentile(s, 0.9) * 1e3:.2f}"),
                 ("max_ms", f"{s[-1] * 1e3:.2f}")):
        print(k, v)


def cmd_secondary_create(a):
    api = Api(a.port, a.token)
    status, body = api.request("POST", "/v1/tsig-keys",
                               {"name": a.key_name, "algorithm": a.algorithm, "secret": a.key_secret})
    if status not in (200, 201):
        sys.exit(f"secondary-create: POST /v1/tsig-keys answered {status}: {body[:300]!r}")
    zone = {"name": a.zone, "kind": "secondary", "primaries": [a.primary], "tsig_key": a.key_name,
            "allow_transfer": [a.primary.rsplit(":", 1)[0]]}
    status, body = api.request("POST", "/v1/zones", zone)
    if status != 201:
        sys.exit(f"secondary-create: POST /v1/zones answered {status}: {body[:300]!r}")


def cmd_wait_api(a):
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        if proc_state(a.pid) in (None, "Z", "X"):
            sys.exit(f"wait-api: server process {a.pid} exited")
        try:
            c = http.client.HTTPConnection(a.host, a.port, timeout=2)
            c.request("GET", "/v1/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.01)
    sys.exit(f"wait-api: no API on {a.host}:{a.port} after {a.timeout} s")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wait")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--pidfile")
    w.add_argument("--ready")
    w.add_argument("--timeout", type=float, default=1800)
    w.add_argument("--zones-file")
    w.add_argument("zones", nargs="*")
    wa = sub.add_parser("wait-api")
    wa.add_argument("--host", default="127.0.0.1")
    wa.add_argument("--port", type=int, required=True)
    wa.add_argument("--pid", type=int, required=True)
    wa.add_argument("--timeout", type=float, default=1800)
    sc = sub.add_parser("secondary-create")
    sc.add_argument("--port", type=int, required=True)
    sc.add_argument("--token", required=True)
    sc.add_argument("--zone", required=True)
    sc.add_argument("--primary", required=True)
    sc.add_argument("--key-name", required=True)
    sc.add_argument("--key-secret", required=True)
    sc.add_argument("--algorithm", default="hmac-sha256")
    for name in ("writes", "create", "probe-create"):
        c = sub.add_parser(name)
        c.add_argument("--port", type=int, required=True)
        c.add_argument("--token", required=True)
        if name == "writes":
            c.add_argument("--zone", required=True)
            c.add_argument("--zone-file", required=True)
            c.add_argument("--count", type=int, required=True)
            c.add_argument("--total", type=int, default=0)
            c.add_argument("--dns-port", type=int, required=True)
            c.add_argument("--pid", type=int, default=0)
            c.add_argument("--seed", type=int, default=1)
        elif name == "create":
            c.add_argument("--list", required=True)
            c.add_argument("--dir", required=True)
        else:
            c.add_argument("--template", required=True)
            c.add_argument("--count", type=int, default=20)
    a = p.parse_args()
    {"wait": cmd_wait, "wait-api": cmd_wait_api, "writes": cmd_writes, "create": cmd_create,
     "probe-create": cmd_probe_create, "secondary-create": cmd_secondary_create}[a.cmd](a)


if __name__ == "__main__":
    main()
