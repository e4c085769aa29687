# Shell functions shared by the benchmark scripts in bench/ (compare.sh,
# bigzone.sh, manyzones.sh, propagate.sh, secondary.sh, sustained.sh). Source it after `set -euo pipefail`:
#
#   HERE="$(cd "$(dirname "$0")" && pwd)"
#   . "$HERE/lib.sh"
#
# It sets BENCH_NAME (the script's file name, for messages), REPO (the
# repository root), adds /usr/sbin and /sbin to PATH (knotd, nsd) and sets
# LC_ALL=C.
# Functions that run one server at a time keep its pid in SERVER_PID;
# bg_start runs more at once (their pids in BG_PIDS), pg_start a throwaway
# PostgreSQL (PG_DIR); bench_cleanup stops all of them.
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
BG_PIDS=()
PG_DIR=""

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
    stop_bg_all
    pg_stop
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

# free_port [ADDR]: a port below 32768 free for UDP and TCP on ADDR [127.0.0.1].
free_port() {
    python3 - "${1:-127.0.0.1}" <<'PY'
import random, socket, sys
addr = sys.argv[1]
for _ in range(1000):
    p = random.randrange(10000, 32000)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        u.bind((addr, p)); t.bind((addr, p))
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

# --- Several processes at once, PostgreSQL, zonecast clusters ----------------
# (propagate.sh, sustained.sh)

# bg_start LOG CMD...: runs CMD in the background (stdout and stderr to LOG),
# adds its pid to BG_PIDS and sets BG_PID. bench_cleanup stops it.
bg_start() {
    local log="$1"
    shift
    "$@" >>"$log" 2>&1 &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# stop_pid PID [SIGNAL]: SIGNAL [TERM] to PID, SIGKILL after 5 s, then reaps it.
stop_pid() {
    local pid="$1"
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops every process in BG_PIDS, the last started first.
stop_bg_all() {
    local i
    for ((i = ${#BG_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${BG_PIDS[$i]}"
    done
    BG_PIDS=()
}

# The PostgreSQL server binaries: pg_config --bindir, else the newest
# /usr/lib/postgresql/*/bin, else PATH (ZONECAST_PG_BINDIR overrides them).
pg_bindir() {
    local d
    if [ -n "${ZONECAST_PG_BINDIR:-}" ]; then echo "$ZONECAST_PG_BINDIR"; return 0; fi
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    d="$(command -v initdb 2>/dev/null || true)"
    [ -n "$d" ] || die "PostgreSQL server binaries not found (no initdb; install postgresql-15 or set ZONECAST_PG_BINDIR)"
    dirname "$d"
}

# pg_cmd CMD...: runs a PostgreSQL binary, as the `postgres` OS user when
# this script runs as root (PostgreSQL refuses to run as root).
pg_cmd() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_psql SQL: runs SQL on the cluster's `postgres` database (psql -At).
pg_psql() {
    pg_cmd "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$1"
}

# pg_start: a throwaway PostgreSQL cluster in a new directory PG_DIR (not
# under BENCH_DIR, which only root can enter), on a free port below 32768 of
# 127.0.0.1, with database `zonecast`. Settings: wal_level=logical,
# max_replication_slots=20, max_wal_senders=20; everything else (fsync,
# synchronous_commit, ...) at PostgreSQL's defaults. Trust authentication
# for 127.0.0.0/8. Sets PG_BIN, PG_PORT, PG_URL, PG_VERSION.
pg_start() {
    local tries
    PG_BIN="$(pg_bindir)"
    for tool in initdb pg_ctl postgres psql; do
        [ -x "$PG_BIN/$tool" ] || die "PostgreSQL binary $tool missing in $PG_BIN"
    done
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres OS user to run PostgreSQL as"
        command -v runuser >/dev/null 2>&1 || die "running as root, but runuser (util-linux) is missing"
    fi
    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zonecast-bench-pg.XXXXXX")"
    [ "$(id -u)" != 0 ] || chown postgres: "$PG_DIR"
    pg_cmd "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    cat >>"$PG_DIR/data/postgresql.conf" <<PGCONF
# bench/lib.sh pg_start
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
PGCONF
    printf '%s\n' "local all all trust" "local replication all trust" \
        "host all all 127.0.0.0/8 trust" "host replication all 127.0.0.0/8 trust" >"$PG_DIR/data/pg_hba.conf"
    for tries in 1 2 3 4 5; do
        PG_PORT="$(free_port)"
        echo "port = $PG_PORT" | pg_cmd tee "$PG_DIR/data/postgresql.auto.conf" >/dev/null
        if pg_cmd "$PG_BIN/pg_ctl" start -w -t 60 -D "$PG_DIR/data" -l "$PG_DIR/log" >"$PG_DIR/pg_ctl.log" 2>&1; then
            pg_psql "CREATE DATABASE zonecast" >/dev/null || die "CREATE DATABASE failed (log: $PG_DIR/log)"
            PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/zonecast"
            PG_VERSION="$(pg_psql "SHOW server_version" | awk '{print $1}')"
            return 0
        fi
        grep -q 'could not bind\|Address already in use\|could not create any TCP/IP' "$PG_DIR/log" 2>/dev/null || break
        note "PostgreSQL: port $PG_PORT taken, trying another ($tries)"
    done
    tail -n 20 "$PG_DIR/log" >&2 2>/dev/null || true
    die "PostgreSQL did not start (log: $PG_DIR/log)"
}

# Stops the cluster started by pg_start and removes PG_DIR (unless KEEP=1).
pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        pg_cmd "$PG_BIN/pg_ctl" stop -w -t 60 -m fast -D "$PG_DIR/data" >/dev/null 2>&1 \
            || pg_cmd "$PG_BIN/pg_ctl" stop -m immediate -D "$PG_DIR/data" >/dev/null 2>&1 || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        note "kept $PG_DIR"
    else
        rm -rf "$PG_DIR"
    fi
    PG_DIR=""
}

# wait_http NAME ADDR PORT PID LOG [TIMEOUT]: waits until GET /v1/health on
# ADDR:PORT answers 200 (dies with LOG's tail if PID exits first).
wait_http() {
    run_child python3 "$BENCH_LIB_DIR/benchtool.py" wait-api --host "$2" --port "$3" --pid "$4" \
        --timeout "${6:-600}" || { tail -n 30 "$5" >&2; die "$1: no 200 from http://$2:$3/v1/health"; }
}

# cluster_start EDGES: PostgreSQL (pg_start), a control plane and EDGES
# edges (names e1..eN, DNS and API on 127.0.0.(N+1)), each waited for until
# GET /v1/health answers 200. With EDGES=0: one `zonecast serve` on its
# embedded store, no PostgreSQL (the "edges" below are then that node).
# Needs ZONECAST_BIN, TOKEN, BENCH_DIR; extra `serve` arguments in
# ZONECAST_ARGS, extra `edge` arguments in EDGE_ARGS. Sets CP_PID, CP_DNS_PORT,
# CP_API_PORT, CP_LOG and the arrays EDGE_NAMES, EDGE_PIDS, EDGE_DNS (ADDR:PORT),
# EDGE_API (ADDR:PORT), EDGE_LOGS.
cluster_start() {
    local n="$1" i addr dport aport db=()
    mkdir -p "$BENCH_DIR/cp"
    CP_DNS_PORT="$(free_port)"
    CP_API_PORT="$(free_port)"
    CP_LOG="$BENCH_DIR/cp/zonecast.log"
    if [ "$n" -gt 0 ]; then
        pg_start
        note "PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT ($PG_DIR)"
        db=(--database "$PG_URL")
    fi
    note "control plane: DNS 127.0.0.1:$CP_DNS_PORT, API 127.0.0.1:$CP_API_PORT"
    # shellcheck disable=SC2086 # ZONECAST_ARGS is split on purpose
    bg_start "$CP_LOG" env RUST_LOG="${RUST_LOG:-warn}" "$ZONECAST_BIN" serve "${db[@]}" \
        --data-dir "$BENCH_DIR/cp/data" --dns-listen "127.0.0.1:$CP_DNS_PORT" \
        --api-listen "127.0.0.1:$CP_API_PORT" --api-token "$TOKEN" ${ZONECAST_ARGS:-}
    CP_PID=$BG_PID
    wait_http "control plane" 127.0.0.1 "$CP_API_PORT" "$CP_PID" "$CP_LOG"
    EDGE_NAMES=() EDGE_PIDS=() EDGE_DNS=() EDGE_API=() EDGE_LOGS=()
    if [ "$n" = 0 ]; then
        EDGE_NAMES=(node) EDGE_PIDS=("$CP_PID") EDGE_DNS=("127.0.0.1:$CP_DNS_PORT")
        EDGE_API=("127.0.0.1:$CP_API_PORT") EDGE_LOGS=("$CP_LOG")
        return 0
    fi
    for i in $(seq "$n"); do
        addr="127.0.0.$((i + 1))"
        dport="$(free_port "$addr")"
        aport="$(free_port "$addr")"
        mkdir -p "$BENCH_DIR/e$i"
        note "edge e$i: DNS $addr:$dport, API $addr:$aport"
        # shellcheck disable=SC2086 # EDGE_ARGS is split on purpose
        bg_start "$BENCH_DIR/e$i/zonecast.log" env RUST_LOG="${RUST_LOG:-warn}" "$ZONECAST_BIN" edge \
            --database "$PG_URL" --name "e$i" --data-dir "$BENCH_DIR/e$i/data" \
            --dns-listen "$addr:$dport" --api-listen "$addr:$aport" ${EDGE_ARGS:-}
        EDGE_NAMES+=("e$i") EDGE_PIDS+=("$BG_PID") EDGE_DNS+=("$addr:$dport")
        EDGE_API+=("$addr:$aport") EDGE_LOGS+=("$BENCH_DIR/e$i/zonecast.log")
    done
}

# cluster_wait_edges: waits until every edge's GET /v1/health answers 200.
cluster_wait_edges() {
    local i
    for i in "${!EDGE_NAMES[@]}"; do
        wait_http "edge ${EDGE_NAMES[$i]}" "${EDGE_API[$i]%:*}" "${EDGE_API[$i]##*:}" \
            "${EDGE_PIDS[$i]}" "${EDGE_LOGS[$i]}"
    done
}

# joined SEP ITEM...: the items joined with SEP.
joined() {
    local sep="$1" out=""
    shift
    for x in "$@"; do out+="${out:+$sep}$x"; done
    echo "$out"
}
