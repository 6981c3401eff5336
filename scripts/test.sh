#!/usr/bin/env bash
# Every test, in two tiers:
# 1. the quick tier, which needs no server: the plan library's and the macro's unit
#    tests, the runtime's tests, the compile-fail UI tests, the in-memory DSL tests, the
#    examples' builds and the doc tests;
# 2. the connector tier: starts the servers that the connector and checkpoint tests talk
#    to (idempotent: installs once, starts only what is not running; a PostgreSQL cluster
#    this script starts is dropped afterwards), then runs those tests.
# `scripts/test.sh --quick` runs the first tier only. Other arguments go to every
# `cargo test` (after `--`, to the test binaries).
set -euo pipefail
cd "$(dirname "$0")/.."

# The test binaries of tests/ that talk to a server (Kafka, PostgreSQL, the S3 store);
# every other one is in the quick tier.
CONNECTOR_TESTS=(checkpoints connector_checkpoints connector_examples kafka postgres)

quick=false
if [[ "${1:-}" == "--quick" ]]; then
    quick=true
    shift
fi

quick_tests=()
for path in tests/*.rs */tests/*.rs; do
    name=$(basename "$path" .rs)
    if [[ " ${CONNECTOR_TESTS[*]} " != *" $name "* ]]; then
        quick_tests+=(--test "$name")
    fi
done
connector_tests=()
for name in "${CONNECTOR_TESTS[@]}"; do
    [[ -f "tests/$name.rs" ]] || { echo "scripts/test.sh: tests/$name.rs is gone; update CONNECTOR_TESTS" >&2; exit 1; }
    connector_tests+=(--test "$name")
done

echo "== quick tier: no servers" >&2
# Always the whole workspace with every feature (each connector is one), so that every
# run builds dependencies with the same features.
cargo test --workspace --all-features --lib --bins --examples "${quick_tests[@]}" "$@"
cargo test --workspace --all-features --doc "$@"
if $quick; then
    exit 0
fi

echo "== connector tier: Kafka, S3, PostgreSQL" >&2
scripts/kafka.sh >/dev/null
scripts/s3.sh >/dev/null
if ! scripts/postgres.sh status >/dev/null 2>&1; then
    trap 'scripts/postgres.sh stop >/dev/null' EXIT
fi
scripts/postgres.sh >/dev/null
cargo test --workspace --all-features "${connector_tests[@]}" "$@"
