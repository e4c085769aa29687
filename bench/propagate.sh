#!/usr/bin/env bash
# Propagation: how long after a change is accepted every nameserver answers
# it. zonecast cluster mode (PostgreSQL, a control plane, EDGES edges that
# follow it by logical replication) against Knot DNS (a primary and a
# secondary, NOTIFY + IXFR). See bench/README.md ("Propagation").
#
#   zonecast: a throwaway PostgreSQL (initdb, wal_level=logical, other
#     settings at their defaults: fsync and synchronous_commit on), `zonecast
#     serve --database` (API and DNS on 127.0.0.1) and edges e1..eN (`zonecast
#     edge`, DNS and API on 127.0.0.2, .3, .4, ...). The zone is created with
#     POST /v1/zones; then CHANGES times: PUT /v1/zones/example.com/rrsets/NAME/A
#     with a new address; time zero is when the API's response has been read;
#     every edge is polled over UDP (one query in flight per edge, sent again
#     at once while the answer is the old address) until each answers the new
#     address.
#   knot: knotd primary and knotd secondary on 127.0.0.1 (NOTIFY from the
#     primary, IXFR from its journal); CHANGES times the same name's A RRset
#     is replaced with knotc zone-begin / zone-unset / zone-set / zone-commit
#     on the primary; time zero is when `knotc zone-commit` has returned; the
#     secondary is polled the same way.
# Meanwhile dnsperf queries NAME on every polled server at LOAD_QPS (the
# issue: "a name that is being queried"). One side runs at a time.
#
# Figures, per side: "all" is the time until the LAST polled server answered
# the new address (for zonecast the slowest of the edges), per change; p50,
# p99 and max over CHANGES changes, and how many took over 50 ms. Per-edge
# lines follow, and "commit": the API's PUT latency (zonecast) or the
# duration of `knotc zone-commit` (knot), which is not part of propagation.
# Times are when the answer was received (at most one loopback round trip
# late). Targets of issue 7 for zonecast: p50 <= 2 ms, p99 <= 5 ms, none over
# 50 ms.
#
# Environment (defaults in brackets):
#   CHANGES    measured changes per side [500]
#   WARMUP     unmeasured changes first [5]
#   GAP_MS     pause between changes, ms [10]
#   EDGES      zonecast edges [3]; 0: one `zonecast serve` on its embedded
#              store, no PostgreSQL, polled itself (a dry run of the probe)
#   NAMES      names in the generated zone (genzone.py) besides NAME [1000]
#   NAME       the name changed and queried [probe]
#   LOAD_QPS   background dnsperf queries/s for NAME per polled server [500]; 0: none
#   TIMEOUT_S  a change not answered everywhere within this is a failure [10]
#   SERVERS    which sides, in order ["zonecast knot"]
#   KNOT_UDP_WORKERS         knotd udp-workers, each knotd [1]
#   KNOT_BACKGROUND_WORKERS  knotd background-workers, each knotd [1]
#   ZONECAST_ARGS  extra arguments to `zonecast serve` [""]
#   EDGE_ARGS      extra arguments to `zonecast edge` [""]
#   ZONECAST_BIN   a built zonecast to run [unset: cargo build --release, target/release/zonecast]
#   BENCH_DIR  where zone, configs, logs and per-change figures go [a new temp dir]
#   KEEP=1     keep BENCH_DIR (and the PostgreSQL directory) afterwards
#
# Output: `#` header lines (date, command, host, versions), summary lines
# "propagation SIDE LABEL STAT VALUE" (SIDE zonecast or knot; LABEL all, an
# edge, secondary or commit), a Markdown table of both sides with the ratio
# zonecast/knot (lower is faster), and "target" lines. Per-change figures:
# BENCH_DIR/zonecast.changes.tsv and BENCH_DIR/knot.changes.tsv.
set -euo pipefail

