#!/usr/bin/env bash
# Sustained load: RATE changes/s through the API for DURATION s on a
# NAMES-name zone, with a zonecast cluster of EDGES edges (PostgreSQL, a
# control plane, `zonecast edge` e1..eN on 127.0.0.2, .3, ...; set up as in
# bench/propagate.sh). See bench/README.md ("Sustained load").
#
#   1. genzone.py writes example.com with NAMES names; the zone is created
#      through the API (POST /v1/zones with the zone file); the edges are
#      waited for (GET /v1/health 200, answering the zone).
#   2. propagation.py sustained: change i is due at i/RATE s; WORKERS threads,
#      each with its own keep-alive HTTP connection, PUT the A RRset of a
#      random name that has one (genzone's h* names) to a new address.
#      Behind schedule, they go as fast as they can, but send nothing more
#      once DURATION + 5 s have passed: the achieved rate is reported
#      (changes answered 200 over the time from the first due change to the
#      last response), and how many were not sent.
#   3. Meanwhile, every PROBE_EVERY-th change goes to one of 500 reserved
#      names and is probed: a separate process polls every edge over UDP
#      until each answers the new address (time from the PUT's response until
#      the last edge answers), and another samples every edge's GET
#      /v1/health (field lag_ms) and GET /metrics every SAMPLE_MS ms.
#   4. Afterwards: waits until every edge and the control plane answer the
#      last address of every changed name, then compares, on every edge
#      against the control plane's DNS listener, the A RRset (rcode and
#      addresses) of every name of the zone with an A RRset, and the SOA
#      serial. (Neither AXFR nor a checksum endpoint exists yet, so this
#      comparison over DNS stands in for comparing full exports; it covers
#      every RRset the load changed.)
#
# Figures: achieved changes/s and PUT latency; per edge the maximum (and
# p99) of the lag_ms its /v1/health reported (issue 7's target: under 100 ms)
# and how often health was not 200 or not ready; the maximum of every /metrics
# sample whose name contains "lag"; propagation under load p50/p99/max of the
# probed changes (all edges, and per edge); convergence and equality per edge.
#
# Environment (defaults in brackets):
#   RATE        changes/s offered [500]
#   DURATION    seconds of load [60]
#   WORKERS     parallel HTTP connections [8]
#   NAMES       names in the generated zone [100000]
#   EDGES       edges [3]; 0: one `zonecast serve` on its embedded store (no
#               PostgreSQL, no lag samples; a dry run)
#   PROBE_EVERY probe every this many changes [10]
#   SAMPLE_MS   health and metrics sampling period, ms [100]
#   SETTLE_S    how long to wait for convergence after the load [120]
#   ZONECAST_ARGS, EDGE_ARGS  extra `zonecast serve` / `zonecast edge` arguments [""]
#   ZONECAST_BIN  a built zonecast to run [unset: cargo build --release, target/release/zonecast]
#   BENCH_DIR  where zone, logs, samples (samples.jsonl, probes.tsv, metrics-*.txt) go [a new temp dir]
#   KEEP=1     keep BENCH_DIR (and the PostgreSQL directory) afterwards
#
# Output: `#` header lines, then "key value" lines (sustained.txt), then a
# short summary; exit 1 if an edge did not end equal to the control plane.
set -euo pipefail

RATE="${RATE:-500}"
DURATION="${DURATION:-60}"
WORKERS="${WORKERS:-8}"
NAMES="${NAMES:-100000}"
EDGES="${EDGES:-3}"
PROBE_EVERY="${PROBE_EVERY:-10}"
SAMPLE_MS="${SAMPLE_MS:-100}"
SETTLE_S="${SETTLE_S:-120}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
EDGE_ARGS="${EDGE_ARGS:-}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
need_tool python3 "apt-get install python3"
for n in RATE DURATION WORKERS NAMES EDGES PROBE_EVERY SAMPLE_MS SETTLE_S; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a number, not '${!n}'"
done
[ "$RATE" -gt 0 ] && [ "$DURATION" -gt 0 ] && [ "$WORKERS" -gt 0 ] && [ "$PROBE_EVERY" -gt 0 ] \
    || die "RATE, DURATION, WORKERS and PROBE_EVERY must be above 0"
[ "$NAMES" -ge 2000 ] || die "NAMES must be at least 2000 (500 names are reserved for probes)"

make_bench_dir
bench_traps
TOKEN="bench-$RANDOM$RANDOM"
build_zonecast
# A private copy: the shared target directory may be rebuilt during the run.
mkdir -p "$BENCH_DIR/bin"
cp "$ZONECAST_BIN" "$BENCH_DIR/bin/zonecast"
ZONECAST_BIN="$BENCH_DIR/bin/zonecast"
if [ "$EDGES" -gt 0 ]; then
    "$ZONECAST_BIN" edge --help >/dev/null 2>&1 || die "this zonecast has no 'edge' command (EDGES=0 runs against one embedded node)"
