#!/usr/bin/env bash
# The realtime benchmark of `just bench`: a release server with the embedded store and
# distinct demo drivers, driven by rodando-loadgen on loopback. Prints the load generator's
# report and writes it as JSON under target/bench/.
#
# Knobs (env): DRIVERS (1000), ADMINS (10), RATE (1 ping/s per driver), DURATION (30 s).
set -euo pipefail
cd "$(dirname "$0")/.."

drivers="${DRIVERS:-1000}"
admins="${ADMINS:-10}"
rate="${RATE:-1}"
duration="${DURATION:-30}"
port="${BENCH_PORT:-3917}"
mkdir -p target/bench

SEED_DEMO_DRIVERS="$drivers" PORT="$port" HOST=127.0.0.1 RUST_LOG=warn MAX_CONNECTIONS_PER_USER="$((admins + 5))" \
    RATE_LIMIT_EVENTS_PER_SEC=100 RATE_LIMIT_BURST=200 JWT_ACCESS_TTL=1h \
    target/release/rodando-server >target/bench/server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 120); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { echo "bench: the server did not start"; cat target/bench/server.log; exit 1; }

target/release/rodando-loadgen \
    --url "http://127.0.0.1:$port" \
    --drivers "$drivers" --admins "$admins" --rate "$rate" \
    --duration "$duration" --warmup 5 \
    --driver-users "$drivers" --driver-email 'driver{i}@rodando.local' \
    --server-pid "$server" --label "rodando ${drivers}x${admins} @${rate}/s" \
    --json "target/bench/realtime-${drivers}.json"
