#!/usr/bin/env bash
# Secondary: how long after a change on a primary a secondary serves it
# (issue 9). One knotd primary; as secondaries zonecast (a secondary zone
# made through its API) and knotd. See bench/README.md ("Secondary").
#
#   The primary: knotd on 127.0.0.1, the zone (genzone.py's NAMES names plus
#     NAME A) from a zone file, IXFR from its journal (journal-content:
#     changes), transfers allowed only with TSIG key k1 (hmac-sha256), NOTIFY
#     signed with k1 to every secondary of the round.
#   zonecast: `zonecast serve --refresh-min 1` (embedded store); POST
#     /v1/tsig-keys k1, POST /v1/zones kind secondary, primaries the knotd
#     primary, tsig_key k1. It takes an AXFR at creation; on each NOTIFY an
#     SOA query and an IXFR.
#   knot: a knotd secondary (master: the primary, key k1; NOTIFY accepted
#     with k1), which likewise takes an AXFR at start and NOTIFY + SOA + IXFR
#     after.
#   CHANGES times (after WARMUP unmeasured ones) NAME's A RRset is replaced
#   on the primary with knotc zone-begin / zone-unset / zone-set /
#   zone-commit (the primary raises the serial); time zero is when `knotc
#   zone-commit` has returned; every secondary of the round is polled over
#   UDP (bench/propagation.py changes: one query in flight per secondary,
#   sent again at once while the answer is still the old address) until it
#   answers the new address. The next change follows GAP_MS after the last
#   secondary answered.
#
# TOGETHER=1 (the default): both secondaries follow the same primary in one
# round, so each change is measured on both at once (same changes, same
# primary, same moment). The primary notifies the Knot secondary first, then
# zonecast (knotd sends NOTIFYs one after the other; the order costs
# zonecast the Knot secondary's NOTIFY round trip, tens of microseconds), and
# it serves the two IXFRs with PRIMARY_TCP_WORKERS TCP workers. TOGETHER=0:
# one round per side, each with its own fresh primary that notifies only
# that side (no competition for the primary or the CPUs).
#
# Figures, per secondary: p50, p90, p99, max and mean of the delay over
# CHANGES changes, how many took over 50 ms and over 1 s, and how many were
# not answered within TIMEOUT_S; "commit" is the duration of `knotc
# zone-commit` itself (not included). Times are when the answer was received
# (at most one loopback round trip late). Then the transfers the secondaries
# took during the changes (warm-up included, the initial AXFR not): IXFR and
# AXFR counts from zonecast's log and from the Knot secondary's log, and
# zonecast's IXFR fallbacks, its transfer time (ms= of "transfer applied"),
# and per change from its log's timestamps the time from time zero to
# "NOTIFY accepted", from there to "transfer applied", and time zero to
# applied; the /metrics counters and the zone status's last_transfer. The
# load average before and after each round is printed: the tails depend on
# what else runs on the machine (2 cores here). Target of
# issue 9: zonecast at least as fast as Knot as secondary, no multi-second
# stalls.
#
# Environment (defaults in brackets):
#   CHANGES    measured changes [100]
#   WARMUP     unmeasured changes first [5]
#   GAP_MS     pause between changes, ms [10]
#   NAMES      names in the generated zone (genzone.py) besides NAME [10000]
#   NAME       the name changed and queried [probe]
#   TIMEOUT_S  a change not answered within this counts as a timeout [30]
#   SERVERS    which secondaries ["zonecast knot"]
#   TOGETHER   1: all SERVERS in one round; 0: one round per secondary [1]
#   KNOT_UDP_WORKERS         knotd udp-workers, each knotd [1]
#   KNOT_BACKGROUND_WORKERS  knotd background-workers, each knotd [1]
#   PRIMARY_TCP_WORKERS      the primary's tcp-workers (serves the IXFRs) [2]
#   ZONECAST_ARGS  extra arguments to `zonecast serve` [""]
#   RUST_LOG   zonecast's log filter [info: the transfer lines are read]
#   ZONECAST_BIN   a built zonecast to run [unset: cargo build --release]
#   BENCH_DIR  where zone, configs, logs and per-change figures go [a new temp dir]
#   KEEP=1     keep BENCH_DIR afterwards
#
# Output: `#` header lines (date, command, host, versions), summary lines
# "propagation ROUND SECONDARY STAT VALUE" (ROUND "both" when TOGETHER=1,
# else the secondary; SECONDARY zonecast, knot, all = the later of the two,
# or commit), "xfr ROUND SECONDARY KEY VALUE" lines, then a Markdown table
# zonecast against the Knot secondary with the ratio (lower is faster) and
# the "target" line. Per-change figures: BENCH_DIR/ROUND.changes.tsv.
set -euo pipefail

