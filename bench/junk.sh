#!/usr/bin/env bash
# Valid queries under a junk flood (issue 10): dnsperf sends valid queries
# for a generated zone while bench/flood.py (one process) floods the same
# listener with junk as fast as it can. Three runs against one zonecast:
#   valid   dnsperf alone: valid queries/s and server CPU per valid query;
#   junk    the flood alone: server CPU per junk datagram;
#   both    the two at once.
# From the first two, the server CPU the "both" run spent on valid queries
# is its CPU minus (junk datagrams x CPU per junk datagram); divided by the
# CPU per valid query of the "valid" run, that predicts the valid queries
# the server could answer with that share. The verdict is the measured
# valid queries/s against that prediction (pass: at least 90%), and the
# server's RSS, sampled every second through the three runs after a warm-up, must stay flat
# (pass: max - min under 8 MiB). The limits hit (datagrams unanswered,
# over the receive buffer, FORMERR, RRL) are read from /metrics.
#
# Environment (defaults in brackets):
#   NAMES      names in the generated zone [100000]
#   DURATION   seconds of each run [10]
#   CLIENTS, OUTSTANDING as in bench/compare.sh [10, 500]
#   ZONECAST_ARGS  extra arguments to `zonecast serve` [""]
#   ZONECAST_BIN, BENCH_DIR, KEEP as in bench/compare.sh
set -euo pipefail

