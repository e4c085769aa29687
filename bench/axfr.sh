#!/usr/bin/env bash
# Big AXFR: the time for kdig to take the whole zone from zonecast and from
# knotd, on the same generated zone, one server at a time, and zonecast's
# extra memory while it streams. See bench/README.md ("Big AXFR").
#
#   1. genzone.py writes example.com with NAMES names.
#   2. zonecast serve --zone-file loads it; allow_transfer is set to
#      127.0.0.1 through the API; RSS is read once idle (the baseline).
#      RUNS times: `kdig +noall +stats AXFR` (kdig reads and counts every
#      message, printing nothing else), timed; meanwhile zonecast's RSS is
#      sampled every 10 ms and the highest sample kept.
#   3. knotd (udp/tcp/background workers as below) on the same zone file,
#      acl action transfer for 127.0.0.1; the same RUNS kdig transfers.
# Figures per server: records and bytes kdig received, the median and best
# wall time of the transfers, and for zonecast the peak RSS during the
# transfers minus the idle RSS (the "peak extra memory" of issue 8; the
# process holds one 64 KiB message per transfer, plus allocator noise).
#
# Environment (defaults in brackets):
#   NAMES   names in the generated zone [1000000]
#   RUNS    transfers per server [3]
#   KNOT_TCP_WORKERS, KNOT_BACKGROUND_WORKERS  knotd settings [1, 1]
#   ZONECAST_BIN  a built zonecast [unset: cargo build --release]
#   BENCH_DIR  where everything goes [a new temp dir]; KEEP=1 keeps it
set -euo pipefail

NAMES="${NAMES:-1000000}"
RUNS="${RUNS:-3}"
KNOT_TCP_WORKERS="${KNOT_TCP_WORKERS:-1}"
KNOT_BACKGROUND_WORKERS="${KNOT_BACKGROUND_WORKERS:-1}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"
[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE"
need_tool python3 "apt-get install python3"
need_tool kdig "apt-get install knot-dnsutils"
need_tool knotd "apt-get install knot"
need_tool curl "apt-get install curl"
[[ "$NAMES" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "NAMES and RUNS must be positive integers"

make_bench_dir
bench_traps
build_zonecast
mkdir -p "$BENCH_DIR/bin"
cp "$ZONECAST_BIN" "$BENCH_DIR/bin/zonecast"
ZONECAST_BIN="$BENCH_DIR/bin/zonecast"
TOKEN="bench-$RANDOM$RANDOM"
print_header NAMES RUNS KNOT_TCP_WORKERS KNOT_BACKGROUND_WORKERS

note "generating $ORIGIN with $NAMES names"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
[ -s "$ZONE" ] || die "genzone.py did not write $ZONE"

# transfers NAME PORT PID: RUNS timed kdig AXFRs; prints "axfr NAME ..." lines.
transfers() {
    local name="$1" port="$2" pid="$3" i t0 t1 out peak=0 sampler times=()
    for i in $(seq "$RUNS"); do
        (
            p=0
            while kill -0 "$pid" 2>/dev/null; do
                r="$(rss_kib "$pid")"
                [ "$r" -gt "$p" ] && p="$r" && echo "$p" >"$BENCH_DIR/peak.$name"
                sleep 0.01
            done
        ) &
        sampler=$!
        t0=$EPOCHREALTIME
        out="$(kdig @127.0.0.1 -p "$port" +noall +stats +timeout=60 AXFR "$ORIGIN." 2>&1)"
        t1=$EPOCHREALTIME
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
        echo "$out" | grep -q 'Received' || { echo "$out" >&2; die "$name: kdig AXFR failed"; }
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
        echo "axfr $name run$i seconds ${times[-1]} $(echo "$out" | grep -o 'Received [0-9]* B' | head -1) $(echo "$out" | grep -o '[0-9]* records' | head -1)"
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v n="$name" '{ a[NR] = $1 } END { printf "axfr %s best_s %s median_s %s\n", n, a[1], a[int((NR + 1) / 2)] }'
    [ -f "$BENCH_DIR/peak.$name" ] && peak="$(cat "$BENCH_DIR/peak.$name")"
    echo "axfr $name peak_rss_kib $peak"
}

DNS_PORT="$(free_port)"
API_PORT="$(free_port)"
note "zonecast: loading the zone"
"$ZONECAST_BIN" serve --data-dir "$BENCH_DIR/store" --dns-listen "127.0.0.1:$DNS_PORT" \
    --api-listen "127.0.0.1:$API_PORT" --api-token "$TOKEN" --zone-file "$ZONE" >"$BENCH_DIR/zonecast.log" 2>&1 &
SERVER_PID=$!
wait_ready zonecast "$DNS_PORT" "$BENCH_DIR/zonecast.log" "$ORIGIN"
curl -sf -X PATCH -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"allow_transfer": ["127.0.0.1"]}' "http://127.0.0.1:$API_PORT/v1/zones/$ORIGIN" >/dev/null \
    || die "PATCH allow_transfer failed"
sleep 1
IDLE="$(rss_kib "$SERVER_PID")"
echo "axfr zonecast idle_rss_kib $IDLE"
transfers zonecast "$DNS_PORT" "$SERVER_PID"
PEAK="$(cat "$BENCH_DIR/peak.zonecast" 2>/dev/null || echo "$IDLE")"
echo "axfr zonecast extra_rss_kib $((PEAK - IDLE))"
grep 'transfer out' "$BENCH_DIR/zonecast.log" | tail -1 | sed 's/^/# zonecast log: /'
stop_server

KDIR="$BENCH_DIR/knot"
mkdir -p "$KDIR/db" "$KDIR/zones"
KPORT="$(free_port)"
{
    knot_conf "$KDIR" "$KPORT" 1 "$KNOT_BACKGROUND_WORKERS" | sed "s/tcp-workers: 1/tcp-workers: $KNOT_TCP_WORKERS/"
    printf 'acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\nzone:\n  - domain: %s\n    file: %s\n    acl: xfr\n' "$ORIGIN" "$ZONE"
} >"$KDIR/knot.conf"
note "knotd: loading the zone"
knotd -c "$KDIR/knot.conf" >"$KDIR/knot.log" 2>&1 &
SERVER_PID=$!
wait_ready knotd "$KPORT" "$KDIR/knot.log" "$ORIGIN"
echo "axfr knotd idle_rss_kib $(rss_kib "$SERVER_PID")"
transfers knotd "$KPORT" "$SERVER_PID"
stop_server
