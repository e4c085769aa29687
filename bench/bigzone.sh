#!/usr/bin/env bash
# One big zone: zonecast's start-up time, memory and API write rate against
# Knot DNS on the same generated zone. See bench/README.md ("Big zone").
#
#   1. zonecast imports the zone file (first start, --zone-file): time from
#      process start to the first authoritative SOA answer; then it is stopped.
#   2. zonecast restarts from its store (no --zone-file): time to answering,
#      and RSS once answering.
#   3. WRITES single-RRset PUTs through the API, one client, keep-alive HTTP
#      (half replace the A RRset of an existing name, half add a new name):
#      changes/s and latency; the last change is checked over DNS. The same
#      client goes on to CHANGES changes in all; RSS after them against before.
#   4. knotd starts on the same zone file: time to answering, RSS.
# One server runs at a time. Times to answering come from a UDP probe that
# polls SOA every 5 ms from before the server is started.
#
# Environment (defaults in brackets):
#   NAMES      names in the generated zone [1000000]
#   WRITES     timed PUTs [2000]
#   CHANGES    changes in all before the second RSS figure (WRITES included) [10000]
#   KNOT_UDP_WORKERS         knotd udp-workers [2]
#   KNOT_BACKGROUND_WORKERS  knotd background-workers [2]
#   ZONECAST_ARGS  extra arguments to `zonecast serve` [""]
#   ZONECAST_BIN   a built zonecast to run [unset: cargo build --release]
#   BENCH_DIR  where zone, store, configs and logs go [a new temp dir]
#   KEEP=1     keep BENCH_DIR afterwards
set -euo pipefail