CHANGES="${CHANGES:-500}"
WARMUP="${WARMUP:-5}"
GAP_MS="${GAP_MS:-10}"
EDGES="${EDGES:-3}"
NAMES="${NAMES:-1000}"
NAME="${NAME:-probe}"
LOAD_QPS="${LOAD_QPS:-500}"
TIMEOUT_S="${TIMEOUT_S:-10}"
SERVERS="${SERVERS:-zonecast knot}"
KNOT_UDP_WORKERS="${KNOT_UDP_WORKERS:-1}"
KNOT_BACKGROUND_WORKERS="${KNOT_BACKGROUND_WORKERS:-1}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
EDGE_ARGS="${EDGE_ARGS:-}"
ORIGIN="example.com"
FIRST_VALUE="192.0.2.80"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
need_tool python3 "apt-get install python3"
need_tool kdig "apt-get install knot-dnsutils"
[ "$LOAD_QPS" = 0 ] || need_tool dnsperf "apt-get install dnsperf"
for n in CHANGES WARMUP GAP_MS EDGES NAMES LOAD_QPS TIMEOUT_S KNOT_UDP_WORKERS KNOT_BACKGROUND_WORKERS; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a number, not '${!n}'"
done
[ "$CHANGES" -gt 0 ] || die "CHANGES must be above 0"
[[ "$NAME" =~ ^[a-z0-9-]+$ ]] || die "NAME must be one label of letters, digits and '-'"
for side in $SERVERS; do
    case "$side" in
        zonecast) ;;
        knot) need_tool knotd "apt-get install knot"; need_tool knotc "apt-get install knot" ;;
        *) die "unknown side '$side' in SERVERS (zonecast, knot)" ;;
    esac
done

make_bench_dir
bench_traps
TOKEN="bench-$RANDOM$RANDOM"
if [[ " $SERVERS " == *" zonecast "* ]]; then
    build_zonecast
    # A private copy: the shared target directory may be rebuilt during the run.
    mkdir -p "$BENCH_DIR/bin"
    cp "$ZONECAST_BIN" "$BENCH_DIR/bin/zonecast"
    ZONECAST_BIN="$BENCH_DIR/bin/zonecast"
    if [ "$EDGES" -gt 0 ]; then
        "$ZONECAST_BIN" edge --help >/dev/null 2>&1 || die "this zonecast has no 'edge' command (EDGES=0 runs the probe against one embedded node)"
        "$ZONECAST_BIN" serve --help 2>/dev/null | grep -q -- '--database' || die "this zonecast's serve has no --database"
    fi
fi

print_header CHANGES WARMUP GAP_MS EDGES NAMES NAME LOAD_QPS TIMEOUT_S SERVERS \
    KNOT_UDP_WORKERS KNOT_BACKGROUND_WORKERS ZONECAST_ARGS EDGE_ARGS

# The zone: genzone.py's NAMES names plus NAME A FIRST_VALUE.
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR/gen" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
{ cat "$BENCH_DIR/gen/$ORIGIN.zone"; printf '%s 300 IN A %s\n' "$NAME" "$FIRST_VALUE"; } >"$ZONE"
echo "$ORIGIN" >"$BENCH_DIR/zones.list"
printf '%s.%s. A\n' "$NAME" "$ORIGIN" >"$BENCH_DIR/name.queries"

# load_start SIDE SERVER...: dnsperf at LOAD_QPS against each ADDR:PORT,
# querying NAME, until load_stop; LOAD_PIDS, LOAD_OUTS.
LOAD_PIDS=()
LOAD_OUTS=()
load_start() {
    local side="$1" spec i=0
    shift
    LOAD_PIDS=() LOAD_OUTS=()
    [ "$LOAD_QPS" -gt 0 ] || return 0
    for spec in "$@"; do
        i=$((i + 1))
        bg_start "$BENCH_DIR/$side.load.$i.txt" dnsperf -s "${spec%:*}" -p "${spec##*:}" \
            -d "$BENCH_DIR/name.queries" -l 36000 -c 1 -T 1 -q 20 -t 2 -Q "$LOAD_QPS"
        LOAD_PIDS+=("$BG_PID")
        LOAD_OUTS+=("$BENCH_DIR/$side.load.$i.txt")
    done
}

