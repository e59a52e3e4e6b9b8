# Rodando Realtime — every recipe a newcomer or CI needs.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Show the recipes.
default:
    @just --list

# Run the server on port 3000 with the embedded store and the demo users.
run:
    cargo run -p rodando-server

# Every test: Rust (unit, property, integration over real sockets, PostgreSQL, two nodes over
# Redis), the Node e2e suite and the dashboard in a headless browser.
test: db redis test-rust e2e e2e-postgres browser

# PostGIS for the running PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test);
# installs the Debian package for the server's major version only when it is missing.
db:
    bash scripts/install-postgis.sh

# Redis for the multi-node tests (REDIS_URL, default 127.0.0.1:6379): started (installed with
# apt when missing) only when nothing answers.
redis:
    bash scripts/start-redis.sh

# Rust tests of the whole workspace (cargo-nextest when installed, else cargo test).
test-rust:
    if command -v cargo-nextest >/dev/null; then cargo nextest run --workspace --no-fail-fast; else cargo test --workspace; fi
    cargo test --workspace --doc

# The Node socket.io-client suite against freshly built servers on free ports: handshakes,
# availability, the four ws:test:* scripts in assert mode, hostile input and floods (~1.5 min).
# PostgreSQL (db) holds the banned and inactive users the embedded store cannot.
e2e: db
    cargo build -p rodando-server
    cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test

# The same Node suite again with every spawned server on PostgreSQL: each gets a database of its
# own, cloned from a template seeded once per run, all dropped at the end (~2 min; needs
# PostgreSQL with PostGIS at DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, and psql).
e2e-postgres: db
    cargo build -p rodando-server
    cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm run test:postgres

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks: criterion (ns per domain rule) and the realtime load against the Node baseline.
bench:
    cargo bench -p rodando-domain --bench rules
    just bench-realtime

# Realtime load, rodando-server then the Node socket.io baseline with the same rodando-loadgen
# parameters: throughput, saturation, 50k-socket capacity, ratios (~8 min; QUICK=1 for a smoke run).
bench-realtime:
    cargo build --release -p rodando-server -p rodando-loadgen
    bash scripts/bench-realtime.sh

# Where memory per socket and CPU per ping go (release, embedded store): heaptrack of SOCKETS
# idle sockets (live allocations per socket, by allocating frame) and perf of the 5000 x 1/s x
# 10 admins ping load; PARTS="memory" or "cpu" for one. Installs heaptrack / linux-perf when missing.
profile-realtime:
    bash scripts/profile-realtime.sh

# The embedded store against PostgreSQL, back to back (release): the ping load (1000 distinct
# drivers x 5 pings/s, 10 admins, 20 s) with server and PostgreSQL CPU and the ratios, the
# nearest-available-driver query at 10k and 100k drivers, and dispatch latency (10k driver
# sockets accepting at once, 1000 trip requests at 50/s). ~25 min, most of it the 11k logins of
# part c (one argon2 check each); PARTS="a b" skips it, QUICK=1 for a smoke run.
bench-store: db
    cargo build --release -p rodando-server -p rodando-loadgen -p rodando-bench-store
    bash scripts/bench-store.sh

# Connect-to-hello latency with the Node client (1000 connections).
bench-connect:
    cargo build -p rodando-server --release
    cd e2e && npm ci --no-audit --no-fund --loglevel=error && RODANDO_SERVER_BIN=../target/release/rodando-server npm run bench:connect

# Fuzz every DTO → domain parser of crates/wire (proptest, release): CASES per target, each capped at SECONDS.
fuzz cases="100000" seconds="600":
    FUZZ_CASES={{cases}} FUZZ_SECONDS={{seconds}} cargo test --release -p rodando-wire --test fuzz_dto -- --nocapture --test-threads=2

# The dashboard in a real browser: playwright-core drives Debian's chromium against a fresh server
# and the city simulator (20 drivers); screenshot in target/dashboard.png. Installs Debian's
# chromium when it is missing.
browser:
    bash scripts/install-chromium.sh
    cargo build -p rodando-server -p rodando-sim
    cd e2e/browser && npm ci --no-audit --no-fund --loglevel=error && npm test

# See it live: the server (embedded store, `drivers` demo drivers, one passenger per four drivers)
# and the city simulator together;
# open http://localhost:3000/dashboard and sign in as admin@rodando.local / rodando123.
# Ctrl-C ends the simulation (open trips are cancelled, drivers go offline), then the server.
demo drivers="50" speed="3" duration="2h":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build -p rodando-server -p rodando-sim
    port="${PORT:-3000}"
    extra=$(( {{drivers}} > 3 ? {{drivers}} - 3 : 0 ))
    passengers=$(( {{drivers}} / 4 > 2 ? {{drivers}} / 4 : 2 ))  # one per four drivers
    # Its own session: Ctrl-C reaches the simulator, which winds down while the server still runs.
    env -u DATABASE_URL -u REDIS_URL SEED_DEMO_DRIVERS="$extra" SEED_DEMO_PASSENGERS="$(( passengers - 2 ))" \
        PORT="$port" RUST_LOG="${RUST_LOG:-warn}" \
        setsid target/debug/rodando-server &
    server=$!
    trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
    echo "Dashboard: http://localhost:$port/dashboard  (admin@rodando.local / rodando123)"
    target/debug/rodando-sim --url "http://127.0.0.1:$port" --wait-for-server 60s \
        --drivers {{drivers}} --passengers "$passengers" --trip-km 1-3 --speed {{speed}} --duration {{duration}} || true
