#!/usr/bin/env bash
# Many small zones: zone creation through the API, start-up time, memory and
# query throughput of zonecast against Knot DNS on the same ZONES zones of
# about 20 records each (bench/genmany.py). See bench/README.md ("Many zones").
#
#   1. zonecast starts empty; PROBES times a zone is created through the API
#      and deleted again (the creation timed: a zone when none exists).
#   2. ZONES zones are created through the API (POST /v1/zones with the zone
#      file), one client, keep-alive HTTP; then PROBES more create+delete
#      (a zone when ZONES exist).
#   3. zonecast restarts from its store: time from process start until the
#      first and until every zone answers SOA, RSS; then dnsperf (warm-up,
#      then a measured run): queries/s and server CPU per answered query.
#   4. knotd with all zones in one knot.conf: the same start-up, RSS and
#      dnsperf figures over the same query file.
# One server runs at a time.
#
# Environment (defaults in brackets):
#   ZONES      zones [10000]
#   PROBES     timed creations each way (0 zones, ZONES zones) [20]
#   DURATION   seconds of each measured dnsperf run [20]
#   WARMUP     seconds of the unmeasured warm-up run [3]
#   CLIENTS    dnsperf clients (sockets) [10]
#   OUTSTANDING dnsperf maximum outstanding queries (-q) [500]
#   QPS        dnsperf -Q rate limit [unset: unthrottled]
#   SEED       genmany.py seed [1]
#   KNOT_UDP_WORKERS         knotd udp-workers [2]
#   KNOT_BACKGROUND_WORKERS  knotd background-workers (they load zones) [2]
#   ZONECAST_ARGS  extra arguments to `zonecast serve` [""]
#   ZONECAST_BIN   a built zonecast to run [unset: cargo build --release]
#   BENCH_DIR  where zones, store, configs and logs go [a new temp dir]
#   KEEP=1     keep BENCH_DIR afterwards
set -euo pipefail

ZONES="${ZONES:-10000}"
PROBES="${PROBES:-20}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CLIENTS="${CLIENTS:-10}"
OUTSTANDING="${OUTSTANDING:-500}"
QPS="${QPS:-}"
SEED="${SEED:-1}"
KNOT_UDP_WORKERS="${KNOT_UDP_WORKERS:-2}"
KNOT_BACKGROUND_WORKERS="${KNOT_BACKGROUND_WORKERS:-2}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

need_tool python3 "apt-get install python3"
need_tool dnsperf "apt-get install dnsperf"
need_tool knotd "apt-get install knot"
for n in ZONES PROBES DURATION WARMUP CLIENTS OUTSTANDING SEED; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a number, not '${!n}'"
done
[ "$ZONES" -gt 0 ] && [ "$PROBES" -gt 0 ] || die "ZONES and PROBES must be above 0"

make_bench_dir
bench_traps
build_zonecast
# A private copy: the shared target directory may be rebuilt during the run.
mkdir -p "$BENCH_DIR/bin"
cp "$ZONECAST_BIN" "$BENCH_DIR/bin/zonecast"
ZONECAST_BIN="$BENCH_DIR/bin/zonecast"
TOKEN="bench-$RANDOM$RANDOM"

print_header ZONES PROBES DURATION WARMUP CLIENTS OUTSTANDING QPS SEED \
    KNOT_UDP_WORKERS KNOT_BACKGROUND_WORKERS ZONECAST_ARGS

GEN="$BENCH_DIR/gen"
note "generating $ZONES zones in $GEN"
python3 "$HERE/genmany.py" "$ZONES" "$GEN" "$SEED" 2>"$BENCH_DIR/genmany.txt" \
    || { cat "$BENCH_DIR/genmany.txt" >&2; die "genmany.py failed"; }
LIST="$GEN/zones.list"
QUERIES="$GEN/many.queries"
[ -s "$LIST" ] && [ -s "$QUERIES" ] || die "genmany.py did not write $LIST and $QUERIES"
RECORDS="$(awk '{ print $3; exit }' "$BENCH_DIR/genmany.txt")"
TEMPLATE="$GEN/zones/$(head -n 1 "$LIST").zone"

# Run in the background, it execs zonecast so that $! is zonecast's pid.
zonecast_cmd() {
    # shellcheck disable=SC2086 # ZONECAST_ARGS is split on purpose
    exec env RUST_LOG="${RUST_LOG:-warn}" "$ZONECAST_BIN" serve --data-dir "$BENCH_DIR/zonecast/data" \
        --dns-listen "127.0.0.1:$DNS_PORT" --api-listen "127.0.0.1:$API_PORT" --api-token "$TOKEN" \
        $ZONECAST_ARGS
}

