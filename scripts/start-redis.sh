#!/usr/bin/env bash
# Redis for the multi-node tests (REDIS_URL, default redis://127.0.0.1:6379): nothing to do
# when it answers; otherwise starts the local redis-server (installing the Debian package
# when it is missing), and fails saying what to do when that is not possible.
set -euo pipefail

url="${REDIS_URL:-redis://127.0.0.1:6379}"
hostport="${url#redis://}"
hostport="${hostport%%/*}"
hostport="${hostport%%\?*}"
host="${hostport%%:*}"
port="${hostport##*:}"
[ "$port" = "$host" ] && port=6379

answers() { (exec 3<>"/dev/tcp/$host/$port" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

if answers; then
    echo "redis: answering at $host:$port"
    exit 0
fi
case "$host" in
    127.0.0.1 | localhost) ;;
    *) echo "redis: nothing answers at $host:$port (REDIS_URL); start it there"; exit 1 ;;
esac
if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "redis: installing redis-server"
        apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    else
        echo "redis: not running and not installed; install it (apt-get install redis-server) or set REDIS_URL"
        exit 1
    fi
fi
echo "redis: starting redis-server on $host:$port"
redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no >/dev/null
for _ in $(seq 50); do
    answers && { echo "redis: answering at $host:$port"; exit 0; }
    sleep 0.1
done
echo "redis: redis-server did not answer at $host:$port"
exit 1
