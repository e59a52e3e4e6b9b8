#!/usr/bin/env bash
# The realtime benchmark of `just bench-realtime`: rodando-server (release, embedded store,
# distinct demo drivers) and then the Node socket.io baseline (bench/node-baseline), each driven
# by rodando-loadgen with identical parameters on loopback, through three scenarios:
#
#   a  throughput/latency: DRIVERS drivers pinging at RATE/s, ADMINS admins watching the fleet
#   b  saturation: the same sockets at each per-driver rate of STEPS; the highest acked pings/s
#      whose ping→ack p99 stays within P99_BOUND_MS is compared
#   c  capacity: SOCKETS mostly idle sockets (pinging every 1/IDLE_RATE s); RSS per socket
#
# then prints the figures side by side with their ratios (bench/compare.mjs). Every JSON report
# lands in target/bench/. The run is bounded: about 8 minutes with the defaults, most of it the
# logins of the Rust side (one argon2 verification per distinct driver, done once and reused
# through a token file), under a minute with QUICK=1.
#
# Knobs (env): QUICK=1, SCENARIOS ("c a b"), IDENTITIES (distinct driver users, 5000),
# DRIVERS (5000), ADMINS (10), RATE (1), WARMUP (5), DURATION (20), STEPS ("0.2,0.4,0.6,0.8,1,1.5,2"),
# STEP_WARMUP (3), STEP_DURATION (8), P99_BOUND_MS (20), SOCKETS (50000), IDLE_RATE (0.05),
# CAPACITY_DURATION (15), CAPACITY_CONCURRENCY (handshakes in flight, 200), SERVERS ("rust node"),
# RUST_SERVER (the binary, target/release/rodando-server; another build to compare, e.g. one with
# a patched dependency), SETTLE (5 s between scenarios), RUST_PORT (3917), NODE_PORT (3918),
# NICE (unset; e.g. -5 on a shared machine: servers and load generator get a larger CPU share
# than concurrent builds, which makes the latency figures less noisy; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${QUICK:-0}" == 1 ]]; then
    : "${IDENTITIES:=200}" "${DRIVERS:=200}" "${SOCKETS:=1000}" "${DURATION:=5}" "${WARMUP:=2}"
    : "${STEPS:=1,4}" "${STEP_DURATION:=3}" "${STEP_WARMUP:=1}" "${CAPACITY_DURATION:=3}"
fi
scenarios="${SCENARIOS:-c a b}"
servers="${SERVERS:-rust node}"
identities="${IDENTITIES:-5000}"
drivers="${DRIVERS:-5000}"
admins="${ADMINS:-10}"
rate="${RATE:-1}"
warmup="${WARMUP:-5}"
duration="${DURATION:-20}"
steps="${STEPS:-0.2,0.4,0.6,0.8,1,1.5,2}"
step_warmup="${STEP_WARMUP:-3}"
step_duration="${STEP_DURATION:-8}"
p99_bound="${P99_BOUND_MS:-20}"
sockets="${SOCKETS:-50000}"
idle_rate="${IDLE_RATE:-0.05}"
capacity_duration="${CAPACITY_DURATION:-15}"
capacity_concurrency="${CAPACITY_CONCURRENCY:-200}"
rust_port="${RUST_PORT:-3917}"
node_port="${NODE_PORT:-3918}"
rust_server="${RUST_SERVER:-target/release/rodando-server}"
out=target/bench
prio=()
[[ -n "${NICE:-}" ]] && prio=(nice -n "$NICE")
mkdir -p "$out"
rm -f "$out"/rust-?.json "$out"/node-?.json "$out"/rust-tokens.json "$out"/summary.md
notes=()
note() {
    echo "bench: $*" >&2
    notes+=("$*")
}

# Each socket is a file descriptor in the server and in the load generator: raise the limit
# here (never in the server). Raising the hard limit needs CAP_SYS_RESOURCE; without it the
# capacity scenario is capped to what the hard limit allows, and the notes say so.
want_fds=$((sockets + 2000))
if (($(ulimit -Hn) < want_fds)); then
    ulimit -Hn "$want_fds" 2>/dev/null || true
fi
hard=$(ulimit -Hn)
[[ "$hard" == unlimited ]] && hard=$want_fds
ulimit -n "$((hard < want_fds ? hard : want_fds))"
if ((hard < want_fds)); then
    capped=$((hard - 500))
    note "open-file hard limit is $hard here (raising it needs CAP_SYS_RESOURCE): capacity scenario capped at $capped sockets instead of $sockets"
    sockets=$capped
