#!/usr/bin/env bash
# Fan-out: what each additional edge costs PostgreSQL and itself. For each
# edge count in EDGE_COUNTS (1 3 8): a throwaway PostgreSQL (pg_start:
# wal_level=logical, 20 slots, 20 senders), one control plane and N edges
# e1..eN (DNS and API on 127.0.0.2 ... 127.0.0.(N+1); cluster_start), a
# NAMES-name zone (genzone.py) created through the API, then:
#
#   1. idle: IDLE_S seconds with no changes (only the leader's heartbeat
#      and the edges' status rows, each once a second, are written);
#   2. load: `propagation.py sustained` offers RATE single-RRset changes/s
#      (PUT of one A RRset) for DURATION s over WORKERS connections; every
#      PROBE_EVERY-th change is probed: the time from the PUT's response
#      until every edge answers the new address. The window ends when the
#      control plane's SOA serial has risen by the number of changes (one
#      per change, counted from a warm-up change made first; when the load
#      falls behind and propagation.py stops sending, 1 s after the serial
#      last moved), before propagation.py's end comparison starts querying
#      the edges; that comparison (every edge equal to the control plane)
#      still runs, and its verdict is printed.
#   3. unpublished writes: UNPUB_TXNS single-row transactions (one DO block
#      committing after each INSERT) on a table of the database zonecast
#      that no publication holds, as fast as PostgreSQL takes them; the
#      window ends when every slot has confirmed the position after them.
#      What this costs the walsenders is decoding the edges never receive
#      (the backend that ran the DO block has exited and is not counted).
#
# CPU is utime+stime (clock ticks of /proc/PID/stat, 1/CLK_TCK s each) over
# each window, per process:
#   walsender   postmaster children whose cmdline says "walsender" (one per
#               edge: its slot zonecast_edge_NAME is decoded there);
#   cp backend  client backends of application_name "zonecast" (the control
#               plane's connections);
#   edge backend client backends of application_name "zonecast-edge" (the
#               edges' normal connections: status row once a second);
#   pg other    the postmaster and PostgreSQL's background processes
#               (walwriter, checkpointer, autovacuum, ...);
#   edge        each edge's process (all threads); its RSS at the window's end;
#   cp, loadgen the control plane and the load generator (with its probe and
#               sampler processes), which share the machine's cores.
# WAL: pg_current_wal_lsn() at the end minus at the start of the window.
# Decoded: pg_stat_replication_slots.total_bytes, summed over the slots.
#
# Environment (defaults in brackets):
#   EDGE_COUNTS  edge counts to run, one cluster each ["1 3 8"]
#   RATE         changes/s offered [200]
#   DURATION     seconds of load [30]
#   WORKERS      parallel HTTP connections of the load generator [8]
#   NAMES        names in the generated zone [10000]
#   PROBE_EVERY  probe every this many changes [10]
#   SAMPLE_MS    health/metrics sampling period of propagation.py, ms [1000]
#   IDLE_S       seconds of the idle window [10]
#   SETTLE_S     how long propagation.py waits for convergence afterwards [120]
#   UNPUB_TXNS   transactions of step 3 [10000]; 0: no step 3
#   ZONECAST_ARGS, EDGE_ARGS  extra `zonecast serve` / `zonecast edge` arguments [""]
#   ZONECAST_BIN  a built zonecast [unset: cargo build --release]
#   BENCH_DIR, KEEP=1  as in the other scripts (per edge count a directory nN)
#
# Output: `#` header lines, then per edge count the raw "key value" lines
# (also in BENCH_DIR/nN/idle.txt, load.txt, unpub.txt), then one table.
set -euo pipefail