# load_stop SIDE: stops dnsperf (SIGINT: it prints its statistics) and prints
# "load SIDE SERVER answered_qps N lost N".
load_stop() {
    local side="$1" i
    for i in "${!LOAD_PIDS[@]}"; do
        stop_pid "${LOAD_PIDS[$i]}" INT
        echo "load $side server$((i + 1)) answered_qps $(perf_field "${LOAD_OUTS[$i]}" "Queries per second")" \
            "completed $(perf_field "${LOAD_OUTS[$i]}" "Queries completed") lost $(perf_field "${LOAD_OUTS[$i]}" "Queries lost")"
    done
    LOAD_PIDS=()
}

# measure SIDE SERVERS LABELS ARGS...: propagation.py changes; its summary
# lines go to stdout and BENCH_DIR/SIDE.summary.
measure() {
    local side="$1" servers="$2" labels="$3"
    shift 3
    note "$side: $WARMUP + $CHANGES changes of $NAME.$ORIGIN A, polling $labels"
    run_child python3 "$HERE/propagation.py" changes --servers "$servers" --labels "$labels" \
        --name "$NAME.$ORIGIN." --zone "$ORIGIN" --count "$CHANGES" --warmup "$WARMUP" --gap-ms "$GAP_MS" \
        --timeout "$TIMEOUT_S" --side "$side" --out "$BENCH_DIR/$side.changes.tsv" "$@" \
        >"$BENCH_DIR/$side.summary" || { cat "$BENCH_DIR/$side.summary"; die "$side: the measurement failed"; }
    cat "$BENCH_DIR/$side.summary"
}

run_zonecast() {
    cluster_start "$EDGES"
    note "creating $ORIGIN through the API"
    run_child python3 "$HERE/benchtool.py" create --port "$CP_API_PORT" --token "$TOKEN" \
        --list "$BENCH_DIR/zones.list" --dir "$BENCH_DIR" >/dev/null || die "POST /v1/zones failed (log: $CP_LOG)"
    cluster_wait_edges
    local servers labels
    servers="$(joined , "${EDGE_DNS[@]}")"
    labels="$(joined , "${EDGE_NAMES[@]}")"
    run_child python3 "$HERE/propagation.py" wait-answer --servers "$servers" --name "$NAME.$ORIGIN." \
        --value "$FIRST_VALUE" --timeout 120 || die "the edges do not answer $NAME.$ORIGIN A $FIRST_VALUE"
    load_start zonecast "${EDGE_DNS[@]}"
    measure zonecast "$servers" "$labels" --api-port "$CP_API_PORT" --token "$TOKEN"
    load_stop zonecast
    stop_bg_all
    pg_stop
}

# knot_node DIR PORT: the common part of a knot.conf (lib.sh knot_conf) for
# one of the two knotd.
knot_node() {
    knot_conf "$1" "$2" "$KNOT_UDP_WORKERS" "$KNOT_BACKGROUND_WORKERS" \
        | sed 's/^    any: warning$/    any: info/'
}

