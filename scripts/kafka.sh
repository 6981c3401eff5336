#!/usr/bin/env bash
# A Kafka-protocol broker on localhost for tests and examples: tansu, a Kafka-compatible
# broker in Rust, with in-memory storage.
#
#   scripts/kafka.sh          install (once, cached) and start (unless running); prints
#                             the bootstrap address, 127.0.0.1:19092 by default
#   scripts/kafka.sh stop     stops the broker this script started
#
# Idempotent: run it as often as you like. Settings (environment):
#   TIDEMILL_KAFKA_PORT   the port (19092)
#   TIDEMILL_TOOLS        where tools are installed and logged (~/.cache/tidemill)
# The first install builds tansu from crates.io (about 10 minutes on 2 cores).
set -euo pipefail

VERSION=0.6.0
PORT=${TIDEMILL_KAFKA_PORT:-19092}
TOOLS=${TIDEMILL_TOOLS:-$HOME/.cache/tidemill}
ROOT=$TOOLS/tansu-$VERSION
BIN=$ROOT/bin/tansu
RUN=$TOOLS/run
PIDFILE=$RUN/tansu-$PORT.pid
LOG=$RUN/tansu-$PORT.log
mkdir -p "$RUN"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

if [ "${1:-start}" = stop ]; then
    if [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null; then
        # Wait for it to go, so that a start right after does not find it still listening.
        for _ in $(seq 1 100); do
            kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
            sleep 0.1
        done
        echo "stopped the broker on port $PORT"
    fi
    rm -f "$PIDFILE"
    exit 0
fi

if listening; then
    echo "127.0.0.1:$PORT"
    exit 0
fi

if [ ! -x "$BIN" ]; then
    echo "installing tansu $VERSION into $ROOT (once)..." >&2
    cargo install tansu --version "$VERSION" --locked --features dynostore --root "$ROOT" >&2
fi

# Warnings and errors only (a failed produce, say), for a failing test to show.
RUST_LOG=warn nohup "$BIN" broker \
    --storage-engine "memory://tansu/" \
    --listener-url "tcp://127.0.0.1:$PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    >"$LOG" 2>&1 &
echo $! >"$PIDFILE"

for _ in $(seq 1 100); do
    if listening; then
        echo "127.0.0.1:$PORT"
        exit 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        echo "the broker exited at start; its log, $LOG:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
echo "the broker did not listen on port $PORT within 10 s; its log: $LOG" >&2
exit 1
