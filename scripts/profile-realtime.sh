#!/usr/bin/env bash
# `just profile-realtime`: where rodando-server's memory per socket and CPU per ping go
# (issue 17; summaries in docs/benchmarks.md "Profiles"). Release server, embedded store,
# rodando-loadgen on loopback, two parts:
#
#   memory  heaptrack: the server holds SOCKETS idle driver sockets (a ping every 20 s) and is
#           killed while holding them; the allocations still live then, grouped by the frame
#           that allocated them, are divided by SOCKETS (heaptrack_print --print-leaks).
#   cpu     perf: DRIVERS drivers × RATE pings/s with ADMINS admins watching (the issue's
#           5000 × 1/s × 10 admins); `perf record -g` of the server for PERF_SECONDS inside the
#           measured window, reported by symbol and by shared object.
#
# Knobs (env): PARTS ("memory cpu"), SOCKETS (5000), HOLD (seconds the memory part holds the
# sockets before the kill, 25: at a ping every 20 s each socket has pinged, so what a first
# event allocates and keeps is counted), DRIVERS (5000), RATE (1), ADMINS (10), PERF_SECONDS (15),
# PORT (3919). Output: target/profile/. Needs heaptrack and perf (installed
# with apt when missing: heaptrack, linux-perf). Builds what it runs: the memory part a server
# without mimalloc (heaptrack sees the system allocator only), the cpu part the default build.
set -euo pipefail
cd "$(dirname "$0")/.."

parts="${PARTS:-memory cpu}"
sockets="${SOCKETS:-5000}"
hold="${HOLD:-25}"
drivers="${DRIVERS:-5000}"
rate="${RATE:-1}"
admins="${ADMINS:-10}"
perf_seconds="${PERF_SECONDS:-15}"
port="${PORT:-3919}"
out=target/profile
mkdir -p "$out"

need() { # command package
    command -v "$1" >/dev/null && return 0
    echo "profile: installing $2 (Debian package) for $1" >&2
    if [[ $(id -u) == 0 ]]; then apt-get install -y -qq "$2" >/dev/null; else sudo apt-get install -y -qq "$2" >/dev/null; fi
}

secret="profile-$RANDOM$RANDOM-not-for-production"
users=$((sockets > drivers ? sockets : drivers))
server_env=(
    HOST=127.0.0.1 PORT="$port" RUST_LOG=warn JWT_ACCESS_SECRET="$secret-a" JWT_REFRESH_SECRET="$secret-r"
    JWT_ACCESS_TTL=1h MAX_CONNECTIONS_PER_USER=20 RATE_LIMIT_EVENTS_PER_SEC=100 RATE_LIMIT_BURST=200
    SEED_DEMO_DRIVERS="$users"
)
server_pid=
stop() { [[ -n "$server_pid" ]] && kill -9 "$server_pid" 2>/dev/null; wait 2>/dev/null || true; server_pid=; }
trap stop EXIT

wait_ready() {
    for _ in $(seq 600); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    echo "profile: the server did not start" >&2
    exit 1
}

loadgen() { # log args...
    local log=$1
    shift
    target/release/rodando-loadgen --url "http://127.0.0.1:$port" --login --driver-users "$users" \
        --tokens-file "$out/tokens.json" "$@" >"$log" 2>&1
}

# Waits until the load generator of `log` (pid `pid`) starts its measured window, or exits.
measuring() { # log pid
    until grep -q "then measuring" "$1" 2>/dev/null; do
        kill -0 "$2" 2>/dev/null || break
        sleep 0.5
    done
}

if [[ " $parts " == *" memory "* ]]; then
    need heaptrack heaptrack
    # heaptrack sees the system allocator only: this part runs a build without mimalloc.
    # Both packages in one build, as `just bench-realtime` builds them: the same features for
    # their shared dependencies, so only the server itself is rebuilt.
    cargo build --release -q -p rodando-server -p rodando-loadgen --no-default-features
    rm -f "$out"/heaptrack.*
    env "${server_env[@]}" heaptrack -o "$out/heaptrack" target/release/rodando-server \
        >"$out/memory-server.log" 2>&1 &
    wait_ready
    # The heaptrack wrapper's child is the server.
    server_pid=$(pgrep -n -f "target/release/rodando-server" || true)
    loadgen "$out/memory-loadgen.txt" --drivers "$sockets" --admins 0 --rate 0.05 --warmup 0 \
        --duration $((hold + 20)) --connect-concurrency 100 --connect-timeout 30 &
    loadgen_pid=$!
    measuring "$out/memory-loadgen.txt" "$loadgen_pid"
    sleep "$hold"
    kill -9 "$server_pid"
    wait "$loadgen_pid" 2>/dev/null || true
    server_pid=
    sleep 2
    # Each site: "<size> leaked over <calls> calls from" then the allocating frame; per socket
    # is size / SOCKETS, and calls / SOCKETS tells a per-socket site (1, 2, …) from shared state.
    heaptrack_print -f "$out/heaptrack.zst" --print-leaks 1 --print-peaks 0 --print-allocators 0 \
        --print-temporary 0 -n 25 -s 3 >"$out/memory-live.txt" 2>/dev/null
    echo "== memory: allocations live with $sockets idle sockets =="
    awk -v n="$sockets" '
        function bytes(s,  u) { u = s; sub(/^[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", s)
            return s * (u == "K" ? 1024 : u == "M" ? 1048576 : u == "G" ? 1073741824 : 1) }
        / leaked over [0-9]+ calls from$/ { size = bytes($1); calls = $4; getline frame
            sub(/^ +/, "", frame); gsub(/::h[0-9a-f]{16}/, "", frame)
            printf "%7.0f B/socket  %5.2f calls/socket  %s\n", size / n, calls / n, frame }
    ' "$out/memory-live.txt"
    grep -E "^total memory leaked" "$out/memory-live.txt" || true
fi

if [[ " $parts " == *" cpu "* ]]; then
    need perf linux-perf
    cargo build --release -q -p rodando-server -p rodando-loadgen
    env "${server_env[@]}" target/release/rodando-server >"$out/cpu-server.log" 2>&1 &
    server_pid=$!
    wait_ready
    loadgen "$out/cpu-loadgen.txt" --drivers "$drivers" --admins "$admins" --rate "$rate" \
        --warmup 5 --duration $((perf_seconds + 10)) --connect-concurrency 100 \
        --server-pid "$server_pid" &
    loadgen_pid=$!
    measuring "$out/cpu-loadgen.txt" "$loadgen_pid"
    sleep 7
    perf record -F 499 -g -p "$server_pid" -o "$out/perf.data" -- sleep "$perf_seconds" 2>/dev/null
    wait "$loadgen_pid" || true
    stop
    echo "== cpu: $drivers drivers × $rate/s, $admins admins; server samples by shared object =="
    perf report -i "$out/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null \
        | grep -E '^ +[0-9.]+%' | head -8 || true
    echo "== cpu: by symbol (top 30) =="
    perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null \
        | grep -E '^ +[0-9.]+%' | head -30 | tee "$out/cpu-symbols.txt" || true
    grep -E "acked pings/s|server CPU|ping->ack|ping→ack" "$out/cpu-loadgen.txt" || true
fi