EDGE_COUNTS="${EDGE_COUNTS:-1 3 8}"
RATE="${RATE:-200}"
DURATION="${DURATION:-30}"
WORKERS="${WORKERS:-8}"
NAMES="${NAMES:-10000}"
PROBE_EVERY="${PROBE_EVERY:-10}"
SAMPLE_MS="${SAMPLE_MS:-1000}"
IDLE_S="${IDLE_S:-10}"
SETTLE_S="${SETTLE_S:-120}"
UNPUB_TXNS="${UNPUB_TXNS:-10000}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
EDGE_ARGS="${EDGE_ARGS:-}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
need_tool python3 "apt-get install python3"
for n in RATE DURATION WORKERS NAMES PROBE_EVERY SAMPLE_MS IDLE_S SETTLE_S UNPUB_TXNS; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a number, not '${!n}'"
done
for n in $EDGE_COUNTS; do
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 18 ] || die "EDGE_COUNTS: '$n' is not an edge count from 1 to 18"
done
[ "$RATE" -gt 0 ] && [ "$DURATION" -gt 0 ] && [ "$WORKERS" -gt 0 ] && [ "$PROBE_EVERY" -gt 0 ] \
    && [ "$SAMPLE_MS" -gt 0 ] || die "RATE, DURATION, WORKERS, PROBE_EVERY and SAMPLE_MS must be above 0"
[ "$NAMES" -ge 2000 ] || die "NAMES must be at least 2000 (500 names are reserved for probes)"

make_bench_dir
ROOT="$BENCH_DIR"
# bench_cleanup removes BENCH_DIR: point it at the top directory again.
trap 'BENCH_DIR="$ROOT"; bench_cleanup' EXIT
trap 'exit 130' INT TERM
TOKEN="bench-$RANDOM$RANDOM"
build_zonecast
mkdir -p "$ROOT/bin"
cp "$ZONECAST_BIN" "$ROOT/bin/zonecast"
ZONECAST_BIN="$ROOT/bin/zonecast"
"$ZONECAST_BIN" edge --help >/dev/null 2>&1 || die "this zonecast has no 'edge' command"
CLK_TCK="$(getconf CLK_TCK)"

# The helper: snapshots of /proc, the SOA serial watch, the figures.
HELPER="$ROOT/fanout_helper.py"
cat >"$HELPER" <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["FANOUT_BENCH"])
from propagation import bulk_query  # noqa: E402


