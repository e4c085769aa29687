#!/usr/bin/env bash
# Throughput and CPU cost of zonecast against NSD and Knot DNS on the same
# generated zone, measured with dnsperf over UDP on 127.0.0.1.
# See bench/README.md for how to read the table.
#
# Environment (defaults in brackets):
#   NAMES      names in the generated zone [100000]
#   DURATION   seconds of each measured dnsperf run [20]
#   WARMUP     seconds of the unmeasured warm-up run [3]
#   CLIENTS    dnsperf clients (sockets) [10]
#   OUTSTANDING dnsperf maximum outstanding queries (-q) [500]
#   QPS        dnsperf -Q rate limit [unset: unthrottled]
#   SERVERS    which servers, in order ["zonecast nsd knot"]
#   KNOT_UDP_WORKERS  knotd udp-workers [2]
#   NSD_SERVER_COUNT  nsd server-count [2]
#   ZONECAST_ARGS     extra arguments to `zonecast serve` [""]
#   BENCH_DIR  where zone, queries, configs and logs go [a new temp dir]
#   KEEP=1     keep BENCH_DIR afterwards
set -euo pipefail

NAMES="${NAMES:-100000}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CLIENTS="${CLIENTS:-10}"
OUTSTANDING="${OUTSTANDING:-500}"
QPS="${QPS:-}"
SERVERS="${SERVERS:-zonecast nsd knot}"
# Tuned on a 2-core machine where dnsperf takes about one core: NSD with
# server-count 2 did 67-85k q/s against 54-56k with 1; knotd with 2 UDP
# workers 73-78k against 56-73k with 1 (dnsperf -q 500, 100000 names). Two
# each gave each peer its best figure; raise them on bigger machines.
KNOT_UDP_WORKERS="${KNOT_UDP_WORKERS:-2}"
NSD_SERVER_COUNT="${NSD_SERVER_COUNT:-2}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
GENZONE="$HERE/../../shared/bench/genzone.py"

die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }
note() { printf '==> %s\n' "$*" >&2; }

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
export PATH="$PATH:/usr/sbin:/sbin"
for tool in python3 dnsperf kdig; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run scripts/test.sh, which installs the test packages"
done
for server in $SERVERS; do
    case "$server" in
        zonecast) command -v cargo >/dev/null 2>&1 || die "cargo not found" ;;
        nsd) command -v nsd >/dev/null 2>&1 || die "nsd not found: apt-get install nsd" ;;
        knot) command -v knotd >/dev/null 2>&1 || die "knotd not found: apt-get install knot" ;;
        *) die "unknown server '$server' in SERVERS (zonecast, nsd, knot)" ;;
    esac
done

if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zonecast-bench.XXXXXX")"
else
    mkdir -p "$BENCH_DIR"
fi
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"

SERVER_PID=""
cleanup() {
    stop_server
    if [ "${KEEP:-0}" = 1 ]; then
        note "kept $BENCH_DIR"
    else
        rm -rf "$BENCH_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port below 32768 free for UDP and TCP on 127.0.0.1.
free_port() {
    python3 - <<'PY'
import random, socket
for _ in range(1000):
    p = random.randrange(10000, 32000)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        u.bind(("127.0.0.1", p)); t.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        u.close(); t.close()
    print(p); break
else:
    raise SystemExit("no free port")
PY
}

# The pid and all its descendants.
tree_pids() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            keep[root] = 1; changed = 1
            while (changed) {
                changed = 0
                for (i in pids) { p = pids[i]; if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
            }
            for (p in keep) print p
        }'
}

# utime+stime in clock ticks, summed over the process tree (each /proc/PID/stat
# already sums the process's threads).
cpu_ticks() {
    local total=0 pid fields
    for pid in $(tree_pids "$1"); do
        fields="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null)" || continue
        # After the comm field: state is field 1, utime 12, stime 13.
        total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
    done
    echo "$total"
}