NAMES="${NAMES:-100000}"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-10}"
OUTSTANDING="${OUTSTANDING:-500}"
QPS=""
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
bench_traps
need_tool python3 "apt-get install python3"
need_tool kdig "apt-get install knot-dnsutils"
need_tool dnsperf "apt-get install dnsperf"
need_tool curl "apt-get install curl"
make_bench_dir
GENZONE="$HERE/../../shared/bench/genzone.py"
[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
QUERIES="$BENCH_DIR/$ORIGIN.queries"
build_zonecast
TICKS="$(getconf CLK_TCK)"

PORT="$(free_port)"
API="127.0.0.1:$(free_port)"
# shellcheck disable=SC2086 # ZONECAST_ARGS is split on purpose
RUST_LOG=warn "$ZONECAST_BIN" serve --data-dir "$BENCH_DIR/data" --dns-listen "127.0.0.1:$PORT" \
    --api-listen "$API" --api-token bench --zone-file "$ZONE" $ZONECAST_ARGS \
    >"$BENCH_DIR/zonecast.log" 2>&1 &
SERVER_PID=$!
wait_ready zonecast "$PORT" "$BENCH_DIR/zonecast.log" "$ORIGIN"

metric() { # NAME: its value in /metrics (0 when absent)
    curl -s -H 'Authorization: Bearer bench' "http://$API/metrics" \
        | awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}
note "warm-up"
run_dnsperf "$PORT" 3 "$BENCH_DIR/warmup.txt"
# RSS every second from here on, into rss.txt.
( while kill -0 "$SERVER_PID" 2>/dev/null; do rss_kib "$SERVER_PID"; sleep 1; done ) >"$BENCH_DIR/rss.txt" &
RSS_PID=$!

note "valid: dnsperf alone for $DURATION s"
c0="$(cpu_ticks "$SERVER_PID")"
run_dnsperf "$PORT" "$DURATION" "$BENCH_DIR/valid.txt"
c1="$(cpu_ticks "$SERVER_PID")"
valid_qps="$(perf_field "$BENCH_DIR/valid.txt" "Queries per second")"
valid_done="$(perf_field "$BENCH_DIR/valid.txt" "Queries completed")"

note "junk: the flood alone for $DURATION s"
r0="$(metric zonecast_udp_received_total)"
c2="$(cpu_ticks "$SERVER_PID")"
junk_alone="$(python3 "$HERE/flood.py" junk 127.0.0.1 "$PORT" "$DURATION")"
c3="$(cpu_ticks "$SERVER_PID")"
r1="$(metric zonecast_udp_received_total)"

note "both: dnsperf and the flood for $DURATION s"
u0="$(metric zonecast_udp_unanswered_total)"; o0="$(metric zonecast_udp_oversize_total)"
f0="$(metric zonecast_udp_formerr_total)"; d0="$(metric zonecast_rrl_dropped_total)"
python3 "$HERE/flood.py" junk 127.0.0.1 "$PORT" "$((DURATION + 1))" >"$BENCH_DIR/junk-both.json" &
FLOOD_PID=$!
sleep 0.5
# Counted from here, once the flood runs, over dnsperf's window.
r2="$(metric zonecast_udp_received_total)"
c4="$(cpu_ticks "$SERVER_PID")"
run_dnsperf "$PORT" "$DURATION" "$BENCH_DIR/both.txt"
c5="$(cpu_ticks "$SERVER_PID")"
r3="$(metric zonecast_udp_received_total)"
wait "$FLOOD_PID"
u1="$(metric zonecast_udp_unanswered_total)"; o1="$(metric zonecast_udp_oversize_total)"
f1="$(metric zonecast_udp_formerr_total)"; d1="$(metric zonecast_rrl_dropped_total)"
both_qps="$(perf_field "$BENCH_DIR/both.txt" "Queries per second")"
both_done="$(perf_field "$BENCH_DIR/both.txt" "Queries completed")"
kill "$RSS_PID" 2>/dev/null || true
wait "$RSS_PID" 2>/dev/null || true

print_header NAMES DURATION CLIENTS OUTSTANDING ZONECAST_ARGS
python3 - "$TICKS" "$DURATION" "$valid_qps" "$valid_done" "$((c1 - c0))" \
    "$junk_alone" "$((r1 - r0))" "$((c3 - c2))" \
    "$(cat "$BENCH_DIR/junk-both.json")" "$((r3 - r2))" "$both_qps" "$both_done" "$((c5 - c4))" \
    "$((u1 - u0))" "$((o1 - o0))" "$((f1 - f0))" "$((d1 - d0))" "$BENCH_DIR/rss.txt" <<'PY'
import json, sys
a = sys.argv[1:]
ticks, secs = int(a[0]), float(a[1])
valid_qps, valid_done, valid_ticks = float(a[2]), int(a[3]), int(a[4])
junk = json.loads(a[5]); junk_recv, junk_ticks = int(a[6]), int(a[7])
both_junk = json.loads(a[8]); both_recv = int(a[9])
both_qps, both_done, both_ticks = float(a[10]), int(a[11]), int(a[12])
unanswered, oversize, formerr, rrl = (int(x) for x in a[13:17])
rss = [int(l) for l in open(a[17]) if l.strip()]
us = lambda t: t * 1e6 / ticks
cv = us(valid_ticks) / max(valid_done, 1)          # µs of server CPU per valid query
cj = us(junk_ticks) / max(junk_recv, 1)            # µs per junk datagram
junk_in_both = max(both_recv - both_done, 0)
valid_share = us(both_ticks) - junk_in_both * cj    # µs spent on valid queries
predicted = valid_share / cv / secs
ratio = both_qps / predicted if predicted > 0 else 0
print(f"valid alone : {valid_qps:>10.0f} q/s  {cv:6.2f} us CPU/query")
print(f"junk alone  : {junk['pps']:>10} datagrams/s sent, {junk_recv} received, {cj:6.2f} us CPU/datagram, {junk['answers']} answers")
print(f"both        : {both_qps:>10.0f} valid q/s, {junk_in_both / secs:>10.0f} junk/s received ({both_junk['pps']} sent/s)")
print(f"server CPU  : valid alone {us(valid_ticks) / secs / 1e6:.2f} cores, both {us(both_ticks) / secs / 1e6:.2f} cores, of which valid {valid_share / secs / 1e6:.2f}")
print(f"predicted   : {predicted:>10.0f} valid q/s from that share; measured {ratio * 100:.1f}% of it ({'PASS' if ratio >= 0.9 else 'FAIL'}: at least 90%)")
print(f"limits hit  : {unanswered} unanswered ({oversize} over the receive buffer), {formerr} FORMERR, {rrl} dropped by RRL")
print(f"RSS         : min {min(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB over {len(rss)} samples "
      f"({'PASS' if max(rss) - min(rss) < 8192 else 'FAIL'}: flat within 8 MiB)")
PY
stop_server
