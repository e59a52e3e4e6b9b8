#!/usr/bin/env bash
# Installs PostGIS for the PostgreSQL server that is running, then proves it works.
#
# The PostgreSQL store (crates/adapter-postgres) needs the `postgis` extension. The Debian package
# that provides it is named after the server's major version (postgresql-<major>-postgis-3), so
# the version is read from the running server rather than guessed from the installed client.
#
# Idempotent: does nothing but the final check when the extension is already available.
# Connection: $DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/test.
set -euo pipefail

url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
shown="$(sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$url")" # never print a password

psql_q() {
    psql "$url" -X -v ON_ERROR_STOP=1 -tAc "$1"
}

command -v psql >/dev/null || { echo "install-postgis: psql is missing (apt-get install postgresql-client)" >&2; exit 1; }

# A server that is still starting gets up to 30 s to answer.
version_num=""
for _ in $(seq 30); do
    version_num="$(psql_q 'SHOW server_version_num' 2>/dev/null)" && break
    sleep 1
done
if [[ -z "$version_num" ]]; then
    echo "install-postgis: cannot reach PostgreSQL at $shown: is it running?" >&2
    exit 1
fi
major=$((version_num / 10000))
package="postgresql-${major}-postgis-3"

available="$(psql_q "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")"
if [[ "$available" == "0" ]]; then
    sudo=""
    if [[ "$(id -u)" != "0" ]]; then
        command -v sudo >/dev/null || { echo "install-postgis: run as root (or install sudo) to apt-get install $package" >&2; exit 1; }
        sudo="sudo"
    fi
    echo "install-postgis: installing $package for PostgreSQL $major"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
else
    echo "install-postgis: PostGIS already available for PostgreSQL $major"
fi

psql_q 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
echo "install-postgis: ok, PostGIS $(psql_q 'SELECT postgis_lib_version()') in PostgreSQL $major"
