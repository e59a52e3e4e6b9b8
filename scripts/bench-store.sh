#!/usr/bin/env bash
# `just bench-store`: the embedded store against PostgreSQL, release builds, back to back.
#
#   a  ping load: rodando-loadgen with DRIVERS distinct drivers × RATE pings/s and ADMINS admins,
#      WARMUP s not counted and DURATION s measured, first on the embedded store, then on
#      PostgreSQL (a scratch database seeded with `rodando-server seed-demo`, dropped at the end):
#      acked pings/s, ping→ack p50/p99, server CPU (loadgen --server-pid), and PostgreSQL CPU over
#      the measured window (from /proc: utime+stime summed over every process named postgres, and
#      over the bench database's backends plus the server's background processes only, which
#      leaves out what other databases' clients cost on a shared machine); then the ratios.
#   b  the nearest-available-driver query at SIZES drivers over one city, both stores, QUERIES
#      each, one at a time (rodando-bench-store): p50/p99.
#   c  dispatch latency, both stores: rodando-loadgen --trips with DISPATCH_DRIVERS driver sockets
#      (distinct drivers, AVAILABLE, a ping every PING_EVERY s, accepting every offer at once) and
#      TRIPS passengers each requesting one trip over REST at TRIP_RATE/s: request → first offer
#      and request → assigned p50/p99, server CPU.
#
# Knobs (env): QUICK=1 (a short smoke run), PARTS ("a b c"), DRIVERS (1000), RATE (5), ADMINS (10),
# WARMUP (8), DURATION (20), SIZES (10000,100000), QUERIES (2000), DISPATCH_DRIVERS (10000),
# TRIPS (1000), TRIP_RATE (50), PING_EVERY (4), DISPATCH_STORES ("memory postgres"), PORT (3927), DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/test). Reports land in target/bench/store-*.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${QUICK:-0}" == 1 ]]; then
    : "${DRIVERS:=200}" "${WARMUP:=2}" "${DURATION:=5}" "${SIZES:=1000,10000}" "${QUERIES:=200}"
    : "${DISPATCH_DRIVERS:=500}" "${TRIPS:=100}"
fi
parts="${PARTS:-a b c}"
drivers="${DRIVERS:-1000}"
rate="${RATE:-5}"
admins="${ADMINS:-10}"
warmup="${WARMUP:-8}"
duration="${DURATION:-20}"
sizes="${SIZES:-10000,100000}"
queries="${QUERIES:-2000}"
dispatch_drivers="${DISPATCH_DRIVERS:-10000}"
trips="${TRIPS:-1000}"
trip_rate="${TRIP_RATE:-50}"
ping_every="${PING_EVERY:-4}"
port="${PORT:-3927}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
out=target/bench
mkdir -p "$out"
rm -f "$out"/store-*.json "$out"/store-*.txt "$out"/store-*.log

command -v psql >/dev/null || { echo "bench-store: psql not found (apt-get install postgresql-client)" >&2; exit 1; }
psql "$base" -XAtqc 'SELECT 1' >/dev/null || {
    echo "bench-store: no PostgreSQL at $base: start it (just db installs PostGIS), or set DATABASE_URL" >&2
    exit 1
}
echo "load before: $(uptime)" | tee "$out/store-load.txt"

# "pid ticks" (utime+stime, clock ticks) of each given pid still running.
ticks_of() {
    local pid
    local -a fields
    for pid in "$@"; do
        # After "pid (comm) ": index 0 is field 3 (state), utime is field 14, stime 15.
        read -ra fields < <(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        echo "$pid $((${fields[11]:-0} + ${fields[12]:-0}))"
    done
}
# Ticks between two `ticks_of` outputs, over the processes present in both (a process that
# exited meanwhile, e.g. another database's backend, is left out rather than counted negative).
ticks_between() { # before after
    awk 'NR == FNR { before[$1] = $2; next } ($1 in before) { total += $2 - before[$1] } END { print total + 0 }' \
        <(echo "$1") <(echo "$2")
}
postgres_pids() { pgrep -x postgres || true; }
bench_db_pids() { # database
    psql "$base" -XAtqc "SELECT pid FROM pg_stat_activity WHERE datname = '$1' OR backend_type <> 'client backend'"
}

server_pid=
scratch=
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
    if [[ -n "$scratch" ]]; then
        psql "$base" -XAtqc "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true
        scratch=
    fi
}
trap cleanup EXIT