CHANGES="${CHANGES:-100}"
WARMUP="${WARMUP:-5}"
GAP_MS="${GAP_MS:-10}"
NAMES="${NAMES:-10000}"
NAME="${NAME:-probe}"
TIMEOUT_S="${TIMEOUT_S:-30}"
SERVERS="${SERVERS:-zonecast knot}"
TOGETHER="${TOGETHER:-1}"
KNOT_UDP_WORKERS="${KNOT_UDP_WORKERS:-1}"
KNOT_BACKGROUND_WORKERS="${KNOT_BACKGROUND_WORKERS:-1}"
PRIMARY_TCP_WORKERS="${PRIMARY_TCP_WORKERS:-2}"
ZONECAST_ARGS="${ZONECAST_ARGS:-}"
ZC_RUST_LOG="${RUST_LOG:-info}"
ORIGIN="example.com"
FIRST_VALUE="192.0.2.80"
KEY_NAME="k1"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
GENZONE="$HERE/../../shared/bench/genzone.py"

[ -f "$GENZONE" ] || die "zone generator not found at $GENZONE (expected ../shared/bench/genzone.py next to the repository)"
need_tool python3 "apt-get install python3"
need_tool kdig "apt-get install knot-dnsutils"
need_tool knotd "apt-get install knot"
need_tool knotc "apt-get install knot"
for n in CHANGES WARMUP GAP_MS NAMES TIMEOUT_S TOGETHER KNOT_UDP_WORKERS KNOT_BACKGROUND_WORKERS PRIMARY_TCP_WORKERS; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n must be a number, not '${!n}'"
done
[ "$CHANGES" -gt 0 ] || die "CHANGES must be above 0"
[ "$TIMEOUT_S" -gt 0 ] || die "TIMEOUT_S must be above 0"
[[ "$NAME" =~ ^[a-z0-9-]+$ ]] || die "NAME must be one label of letters, digits and '-'"
[ -n "$SERVERS" ] || die "SERVERS is empty"
for side in $SERVERS; do
    case "$side" in
        zonecast | knot) ;;
        *) die "unknown secondary '$side' in SERVERS (zonecast, knot)" ;;
    esac
done

make_bench_dir
bench_traps
TOKEN="bench-$RANDOM$RANDOM"
SECRET="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
if [[ " $SERVERS " == *" zonecast "* ]]; then
    build_zonecast
    # A private copy: the shared target directory may be rebuilt during the run.
    mkdir -p "$BENCH_DIR/bin"
    cp "$ZONECAST_BIN" "$BENCH_DIR/bin/zonecast"
    ZONECAST_BIN="$BENCH_DIR/bin/zonecast"
    "$ZONECAST_BIN" serve --help 2>/dev/null | grep -q -- '--refresh-min' || die "this zonecast's serve has no --refresh-min (no secondary zones)"
fi

print_header CHANGES WARMUP GAP_MS NAMES NAME TIMEOUT_S SERVERS TOGETHER \
    KNOT_UDP_WORKERS KNOT_BACKGROUND_WORKERS PRIMARY_TCP_WORKERS ZONECAST_ARGS

# The zone: genzone.py's NAMES names plus NAME A FIRST_VALUE.
python3 "$GENZONE" "$ORIGIN" "$NAMES" "$BENCH_DIR/gen" >/dev/null
ZONE="$BENCH_DIR/$ORIGIN.zone"
{ cat "$BENCH_DIR/gen/$ORIGIN.zone"; printf '%s 300 IN A %s\n' "$NAME" "$FIRST_VALUE"; } >"$ZONE"

# knot_node DIR PORT [TCP_WORKERS]: the common part of a knot.conf (lib.sh
# knot_conf) with info logging (the transfer lines are counted) and the key.
knot_node() {
    knot_conf "$1" "$2" "$KNOT_UDP_WORKERS" "$KNOT_BACKGROUND_WORKERS" \
        | sed -e 's/^    any: warning$/    any: info/' -e "s/^    tcp-workers: 1$/    tcp-workers: ${3:-1}/"
    cat <<EOF
key:
  - id: $KEY_NAME
    algorithm: hmac-sha256
    secret: $SECRET
EOF
}