fi

print_header RATE DURATION WORKERS NAMES EDGES PROBE_EVERY SAMPLE_MS SETTLE_S ZONECAST_ARGS EDGE_ARGS

note "generating $ORIGIN with $NAMES names in $BENCH_DIR"
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
[ -s "$ZONE" ] || die "genzone.py did not write $ZONE"
echo "$ORIGIN" >"$BENCH_DIR/zones.list"

cluster_start "$EDGES"
note "creating $ORIGIN ($(grep -vc '^\$' "$ZONE") records) through the API"
run_child python3 "$HERE/benchtool.py" create --port "$CP_API_PORT" --token "$TOKEN" \
    --list "$BENCH_DIR/zones.list" --dir "$BENCH_DIR" >"$BENCH_DIR/create.txt" \
    || die "POST /v1/zones failed (log: $CP_LOG)"
note "created in $(awk '$1 == "seconds" { print $2 }' "$BENCH_DIR/create.txt") s; waiting for the edges"
cluster_wait_edges
SERVERS_DNS="$(joined , "${EDGE_DNS[@]}")"
LABELS="$(joined , "${EDGE_NAMES[@]}")"
HEALTH=""
[ "$EDGES" = 0 ] || HEALTH="$(joined , "${EDGE_API[@]}")"
run_child python3 "$HERE/propagation.py" wait-answer --servers "$SERVERS_DNS" --name "ns1.$ORIGIN." \
    --value 192.0.2.1 --timeout 600 || die "the edges do not answer the zone"

note "load: $RATE changes/s for $DURATION s over $WORKERS connections; probing every $PROBE_EVERY-th change on $LABELS"
rc=0
run_child python3 "$HERE/propagation.py" sustained --api-port "$CP_API_PORT" --token "$TOKEN" \
    --zone "$ORIGIN" --zone-file "$ZONE" --rate "$RATE" --duration "$DURATION" --workers "$WORKERS" \
    --servers "$SERVERS_DNS" --labels "$LABELS" --health "$HEALTH" --cp-dns "127.0.0.1:$CP_DNS_PORT" \
    --out-dir "$BENCH_DIR" --probe-every "$PROBE_EVERY" --sample-ms "$SAMPLE_MS" --settle "$SETTLE_S" \
    >"$BENCH_DIR/sustained.txt" || rc=$?
cat "$BENCH_DIR/sustained.txt"
for i in "${!EDGE_PIDS[@]}"; do
    kill -0 "${EDGE_PIDS[$i]}" 2>/dev/null || note "${EDGE_NAMES[$i]} is no longer running (log: ${EDGE_LOGS[$i]})"
done

kv() { awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$BENCH_DIR/sustained.txt"; }
printf '\nsummary: %s of %s changes/s offered for %s s (%s changes, %s errors, %s not sent in time), PUT p50 %s ms p99 %s ms\n' \
    "$(kv achieved_rate)" "$RATE" "$DURATION" "$(kv changes_ok)" "$(kv errors)" "$(kv changes_not_sent)" \
    "$(kv put_p50_ms)" "$(kv put_p99_ms)"
for lab in "${EDGE_NAMES[@]}"; do
    if [ "$EDGES" = 0 ]; then
        printf 'summary: %s (embedded, no lag to sample); equal: %s\n' "$lab" "$(kv "equal_$lab")"
        continue
    fi
    printf 'summary: %s max lag %s ms (p99 %s ms, target < 100 ms), health not 200 in %s of %s samples; equal: %s; status %s\n' \
        "$lab" "$(kv "lag_${lab}_max_ms")" "$(kv "lag_${lab}_p99_ms")" "$(kv "lag_${lab}_health_not_200")" \
        "$(kv "lag_${lab}_samples")" "$(kv "equal_$lab")" "$(kv "status_$lab")"
done
printf 'summary: propagation under load (%s probes, all edges): p50 %s ms, p99 %s ms, max %s ms, %s over 50 ms, %s timeouts\n' \
    "$(kv probe_all_count)" "$(kv probe_all_p50_ms)" "$(kv probe_all_p99_ms)" "$(kv probe_all_max_ms)" \
    "$(kv probe_all_over_50ms)" "$(kv probe_all_timeouts)"
printf 'summary: all equal: %s; compared: %s\n' "$(kv all_equal)" "$(kv compared)"
[ "$rc" = 0 ] || die "the load or the comparison failed (exit $rc; see above)"