fi
sockets_per_identity=$(((sockets - admins + identities - 1) / identities))
# Twice what one scenario needs: the previous scenario's sockets may still be closing on the
# server when the next one connects.
max_per_user=$((sockets_per_identity > admins ? sockets_per_identity : admins))
max_per_user=$((2 * max_per_user + 5))
# One source address has ~28k ephemeral ports towards one server address.
last_source=$((sockets / 20000 + 1))
source_ips="127.0.0.1-127.0.0.$last_source"

access_secret="bench-access-secret-$RANDOM$RANDOM-not-for-production"
refresh_secret="bench-refresh-secret-$RANDOM$RANDOM-not-for-production"
common_env=(
    HOST=127.0.0.1 RUST_LOG=warn JWT_ACCESS_SECRET="$access_secret" JWT_REFRESH_SECRET="$refresh_secret"
    JWT_ACCESS_TTL=1h MAX_CONNECTIONS_PER_USER="$max_per_user" RATE_LIMIT_EVENTS_PER_SEC=100 RATE_LIMIT_BURST=200
)

if [[ " $servers " == *" node "* ]]; then
    (cd bench/node-baseline && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

server_pid=
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap stop_server EXIT

start_server() { # name port
    local name=$1 port=$2
    case $name in
    rust)
        # GLIBC_TUNABLES: a fixed mmap threshold makes glibc return the 19 MiB argon2 buffers of
        # the logins to the OS, so the RSS baseline before the sockets is not 500 MiB of freed
        # arenas that later allocations silently reuse (which would hide per-socket growth).
        "${prio[@]}" env "${common_env[@]}" PORT="$port" SEED_DEMO_DRIVERS="$identities" \
            GLIBC_TUNABLES=glibc.malloc.mmap_threshold=262144 \
            "$rust_server" >"$out/rust-server.log" 2>&1 &
        ;;
    node)
        "${prio[@]}" env "${common_env[@]}" PORT="$port" node bench/node-baseline/server.mjs >"$out/node-server.log" 2>&1 &
        ;;
    esac
    server_pid=$!
    for _ in $(seq 240); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.25
    done
    echo "bench: the $name server did not start:" >&2
    cat "$out/$name-server.log" >&2
    exit 1
}

loadgen() { # name port scenario label args...
    local name=$1 port=$2 scenario=$3 label=$4
    shift 4
    local tokens=(--login --tokens-file "$out/rust-tokens.json" --driver-users "$identities")
    [[ $name == node ]] && tokens=(--secret "$access_secret" --driver-users "$identities")
    echo "bench: [$name $scenario] load $(uptime | sed 's/.*load average: //')" >&2
    echo "load average before $name-$scenario: $(uptime | sed 's/.*load average: //')" >>"$out/load.txt"
    "${prio[@]}" target/release/rodando-loadgen --url "http://127.0.0.1:$port" --admins "$admins" \
        --server-pid "$server_pid" --label "$name $label" --json "$out/$name-$scenario.json" \
        "${tokens[@]}" "$@" | tee "$out/$name-$scenario.txt"
}

: >"$out/load.txt"
for name in $servers; do
    port=$rust_port
    [[ $name == node ]] && port=$node_port
    start_server "$name" "$port"
    for scenario in $scenarios; do
        case $scenario in
        a)
            loadgen "$name" "$port" a "a: ${drivers}x${admins} @${rate}/s" \
                --drivers "$drivers" --rate "$rate" --warmup "$warmup" --duration "$duration" \
                --connect-concurrency 100
            ;;
        b)
            loadgen "$name" "$port" b "b: ${drivers}x${admins} steps ${steps}/s" \
                --drivers "$drivers" --steps "$steps" --p99-bound-ms "$p99_bound" \
                --warmup "$step_warmup" --duration "$step_duration" --connect-concurrency 100
            ;;
        c)
            loadgen "$name" "$port" c "c: $((sockets - admins))+${admins} sockets @${idle_rate}/s" \
                --drivers "$((sockets - admins))" --rate "$idle_rate" --warmup 0 \
                --duration "$capacity_duration" --connect-concurrency "$capacity_concurrency" --connect-timeout 30 \
                --source-ips "$source_ips"
            ;;
        *)
            echo "bench: unknown scenario $scenario (a, b or c)" >&2
            exit 2
            ;;
        esac
        # Let the server finish closing the previous scenario's sockets.
        sleep "${SETTLE:-5}"
    done
    stop_server
done

summary_note="$(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?'), ${identities} distinct drivers"
node bench/compare.mjs "$out" "$summary_note"
echo "load averages before each scenario (1/5/15 min):"
cat "$out/load.txt"
for n in "${notes[@]}"; do echo "note: $n"; done
