#!/usr/bin/env bash
# A private PostgreSQL cluster on localhost for tests and examples: Debian's `postgresql`
# package (installed once if missing), a throwaway cluster made by initdb in a temporary
# directory, started by pg_ctl on its own port. It never touches a system cluster.
#
#   scripts/postgres.sh          install (once) and start (unless running); prints the
#                                connection URL, postgres://tidemill@127.0.0.1:15432/postgres
#   scripts/postgres.sh stop     stops the cluster and removes its directory
#   scripts/postgres.sh status   succeeds if the cluster is up
#
# Idempotent: run it as often as you like. Settings (environment):
#   TIDEMILL_PG_PORT   the port (15432)
#   TMPDIR             where the cluster's directory goes (/tmp)
# The cluster trusts local connections and runs without fsync: it is for tests only.
set -euo pipefail

PORT=${TIDEMILL_PG_PORT:-15432}
DATA=${TMPDIR:-/tmp}/tidemill-pg-$PORT
URL="postgres://tidemill@127.0.0.1:$PORT/postgres"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# initdb and postgres refuse to run as root: as root, run them as the package's user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

BIN=$(bindir)
if [ "${1:-start}" = status ]; then
    [ -n "$BIN" ] && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"
    exit
fi
if [ "${1:-start}" = stop ]; then
    if [ -n "$BIN" ] && [ -f "$DATA/postmaster.pid" ]; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
        echo "stopped the cluster on port $PORT"
    fi
    rm -rf "$DATA" "$DATA.initdb.log"
    exit 0
fi

if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "installing PostgreSQL (Debian's postgresql package, once)..." >&2
    SUDO=
    [ "$(id -u)" = 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y --no-install-recommends postgresql >&2 ||
        { $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends postgresql >&2; }
    BIN=$(bindir)
    # The package may start a system cluster on 5432; ours has its own port either way.
fi

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    echo "$URL"
    exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
    chmod 700 "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U tidemill --auth=trust -E UTF8 --no-sync >"$DATA.initdb.log" 2>&1 ||
        { cat "$DATA.initdb.log" >&2; exit 1; }
fi
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 30 start -o \
    "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || { echo "the cluster did not start; its log:" >&2; cat "$DATA/server.log" >&2; exit 1; }
echo "$URL"
