#!/usr/bin/env bash
# Every test: starts the servers that the connector tests talk to (idempotent: installs
# once, starts only what is not running), then runs the whole workspace's tests.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/kafka.sh >/dev/null
cargo test --workspace "$@"