# run_round ROUND SECONDARY...: a fresh primary and the given secondaries,
# the changes, the transfer report. Summary in BENCH_DIR/ROUND.summary.
run_round() {
    local round="$1" side p1 pz="" az="" pk="" notify=() servers=() labels=() skip_z=0 skip_k=0 rc=0 report=()
    local dp="$BENCH_DIR/$round/primary" dz="$BENCH_DIR/$round/zonecast" dk="$BENCH_DIR/$round/knot"
    shift
    p1="$(free_port)"
    mkdir -p "$dp/db" "$dp/zones"
    for side in "$@"; do
        case "$side" in
            knot) pk="$(free_port)"; notify+=(knotsec); servers+=("127.0.0.1:$pk"); labels+=(knot) ;;
        esac
    done
    for side in "$@"; do
        case "$side" in
            zonecast) pz="$(free_port)"; az="$(free_port)"; notify+=(zc); servers+=("127.0.0.1:$pz"); labels+=(zonecast) ;;
        esac
    done
    {
        knot_node "$dp" "$p1" "$PRIMARY_TCP_WORKERS"
        echo "remote:"
        [ -z "$pk" ] || printf '  - id: knotsec\n    address: 127.0.0.1@%s\n    key: %s\n' "$pk" "$KEY_NAME"
        [ -z "$pz" ] || printf '  - id: zc\n    address: 127.0.0.1@%s\n    key: %s\n' "$pz" "$KEY_NAME"
        cat <<EOF
acl:
  - id: xfr
    address: 127.0.0.1
    key: $KEY_NAME
    action: transfer
zone:
  - domain: $ORIGIN.
    file: $ZONE
    notify: [$(joined ", " "${notify[@]}")]
    acl: xfr
    journal-content: changes
EOF
    } >"$dp/knot.conf"
    note "$round: knotd primary on 127.0.0.1:$p1, notifying $(joined ", " "${notify[@]}")"
    bg_start "$dp/knot.log" knotd -c "$dp/knot.conf"
    run_child python3 "$HERE/propagation.py" wait-answer --servers "127.0.0.1:$p1" \
        --name "$NAME.$ORIGIN." --value "$FIRST_VALUE" --timeout 120 \
        || { tail -n 20 "$dp/knot.log" >&2; die "the primary does not answer $NAME.$ORIGIN A $FIRST_VALUE"; }

    if [ -n "$pk" ]; then
        mkdir -p "$dk/db" "$dk/zones"
        {
            knot_node "$dk" "$pk"
            cat <<EOF
remote:
  - id: primary
    address: 127.0.0.1@$p1
    key: $KEY_NAME
acl:
  - id: primary_notify
    address: 127.0.0.1
    key: $KEY_NAME
    action: notify
zone:
  - domain: $ORIGIN.
    file: $dk/zones/$ORIGIN.zone
    master: primary
    acl: primary_notify
    journal-content: changes
EOF
        } >"$dk/knot.conf"
        note "$round: knotd secondary on 127.0.0.1:$pk"
        bg_start "$dk/knot.log" knotd -c "$dk/knot.conf"
    fi
    if [ -n "$pz" ]; then
        mkdir -p "$dz"
        note "$round: zonecast secondary: DNS 127.0.0.1:$pz, API 127.0.0.1:$az"
        # shellcheck disable=SC2086 # ZONECAST_ARGS is split on purpose
        bg_start "$dz/zonecast.log" env RUST_LOG="$ZC_RUST_LOG" "$ZONECAST_BIN" serve \
            --data-dir "$dz/data" --dns-listen "127.0.0.1:$pz" --api-listen "127.0.0.1:$az" \
            --api-token "$TOKEN" --refresh-min 1 ${ZONECAST_ARGS}
        wait_http zonecast 127.0.0.1 "$az" "$BG_PID" "$dz/zonecast.log"
        run_child python3 "$HERE/benchtool.py" secondary-create --port "$az" --token "$TOKEN" \
            --zone "$ORIGIN" --primary "127.0.0.1:$p1" --key-name "$KEY_NAME" --key-secret "$SECRET" \
            || die "zonecast: creating the secondary zone failed (log: $dz/zonecast.log)"
    fi
    # The initial AXFRs.
    run_child python3 "$HERE/propagation.py" wait-answer --servers "$(joined , "${servers[@]}")" \
        --name "$NAME.$ORIGIN." --value "$FIRST_VALUE" --timeout 120 \
        || { tail -n 20 "$dp/knot.log" "$dk/knot.log" "$dz/zonecast.log" >&2 2>/dev/null
             die "$round: the secondaries do not answer $NAME.$ORIGIN A $FIRST_VALUE (no initial AXFR)"; }
    [ -z "$pz" ] || skip_z="$(wc -l <"$dz/zonecast.log")"
    [ -z "$pk" ] || skip_k="$(wc -l <"$dk/knot.log")"

    note "$round: $WARMUP + $CHANGES changes of $NAME.$ORIGIN A on the primary, polling $(joined , "${labels[@]}")"
    echo "# $round: load average before the changes: $(cut -d' ' -f1-3 /proc/loadavg)"
    run_child python3 "$HERE/propagation.py" changes --servers "$(joined , "${servers[@]}")" \
        --labels "$(joined , "${labels[@]}")" --name "$NAME.$ORIGIN." --zone "$ORIGIN" \
        --count "$CHANGES" --warmup "$WARMUP" --gap-ms "$GAP_MS" --timeout "$TIMEOUT_S" \
        --side "$round" --out "$BENCH_DIR/$round.changes.tsv" --knotc "$dp/knot.sock" \
        >"$BENCH_DIR/$round.summary" || rc=$?
    # A timeout ends the changes early (figures so far are printed); other failures end the run.
    grep -q "^propagation $round all " "$BENCH_DIR/$round.summary" \
        || { cat "$BENCH_DIR/$round.summary"; die "$round: the measurement failed"; }
    [ "$rc" = 0 ] || note "$round: some changes were not answered within $TIMEOUT_S s (see timeouts)"
    echo "# $round: load average after the changes: $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$BENCH_DIR/$round.summary"

    [ -z "$pz" ] || report+=(--zonecast-log "$dz/zonecast.log" --skip-zonecast "$skip_z" \
        --api-port "$az" --token "$TOKEN" --zone "$ORIGIN")
    [ -z "$pk" ] || report+=(--knot-log "$dk/knot.log" --skip-knot "$skip_k")
    run_child python3 "$HERE/propagation.py" xfr-report --side "$round" --changes "$BENCH_DIR/$round.changes.tsv" "${report[@]}" \
        | tee -a "$BENCH_DIR/$round.summary"
    note "$round: primary serial $(kdig @127.0.0.1 -p "$p1" +short +timeout=2 "$ORIGIN." SOA | awk '{print $3}')"
    stop_bg_all
}