# Timed start of the server (command in "$@") until the first and until every
# zone of LIST answers SOA: sets SERVER_PID, PROBE_FIRST and PROBE_ALL (seconds).
timed_start() {
    local name="$1" port="$2" log="$3"
    shift 3
    probe_start "$port" "$LIST"
    START=$EPOCHREALTIME
    "$@" >>"$log" 2>&1 &
    SERVER_PID=$!
    probe_wait "$name" "$log"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
# dnsperf figures from a measure_dnsperf line: queries/s, lost %, CPU us/query, RSS MiB.
perf_figures() {
    awk -v ticks="$(getconf CLK_TCK)" '{
        printf "%.0f %.2f %.2f %.1f\n", $2, ($3 > 0) ? 100 * $5 / $3 : 0,
            ($4 > 0) ? ($6 / ticks) * 1e6 / $4 : 0, $7 / 1024 }' <<<"$1"
}

# 1. zonecast, empty: a zone when none exists.
mkdir -p "$BENCH_DIR/zonecast"
ZLOG="$BENCH_DIR/zonecast/zonecast.log"
DNS_PORT="$(free_port)"
API_PORT="$(free_port)"
note "zonecast: starting empty on 127.0.0.1:$DNS_PORT, API on 127.0.0.1:$API_PORT"
zonecast_cmd >>"$ZLOG" 2>&1 &
SERVER_PID=$!
run_child python3 "$HERE/benchtool.py" wait-api --port "$API_PORT" --pid "$SERVER_PID" --timeout 600 \
    || { tail -n 30 "$ZLOG" >&2; die "zonecast's API did not come up"; }
note "zonecast: $PROBES creations of a zone when none exists"
run_child python3 "$HERE/benchtool.py" probe-create --port "$API_PORT" --token "$TOKEN" --template "$TEMPLATE" \
    --count "$PROBES" >"$BENCH_DIR/create-first.txt" || die "creating a zone failed (log: $ZLOG)"

# 2. ZONES zones through the API, then a zone when ZONES exist.
note "zonecast: creating $ZONES zones through the API"
run_child python3 "$HERE/benchtool.py" create --port "$API_PORT" --token "$TOKEN" --list "$LIST" --dir "$GEN/zones" \
    >"$BENCH_DIR/create-all.txt" || die "creating the zones failed (log: $ZLOG)"
C="$BENCH_DIR/create-all.txt"
note "zonecast: $(kv "$C" count) zones in $(kv "$C" seconds) s ($(kv "$C" rate)/s); checking they all answer"
probe_start "$DNS_PORT" "$LIST"
START=$EPOCHREALTIME
probe_wait zonecast "$ZLOG"
# The server is up: the time from the first to the last answer is one sweep.
SWEEP_S="$(awk -v a="$PROBE_ALL" -v f="$PROBE_FIRST" 'BEGIN { printf "%.3f", a - f }')"
CREATED_RSS="$(rss_kib "$SERVER_PID")"
note "zonecast: $PROBES creations of a zone when $ZONES exist"
run_child python3 "$HERE/benchtool.py" probe-create --port "$API_PORT" --token "$TOKEN" --template "$TEMPLATE" \
    --count "$PROBES" >"$BENCH_DIR/create-next.txt" || die "creating a zone failed (log: $ZLOG)"
stop_zonecast "$BENCH_DIR/zonecast/data"

# 3. Restart from the store; start-up, RSS, dnsperf.
restart_zonecast "$ZLOG" zonecast_cmd
ZC_FIRST="$PROBE_FIRST"
ZC_ALL="$PROBE_ALL"
sleep 1
ZC_RSS="$(rss_kib "$SERVER_PID")"
note "zonecast: first zone answering after $ZC_FIRST s, all after $ZC_ALL s, RSS $(mib "$ZC_RSS") MiB; warming up for $WARMUP s"
ZC_PERF="$(measure_dnsperf zonecast "$DNS_PORT")"
STOP_WAIT=1200 stop_server

# 4. Knot with the same zones.
KDIR="$BENCH_DIR/knot"
mkdir -p "$KDIR/db" "$KDIR/zones"
KPORT="$(free_port)"
{
    knot_conf "$KDIR" "$KPORT" "$KNOT_UDP_WORKERS" "$KNOT_BACKGROUND_WORKERS"
    echo "zone:"
    awk -v dir="$GEN/zones" '{ printf "  - domain: %s.\n    file: %s/%s.zone\n", $1, dir, $1 }' "$LIST"
} >"$KDIR/knot.conf"
note "knot: starting on 127.0.0.1:$KPORT"
timed_start knot "$KPORT" "$KDIR/knot.log" knotd -c "$KDIR/knot.conf"
KNOT_FIRST="$PROBE_FIRST"
KNOT_ALL="$PROBE_ALL"
sleep 1
KNOT_RSS="$(rss_kib "$SERVER_PID")"
note "knot: first zone answering after $KNOT_FIRST s, all after $KNOT_ALL s, RSS $(mib "$KNOT_RSS") MiB; warming up for $WARMUP s"
KNOT_PERF="$(measure_dnsperf knot "$KPORT")"
stop_server