# VmRSS in KiB, summed over the process tree.
rss_kib() {
    local total=0 pid kib
    for pid in $(tree_pids "$1"); do
        kib="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Waits until the server answers SOA for the zone with AA set.
wait_ready() {
    local name="$1" port="$2" log="$3" deadline=$((SECONDS + 600))
    while [ "$SECONDS" -lt "$deadline" ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$log" >&2; die "$name exited before it was ready"; }
        if kdig @127.0.0.1 -p "$port" +norec +timeout=1 +retry=0 "$ORIGIN." SOA 2>/dev/null | grep -q 'status: NOERROR' \
            && kdig @127.0.0.1 -p "$port" +norec +timeout=1 +retry=0 "$ORIGIN." SOA 2>/dev/null | grep -q 'Flags: qr aa'; then
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$log" >&2
    die "$name not ready after 600 s"
}

start_knot() {
    local port="$1" dir="$BENCH_DIR/knot"
    mkdir -p "$dir/db" "$dir/zones"
    cat >"$dir/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: $dir
    pidfile: $dir/knot.pid
    udp-workers: $KNOT_UDP_WORKERS
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: $dir/db
control:
    listen: $dir/knot.sock
template:
  - id: default
    storage: $dir/zones
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: $ORIGIN.
    file: $ZONE
EOF
    knotd -c "$dir/knot.conf" >"$dir/knot.log" 2>&1 &
    SERVER_PID=$!
    LOG="$dir/knot.log"
}

start_nsd() {
    local port="$1" dir="$BENCH_DIR/nsd"
    mkdir -p "$dir"
    cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    zonesdir: "$dir"
    pidfile: "$dir/nsd.pid"
    database: ""
    username: ""
    chroot: ""
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    zonelistfile: "$dir/zone.list"
    server-count: $NSD_SERVER_COUNT
    verbosity: 0
    # Debian builds NSD with response rate limiting on (200 answers/s per
    # source /24): every dnsperf query comes from 127.0.0.1, so switch it off.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "$ORIGIN."
    zonefile: "$ZONE"
EOF
    nsd -d -c "$dir/nsd.conf" >"$dir/nsd.log" 2>&1 &
    SERVER_PID=$!
    LOG="$dir/nsd.log"
}

start_zonecast() {
    local port="$1" dir="$BENCH_DIR/zonecast" api=()
    mkdir -p "$dir"
    if "$ZONECAST_BIN" serve --help 2>/dev/null | grep -q -- '--api-listen'; then
        api=(--api-listen "127.0.0.1:$(free_port)")
    fi
    # shellcheck disable=SC2086 # ZONECAST_ARGS is split on purpose
    RUST_LOG="${RUST_LOG:-warn}" "$ZONECAST_BIN" serve --data-dir "$dir/data" --dns-listen "127.0.0.1:$port" \
        "${api[@]}" --zone-file "$ZONE" $ZONECAST_ARGS >"$dir/zonecast.log" 2>&1 &
    SERVER_PID=$!
    LOG="$dir/zonecast.log"
}

run_dnsperf() {
    local port="$1" seconds="$2" out="$3" qps=()
    [ -z "$QPS" ] || qps=(-Q "$QPS")
    # One dnsperf thread: on a small machine the rest is for the server.
    dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$seconds" -c "$CLIENTS" -T 1 \
        -q "$OUTSTANDING" -t 2 "${qps[@]}" >"$out" 2>&1 || { cat "$out" >&2; die "dnsperf failed"; }
}

# Field from dnsperf's summary, e.g. "Queries completed".
perf_field() {
    awk -v key="$2:" 'index($0, key) { sub(/^.*: */, ""); print $1; exit }' "$1"
}

note "generating $ORIGIN with $NAMES names in $BENCH_DIR"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
QUERIES="$BENCH_DIR/$ORIGIN.queries"
[ -s "$ZONE" ] && [ -s "$QUERIES" ] || die "genzone.py did not write $ZONE and $QUERIES"

if [[ " $SERVERS " == *" zonecast "* ]]; then
    note "building zonecast (release)"
    (cd "$REPO" && cargo build --release --bin zonecast) >&2
    ZONECAST_BIN="$REPO/target/release/zonecast"
fi

TICKS="$(getconf CLK_TCK)"
RESULTS=()
for server in $SERVERS; do
    PORT="$(free_port)"
    note "$server: starting on 127.0.0.1:$PORT"
    "start_$server" "$PORT"
    start_time=$SECONDS
    wait_ready "$server" "$PORT" "$LOG"
    note "$server: ready after $((SECONDS - start_time)) s; warming up for $WARMUP s"
    run_dnsperf "$PORT" "$WARMUP" "$BENCH_DIR/$server.warmup.txt"
    before="$(cpu_ticks "$SERVER_PID")"
    note "$server: measuring for $DURATION s"
    run_dnsperf "$PORT" "$DURATION" "$BENCH_DIR/$server.dnsperf.txt"
    after="$(cpu_ticks "$SERVER_PID")"
    rss="$(rss_kib "$SERVER_PID")"
    out="$BENCH_DIR/$server.dnsperf.txt"
    qps="$(perf_field "$out" "Queries per second")"
    sent="$(perf_field "$out" "Queries sent")"
    done_q="$(perf_field "$out" "Queries completed")"
    lost="$(perf_field "$out" "Queries lost")"
    RESULTS+=("$server $qps $sent $done_q $lost $((after - before)) $rss")
    stop_server
done

# Table and zonecast's ratios to the best peer (highest qps; lowest CPU per query).
printf '%s\n' "${RESULTS[@]}" | awk -v ticks="$TICKS" -v dur="$DURATION" -v clients="$CLIENTS" -v names="$NAMES" '
{
    name[NR] = $1; qps[NR] = $2; lost[NR] = ($3 > 0) ? 100 * $5 / $3 : 0
    cpu[NR] = ($4 > 0) ? ($6 / ticks) * 1e6 / $4 : 0; rss[NR] = $7 / 1024
}
END {
    printf "\n%d names, %d s per server, %d dnsperf clients, UDP on 127.0.0.1\n\n", names, dur, clients
    printf "%-10s %12s %8s %14s %10s\n", "server", "queries/s", "lost %", "CPU us/query", "RSS MiB"
    for (i = 1; i <= NR; i++)
        printf "%-10s %12.0f %8.2f %14.2f %10.1f\n", name[i], qps[i], lost[i], cpu[i], rss[i]
    z = 0; bq = 0; bc = 0
    for (i = 1; i <= NR; i++) {
        if (name[i] == "zonecast") { z = i; continue }
        if (qps[i] > bq) { bq = qps[i]; bqn = name[i] }
        if (cpu[i] > 0 && (bc == 0 || cpu[i] < bc)) { bc = cpu[i]; bcn = name[i] }
    }
    if (z && bq > 0)
        printf "\nzonecast / best peer: queries/s %.2fx (vs %s), CPU per query %.2fx (vs %s; lower is better)\n", qps[z] / bq, bqn, (bc > 0 ? cpu[z] / bc : 0), bcn
}'
