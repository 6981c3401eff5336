#!/usr/bin/env bash
# Checkpoint overhead on Nexmark: each query without checkpoints, with a checkpoint every
# 10 s and every 1 s, alternating, RUNS times each, in one sitting; prints events/s and,
# for the checkpointed runs, how many checkpoints completed and the size of the last one.
#
#   scripts/bench-checkpoints.sh [EVENTS] [RUNS] [WORKERS]    (defaults 50000000 3 1)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-50000000}
RUNS=${2:-3}
WORKERS=${3:-1}
cargo build --release --features nexmark --bin nexmark >&2
BIN=target/release/nexmark
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
printf '%-4s %-5s %12s %12s %8s %10s\n' query mode events/s seconds ckpts parts_kB
for q in q5 q7 q8 q11; do
    for run in $(seq 1 "$RUNS"); do
        for mode in none 10s 1s; do
            rm -rf "$DIR/ckpt"
            flags=()
            [ "$mode" != none ] && flags=(--checkpoint-dir "$DIR/ckpt" --checkpoint-interval "$mode" --checkpoints-retained 1000)
            line=$("$BIN" --query "$q" --events "$EVENTS" -w "$WORKERS" "${flags[@]}" 2>/dev/null | grep '^RESULT')
            read -r _ _ rate secs _ <<<"$line"
            ckpts=- size=-
            if [ "$mode" != none ]; then
                # Periodic checkpoints (the final one at the job's end is not counted).
                ckpts=$(ls "$DIR/ckpt" | grep -c '^chk-' || true)
                ckpts=$((ckpts - 1))
                size=$(du -sk "$DIR/ckpt/parts" | cut -f1)
            fi
            printf '%-4s %-5s %12s %12s %8s %10s\n' "$q" "$mode" "$rate" "$secs" "$ckpts" "$size"
        done
    done
done