# Report.
read -r ZC_QPS ZC_LOST ZC_CPU ZC_RSS2 <<<"$(perf_figures "$ZC_PERF")"
read -r KNOT_QPS KNOT_LOST KNOT_CPU KNOT_RSS2 <<<"$(perf_figures "$KNOT_PERF")"
F="$BENCH_DIR/create-first.txt"
N="$BENCH_DIR/create-next.txt"
printf '\n%s zones, %s records; %s queries, %s s per server, %s dnsperf clients, UDP on 127.0.0.1\n\n' \
    "$ZONES" "$RECORDS" \
    "$(wc -l <"$QUERIES")" "$DURATION" "$CLIENTS"
row() { printf '| %-40s | %12s | %12s | %13s |\n' "$@"; }
row "measure" "zonecast" "knot" "zonecast/knot"
row "----------------------------------------" "-----------:" "-----------:" "------------:"
row "create $ZONES zones through the API, s" "$(kv "$C" seconds)" "-" "-"
row "  zones created per second" "$(kv "$C" rate)" "-" "-"
row "  creation latency p50 / p99 ms" "$(kv "$C" p50_ms) / $(kv "$C" p99_ms)" "-" "-"
row "create one zone, 0 exist: median ms" "$(kv "$F" median_ms)" "-" "-"
row "create one zone, $ZONES exist: median ms" "$(kv "$N" median_ms)" "-" "-"
row "RSS after the API creations, MiB" "$(mib "$CREATED_RSS")" "-" "-"
row "start to first zone answering, s" "$ZC_FIRST" "$KNOT_FIRST" "$(ratio "$ZC_FIRST" "$KNOT_FIRST")"
row "start to all zones answering, s" "$ZC_ALL" "$KNOT_ALL" "$(ratio "$ZC_ALL" "$KNOT_ALL")"
row "RSS once answering, MiB" "$(mib "$ZC_RSS")" "$(mib "$KNOT_RSS")" "$(ratio "$ZC_RSS" "$KNOT_RSS")"
row "queries/s" "$ZC_QPS" "$KNOT_QPS" "$(ratio "$ZC_QPS" "$KNOT_QPS")"
row "lost %" "$ZC_LOST" "$KNOT_LOST" "-"
row "CPU us/query" "$ZC_CPU" "$KNOT_CPU" "$(ratio "$ZC_CPU" "$KNOT_CPU")"
row "RSS after dnsperf, MiB" "$ZC_RSS2" "$KNOT_RSS2" "$(ratio "$ZC_RSS2" "$KNOT_RSS2")"
printf '\nzone creation, median of %s each: %s ms with %s zones vs %s ms with none (%s); min/p90/max %s/%s/%s vs %s/%s/%s ms\n' \
    "$PROBES" "$(kv "$N" median_ms)" "$ZONES" "$(kv "$F" median_ms)" "$(ratio "$(kv "$N" median_ms)" "$(kv "$F" median_ms)")" \
    "$(kv "$N" min_ms)" "$(kv "$N" p90_ms)" "$(kv "$N" max_ms)" "$(kv "$F" min_ms)" "$(kv "$F" p90_ms)" "$(kv "$F" max_ms)"
printf 'zonecast store %s MiB; one probe sweep over all %s zones (the resolution of "all zones answering") took %s s\n' \
    "$STORE_MIB" "$ZONES" "$SWEEP_S"
printf '\nsummary: creating zone %s takes %s the time of the first; start-up to all zones %s of knot'\''s time (%s s vs %s s), ' \
    "$((ZONES + 1))" "$(ratio "$(kv "$N" median_ms)" "$(kv "$F" median_ms)")" "$(ratio "$ZC_ALL" "$KNOT_ALL")" "$ZC_ALL" "$KNOT_ALL"
printf 'RSS %s of knot'\''s, queries/s %s, CPU per query %s (lower is better)\n' \
    "$(ratio "$ZC_RSS" "$KNOT_RSS")" "$(ratio "$ZC_QPS" "$KNOT_QPS")" "$(ratio "$ZC_CPU" "$KNOT_CPU")"