run_knot() {
    local p1 p2 d1="$BENCH_DIR/knot-primary" d2="$BENCH_DIR/knot-secondary" serial
    p1="$(free_port)"
    p2="$(free_port)"
    mkdir -p "$d1/db" "$d1/zones" "$d2/db" "$d2/zones"
    {
        knot_node "$d1" "$p1"
        cat <<EOF
remote:
  - id: secondary
    address: 127.0.0.1@$p2
acl:
  - id: secondary_xfr
    address: 127.0.0.1
    action: transfer
zone:
  - domain: $ORIGIN.
    file: $ZONE
    notify: secondary
    acl: secondary_xfr
    journal-content: changes
EOF
    } >"$d1/knot.conf"
    {
        knot_node "$d2" "$p2"
        cat <<EOF
remote:
  - id: primary
    address: 127.0.0.1@$p1
acl:
  - id: primary_notify
    address: 127.0.0.1
    action: notify
zone:
  - domain: $ORIGIN.
    file: $d2/zones/$ORIGIN.zone
    master: primary
    acl: primary_notify
    journal-content: changes
EOF
    } >"$d2/knot.conf"
    note "knot: primary on 127.0.0.1:$p1, secondary on 127.0.0.1:$p2"
    bg_start "$d1/knot.log" knotd -c "$d1/knot.conf"
    bg_start "$d2/knot.log" knotd -c "$d2/knot.conf"
    run_child python3 "$HERE/propagation.py" wait-answer --servers "127.0.0.1:$p1,127.0.0.1:$p2" \
        --name "$NAME.$ORIGIN." --value "$FIRST_VALUE" --timeout 120 \
        || { tail -n 20 "$d1/knot.log" "$d2/knot.log" >&2; die "knot does not answer $NAME.$ORIGIN A $FIRST_VALUE"; }
    load_start knot "127.0.0.1:$p2"
    measure knot "127.0.0.1:$p2" secondary --knotc "$d1/knot.sock"
    load_stop knot
    serial="$(kdig @127.0.0.1 -p "$p1" +short +timeout=2 "$ORIGIN." SOA | awk '{print $3}')"
    note "knot: primary serial $serial, secondary $(kdig @127.0.0.1 -p "$p2" +short +timeout=2 "$ORIGIN." SOA | awk '{print $3}')"
    stop_bg_all
}

for side in $SERVERS; do
    "run_$side"
done

# The table (sides that ran), then the targets.
stat() { awk -v s="$1" -v l="$2" -v k="$3" '$1 == "propagation" && $2 == s && $3 == l && $4 == k { print $5; exit }' "$BENCH_DIR/$1.summary" 2>/dev/null || true; }
ZN="zonecast (last of $EDGES edges)"
[ "$EDGES" -gt 0 ] || ZN="zonecast (embedded node)"
printf '\n%s changes each of %s.%s A; load %s queries/s of it per polled server\n\n' "$CHANGES" "$NAME" "$ORIGIN" "$LOAD_QPS"
row() { printf '| %-30s | %26s | %16s | %13s |\n' "$@"; }
row "propagation" "$ZN" "knot secondary" "zonecast/knot"
row "------------------------------" "-------------------------:" "---------------:" "------------:"
for k in p50_ms p90_ms p99_ms max_ms mean_ms over_5ms over_50ms timeouts; do
    z="$(stat zonecast all "$k")"
    n="$(stat knot all "$k")"
    r=-
    case "$k" in
        *_ms) r="$(awk -v a="$z" -v b="$n" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.3gx", a / b; else print "-" }')" ;;
    esac
    row "$k" "${z:--}" "${n:--}" "$r"
done
row "commit p50_ms (not included)" "$(stat zonecast commit p50_ms)" "$(stat knot commit p50_ms)" "-"
echo
if [ -s "$BENCH_DIR/zonecast.summary" ]; then
    awk '$1 == "propagation" && $2 == "zonecast" && $3 == "all" { v[$4] = $5 }
        END {
            printf "target zonecast p50<=2ms %s (%.3f), p99<=5ms %s (%.3f), none over 50 ms %s (%d)\n",
                (v["p50_ms"] <= 2 ? "met" : "MISSED"), v["p50_ms"], (v["p99_ms"] <= 5 ? "met" : "MISSED"), v["p99_ms"],
                (v["over_50ms"] + v["timeouts"] == 0 ? "met" : "MISSED"), v["over_50ms"] + v["timeouts"]
        }' "$BENCH_DIR/zonecast.summary"
fi
