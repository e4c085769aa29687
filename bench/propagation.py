#!/usr/bin/env python3
"""Propagation measurements of bench/propagate.sh and bench/sustained.sh.

Times are CLOCK_MONOTONIC (time.monotonic(), the same clock in every process
of the machine). An answer's time is when its response was received, so a
figure is at most one round trip (tens of microseconds on loopback) late.

  propagation.py changes --servers A:P,... --labels L,... --name FQDN --count N
                         --side S --out FILE [--gap-ms G] [--timeout S] [--warmup W]
                         (--api-port P --token T --zone Z | --knotc SOCKET --zone Z)
      N changes of FQDN's A RRset, one at a time, each to a new address. With
      --api-port: PUT /v1/zones/Z/rrsets/FQDN/A over one keep-alive HTTP
      connection; time zero is when the response has been read. With --knotc:
      knotc zone-begin, zone-unset (the A RRset), zone-set, zone-commit; time
      zero is when `knotc zone-commit` has returned. Then every server is
      polled over UDP (one query in flight per server, sent again at once
      when the answer is still the old one, or after 50 ms without an answer)
      until each answers exactly the new address. Per change: the time until
      each server and until the last of them answered, and time zero on the
      wall clock (FILE, tab-separated).
      W unmeasured changes come first [5]; G ms pause between changes [10].
      Prints summary lines "propagation S LABEL STAT VALUE" (LABEL "all" is the
      last server to answer; "commit" the API's or knotc's own latency).
  propagation.py wait-answer --servers A:P,... --name FQDN --value V [--timeout S]
      Waits until every server answers FQDN A with exactly V (exit 2 on timeout).
  propagation.py xfr-report --side S [--zonecast-log F --api-port P --token T --zone Z]
                            [--knot-log F] [--skip-zonecast N] [--skip-knot N] [--changes TSV]
      The transfers in of a bench/secondary.sh round, from the logs (after
      their first N lines: the lines written before the changes began) and
      zonecast's GET /metrics and GET /v1/zones/Z/status: how many IXFR and
      AXFR each secondary applied, zonecast's IXFR fallbacks and, from
      zonecast's log (RUST_LOG=info), the transfer's own time (ms= of
      "transfer applied"). With the changes' TSV (time zero on the wall
      clock), per change from its log timestamps: time zero to "NOTIFY
      accepted", NOTIFY to "transfer applied", time zero to applied.
      Prints "xfr S SECONDARY KEY VALUE".
  propagation.py sustained --api-port P --token T --zone Z --zone-file F --rate R
                           --duration S --workers W --servers A:P,... --labels L,...
                           --health A:P,... --cp-dns A:P --out-dir D
                           [--probe-every K] [--sample-ms M] [--settle S]
      R changes/s for S seconds (change i is due at i/R s; none is sent later
      than S + 5 s, --grace, after the start), from W threads each with its
      own keep-alive connection: PUT of the A RRset of a random name of
      F that has one, to a new address. Every K-th change [10] goes to a name of
      a reserved pool of 500 and is probed: a separate process polls every
      server until each answers its new address (time from the PUT's response).
      A second process samples GET /v1/health (field lag_ms) and GET /metrics
      of every --health address every M ms [100]. When the writes are done:
      waits up to S s [120] until every server and the control plane's DNS
      listener (--cp-dns) answer the last address of every changed name, then
      compares the A RRset (rcode and addresses) of every name of F with an A
      RRset, and the SOA serial, on every server against --cp-dns, and the
      served serial and record count of GET /v1/zones/Z/status on every
      --health address against the control plane's. Prints "key value"
      lines; exit 1 when a server did not end equal.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import queue
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchtool import Api, a_owners, make_query, percentile, skip_name, wire_name  # noqa: E402

RESEND_S = 0.05  # a query without an answer is sent again after this


# --- DNS ---------------------------------------------------------------------

def parse_answer(d):
    """(id, rcode, sorted A addresses, SOA serial or None) of a response, or None."""
    if len(d) < 12:
        return None
    qid, flags, qd, an = struct.unpack("!HHHH", d[:8])
    if not flags & 0x8000:
        return None
    try:
        off = 12
        for _ in range(qd):
            off = skip_name(d, off) + 4
        addrs, serial = [], None
        for _ in range(an):
            off = skip_name(d, off)
            rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", d[off:off + 10])
            off += 10
            if rtype == 1 and rdlen == 4:
                addrs.append(".".join(str(b) for b in d[off:off + 4]))
            elif rtype == 6:
                e = skip_name(d, skip_name(d, off))
                serial = struct.unpack("!I", d[e:e + 4])[0]
            off += rdlen
    except (IndexError, struct.error):
        return None
    return qid, flags & 0xF, sorted(addrs), serial


def addr(spec):
    host, port = spec.rsplit(":", 1)
    return host, int(port)


def udp_to(spec):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(addr(spec))
    s.setblocking(False)
    return s


def recv_all(s):
    out = []
    while True:
        try:
            out.append(s.recv(65535))
        except BlockingIOError:
            return out
        except ConnectionRefusedError:
            continue


def send(s, data):
    try:
        s.send(data)
    except (BlockingIOError, ConnectionRefusedError):
        pass


def poll_value(socks, wname, want, t0, timeout):
    """Polls every socket until each answers exactly [want]; per socket the
    seconds from t0 to that answer (None when not within timeout)."""
    n = len(socks)
    got = [None] * n
    qid = [0] * n
    sent = [0.0] * n
    fileno = {s.fileno(): k for k, s in enumerate(socks)}

    def ask(k):
        qid[k] = random.randrange(65536)
        sent[k] = time.monotonic()
        send(socks[k], make_query(qid[k], wname, 1))

    for k in range(n):
        recv_all(socks[k])  # stale answers of an earlier round
        ask(k)
    left = n
    deadline = t0 + timeout
    while left:
        now = time.monotonic()
        if now > deadline:
            break
        ready, _, _ = select.select([socks[k] for k in range(n) if got[k] is None], [], [], 0.005)
        for s in ready:
            k = fileno[s.fileno()]
            for d in recv_all(s):
                t = time.monotonic()
                p = parse_answer(d)
                if p is None or p[0] != qid[k] or got[k] is not None:
                    continue
                if p[1] == 0 and p[2] == [want]:
                    got[k] = t - t0
                    left -= 1
                else:
                    ask(k)
        now = time.monotonic()
        for k in range(n):
            if got[k] is None and now - sent[k] > RESEND_S:
                ask(k)
    return got


def bulk_query(spec, names, qtype=1, window=256, tries=5):
    """{name: (rcode, addresses, serial)} for every name, pipelined over UDP; a
    name that never answered is missing."""
    s = udp_to(spec)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    except OSError:
        pass
    out = {}
    for _ in range(tries):
        todo = [n for n in names if n not in out]
        if not todo:
            break
        inflight = {}
        pos = 0
        next_id = random.randrange(65536)
        last_progress = time.monotonic()
        while pos < len(todo) or inflight:
            while pos < len(todo) and len(inflight) < window:
                next_id = (next_id + 1) & 0xFFFF
                if next_id in inflight:
                    break
                inflight[next_id] = todo[pos]
                send(s, make_query(next_id, wire_name(todo[pos]), qtype))
                pos += 1
            select.select([s], [], [], 0.05)
            got = False
            for d in recv_all(s):
                p = parse_answer(d)
                if p is None or p[0] not in inflight:
                    continue
                out[inflight.pop(p[0])] = (p[1], p[2], p[3])
                got = True
            now = time.monotonic()
            if got:
                last_progress = now
            elif now - last_progress > 0.5:
                break  # the rest is lost: the next try sends it again
    s.close()
    return out


def cmd_wait_answer(a):
    socks = [udp_to(x) for x in a.servers.split(",")]
    t0 = time.monotonic()
    got = poll_value(socks, wire_name(a.name), a.value, t0, a.timeout)
    if None in got:
        bad = [x for x, g in zip(a.servers.split(","), got) if g is None]
        sys.exit(f"wait-answer: {', '.join(bad)} did not answer {a.name} A {a.value} within {a.timeout} s")


# --- statistics ----------------------------------------------------------------

def stats(values, timeouts=0):
    v = sorted(values)
    return {
        "count": len(v), "timeouts": timeouts,
        "p50_ms": percentile(v, 0.5) * 1e3, "p90_ms": percentile(v, 0.9) * 1e3,
        "p99_ms": percentile(v, 0.99) * 1e3, "max_ms": (v[-1] if v else 0) * 1e3,
        "mean_ms": (sum(v) / len(v) if v else 0) * 1e3,
        "over_50ms": sum(1 for x in v if x > 0.05), "over_5ms": sum(1 for x in v if x > 0.005),
        "over_1s": sum(1 for x in v if x > 1.0),
    }


def print_stats(prefix, st):
    for k, x in st.items():
        print(f"{prefix} {k} {x:.3f}" if isinstance(x, float) else f"{prefix} {k} {x}")


# --- one change at a time ------------------------------------------------------

class Knotc:
    def __init__(self, socket_path, zone):
        self.base = ["knotc", "-s", socket_path]
        self.zone = zone.rstrip(".") + "."

    def run(self, *args):
        r = subprocess.run(self.base + list(args), capture_output=True, text=True)
        if r.returncode != 0 or "error" in r.stdout.lower():
            sys.exit(f"changes: knotc {' '.join(args)} failed ({r.returncode}): {r.stdout.strip()} {r.stderr.strip()}")

    def change(self, name, value):
        self.run("zone-begin", self.zone)
        self.run("zone-unset", self.zone, name, "A")
        self.run("zone-set", self.zone, name, "300", "A", value)
        s = time.monotonic()
        self.run("zone-commit", self.zone)
        t0 = time.monotonic()
        return t0, t0 - s


class ApiChanger:
    def __init__(self, port, token, zone):
        self.api = Api(port, token)
        self.zone = zone.rstrip(".")

    def change(self, name, value):
        path = f"/v1/zones/{self.zone}/rrsets/{name}/A"
        s = time.monotonic()
        status, body = self.api.request("PUT", path, {"ttl": 300, "records": [value]})
        t0 = time.monotonic()
        if status != 200:
            sys.exit(f"changes: PUT {path} answered {status}: {body[:300]!r}")
        return t0, t0 - s


def cmd_changes(a):
    servers = a.servers.split(",")
    labels = a.labels.split(",")
    if len(labels) != len(servers):
        sys.exit("changes: --labels must name every server")
    name = a.name.rstrip(".") + "."
    if a.knotc:
        changer = Knotc(a.knotc, a.zone)
    else:
        changer = ApiChanger(a.api_port, a.token, a.zone)
    socks = [udp_to(x) for x in servers]
    wname = wire_name(name)
    per = [[] for _ in servers]
    last, commit = [], []
    timeouts = [0] * len(servers)
    timeouts_all = 0
    out = open(a.out, "w")
    out.write("change\tvalue\tcommit_ms\t" + "\t".join(f"{x}_ms" for x in labels) + "\tall_ms\tt0_unix\n")
    t_start = time.monotonic()
    tick = t_start
    for i in range(-a.warmup, a.count):
        j = i + a.warmup + 1
        value = f"198.18.{(j >> 8) & 255}.{j & 255}"
        t0, took = changer.change(name, value)
        t0_unix = time.time() - (time.monotonic() - t0)  # time zero on the wall clock (log lines)
        got = poll_value(socks, wname, value, t0, a.timeout)
        if i >= 0:
            commit.append(took)
            for k, g in enumerate(got):
                if g is None:
                    timeouts[k] += 1
                else:
                    per[k].append(g)
            if None in got:
                timeouts_all += 1
            else:
                last.append(max(got))
            cells = "\t".join("timeout" if g is None else f"{g * 1e3:.3f}" for g in got)
            out.write(f"{i}\t{value}\t{took * 1e3:.3f}\t{cells}\t"
                      f"{'timeout' if None in got else f'{max(got) * 1e3:.3f}'}\t{t0_unix:.6f}\n")
        now = time.monotonic()
        if now - tick >= 10:
            tick = now
            print(f"    {a.side}: {i + 1}/{a.count} changes in {now - t_start:.1f} s",
                  file=sys.stderr, flush=True)
        if a.gap_ms:
            time.sleep(a.gap_ms / 1e3)
    out.close()
    print_stats(f"propagation {a.side} all", stats(last, timeouts_all))
    for k, lab in enumerate(labels):
        print_stats(f"propagation {a.side} {lab}", stats(per[k], timeouts[k]))
    print_stats(f"propagation {a.side} commit", stats(commit))
    if timeouts_all:
        sys.exit(f"changes: {timeouts_all} changes not answered by every server within {a.timeout} s")


# --- transfers in (bench/secondary.sh) ---------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def log_lines(path, skip):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [ANSI.sub("", l) for l in lines[skip:]]


def log_time(line):
    """Seconds since the epoch of a log line that starts with an RFC 3339 time, or None."""
    stamp = line.split(None, 1)[0].replace("Z", "+00:00") if line.strip() else ""
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def spread(values):
    v = sorted(values)
    return (f"p50 {percentile(v, 0.5) * 1e3:.1f} p99 {percentile(v, 0.99) * 1e3:.1f} "
            f"max {(v[-1] if v else 0) * 1e3:.1f} count {len(v)}")


def cmd_xfr_report(a):
    side = a.side
    if a.zonecast_log:
        pre = f"xfr {side} zonecast"
        kinds = {"IXFR": 0, "AXFR": 0}
        xfr_ms, notifies, applied = [], [], []
        fallbacks = 0
        for line in log_lines(a.zonecast_log, a.skip_zonecast):
            if "NOTIFY accepted" in line:
                notifies.append(log_time(line))
            elif "IXFR not used" in line:
                fallbacks += 1
            elif "transfer applied" in line:
                m = re.search(r'\bkind="?([A-Z]+)', line)
                if m:
                    kinds[m.group(1)] = kinds.get(m.group(1), 0) + 1
                m = re.search(r"\bms=(\d+)", line)
                if m:
                    xfr_ms.append(int(m.group(1)) / 1e3)
                applied.append(log_time(line))
        for k, v in kinds.items():
            print(f"{pre} {k.lower()} {v}")
        print(f"{pre} ixfr_fallbacks_logged {fallbacks}")
        print(f"{pre} notifies_accepted {len(notifies)}")
        print(f"{pre} transfer_ms {spread(xfr_ms)}")
        if a.changes:
            # Per measured change: its window runs from when `knotc zone-commit`
            # was started to when the next one was; the first NOTIFY accepted
            # and the first transfer applied in it, against time zero.
            rows = []
            with open(a.changes) as f:
                head = f.readline().rstrip("\n").split("\t")
                for line in f:
                    c = dict(zip(head, line.rstrip("\n").split("\t")))
                    if c.get("t0_unix"):
                        t0 = float(c["t0_unix"])
                        rows.append((t0, t0 - float(c["commit_ms"]) / 1e3))
            to_notify, to_applied, notify_to_applied = [], [], []
            for k, (t0, begin) in enumerate(rows):
                end = rows[k + 1][1] if k + 1 < len(rows) else float("inf")
                n = next((t for t in notifies if t is not None and begin <= t < end), None)
                ap = next((t for t in applied if t is not None and begin <= t < end), None)
                if n is not None:
                    to_notify.append(n - t0)
                if ap is not None:
                    to_applied.append(ap - t0)
                if n is not None and ap is not None:
                    notify_to_applied.append(ap - n)
            print(f"{pre} commit_to_notify_ms {spread(to_notify)}")
            print(f"{pre} notify_to_applied_ms {spread(notify_to_applied)}")
            print(f"{pre} commit_to_applied_ms {spread(to_applied)}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.api_port, timeout=10)
            c.request("GET", "/metrics", headers={"Authorization": f"Bearer {a.token}"})
            text = c.getresponse().read().decode(errors="replace")
            c.close()
        except (OSError, http.client.HTTPException):
            text = ""
        got = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].startswith("zonecast_secondary_") and parts[0].endswith("_total"):
                got[parts[0][len("zonecast_secondary_"):]] = parts[1]
        print(f"{pre} metrics_since_start " + " ".join(f"{k}={v}" for k, v in sorted(got.items())))
        st = zone_status(f"127.0.0.1:{a.api_port}", a.zone, a.token) or {}
        lt = (st.get("secondary") or {}).get("last_transfer") or {}
        print(f"{pre} status_last_transfer type={lt.get('type')} serial_to={lt.get('serial_to')} "
              f"duration_ms={lt.get('duration_ms')} records={lt.get('records')}")
    if a.knot_log:
        pre = f"xfr {side} knot"
        kinds = {"IXFR": 0, "AXFR": 0}
        fallbacks = 0
        for line in log_lines(a.knot_log, a.skip_knot):
            m = re.search(r"\] (IXFR|AXFR), incoming, .*finished", line)
            if m:
                kinds[m.group(1)] += 1
            if re.search(r"IXFR, incoming, .*fallback to AXFR", line):
                fallbacks += 1
        for k, v in kinds.items():
            print(f"{pre} {k.lower()} {v}")
        print(f"{pre} ixfr_fallbacks_logged {fallbacks}")


# --- sustained load --------------------------------------------------------------

def find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def lag_metrics(text):
    """Prometheus samples whose metric name mentions lag: {name{labels}: value}."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        parts = line.rsplit(None, 1)
        if len(parts) == 2 and "lag" in parts[0].split("{", 1)[0]:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def zone_status(spec, zone, token):
    """GET /v1/zones/ZONE/status as a dict, or None."""
    h, p = addr(spec)
    try:
        c = http.client.HTTPConnection(h, p, timeout=10)
        c.request("GET", f"/v1/zones/{zone}/status", headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        body = r.read()
        c.close()
        return json.loads(body) if r.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None


def sampler(health, labels, token, every, stop, out_dir):
    """Samples /v1/health and /metrics of every edge until stop is set."""
    conns = [None] * len(health)
    headers = {"Authorization": f"Bearer {token}"}
    samples = open(os.path.join(out_dir, "samples.jsonl"), "w")
    last_metrics = [None] * len(health)
    first_written = [False] * len(health)

    def get(k, path):
        for attempt in (0, 1):
            if conns[k] is None:
                h, p = addr(health[k])
                conns[k] = http.client.HTTPConnection(h, p, timeout=2)
            try:
                conns[k].request("GET", path, headers=headers)
                r = conns[k].getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                conns[k].close()
                conns[k] = None
                if attempt:
                    return None, b""
        return None, b""

    parent = os.getppid()
    t_next = time.monotonic()
    while not stop.is_set() and os.getppid() == parent:
        for k, lab in enumerate(labels):
            t = time.monotonic()
            status, body = get(k, "/v1/health")
            rec = {"t": t, "edge": lab, "health_status": status}
            try:
                h = json.loads(body)
                rec["lag_ms"] = find_key(h, "lag_ms")
                rec["ready"] = find_key(h, "ready")
                rec["connected"] = find_key(h, "connected")
                problems = find_key(h, "problems")
                rec["problems"] = len(problems) if isinstance(problems, list) else None
            except ValueError:
                rec["health_body"] = body[:200].decode("utf-8", "replace")
            mstatus, mbody = get(k, "/metrics")
            rec["metrics_status"] = mstatus
            if mstatus == 200:
                text = mbody.decode("utf-8", "replace")
                rec["lag_metrics"] = lag_metrics(text)
                last_metrics[k] = text
                if not first_written[k]:
                    with open(os.path.join(out_dir, f"metrics-first-{lab}.txt"), "w") as f:
                        f.write(text)
                    first_written[k] = True
            samples.write(json.dumps(rec) + "\n")
        t_next += every
        delay = t_next - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            t_next = time.monotonic()
    samples.close()
    for k, lab in enumerate(labels):
        if last_metrics[k] is not None:
            with open(os.path.join(out_dir, f"metrics-last-{lab}.txt"), "w") as f:
                f.write(last_metrics[k])


def prober(servers, inbox, out_dir, timeout):
    """Polls every server for each probed change (name, value, t0) until each
    answers the value; writes probes.tsv. A None in inbox ends it once every
    pending probe is done."""
    socks = [udp_to(x) for x in servers]
    n = len(socks)
    fileno = {s.fileno(): k for k, s in enumerate(socks)}
    probes = []           # [name, value, t0, got[], qid[], sent[]]
    by_qid = [dict() for _ in range(n)]
    next_id = [random.randrange(65536) for _ in range(n)]
    active = set()
    closing = False
    parent = os.getppid()
    out = open(os.path.join(out_dir, "probes.tsv"), "w", buffering=1)

    def ask(pi, k):
        p = probes[pi]
        old = p[4][k]
        if old is not None:
            by_qid[k].pop(old, None)
        q = next_id[k] = (next_id[k] + 1) & 0xFFFF
        by_qid[k][q] = pi
        p[4][k] = q
        p[5][k] = time.monotonic()
        send(socks[k], make_query(q, p[6], 1))

    def finish(pi):
        p = probes[pi]
        active.discard(pi)
        got = p[3]
        cells = "\t".join("timeout" if g is None else f"{g * 1e3:.3f}" for g in got)
        allv = "timeout" if None in got else f"{max(got) * 1e3:.3f}"
        out.write(f"{p[0]}\t{p[1]}\t{cells}\t{allv}\n")
        for k in range(n):
            if p[4][k] is not None:
                by_qid[k].pop(p[4][k], None)

    while True:
        # New probes.
        while True:
            try:
                item = inbox.get(timeout=0.05) if not active and not closing else inbox.get_nowait()
            except queue.Empty:
                break
            if item is None:
                closing = True
                break
            name, value, t0 = item
            probes.append([name, value, t0, [None] * n, [None] * n, [0.0] * n, wire_name(name)])
            pi = len(probes) - 1
            active.add(pi)
            for k in range(n):
                ask(pi, k)
        if closing and not active:
            break
        if os.getppid() != parent:
            break  # the writer was killed
        if not active:
            continue
        ready, _, _ = select.select(socks, [], [], 0.002)
        for s in ready:
            k = fileno[s.fileno()]
            for d in recv_all(s):
                t = time.monotonic()
                r = parse_answer(d)
                if r is None:
                    continue
                pi = by_qid[k].pop(r[0], None)
                if pi is None or pi not in active:
                    continue
                p = probes[pi]
                p[4][k] = None
                if r[1] == 0 and r[2] == [p[1]]:
                    p[3][k] = t - p[2]
                    if None not in p[3]:
                        finish(pi)
                else:
                    ask(pi, k)
        now = time.monotonic()
        for pi in list(active):
            p = probes[pi]
            if now - p[2] > timeout:
                finish(pi)
                continue
            for k in range(n):
                if p[3][k] is None and now - p[5][k] > RESEND_S:
                    ask(pi, k)
    out.close()


def cmd_sustained(a):
    servers = a.servers.split(",")
    labels = a.labels.split(",")
    health = a.health.split(",") if a.health else []
    zone = a.zone.rstrip(".")
    owners = a_owners(a.zone_file)
    if len(owners) < 1000:
        sys.exit(f"sustained: only {len(owners)} names with an A RRset in {a.zone_file}")
    rnd = random.Random(a.seed)
    pool = rnd.sample(owners, 500)
    pool_set = set(pool)
    rest = [o for o in owners if o not in pool_set]
    total = int(a.rate * a.duration)
    os.makedirs(a.out_dir, exist_ok=True)

    # SIGTERM (the script's cleanup) ends this process through SystemExit,
    # so that the helper processes see their parent gone and stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = mp.get_context("fork")
    stop = ctx.Event()
    samp = ctx.Process(target=sampler, args=(health, labels, a.token, a.sample_ms / 1e3, stop, a.out_dir))
    inbox = ctx.Queue()
    prob = ctx.Process(target=prober, args=(servers, inbox, a.out_dir, a.probe_timeout))
    if health:
        samp.start()
    prob.start()

    counter = iter(range(total))
    lock = threading.Lock()
    results = []  # per worker: dict
    answered = [0]  # changes answered so far (progress lines)
    t0 = time.monotonic() + 0.2

    def worker(w):
        api = Api(a.api_port, a.token)
        wr = random.Random(a.seed * 1000 + w)
        mine = rest[w::a.workers]
        lat, last, errors, behind = [], {}, [], 0.0
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = t0 + i / a.rate
            now = time.monotonic()
            if now > t0 + a.duration + a.grace:
                break  # out of time: the rest is not sent (changes_not_sent)
            if due > now:
                time.sleep(due - now)
            else:
                behind = max(behind, now - due)
            probe = i % a.probe_every == 0
            name = pool[(i // a.probe_every) % len(pool)] if probe else wr.choice(mine)
            value = f"100.{64 + ((i >> 16) & 63)}.{(i >> 8) & 255}.{i & 255}"
            s = time.monotonic()
            try:
                status, body = api.request("PUT", f"/v1/zones/{zone}/rrsets/{name}/A",
                                           {"ttl": 300, "records": [value]})
            except OSError as e:
                status, body = None, str(e).encode()
            t = time.monotonic()
            if status != 200:
                errors.append(f"{status} {body[:200]!r}")
                continue
            lat.append(t - s)
            answered[0] += 1
            try:
                ans = json.loads(body)
                order = (ans.get("seq") or 0, ans.get("serial_to") or 0, i)
            except (ValueError, AttributeError):
                order = (0, 0, i)
            if probe:
                inbox.put((f"{name}.{zone}.", value, t))
            prev = last.get(name)
            if prev is None or order >= prev[0]:
                last[name] = (order, value, i)
        with lock:
            results.append({"lat": lat, "last": last, "errors": errors, "behind": behind,
                            "reconnects": api.reconnects, "done_at": time.monotonic()})

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(a.workers)]
    for t in threads:
        t.start()
    tick = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        if time.monotonic() - tick >= 10:
            tick = time.monotonic()
            print(f"    sustained: {tick - t0:.0f} s of {a.duration:g}, {answered[0]} of {total} changes answered",
                  file=sys.stderr, flush=True)
    for t in threads:
        t.join()
    t_end = max(r["done_at"] for r in results)
    inbox.put(None)
    time.sleep(1.0)  # one more second of lag samples after the last write
    stop.set()
    prob.join()
    if health:
        samp.join()

    lat = sorted(x for r in results for x in r["lat"])
    errors = [e for r in results for e in r["errors"]]
    expected = {}
    for r in results:
        for name, (order, value, i) in r["last"].items():
            if name not in expected or order >= expected[name][0]:
                expected[name] = (order, value)
    secs = t_end - t0
    out = {
        "changes_asked": total, "changes_ok": len(lat), "errors": len(errors),
        "changes_not_sent": total - len(lat) - len(errors),
        "seconds": f"{secs:.3f}", "achieved_rate": f"{len(lat) / secs:.1f}" if secs > 0 else "0",
        "target_rate": f"{a.rate:g}", "workers": a.workers,
        "max_behind_schedule_ms": f"{max(r['behind'] for r in results) * 1e3:.1f}",
        "put_p50_ms": f"{percentile(lat, 0.5) * 1e3:.2f}", "put_p99_ms": f"{percentile(lat, 0.99) * 1e3:.2f}",
        "put_max_ms": f"{(lat[-1] if lat else 0) * 1e3:.2f}",
        "http_reconnects": sum(r["reconnects"] for r in results),
        "changed_names": len(expected),
    }
    if errors:
        out["first_error"] = errors[0].replace("\n", " ")

    # Probes.
    per = [[] for _ in servers]
    allv, ptimeouts = [], 0
    with open(os.path.join(a.out_dir, "probes.tsv")) as f:
        for line in f:
            cells = line.rstrip("\n").split("\t")[2:]
            for k, c in enumerate(cells[:-1]):
                if c != "timeout":
                    per[k].append(float(c) / 1e3)
            if cells[-1] == "timeout":
                ptimeouts += 1
            else:
                allv.append(float(cells[-1]) / 1e3)
    st = stats(allv, ptimeouts)
    for k, v in st.items():
        out[f"probe_all_{k}"] = f"{v:.3f}" if isinstance(v, float) else v
    for k, lab in enumerate(labels):
        s2 = stats(per[k])
        for key in ("p50_ms", "p99_ms", "max_ms"):
            out[f"probe_{lab}_{key}"] = f"{s2[key]:.3f}"

    # Lag samples.
    if health:
        lag = {lab: [] for lab in labels}
        bad = {lab: 0 for lab in labels}
        notready = {lab: 0 for lab in labels}
        disconnected = {lab: 0 for lab in labels}
        problems = {lab: 0 for lab in labels}
        mlag = {lab: {} for lab in labels}
        count = {lab: 0 for lab in labels}
        with open(os.path.join(a.out_dir, "samples.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                lab = r["edge"]
                count[lab] += 1
                if r.get("health_status") != 200:
                    bad[lab] += 1
                if r.get("ready") is False:
                    notready[lab] += 1
                if r.get("connected") is False:
                    disconnected[lab] += 1
                problems[lab] = max(problems[lab], r.get("problems") or 0)
                if isinstance(r.get("lag_ms"), (int, float)):
                    lag[lab].append(r["lag_ms"])
                for m, v in (r.get("lag_metrics") or {}).items():
                    mlag[lab][m] = max(mlag[lab].get(m, v), v)
        for lab in labels:
            out[f"lag_{lab}_samples"] = count[lab]
            out[f"lag_{lab}_max_ms"] = max(lag[lab]) if lag[lab] else "n/a"
            out[f"lag_{lab}_p99_ms"] = percentile(sorted(lag[lab]), 0.99) if lag[lab] else "n/a"
            out[f"lag_{lab}_health_not_200"] = bad[lab]
            out[f"lag_{lab}_not_ready"] = notready[lab]
            out[f"lag_{lab}_not_connected"] = disconnected[lab]
            out[f"lag_{lab}_max_problems"] = problems[lab]
            for m, v in sorted(mlag[lab].items()):
                out[f"metric_{lab}_max {m}"] = f"{v:g}"

    # Convergence on the changed names, then the full comparison.
    targets = servers + [a.cp_dns]
    tlabels = labels + ["control"]
    fq = {f"{n}.{zone}.": v for n, (_, v) in expected.items()}
    names = list(fq)
    conv_start = time.monotonic()
    pending = {k: names for k in range(len(targets))}
    conv = {}
    rounds = {k: 0 for k in pending}
    while pending and time.monotonic() - conv_start < a.settle:
        for k in list(pending):
            rounds[k] += 1
            ans = bulk_query(targets[k], pending[k])
            still = [n for n in pending[k] if ans.get(n, (None, None))[:2] != (0, [fq[n]])]
            if still:
                pending[k] = still
            else:
                del pending[k]
                conv[k] = time.monotonic() - t_end
        if pending:
            time.sleep(0.2)
    for k, lab in enumerate(tlabels):
        out[f"converged_{lab}"] = (f"yes, check {rounds[k]} ({'first' if rounds[k] == 1 else 'not the first'}"
                                   f" check; {conv[k]:.2f} s after the last write)" if k in conv
                                   else f"NO ({len(pending[k])} of {len(names)} changed names wrong)")
    all_names = [f"{o}.{zone}." for o in owners]
    ref = bulk_query(a.cp_dns, all_names)
    ref_soa = bulk_query(a.cp_dns, [zone + "."], qtype=6).get(zone + ".")
    out["compared"] = (f"A RRset (rcode and addresses) of all {len(all_names)} names with an A RRset "
                       f"in the zone file ({len(names)} of them changed) and the SOA serial, each edge "
                       f"against the control plane's DNS listener {a.cp_dns}; changed names also "
                       f"against the last address the API accepted")
    out["control_soa_serial"] = ref_soa[2] if ref_soa else "no answer"
    out["control_missing_answers"] = len(all_names) - len(ref)
    wrong_ref = sum(1 for n in names if ref.get(n, (None, None))[:2] != (0, [fq[n]]))
    out["control_changed_names_wrong"] = wrong_ref
    equal_all = wrong_ref == 0 and len(ref) == len(all_names) and ref_soa is not None
    for k, lab in enumerate(labels):
        got = bulk_query(servers[k], all_names)
        soa = bulk_query(servers[k], [zone + "."], qtype=6).get(zone + ".")
        diff = [n for n in all_names if got.get(n) is None or got.get(n)[:2] != ref.get(n, (None, None))[:2]]
        same_soa = soa is not None and ref_soa is not None and soa[2] == ref_soa[2]
        out[f"equal_{lab}"] = ("yes" if not diff and same_soa else
                               f"NO ({len(diff)} names differ, serial {soa[2] if soa else None} "
                               f"vs {ref_soa[2] if ref_soa else None}"
                               f"{', e.g. ' + diff[0] if diff else ''})")
        equal_all = equal_all and not diff and same_soa
    if health:
        cp = zone_status("127.0.0.1:%d" % a.api_port, zone, a.token)
        out["control_status"] = (f"served_serial {cp.get('served_serial')} record_count {cp.get('record_count')}"
                                 if cp else "no answer")
        for k, lab in enumerate(labels):
            st = zone_status(health[k], zone, a.token)
            same = (st is not None and cp is not None and st.get("served_serial") == cp.get("served_serial")
                    and st.get("record_count") == cp.get("record_count"))
            out[f"status_{lab}"] = ("same" if same else "DIFFERENT") + (
                f" (served_serial {st.get('served_serial')} record_count {st.get('record_count')})" if st else " (no answer)")
            equal_all = equal_all and same
    out["all_equal"] = "yes" if equal_all else "NO"
    for k, v in out.items():
        print(k, v)
    if not equal_all or pending:
        sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("changes")
    c.add_argument("--servers", required=True)
    c.add_argument("--labels", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--zone", required=True)
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--side", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--gap-ms", type=float, default=10)
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--warmup", type=int, default=5)
    c.add_argument("--api-port", type=int)
    c.add_argument("--token")
    c.add_argument("--knotc")
    w = sub.add_parser("wait-answer")
    w.add_argument("--servers", required=True)
    w.add_argument("--name", required=True)
    w.add_argument("--value", required=True)
    w.add_argument("--timeout", type=float, default=120)
    x = sub.add_parser("xfr-report")
    x.add_argument("--side", required=True)
    x.add_argument("--zonecast-log")
    x.add_argument("--api-port", type=int)
    x.add_argument("--token")
    x.add_argument("--zone")
    x.add_argument("--knot-log")
    x.add_argument("--skip-zonecast", type=int, default=0)
    x.add_argument("--skip-knot", type=int, default=0)
    x.add_argument("--changes")
    s = sub.add_parser("sustained")
    s.add_argument("--api-port", type=int, required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--zone", required=True)
    s.add_argument("--zone-file", required=True)
    s.add_argument("--rate", type=float, required=True)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--workers", type=int, default=8)
    s.add_argument("--servers", required=True)
    s.add_argument("--labels", required=True)
    s.add_argument("--health", default="")
    s.add_argument("--cp-dns", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--probe-every", type=int, default=10)
    s.add_argument("--probe-timeout", type=float, default=5)
    s.add_argument("--sample-ms", type=float, default=100)
    s.add_argument("--settle", type=float, default=120)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--grace", type=float, default=5)
    a = p.parse_args()
    if a.cmd == "changes" and not a.knotc and not (a.api_port and a.token):
        p.error("changes needs --knotc or --api-port and --token")
    {"changes": cmd_changes, "wait-answer": cmd_wait_answer, "sustained": cmd_sustained,
     "xfr-report": cmd_xfr_report}[a.cmd](a)


if __name__ == "__main__":
    main()
