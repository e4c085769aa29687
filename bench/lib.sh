# Shell functions shared by the benchmark scripts in bench/ (compare.sh,
# bigzone.sh, manyzones.sh). Source it after `set -euo pipefail`:
#
#   HERE="$(cd "$(dirname "$0")" && pwd)"
#   . "$HERE/lib.sh"
#
# It sets BENCH_NAME (the script's file name, for messages), REPO (the
# repository root), adds /usr/sbin and /sbin to PATH (knotd, nsd) and sets
# LC_ALL=C.
# Functions that run one server at a time keep its pid in SERVER_PID.
# shellcheck shell=bash

BENCH_NAME="${BENCH_NAME:-${0##*/}}"
BENCH_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_LIB_DIR/.." && pwd)"
export PATH="$PATH:/usr/sbin:/sbin"
# $EPOCHREALTIME and awk print numbers with a decimal point.
export LC_ALL=C
SERVER_PID=""
PROBE_PID=""
CHILD_PID=""

die() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
note() { printf '==> %s\n' "$*" >&2; }

# need_tool TOOL HINT: dies with HINT when TOOL is not on PATH.
need_tool() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# Makes BENCH_DIR (a new temp dir unless set) and makes it absolute.
make_bench_dir() {
    if [ -z "${BENCH_DIR:-}" ]; then
        BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zonecast-bench.XXXXXX")"
    else
        mkdir -p "$BENCH_DIR"
    fi
    BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
}

