#!/usr/bin/env bash
# A zonecast cluster on this machine: a throwaway PostgreSQL, one control
# plane and two edges on loopback addresses, and a zone created through the
# API that both edges answer. Prints what to try, then waits for Ctrl-C and
# stops everything (the data lives in a temporary directory).
#
# Usage: scripts/cluster-demo.sh          (as root or a user who can run PostgreSQL)
#        scripts/cluster-demo.sh --check  (run the steps, check the answers, stop, exit)
#
# Environment: ZONECAST_BIN (default target/release/zonecast, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = --check ] && check=1
bin=${ZONECAST_BIN:-target/release/zonecast}
[ -x "$bin" ] || cargo build --release
bin=$(realpath "$bin")

dir=$(mktemp -d /tmp/zonecast-cluster-XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${pgctl:-}" ] && as_pg "$pgctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_port() {
    python3 -c 'import socket,random
while True:
    p = random.randint(15000, 32000)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", p)); s.close()
        print(p); break
    except OSError: pass'
}
wait_http() {
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "http://$1/v1/health" && return 0
        sleep 0.1
    done
    echo "no API on $1; logs in $dir" >&2
    exit 1
}

pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
pgctl=$pgbin/pg_ctl
mkdir "$dir/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir/pg"

# 1. PostgreSQL with logical replication.
pgport=$(free_port)
as_pg "$pgbin/initdb" -D "$dir/pg" -U postgres --auth=trust >/dev/null
as_pg "$pgctl" -D "$dir/pg" -l "$dir/pg/server.log" -w -o \
    "-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c max_slot_wal_keep_size=1GB -c port=$pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/pg" \
    start >/dev/null
db="postgres://postgres@127.0.0.1:$pgport"
psql -q "$db/postgres" -c 'CREATE DATABASE zonecast'

# 2. A control plane (the API and the writer), then two edges.
token=demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
api=127.0.0.1:$(free_port)
"$bin" serve --database "$db/zonecast" --data-dir "$dir/cp" --api-token "$token" \
    --api-listen "$api" --dns-listen "127.0.0.1:$(free_port)" 2>"$dir/cp.log" &
pids+=($!)
wait_http "$api"
edges=()
for i in 2 3; do
    dns="127.0.0.$i:$(free_port)"
    eapi="127.0.0.$i:$(free_port)"
    "$bin" edge --database "$db/zonecast" --name "edge$i" --data-dir "$dir/edge$i" \
        --dns-listen "$dns" --api-listen "$eapi" 2>"$dir/edge$i.log" &
    pids+=($!)
    wait_http "$eapi"
    edges+=("$dns $eapi")
done

# 3. A zone through the API: every edge answers it.
export ZONECAST_API=http://$api ZONECAST_API_TOKEN=$token
"$bin" zone create example.com --file examples/example.com.zone >/dev/null
"$bin" rrset set example.com www A 192.0.2.80 --ttl 300 >/dev/null
for e in "${edges[@]}"; do
    set -- $e
    answer=""
    for _ in $(seq 1 100); do
        answer=$(dig +short @"${1%:*}" -p "${1##*:}" www.example.com A || true)
        [ "$answer" = 192.0.2.80 ] && break
        sleep 0.05
    done
    if [ "$answer" != 192.0.2.80 ]; then
        echo "edge $1 answers '$answer' for www.example.com, not 192.0.2.80; logs in $dir" >&2
        exit 1
    fi
done
# Edges report in about once a second: wait until both list the zone.
for _ in $(seq 1 50); do
    [ "$("$bin" edges --json | grep -c '"example.com."')" -ge 2 ] && break
    sleep 0.1
done
"$bin" edges

if [ "$check" -eq 1 ]; then
    echo "cluster demo: both edges answer the change"
    exit 0
fi
set -- ${edges[0]}
cat <<EOF

Running (logs in $dir):
  PostgreSQL      $db/zonecast
  control plane   API http://$api   token $token
  edges           ${edges[0]} | ${edges[1]}   (DNS | HTTP)

Try, in another terminal:
  export ZONECAST_API=http://$api ZONECAST_API_TOKEN=$token
  $bin rrset set example.com www A 192.0.2.81 --ttl 300
  dig @${1%:*} -p ${1##*:} www.example.com A
  $bin edges                     # position, lag, serial per zone, last seen
  curl http://$2/v1/health       # the edge's readiness and lag
  curl http://$2/metrics

Ctrl-C stops everything.
EOF
wait
