#!/usr/bin/env bash
# Every test: starts the servers that the connector tests talk to (idempotent: installs
# once, starts only what is not running; a PostgreSQL cluster this script starts is
# dropped afterwards), then runs the whole workspace's tests.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/kafka.sh >/dev/null
scripts/s3.sh >/dev/null
if ! scripts/postgres.sh status >/dev/null 2>&1; then
    trap 'scripts/postgres.sh stop >/dev/null' EXIT
fi
scripts/postgres.sh >/dev/null
cargo test --workspace "$@"