secret="bench-store-$RANDOM$RANDOM-not-for-production"
common_env=(
    HOST=127.0.0.1 PORT="$port" RUST_LOG=warn JWT_ACCESS_SECRET="$secret-a" JWT_REFRESH_SECRET="$secret-r"
    JWT_ACCESS_TTL=1h MAX_CONNECTIONS_PER_USER=20 RATE_LIMIT_EVENTS_PER_SEC=100 RATE_LIMIT_BURST=200
)

# Starts the server on `store` (a fresh scratch database on PostgreSQL, seeded with the demo
# users) with `extra_drivers` extra demo drivers and `extra_passengers` extra passengers; sets
# server_pid and waits for /health. The server log is $out/store-$2-server.log.
start_server() { # store label extra_drivers extra_passengers
    local store=$1 label=$2 url=
    local seeds=(SEED_DEMO_DRIVERS="$3" SEED_DEMO_PASSENGERS="$4")
    if [[ $store == postgres ]]; then
        scratch="rodando_bench_$RANDOM$RANDOM"
        psql "$base" -XAtqc "CREATE DATABASE $scratch" >/dev/null
        url="${base%/*}/$scratch"
        env "${common_env[@]}" DATABASE_URL="$url" "${seeds[@]}" \
            target/release/rodando-server seed-demo >/dev/null
        env "${common_env[@]}" DATABASE_URL="$url" target/release/rodando-server >"$out/store-$label-server.log" 2>&1 &
    else
        env -u DATABASE_URL -u REDIS_URL "${common_env[@]}" "${seeds[@]}" \
            target/release/rodando-server >"$out/store-$label-server.log" 2>&1 &
    fi
    server_pid=$!
    for _ in $(seq 300); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$out/store-$label-server.log" >&2; exit 1; }
        sleep 0.2
    done
}

ping_load() { # store
    local store=$1
    start_server "$store" "$store" "$drivers" 0
    local log="$out/store-$store.log"
    target/release/rodando-loadgen --url "http://127.0.0.1:$port" --drivers "$drivers" \
        --driver-users "$drivers" --admins "$admins" --rate "$rate" --warmup "$warmup" \
        --duration "$duration" --server-pid "$server_pid" --label "$store" \
        --json "$out/store-$store.json" >"$out/store-$store.txt" 2>"$log" &
    local loadgen=$!
    # The measured window starts `warmup` s after the load generator says so: PostgreSQL's CPU
    # is read from 1 s into it to 1 s before its end.
    until grep -q 'then measuring' "$log" 2>/dev/null; do
        kill -0 "$loadgen" 2>/dev/null || break
        sleep 0.05
    done
    local window=$((duration > 4 ? duration - 2 : duration))
    sleep "$(echo "$warmup + ($duration - $window) / 2" | bc -l)"
    local all_pids db_pids all0= db0= all1= db1=
    if [[ $store == postgres ]]; then
        mapfile -t all_pids < <(postgres_pids)
        mapfile -t db_pids < <(bench_db_pids "$scratch")
        all0=$(ticks_of "${all_pids[@]}")
        db0=$(ticks_of "${db_pids[@]}")
    fi
    sleep "$window"
    if [[ $store == postgres ]]; then
        all1=$(ticks_of "${all_pids[@]}")
        db1=$(ticks_of "${db_pids[@]}")
    fi
    wait "$loadgen" || echo "bench-store: rodando-loadgen exited $? on $store" >&2
    # ticks are 1/100 s: ticks per second = % of one core.
    jq -n --argjson all "$(ticks_between "$all0" "$all1")" --argjson db "$(ticks_between "$db0" "$db1")" --argjson s "$window" \
        '{pgCpuAllPercent: ($all / $s), pgCpuBenchPercent: ($db / $s), windowS: $s}' >"$out/store-$store-pg.json"
    cat "$out/store-$store.txt"
    cleanup
    sleep 2
}

