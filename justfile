# Rodando Realtime — every recipe a newcomer or CI needs.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Show the recipes.
default:
    @just --list

# Run the server on port 3000 with the embedded store and the demo users.
run:
    cargo run -p rodando-server

# Every test: Rust (unit, property, integration over real sockets) and the Node e2e suite.
test: test-rust e2e

# Rust tests of the whole workspace (cargo-nextest when installed, else cargo test).
test-rust:
    if command -v cargo-nextest >/dev/null; then cargo nextest run --workspace --no-fail-fast; else cargo test --workspace; fi
    cargo test --workspace --doc

# The Node socket.io-client suite against a freshly built server on a free port.
e2e:
    cargo build -p rodando-server
    cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Connect-to-hello latency with the Node client (1000 connections).
bench-connect:
    cargo build -p rodando-server --release
    cd e2e && npm ci --no-audit --no-fund --loglevel=error && RODANDO_SERVER_BIN=../target/release/rodando-server npm run bench:connect