def procs():
    """{pid: (ppid, ticks, rss_kib, cmdline)} of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            rest = st[st.rindex(")") + 2:].split()
            ppid, ticks = int(rest[1]), int(rest[11]) + int(rest[12])
            rss = 0
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        out[int(d)] = (ppid, ticks, rss, cmd)
    return out


def tree(ps, root):
    keep, changed = {root}, True
    while changed:
        changed = False
        for p, v in ps.items():
            if p not in keep and v[0] in keep:
                keep.add(p)
                changed = True
    return [p for p in keep if p in ps]


def snap(a):
    """snap OUT POSTMASTER CP LOADGEN|- NAME=PID...: one line per process of interest."""
    out, pm, cp, lg = a[0], int(a[1]), int(a[2]), a[3]
    edges = [x.split("=") for x in a[4:]]
    t = time.monotonic()
    ps = procs()
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    lines = [f"time {t:.6f}", f"machine_busy {sum(cpu) - cpu[3] - cpu[4]}", f"machine_total {sum(cpu)}"]

    def add(pid, cls, label):
        v = ps[pid]
        lines.append(f"proc {pid} {cls} {label} {v[1]} {v[2]} {v[3]}")

    if pm in ps:
        add(pm, "pg_postmaster", "-")
    for pid, v in ps.items():
        if v[0] == pm:
            add(pid, "walsender" if "walsender" in v[3] else "pg_child", "-")
    for pid in tree(ps, cp):
        add(pid, "cp", "cp")
    if lg != "-":
        for pid in tree(ps, int(lg)):
            add(pid, "loadgen", "loadgen")
    for name, pid in edges:
        for p in tree(ps, int(pid)):
            add(p, "edge", name)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def serial(spec, zone):
    r = bulk_query(spec, [zone.rstrip(".") + "."], qtype=6, tries=3).get(zone.rstrip(".") + ".")
    return r[2] if r else None


def cmd_serial(a):
    s = serial(a[0], a[1])
    if s is None:
        sys.exit("no SOA answer")
    print(s)


def cmd_put(a):
    """put API_PORT TOKEN ZONE NAME VALUE: PUT NAME's A RRset to VALUE, then
    waits until SPEC (the control plane's DNS) serves a serial other than S0;
    prints that serial."""
    from benchtool import Api
    port, token, zone, name, value, spec, s0 = a[0], a[1], a[2], a[3], a[4], a[5], int(a[6])
    status, body = Api(int(port), token).request(
        "PUT", f"/v1/zones/{zone}/rrsets/{name}/A", {"ttl": 300, "records": [value]})
    if status != 200:
        sys.exit(f"PUT {name} answered {status}: {body[:200]!r}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        s = serial(spec, zone)
        if s is not None and s != s0:
            print(s)
            return
        time.sleep(0.01)
    sys.exit("the serial did not move after the warm-up change")


def cmd_wait_serial(a):
    """wait-serial SPEC ZONE S1 CHANGES PID DURATION: each change raises the
    SOA serial by one from S1 (the serial after a warm-up change); waits until
    it reaches S1 + CHANGES, PID has exited, or (after DURATION s) the serial
    has not moved for 1 s."""
    spec, zone, s1, changes, pid, duration = a[0], a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5])
    t0 = time.monotonic()
    last, moved = s1, time.monotonic()
    while True:
        s = serial(spec, zone)
        now = time.monotonic()
        if s is not None and s != last:
            last, moved = s, now
        if s is not None and s >= s1 + changes:
            print(f"reached serial {s} ({s1} + {changes} changes)")
            return
        if not os.path.exists(f"/proc/{pid}"):
            print(f"load generator ended at serial {last} (target {s1 + changes})")
            return
        if now - t0 > duration and now - moved > 1:
            print(f"stalled at serial {last} (target {s1 + changes})")
            return
        time.sleep(0.05)


def read_snap(path):
    d = {"proc": {}, "act": {}, "slot": {}}
    with open(path) as f:
        for line in f:
            t = line.rstrip("\n").split(" ", 6)
            if t[0] == "proc":
                d["proc"][int(t[1])] = (t[2], t[3], int(t[4]), int(t[5]), t[6] if len(t) > 6 else "")
            elif t[0] == "act":
                p = line.rstrip("\n").split("|")
                d["act"][int(p[0].split()[1])] = (p[1], p[2] if len(p) > 2 else "")
            elif t[0] == "slot":
                p = line.rstrip("\n").split("|")
                d["slot"][p[0].split()[1]] = [int(x or 0) for x in p[1:]]
            else:
                d[t[0]] = float(t[1]) if t[0] == "time" else int(t[1])
    return d


def cmd_figures(a):
    """figures KIND N A B [SUSTAINED]: key value lines of one window."""
    kind, n, A, B = a[0], int(a[1]), read_snap(a[2]), read_snap(a[3])
    tck = int(os.environ["FANOUT_CLK_TCK"])
    kv = {}
    if len(a) > 4:
        with open(a[4]) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition(" ")
                kv[k] = v
    dt = B["time"] - A["time"]
    changes = int(kv.get("changes_ok", 0)) if kind in ("load", "unpub") else 0
    out = [("window", kind), ("edges", n), ("seconds", f"{dt:.3f}")]
    if kind in ("load", "unpub"):
        out += [("changes", changes), ("achieved_rate", kv.get("achieved_rate")),
                ("errors", kv.get("errors"))]
    ticks, counts, gone, edge_t, edge_rss, ws = {}, {}, 0, {}, {}, {}
    for pid, (cls, label, t_b, rss, cmd) in B["proc"].items():
        prev = A["proc"].get(pid)
        t_a = prev[2] if prev and prev[0] == cls else 0
        if cls == "pg_child":
            bt, app = B["act"].get(pid, ("", ""))
            if bt == "client backend" and app == "zonecast":
                cls = "cp_backend"
            elif bt == "client backend" and app == "zonecast-edge":
                cls = "edge_backend"
            else:
                cls = "pg_other"
        if cls == "pg_postmaster":
            cls = "pg_other"
        d = t_b - t_a
        ticks[cls] = ticks.get(cls, 0) + d
        counts[cls] = counts.get(cls, 0) + 1
        if cls == "edge":
            edge_t[label] = edge_t.get(label, 0) + d
            edge_rss[label] = edge_rss.get(label, 0) + rss
        if cls == "walsender":
            ws[pid] = d
    for pid, v in A["proc"].items():
        if pid not in B["proc"]:
            gone += 1
    wal = B["lsn"] - A["lsn"]
    dec = sum(B["slot"].get(s, [0] * 4)[1] - A["slot"].get(s, [0] * 4)[1] for s in B["slot"])
    spill = sum(B["slot"].get(s, [0] * 4)[3] - A["slot"].get(s, [0] * 4)[3] for s in B["slot"])
    busy = (B["machine_busy"] - A["machine_busy"]) / max(1, B["machine_total"] - A["machine_total"])
    ncpu = os.cpu_count()

    def sec(t):
        return t / tck

    out += [("processes_gone_during_window", gone), ("walsender_processes", counts.get("walsender", 0)),
            ("slots", len(B["slot"])),
            ("machine_busy_pct", f"{busy * 100:.1f} of {ncpu} CPUs")]
    for cls in ("walsender", "cp_backend", "edge_backend", "pg_other", "edge", "cp", "loadgen"):
        out.append((f"cpu_s_{cls}", f"{sec(ticks.get(cls, 0)):.2f}"))
    for pid, d in sorted(ws.items()):
        out.append((f"cpu_s_walsender_pid_{pid}", f"{sec(d):.2f}"))
    for lab in sorted(edge_t, key=lambda x: int(x[1:])):
        out.append((f"cpu_s_edge_{lab}", f"{sec(edge_t[lab]):.2f}"))
        out.append((f"rss_mib_edge_{lab}", f"{edge_rss[lab] / 1024:.1f}"))
    out += [("wal_bytes", wal), ("decoded_bytes_all_slots", dec), ("spill_bytes_all_slots", spill)]
    rss = [edge_rss[x] / 1024 for x in edge_t]
    et = [sec(edge_t[x]) for x in edge_t]
    if kind in ("load", "unpub") and changes:
        us = lambda t: sec(t) / changes * 1e6  # noqa: E731
        out += [("us_per_change_walsender_total", f"{us(ticks.get('walsender', 0)):.0f}"),
                ("us_per_change_walsender_per_edge", f"{us(ticks.get('walsender', 0)) / n:.0f}"),
                ("us_per_change_cp_backend", f"{us(ticks.get('cp_backend', 0)):.0f}"),
                ("us_per_change_edge_backend", f"{us(ticks.get('edge_backend', 0)):.0f}"),
                ("us_per_change_pg_other", f"{us(ticks.get('pg_other', 0)):.0f}"),
                ("us_per_change_edge_mean", f"{sum(et) / len(et) / changes * 1e6:.0f}"),
                ("us_per_change_edge_max", f"{max(et) / changes * 1e6:.0f}"),
                ("us_per_change_cp", f"{us(ticks.get('cp', 0)):.0f}"),
                ("us_per_change_loadgen", f"{us(ticks.get('loadgen', 0)):.0f}"),
                ("wal_bytes_per_change", f"{wal / changes:.0f}"),
                ("decoded_bytes_per_change_per_slot", f"{dec / changes / n:.0f}")]
        for k in () if kind == "unpub" else ("probe_all_count", "probe_all_timeouts", "probe_all_p50_ms", "probe_all_p99_ms",
                  "probe_all_max_ms", "put_p50_ms", "put_p99_ms", "max_behind_schedule_ms", "all_equal"):
            out.append((k, kv.get(k)))
        lags = [v for k, v in kv.items() if k.startswith("lag_") and k.endswith("_max_ms")]
        out.append(("edge_lag_max_ms_max", max((float(x) for x in lags if x not in ("n/a", None)), default="n/a")))
    else:
        out += [("ms_per_s_walsender_per_edge", f"{sec(ticks.get('walsender', 0)) / dt / n * 1e3:.2f}"),
                ("ms_per_s_edge_mean", f"{sum(et) / len(et) / dt * 1e3:.2f}"),
                ("ms_per_s_pg_all", f"{sec(sum(ticks.get(c, 0) for c in ('walsender', 'cp_backend', 'edge_backend', 'pg_other'))) / dt * 1e3:.2f}"),
                ("wal_bytes_per_s", f"{wal / dt:.0f}")]
    out += [("edge_rss_mib_mean", f"{sum(rss) / len(rss):.1f}"), ("edge_rss_mib_max", f"{max(rss):.1f}")]
    for k, v in out:
        print(k, v)


def cmd_table(a):
    """table DIR N...: one table of the nN/load.txt and nN/idle.txt files."""
    rows = []
    for n in a[1:]:
        kv = {}
        for kind in ("load", "idle", "unpub"):
            path = os.path.join(a[0], f"n{n}", f"{kind}.txt")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition(" ")
                    kv[f"{kind}.{k}"] = v
        rows.append(kv)
    cols = [
        ("edges", "load.edges"), ("changes", "load.changes"), ("chg/s", "load.achieved_rate"),
        ("walsnd us/chg", "load.us_per_change_walsender_total"),
        ("walsnd us/chg/edge", "load.us_per_change_walsender_per_edge"),
        ("cp-backend us/chg", "load.us_per_change_cp_backend"),
        ("edge-backend us/chg", "load.us_per_change_edge_backend"),
        ("pg-other us/chg", "load.us_per_change_pg_other"),
        ("edge us/chg mean", "load.us_per_change_edge_mean"), ("edge us/chg max", "load.us_per_change_edge_max"),
        ("edge RSS MiB max", "load.edge_rss_mib_max"),
        ("WAL B/chg", "load.wal_bytes_per_change"), ("decoded B/chg/slot", "load.decoded_bytes_per_change_per_slot"),
        ("probe p50 ms", "load.probe_all_p50_ms"), ("probe p99 ms", "load.probe_all_p99_ms"),
        ("probe max ms", "load.probe_all_max_ms"), ("probes", "load.probe_all_count"),
        ("cp us/chg", "load.us_per_change_cp"), ("loadgen us/chg", "load.us_per_change_loadgen"),
        ("busy %", "load.machine_busy_pct"),
        ("idle walsnd ms/s/edge", "idle.ms_per_s_walsender_per_edge"), ("idle WAL B/s", "idle.wal_bytes_per_s"),
        ("unpub walsnd us/txn/edge", "unpub.us_per_change_walsender_per_edge"),
        ("unpub WAL B/txn", "unpub.wal_bytes_per_change"), ("unpub edge us/txn", "unpub.us_per_change_edge_mean"),
        ("equal", "load.all_equal"),
    ]
    print("| " + " | ".join(c[0] for c in cols) + " |")
    print("|" + "|".join("---:" for _ in cols) + "|")
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "?")).split(" of ")[0] for _, k in cols) + " |")


{"snap": snap, "serial": cmd_serial, "put": cmd_put, "wait-serial": cmd_wait_serial,
 "figures": cmd_figures, "table": cmd_table}[sys.argv[1]](sys.argv[2:])
PY
helper() { FANOUT_BENCH="$HERE" FANOUT_CLK_TCK="$CLK_TCK" python3 "$HELPER" "$@"; }

# pg_zc SQL: psql on the database zonecast.
pg_zc() {
    pg_cmd "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d zonecast -c "$1"
}

# snapshot FILE [LOADGEN_PID]: CPU ticks and RSS of every process of interest
# first, then the WAL position, backend types and slot statistics.
snapshot() {
    local file="$1" lg="${2:--}" pm edges=() i
    pm="$(head -n 1 "$PG_DIR/data/postmaster.pid")"
    for i in "${!EDGE_NAMES[@]}"; do edges+=("${EDGE_NAMES[$i]}=${EDGE_PIDS[$i]}"); done
    helper snap "$file" "$pm" "$CP_PID" "$lg" "${edges[@]}"
    echo "lsn $(pg_psql "SELECT pg_current_wal_lsn() - '0/0'")" >>"$file"
    pg_psql "SELECT pid, backend_type, coalesce(application_name, '') FROM pg_stat_activity WHERE pid <> pg_backend_pid()" \
        | sed 's/^/act /' >>"$file"
    pg_psql "SELECT slot_name, total_txns, total_bytes, spill_txns, spill_bytes FROM pg_stat_replication_slots" \
        | sed 's/^/slot /' >>"$file"
}

print_header EDGE_COUNTS RATE DURATION WORKERS NAMES PROBE_EVERY SAMPLE_MS IDLE_S SETTLE_S UNPUB_TXNS ZONECAST_ARGS EDGE_ARGS
printf '# load average at start: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '# CLK_TCK %s (CPU resolution %s ms per process); the load generator, PostgreSQL, the control plane and every edge share these CPUs\n' \
    "$CLK_TCK" "$((1000 / CLK_TCK))"

note "generating $ORIGIN with $NAMES names"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$ROOT/gen" >/dev/null
ZONE="$ROOT/gen/$ORIGIN.zone"
[ -s "$ZONE" ] || die "genzone.py did not write $ZONE"
TOTAL=$((RATE * DURATION))

for N in $EDGE_COUNTS; do
    BENCH_DIR="$ROOT/n$N"
    mkdir -p "$BENCH_DIR"
    cp "$ZONE" "$BENCH_DIR/$ORIGIN.zone"
    echo "$ORIGIN" >"$BENCH_DIR/zones.list"
    note "=== $N edge(s)"
    cluster_start "$N"
    run_child python3 "$HERE/benchtool.py" create --port "$CP_API_PORT" --token "$TOKEN" \
        --list "$BENCH_DIR/zones.list" --dir "$BENCH_DIR" >"$BENCH_DIR/create.txt" \
        || die "POST /v1/zones failed (log: $CP_LOG)"
    cluster_wait_edges
    SERVERS_DNS="$(joined , "${EDGE_DNS[@]}")"
    run_child python3 "$HERE/propagation.py" wait-answer --servers "$SERVERS_DNS" --name "ns1.$ORIGIN." \
        --value 192.0.2.1 --timeout 600 || die "the edges do not answer the zone"
    echo "PostgreSQL $PG_VERSION" >"$BENCH_DIR/pg_version.txt"
    pg_zc "SELECT pubname, schemaname || '.' || tablename FROM pg_publication_tables ORDER BY 1, 2" \
        >"$BENCH_DIR/publications.txt"
    sleep 2

    note "$N edge(s): idle for $IDLE_S s"
    snapshot "$BENCH_DIR/idle.a"
    sleep "$IDLE_S"
    snapshot "$BENCH_DIR/idle.b"
    helper figures idle "$N" "$BENCH_DIR/idle.a" "$BENCH_DIR/idle.b" >"$BENCH_DIR/idle.txt"

    # One change first, so that the serial (which may jump to a date-based
    # one at the first change) rises by exactly one per change of the load.
    S0="$(helper serial "127.0.0.1:$CP_DNS_PORT" "$ORIGIN")"
    S1="$(helper put "$CP_API_PORT" "$TOKEN" "$ORIGIN" fanout-warmup 192.0.2.77 "127.0.0.1:$CP_DNS_PORT" "$S0")"
    run_child python3 "$HERE/propagation.py" wait-answer --servers "$SERVERS_DNS" --name "fanout-warmup.$ORIGIN." \
        --value 192.0.2.77 --timeout 60 || die "the edges do not answer the warm-up change"
    note "$N edge(s): $RATE changes/s for $DURATION s (serial $S1 before)"
    snapshot "$BENCH_DIR/load.a"
    python3 "$HERE/propagation.py" sustained --api-port "$CP_API_PORT" --token "$TOKEN" \
        --zone "$ORIGIN" --zone-file "$BENCH_DIR/$ORIGIN.zone" --rate "$RATE" --duration "$DURATION" \
        --workers "$WORKERS" --servers "$SERVERS_DNS" --labels "$(joined , "${EDGE_NAMES[@]}")" \
        --health "$(joined , "${EDGE_API[@]}")" --cp-dns "127.0.0.1:$CP_DNS_PORT" \
        --out-dir "$BENCH_DIR" --probe-every "$PROBE_EVERY" --sample-ms "$SAMPLE_MS" --settle "$SETTLE_S" \
        >"$BENCH_DIR/sustained.txt" 2>"$BENCH_DIR/sustained.log" &
    LG_PID=$!
    BG_PIDS+=("$LG_PID")
    helper wait-serial "127.0.0.1:$CP_DNS_PORT" "$ORIGIN" "$S1" "$TOTAL" "$LG_PID" "$DURATION" \
        >"$BENCH_DIR/window_end.txt"
    snapshot "$BENCH_DIR/load.b" "$LG_PID"
    note "$N edge(s): window ended ($(cat "$BENCH_DIR/window_end.txt")); waiting for the end comparison"
    rc=0
    wait "$LG_PID" || rc=$?
    [ "$rc" = 0 ] || note "propagation.py sustained exited $rc (see $BENCH_DIR/sustained.txt, sustained.log)"
    helper figures load "$N" "$BENCH_DIR/load.a" "$BENCH_DIR/load.b" "$BENCH_DIR/sustained.txt" >"$BENCH_DIR/load.txt"
    for i in "${!EDGE_PIDS[@]}"; do
        kill -0 "${EDGE_PIDS[$i]}" 2>/dev/null || note "${EDGE_NAMES[$i]} is no longer running (log: ${EDGE_LOGS[$i]})"
    done
    if [ "$UNPUB_TXNS" -gt 0 ]; then
        # Writes the edges do not follow: single-row transactions on a table
        # of the same database that no publication holds. Ends when every
        # slot has confirmed the position after them.
        note "$N edge(s): $UNPUB_TXNS single-row transactions on an unpublished table"
        pg_zc "CREATE TABLE fanout_unpublished (id bigint PRIMARY KEY, v text)" >/dev/null
        sleep 1
        snapshot "$BENCH_DIR/unpub.a"
        pg_zc "DO \$\$ BEGIN FOR i IN 1..$UNPUB_TXNS LOOP
                 INSERT INTO fanout_unpublished VALUES (i, md5(i::text)); COMMIT; END LOOP; END \$\$" >/dev/null
        end_lsn="$(pg_psql "SELECT pg_current_wal_lsn()")"
        for _ in $(seq 600); do
            [ "$(pg_psql "SELECT count(*) FROM pg_replication_slots WHERE confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < '$end_lsn'")" = 0 ] && break
            sleep 0.2
        done
        snapshot "$BENCH_DIR/unpub.b"
        echo "changes_ok $UNPUB_TXNS" >"$BENCH_DIR/unpub.count"
        helper figures unpub "$N" "$BENCH_DIR/unpub.a" "$BENCH_DIR/unpub.b" "$BENCH_DIR/unpub.count" >"$BENCH_DIR/unpub.txt"
    fi
    printf '\n## %s edge(s)\n' "$N"
    sed 's/^/idle./' "$BENCH_DIR/idle.txt"
    sed 's/^/load./' "$BENCH_DIR/load.txt"
    [ ! -f "$BENCH_DIR/unpub.txt" ] || sed 's/^/unpub./' "$BENCH_DIR/unpub.txt"
    stop_bg_all
    pg_stop
done

printf '\n# %s changes/s offered for %s s, %s names, %s; us = CPU microseconds per change\n' \
    "$RATE" "$DURATION" "$NAMES" "$(cat "$ROOT/n${EDGE_COUNTS##* }/pg_version.txt")"
# shellcheck disable=SC2086 # EDGE_COUNTS is a list
helper table "$ROOT" $EDGE_COUNTS
