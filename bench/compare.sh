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
#   ZONECAST_BIN      a built zonecast to run [unset: cargo build --release]
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
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
for tool in python3 dnsperf kdig; do
    need_tool "$tool" "run scripts/test.sh, which installs the test packages"
done
for server in $SERVERS; do
    case "$server" in
        zonecast) [ -n "${ZONECAST_BIN:-}" ] || need_tool cargo "install Rust (or set ZONECAST_BIN)" ;;
        nsd) need_tool nsd "apt-get install nsd" ;;
        knot) need_tool knotd "apt-get install knot" ;;
        *) die "unknown server '$server' in SERVERS (zonecast, nsd, knot)" ;;
    esac
done

make_bench_dir
bench_traps

start_knot() {
    local port="$1" dir="$BENCH_DIR/knot"
    mkdir -p "$dir/db" "$dir/zones"
    {
        knot_conf "$dir" "$port" "$KNOT_UDP_WORKERS" 1
        cat <<EOF
zone:
  - domain: $ORIGIN.
    file: $ZONE
EOF
    } >"$dir/knot.conf"
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

note "generating $ORIGIN with $NAMES names in $BENCH_DIR"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
QUERIES="$BENCH_DIR/$ORIGIN.queries"
[ -s "$ZONE" ] && [ -s "$QUERIES" ] || die "genzone.py did not write $ZONE and $QUERIES"

if [[ " $SERVERS " == *" zonecast "* ]]; then
    build_zonecast
fi

TICKS="$(getconf CLK_TCK)"
RESULTS=()
for server in $SERVERS; do
    PORT="$(free_port)"
    note "$server: starting on 127.0.0.1:$PORT"
    "start_$server" "$PORT"
    start_time=$SECONDS
    wait_ready "$server" "$PORT" "$LOG" "$ORIGIN"
    note "$server: ready after $((SECONDS - start_time)) s; warming up for $WARMUP s"
    RESULTS+=("$(measure_dnsperf "$server" "$PORT")")
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
