#!/usr/bin/env bash
# Amplification under a spoofed-source flood, with response rate limiting
# off and on: zonecast (--rrl-rate) and, for reference, knotd (mod-rrl)
# with the same rate and slip. bench/flood.py sends queries for large
# answers from 16 addresses of one /24 (the "victim") as fast as one
# process can and reads what comes back to them.
#
# Environment (defaults in brackets):
#   DURATION   seconds of each flood [5]
#   RATE       answers/s per bucket when RRL is on [20]
#   SLIP       slip when RRL is on [2]
#   SERVERS    ["zonecast knot"]
#   ZONECAST_BIN, BENCH_DIR, KEEP as in bench/compare.sh
set -euo pipefail

DURATION="${DURATION:-5}"
RATE="${RATE:-20}"
SLIP="${SLIP:-2}"
SERVERS="${SERVERS:-zonecast knot}"
ORIGIN="example.com"

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
bench_traps
need_tool python3 "apt-get install python3"
need_tool kdig "apt-get install knot-dnsutils"
make_bench_dir
build_zonecast

# A zone with a large RRset (TXT, 12 strings of 80 octets: ~1 KB) and ANY
# at the apex (answered with one RRset, RFC 8482).
zone="$BENCH_DIR/$ORIGIN.zone"
{
    echo "\$ORIGIN $ORIGIN."
    echo "\$TTL 300"
    echo "@ SOA ns1 hostmaster 1 3600 900 604800 60"
    echo "@ NS ns1"
    echo "@ NS ns2"
    echo "ns1 A 192.0.2.1"
    echo "ns2 A 192.0.2.2"
    for i in $(seq 1 12); do
        printf 'big TXT "%s"\n' "$(printf 'v=%02d-%076d' "$i" 0)"
    done
} >"$zone"

flood() { # PORT QNAME QTYPE
    run_child python3 "$HERE/flood.py" amplify 127.0.0.1 "$1" "$DURATION" "$2" "$3"
}

row() { # SERVER RRL QTYPE JSON
    python3 - "$@" <<'PY'
import json, sys
server, rrl, qtype, j = sys.argv[1:5]
d = json.loads(j)
print(f"{server:9} {rrl:4} {qtype:4} {d['qps']:>9} {d['answers_full']:>9} {d['answers_truncated']:>9} "
      f"{d['bytes_in']:>11} {d['bytes_out']:>11} {d['amplification']:>8}")
PY
}

start_zonecast() { # extra args...
    PORT="$(free_port)"
    "$ZONECAST_BIN" serve --data-dir "$BENCH_DIR/zc-data-$PORT" --dns-listen "127.0.0.1:$PORT" \
        --api-listen "127.0.0.1:$(free_port)" --api-token bench --zone-file "$zone" "$@" \
        >"$BENCH_DIR/zonecast-$PORT.log" 2>&1 &
    SERVER_PID=$!
    wait_ready zonecast "$PORT" "$BENCH_DIR/zonecast-$PORT.log" "$ORIGIN"
}

start_knot() { # rrl on|off
    PORT="$(free_port)"
    local dir="$BENCH_DIR/knot-$PORT"
    mkdir -p "$dir/zones" "$dir/db"
    cp "$zone" "$dir/zones/$ORIGIN.zone"
    {
        knot_conf "$dir" "$PORT" 2 1
        if [ "$1" = on ]; then
            printf 'mod-rrl:\n  - id: flood\n    rate-limit: %s\n    slip: %s\n' "$RATE" "$SLIP"
            printf 'zone:\n  - domain: %s\n    module: mod-rrl/flood\n' "$ORIGIN"
        else
            printf 'zone:\n  - domain: %s\n' "$ORIGIN"
        fi
    } >"$dir/knot.conf"
    knotd -c "$dir/knot.conf" >"$dir/knot.log" 2>&1 &
    SERVER_PID=$!
    wait_ready knotd "$PORT" "$dir/knot.log" "$ORIGIN"
}

printf '%-9s %-4s %-4s %9s %9s %9s %11s %11s %8s\n' server rrl type 'q/s' full truncated 'bytes in' 'bytes out' factor
for server in $SERVERS; do
    for rrl in off on; do
        case "$server" in
            zonecast)
                if [ "$rrl" = on ]; then start_zonecast --rrl-rate "$RATE" --rrl-slip "$SLIP"; else start_zonecast; fi ;;
            knot)
                need_tool knotd "apt-get install knot"
                start_knot "$rrl" ;;
            *) die "unknown server $server" ;;
        esac
        for qtype in TXT ANY; do
            name="big.$ORIGIN"
            [ "$qtype" = ANY ] && name="$ORIGIN"
            row "$server" "$rrl" "$qtype" "$(flood "$PORT" "$name" "$qtype")"
        done
        if [ "$server" = zonecast ] && [ "$rrl" = on ]; then
            note "zonecast log: $(grep -c 'response rate limiting' "$BENCH_DIR"/zonecast-"$PORT".log) rate-limiting lines"
        fi
        stop_server
    done
done