if [[ " $parts " == *" a "* ]]; then
    ping_load memory
    echo "load between: $(uptime)" | tee -a "$out/store-load.txt"
    ping_load postgres
    echo
    echo "== ping load: $drivers distinct drivers × $rate pings/s, $admins admins, ${duration} s measured =="
    jq -rs '
      def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
      (.[0] + .[1]) as $m | (.[2] + .[3]) as $p |
      ["store", "acked/s", "ack p50 ms", "ack p99 ms", "server CPU %", "PostgreSQL CPU % (all / bench db)"],
      ["embedded", f($m.ackedPingsPerS), f($m.ackLatency.p50Ms), f($m.ackLatency.p99Ms), f($m.server.cpuPercent), "-"],
      ["PostgreSQL", f($p.ackedPingsPerS), f($p.ackLatency.p50Ms), f($p.ackLatency.p99Ms), f($p.server.cpuPercent),
        "\(f($p.pgCpuAllPercent)) / \(f($p.pgCpuBenchPercent))"],
      ["PostgreSQL ÷ embedded", f($p.ackedPingsPerS / $m.ackedPingsPerS),
        f($p.ackLatency.p50Ms / $m.ackLatency.p50Ms), f($p.ackLatency.p99Ms / $m.ackLatency.p99Ms),
        f($p.server.cpuPercent / $m.server.cpuPercent), "-"],
      ["PostgreSQL CPU % per 1000 acked/s", "", "", "", "",
        "\(f($p.pgCpuAllPercent / $p.ackedPingsPerS * 1000)) / \(f($p.pgCpuBenchPercent / $p.ackedPingsPerS * 1000))"]
      | @tsv' "$out/store-memory.json" "$out/store-memory-pg.json" "$out/store-postgres.json" "$out/store-postgres-pg.json" \
        | column -t -s $'\t' | tee "$out/store-ping-summary.txt"
fi

if [[ " $parts " == *" b "* ]]; then
    echo
    echo "== nearest-available query =="
    DATABASE_URL="$base" target/release/rodando-bench-store --drivers "$sizes" --queries "$queries" \
        --json "$out/store-nearest.json" | tee "$out/store-nearest.txt"
fi
# The demo store has 3 drivers and 2 passengers of its own: these many extra make the numbered
# users 1..N the benchmark logs in as.
dispatch() { # store
    local store=$1 label="dispatch-$1"
    start_server "$store" "$label" "$((dispatch_drivers > 3 ? dispatch_drivers - 3 : 0))" \
        "$((trips > 2 ? trips - 2 : 0))"
    target/release/rodando-loadgen --url "http://127.0.0.1:$port" --drivers "$dispatch_drivers" \
        --driver-users "$dispatch_drivers" --admins 0 --trips "$trips" --trip-rate "$trip_rate" \
        --ping-every "$ping_every" --server-pid "$server_pid" --label "$store" \
        --json "$out/store-$label.json" >"$out/store-$label.txt" 2>"$out/store-$label.log" \
        || echo "bench-store: rodando-loadgen --trips exited $? on $store (see $out/store-$label.log)" >&2
    cat "$out/store-$label.txt"
    cleanup
    sleep 2
}

if [[ " $parts " == *" c "* ]]; then
    echo
    need=$((dispatch_drivers + 256))
    if (($(ulimit -n) < need)); then
        ulimit -n "$need" 2>/dev/null || {
            echo "bench-store: $dispatch_drivers driver sockets need ulimit -n ≥ $need (it is $(ulimit -n)); set DISPATCH_DRIVERS lower or raise it" >&2
            exit 1
        }
    fi
    for store in ${DISPATCH_STORES:-memory postgres}; do
        [[ $store == postgres ]] && echo "load between: $(uptime)" | tee -a "$out/store-load.txt"
        dispatch "$store"
    done
    echo
    echo "== dispatch: $dispatch_drivers drivers, $trips trips at $trip_rate/s, drivers accepting at once =="
    jq -rs '
      def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
      ["store", "created", "assigned", "first offer p50 ms", "p99 ms", "assigned p50 ms", "p99 ms", "201 p99 ms", "server CPU %", "errors"],
      (.[] | [if .label == "memory" then "embedded" else "PostgreSQL" end,
        "\(.tripsCreated)/\(.tripsRequested)", (.tripsAssigned | tostring),
        f(.requestToFirstOffer.p50Ms), f(.requestToFirstOffer.p99Ms),
        f(.requestToAssigned.p50Ms), f(.requestToAssigned.p99Ms), f(.requestToCreated.p99Ms),
        f(.serverCpuPercent), ([.errors | to_entries[] | "\(.key)=\(.value)"] | join(" ") | if . == "" then "none" else . end)])
      | @tsv' "$out"/store-dispatch-*.json \
        | column -t -s $'\t' | tee "$out/store-dispatch-summary.txt"
fi
echo "load after: $(uptime)" | tee -a "$out/store-load.txt"