# Stops the server and removes BENCH_DIR unless KEEP=1. Installed by bench_traps.
bench_cleanup() {
    if [ -n "$CHILD_PID" ]; then
        kill "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    if [ -n "$PROBE_PID" ]; then
        kill "$PROBE_PID" 2>/dev/null || true
        wait "$PROBE_PID" 2>/dev/null || true
    fi
    stop_server
    if [ "${KEEP:-0}" = 1 ]; then
        note "kept $BENCH_DIR"
    else
        rm -rf "$BENCH_DIR"
    fi
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# run_child CMD...: runs CMD in the background and waits for it, so that a
# signal to the script is handled at once (and CMD killed by bench_cleanup).
run_child() {
    local rc=0
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

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

# Stops SERVER_PID: SIGTERM, then SIGKILL after STOP_WAIT tenths of a second
# [50]. Sets STOP_KILLED=1 when it had to kill.
STOP_KILLED=0
# stop_zonecast DATA_DIR: stops SERVER_PID (killed 120 s after SIGTERM at
# the latest, which is said) and sets STORE_MIB to the size of DATA_DIR.
stop_zonecast() {
    STOP_WAIT=1200 stop_server
    [ "$STOP_KILLED" = 0 ] || note "zonecast did not stop within 120 s after SIGTERM and was killed"
    STORE_MIB="$(du -sk "$1" | awk '{ printf "%.1f", $1 / 1024 }')"
}

# restart_zonecast LOG CMD...: picks new free DNS_PORT and API_PORT, then a
# timed start of CMD (which reads them) until it answers (see timed_start).
restart_zonecast() {
    local log="$1"
    shift
    DNS_PORT="$(free_port)"
    API_PORT="$(free_port)"
    note "zonecast: restarting from the store ($STORE_MIB MiB) on 127.0.0.1:$DNS_PORT"
    timed_start zonecast "$DNS_PORT" "$log" "$@"
}

stop_server() {
    STOP_KILLED=0
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq "${STOP_WAIT:-50}"); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            STOP_KILLED=1
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# wait_ready NAME PORT LOG ORIGIN: waits (polling with kdig every 0.5 s, up
# to 600 s) until SERVER_PID answers SOA for ORIGIN with AA set.
wait_ready() {
    local name="$1" port="$2" log="$3" origin="$4" deadline=$((SECONDS + 600))
    while [ "$SECONDS" -lt "$deadline" ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$log" >&2; die "$name exited before it was ready"; }
        if kdig @127.0.0.1 -p "$port" +norec +timeout=1 +retry=0 "$origin." SOA 2>/dev/null | grep -q 'status: NOERROR' \
            && kdig @127.0.0.1 -p "$port" +norec +timeout=1 +retry=0 "$origin." SOA 2>/dev/null | grep -q 'Flags: qr aa'; then
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$log" >&2
    die "$name not ready after 600 s"
}

# Precise start-up timing. Usage:
#   probe_start PORT /ZONES_FILE|ORIGIN # polls DNS from before the server starts
#   START=$EPOCHREALTIME; server ... & SERVER_PID=$!
#   probe_wait NAME LOG                 # sets PROBE_FIRST and PROBE_ALL (seconds since START)
# The probe (benchtool.py wait) sends SOA queries every few ms and records
# when the first zone and when every zone answered NOERROR with AA set.
probe_start() {
    local port="$1" zones="$2" pfile="$BENCH_DIR/probe.pid" ready="$BENCH_DIR/probe.ready" spec=()
    rm -f "$pfile" "$ready" "$BENCH_DIR/probe.out"
    case "$zones" in
        /*) spec=(--zones-file "$zones") ;;
        *) spec=("$zones") ;;
    esac
    python3 "$BENCH_LIB_DIR/benchtool.py" wait --port "$port" --pidfile "$pfile" --ready "$ready" \
        --timeout "${PROBE_TIMEOUT:-1800}" "${spec[@]}" >"$BENCH_DIR/probe.out" &
    PROBE_PID=$!
    for _ in $(seq 3000); do
        [ -e "$ready" ] && return 0
        kill -0 "$PROBE_PID" 2>/dev/null || break
        sleep 0.01
    done
    die "the start-up probe did not start"
}

probe_wait() {
    local name="$1" log="$2" rc=0 first all
    echo "$SERVER_PID" >"$BENCH_DIR/probe.pid.tmp"
    mv "$BENCH_DIR/probe.pid.tmp" "$BENCH_DIR/probe.pid"
    wait "$PROBE_PID" || rc=$?
    PROBE_PID=""
    if [ "$rc" != 0 ]; then
        tail -n 30 "$log" >&2
        die "$name did not answer (probe exit $rc)"
    fi
    read -r first all <"$BENCH_DIR/probe.out"
    PROBE_FIRST="$(awk -v a="$first" -v s="$START" 'BEGIN { printf "%.3f", a - s }')"
    PROBE_ALL="$(awk -v a="$all" -v s="$START" 'BEGIN { printf "%.3f", a - s }')"
}

# knot_conf DIR PORT UDP_WORKERS BG_WORKERS: prints a knot.conf without the
# zone section (zone files are loaded whole, nothing is written back, no journal).
knot_conf() {
    local dir="$1" port="$2" udp="$3" bg="$4"
    cat <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: $dir
    pidfile: $dir/knot.pid
    udp-workers: $udp
    tcp-workers: 1
    background-workers: $bg
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
EOF
}

# Builds zonecast in release mode and sets ZONECAST_BIN, unless ZONECAST_BIN
# is set already (then it must be an executable). Honours CARGO_TARGET_DIR
# and the target directory of the cargo configuration.
build_zonecast() {
    if [ -n "${ZONECAST_BIN:-}" ]; then
        [ -x "$ZONECAST_BIN" ] || die "ZONECAST_BIN=$ZONECAST_BIN is not an executable"
        ZONECAST_FROM="ZONECAST_BIN=$ZONECAST_BIN"
        return 0
    fi
    need_tool cargo "install Rust (or set ZONECAST_BIN to a built zonecast)"
    note "building zonecast (release)"
    (cd "$REPO" && cargo build --release --bin zonecast) >&2
    local target
    target="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')" || target="$REPO/target"
    ZONECAST_BIN="$target/release/zonecast"
    [ -x "$ZONECAST_BIN" ] || die "cargo built no $ZONECAST_BIN"
    ZONECAST_FROM="built from this checkout"
}

# run_dnsperf PORT SECONDS OUT: dnsperf over QUERIES with CLIENTS sockets,
# OUTSTANDING queries in flight and, when QPS is set, that rate limit.
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

# measure_dnsperf NAME PORT: a WARMUP-second unmeasured dnsperf run, then a
# DURATION-second measured one against SERVER_PID. Prints
# "NAME qps sent completed lost cpu_ticks rss_kib" (dnsperf output in
# BENCH_DIR/NAME.warmup.txt and BENCH_DIR/NAME.dnsperf.txt).
measure_dnsperf() {
    local name="$1" port="$2" before after rss out="$BENCH_DIR/$1.dnsperf.txt"
    run_dnsperf "$port" "$WARMUP" "$BENCH_DIR/$name.warmup.txt"
    before="$(cpu_ticks "$SERVER_PID")"
    note "$name: measuring for $DURATION s"
    run_dnsperf "$port" "$DURATION" "$out"
    after="$(cpu_ticks "$SERVER_PID")"
    rss="$(rss_kib "$SERVER_PID")"
    echo "$name $(perf_field "$out" "Queries per second") $(perf_field "$out" "Queries sent")" \
        "$(perf_field "$out" "Queries completed") $(perf_field "$out" "Queries lost") $((after - before)) $rss"
}

# print_header VAR...: the date, the command line that reproduces this run
# (every knob with its value) and what it ran on, as comment lines.
print_header() {
    local cmd="" var rev
    for var in "$@"; do
        cmd+="$var=$(printf '%q' "${!var}") "
    done
    rev="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    git -C "$REPO" diff --quiet HEAD 2>/dev/null || rev+="+changes"
    printf '# %s\n' "$(date '+%Y-%m-%d %H:%M:%S %Z')"
    printf '# command: %sbench/%s\n' "$cmd" "$BENCH_NAME"
    printf '# host: %s CPUs, %s, kernel %s\n' "$(nproc)" \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown CPU)" "$(uname -r)"
    printf '# zonecast %s, %s (sha256 %s), checkout at commit %s\n' \
        "$("${ZONECAST_BIN:-false}" --version 2>/dev/null | awk '{print $2}' || echo '?')" \
        "${ZONECAST_FROM:-not built}" "$(sha256sum "${ZONECAST_BIN:-/dev/null}" | cut -c1-12)" "$rev"
    printf '# knotd %s, dnsperf %s, python %s\n' \
        "$(knotd --version 2>/dev/null | awk '{print $NF; exit}' || echo '?')" \
        "$(dnsperf -h 2>&1 | awk '/^Version/ {print $2; exit}' || echo '?')" \
        "$(python3 -c 'import platform; print(platform.python_version())')"
}