NAMES="${NAMES:-1000000}"
WRITES="${WRITES:-2000}"
CHANGES="${CHANGES:-10000}"
KNOT_UDP_WORKERS="${KNOT_UDP_WORKERS:-2}"
KNOT_BACKGROUND_WORKERS="${KNOT_BACKGROUND_WORKERS:-2}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
need_tool python3 "apt-get install python3"
need_tool kdig "apt-get install knot-dnsutils"
need_tool knotd "apt-get install knot"
for n in NAMES WRITES CHANGES; do
    [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer, not '${!n}'"
done

make_bench_dir
bench_traps
build_zonecast
# A private copy: the shared target directory may be rebuilt during the run.
mkdir -p "$BENCH_DIR/bin"
cp "$ZONECAST_BIN" "$BENCH_DIR/bin/zonecast"
ZONECAST_BIN="$BENCH_DIR/bin/zonecast"
TOKEN="bench-$RANDOM$RANDOM"

print_header NAMES WRITES CHANGES KNOT_UDP_WORKERS KNOT_BACKGROUND_WORKERS ZONECAST_ARGS

note "generating $ORIGIN with $NAMES names in $BENCH_DIR"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
[ -s "$ZONE" ] || die "genzone.py did not write $ZONE"
RECORDS="$(grep -vc '^\$' "$ZONE")"
ZONE_MIB="$(awk -v b="$(stat -c %s "$ZONE")" 'BEGIN { printf "%.1f", b / 1048576 }')"

# Timed start of the server (command in "$@") until it answers SOA for ORIGIN:
# sets SERVER_PID and PROBE_FIRST (seconds).
timed_start() {
    local name="$1" port="$2" log="$3"
    shift 3
    probe_start "$port" "$ORIGIN"
    START=$EPOCHREALTIME
    "$@" >>"$log" 2>&1 &
    SERVER_PID=$!
    probe_wait "$name" "$log"
}

# Run in the background, it execs zonecast so that $! is zonecast's pid.
zonecast_cmd() {
    # shellcheck disable=SC2086 # ZONECAST_ARGS is split on purpose
    exec env RUST_LOG="${RUST_LOG:-warn}" "$ZONECAST_BIN" serve --data-dir "$BENCH_DIR/zonecast/data" \
        --dns-listen "127.0.0.1:$DNS_PORT" --api-listen "127.0.0.1:$API_PORT" --api-token "$TOKEN" \
        "$@" $ZONECAST_ARGS
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# 1. First start: import the zone file into the store.
mkdir -p "$BENCH_DIR/zonecast"
ZLOG="$BENCH_DIR/zonecast/zonecast.log"
DNS_PORT="$(free_port)"
API_PORT="$(free_port)"
note "zonecast: first start, importing $ZONE ($RECORDS records) on 127.0.0.1:$DNS_PORT"
timed_start zonecast "$DNS_PORT" "$ZLOG" zonecast_cmd --zone-file "$ZONE"
IMPORT_S="$PROBE_FIRST"
sleep 1
IMPORT_RSS="$(rss_kib "$SERVER_PID")"
note "zonecast: answering after $IMPORT_S s, RSS $(mib "$IMPORT_RSS") MiB; stopping"
t=$EPOCHREALTIME
stop_zonecast "$BENCH_DIR/zonecast/data"
ZC_STOP_S="$(awk -v a="$EPOCHREALTIME" -v b="$t" 'BEGIN { printf "%.2f", a - b }')"

# 2. Restart from the store.
restart_zonecast "$ZLOG" zonecast_cmd
ZC_START_S="$PROBE_FIRST"
sleep 1
ZC_RSS="$(rss_kib "$SERVER_PID")"
note "zonecast: answering after $ZC_START_S s, RSS $(mib "$ZC_RSS") MiB"

# 3. API writes, then more changes up to CHANGES, with the same client.
run_child python3 "$HERE/benchtool.py" wait-api --port "$API_PORT" --pid "$SERVER_PID" --timeout 600 \
    || { tail -n 30 "$ZLOG" >&2; die "zonecast's API did not come up"; }
note "zonecast: $WRITES timed PUTs, then up to $CHANGES changes in all"
run_child python3 "$HERE/benchtool.py" writes --port "$API_PORT" --token "$TOKEN" --zone "$ORIGIN" \
    --zone-file "$ZONE" --count "$WRITES" --total "$CHANGES" --dns-port "$DNS_PORT" \
    --pid "$SERVER_PID" >"$BENCH_DIR/writes.txt" || die "the API writer failed (log: $ZLOG)"
W="$BENCH_DIR/writes.txt"
LAST_NAME="$(kv "$W" last_name)"
LAST_VALUE="$(kv "$W" last_value)"
DIG_ANSWER="$(kdig @127.0.0.1 -p "$DNS_PORT" +norec +short +timeout=2 "$LAST_NAME" A | tr '\n' ' ')"
[ "$DIG_ANSWER" = "$LAST_VALUE " ] && DIG_OK=ok || DIG_OK="FAILED (kdig: '$DIG_ANSWER', expected $LAST_VALUE)"
note "zonecast: $(kv "$W" rate) changes/s; last change $LAST_NAME A $LAST_VALUE over DNS: $DIG_OK"
WRITES_RSS_BEFORE="$(kv "$W" rss_before_kib)"
WRITES_RSS_AFTER="$(kv "$W" rss_after_total_kib)"
TOTAL="$(kv "$W" total)"
STOP_WAIT=1200 stop_server

# 4. Knot on the same zone file.
KDIR="$BENCH_DIR/knot"
mkdir -p "$KDIR/db" "$KDIR/zones"
KPORT="$(free_port)"
{
    knot_conf "$KDIR" "$KPORT" "$KNOT_UDP_WORKERS" "$KNOT_BACKGROUND_WORKERS"
    printf 'zone:\n  - domain: %s.\n    file: %s\n' "$ORIGIN" "$ZONE"
} >"$KDIR/knot.conf"
note "knot: starting on 127.0.0.1:$KPORT"
timed_start knot "$KPORT" "$KDIR/knot.log" knotd -c "$KDIR/knot.conf"
KNOT_START_S="$PROBE_FIRST"
sleep 1
KNOT_RSS="$(rss_kib "$SERVER_PID")"
note "knot: answering after $KNOT_START_S s, RSS $(mib "$KNOT_RSS") MiB"
stop_server

# Report.
printf '\n%s names in %s (%s records, zone file %s MiB; zonecast store %s MiB)\n\n' \
    "$NAMES" "$ORIGIN" "$RECORDS" "$ZONE_MIB" "$STORE_MIB"
row() { printf '| %-44s | %12s | %12s | %13s |\n' "$@"; }
row "measure" "zonecast" "knot" "zonecast/knot"
row "--------------------------------------------" "-----------:" "-----------:" "------------:"
row "first start, zone file import to answering s" "$IMPORT_S" "-" "-"
row "RSS after the import, MiB" "$(mib "$IMPORT_RSS")" "-" "-"
row "start to answering s (store / zone file)" "$ZC_START_S" "$KNOT_START_S" "$(ratio "$ZC_START_S" "$KNOT_START_S")"
row "RSS once answering, MiB" "$(mib "$ZC_RSS")" "$(mib "$KNOT_RSS")" "$(ratio "$ZC_RSS" "$KNOT_RSS")"
row "API writes ($WRITES PUTs), changes/s" "$(kv "$W" rate)" "-" "-"
row "write latency p50 ms" "$(kv "$W" p50_ms)" "-" "-"
row "write latency p99 ms" "$(kv "$W" p99_ms)" "-" "-"
row "write latency max ms" "$(kv "$W" max_ms)" "-" "-"
row "RSS before the writes, MiB" "$(mib "$WRITES_RSS_BEFORE")" "-" "-"
row "RSS after $TOTAL changes, MiB" "$(mib "$WRITES_RSS_AFTER")" "-" "-"
printf '\nwrites: %s changes in %s s (%s/s over all %s), %s reported changed, HTTP reconnects %s;\n' \
    "$TOTAL" "$(kv "$W" total_seconds)" "$(kv "$W" total_rate)" "$TOTAL" "$(kv "$W" changed)" "$(kv "$W" reconnects)"
printf 'last change answered over DNS: right after its PUT %s, at the end %s, with kdig %s\n' \
    "$(kv "$W" verify)" "$(kv "$W" verify_total)" "$DIG_OK"
printf 'zonecast stopped %s s after SIGTERM (%s names)\n' "$ZC_STOP_S" "$NAMES"
printf '\nsummary: start-up %s of knot'\''s time (%s s vs %s s), RSS %s of knot'\''s (%s vs %s MiB), ' \
    "$(ratio "$ZC_START_S" "$KNOT_START_S")" "$ZC_START_S" "$KNOT_START_S" \
    "$(ratio "$ZC_RSS" "$KNOT_RSS")" "$(mib "$ZC_RSS")" "$(mib "$KNOT_RSS")"
printf '%s changes/s (p99 %s ms), RSS after %s changes %s of before\n' \
    "$(kv "$W" rate)" "$(kv "$W" p99_ms)" "$TOTAL" "$(ratio "$WRITES_RSS_AFTER" "$WRITES_RSS_BEFORE")"
case "$(kv "$W" verify) $(kv "$W" verify_total) $DIG_OK" in
    "ok ok ok") ;;
    *) die "the last change was not answered over DNS (see above)" ;;
esac