if [ "$TOGETHER" = 1 ]; then
    # shellcheck disable=SC2086 # SERVERS is a list
    run_round both $SERVERS
else
    for side in $SERVERS; do
        run_round "$side" "$side"
    done
fi

# The table (secondaries that ran), then the target.
stat() {
    cat "$BENCH_DIR"/*.summary 2>/dev/null \
        | awk -v l="$1" -v k="$2" '$1 == "propagation" && $3 == l && $4 == k { print $5; exit }' || true
}
xfr() {
    cat "$BENCH_DIR"/*.summary 2>/dev/null \
        | awk -v l="$1" -v k="$2" '$1 == "xfr" && $3 == l && $4 == k { print $5; exit }' || true
}
printf '\n%s changes of %s.%s A on a knotd primary (%s names), NOTIFY + IXFR with TSIG; %s\n\n' \
    "$CHANGES" "$NAME" "$ORIGIN" "$NAMES" \
    "$([ "$TOGETHER" = 1 ] && echo "both secondaries in one round" || echo "one round per secondary")"
row() { printf '| %-22s | %20s | %16s | %13s |\n' "$@"; }
row "commit to served" "zonecast secondary" "knot secondary" "zonecast/knot"
row "----------------------" "-------------------:" "---------------:" "------------:"
for k in p50_ms p90_ms p99_ms max_ms mean_ms over_50ms over_1s timeouts; do
    z="$(stat zonecast "$k")"
    n="$(stat knot "$k")"
    r=-
    case "$k" in
        *_ms) r="$(awk -v a="$z" -v b="$n" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.3gx", a / b; else print "-" }')" ;;
    esac
    row "$k" "${z:--}" "${n:--}" "$r"
done
row "IXFR / AXFR" "$(xfr zonecast ixfr) / $(xfr zonecast axfr)" "$(xfr knot ixfr) / $(xfr knot axfr)" "-"
row "commit p50_ms (not in)" "$(stat commit p50_ms)" "-" "-"
echo
z99="$(stat zonecast p99_ms)"
n99="$(stat knot p99_ms)"
if [ -n "$z99" ] && [ -n "$n99" ]; then
    awk -v z50="$(stat zonecast p50_ms)" -v n50="$(stat knot p50_ms)" -v z99="$z99" -v n99="$n99" \
        -v zo="$(stat zonecast over_1s)" -v zt="$(stat zonecast timeouts)" 'BEGIN {
            printf "target zonecast at least as fast as knot: p50 %s (%.3f vs %.3f ms), p99 %s (%.3f vs %.3f ms); no change over 1 s %s (%d)\n",
                (z50 <= n50 ? "met" : "MISSED"), z50, n50, (z99 <= n99 ? "met" : "MISSED"), z99, n99,
                (zo + zt == 0 ? "met" : "MISSED"), zo + zt
        }'
fi
