#!/usr/bin/env bash
# A local S3-compatible object store for the checkpoint tests: moto's server (from PyPI,
# installed once into a virtual environment under ~/.cache/tidemill/moto), listening on
# 127.0.0.1 only, with the bucket `tidemill`.
#
#   scripts/s3.sh          install (once) and start (unless running); prints the endpoint,
#                          http://127.0.0.1:19900
#   scripts/s3.sh stop     stops the server
#   scripts/s3.sh status   succeeds if the server is up
#
# Idempotent. Settings (environment): TIDEMILL_S3_PORT (19900). Jobs reach it with
#   AWS_ENDPOINT=http://127.0.0.1:19900 AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
#   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test  --checkpoint-dir s3://tidemill/PREFIX
# It keeps objects in memory: it is for tests only.
set -euo pipefail

PORT=${TIDEMILL_S3_PORT:-19900}
ENDPOINT="http://127.0.0.1:$PORT"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tidemill
VENV=$CACHE/moto
PIDFILE=${TMPDIR:-/tmp}/tidemill-s3-$PORT.pid

up() { curl -s -o /dev/null "$ENDPOINT/tidemill"; }

case "${1:-start}" in
status)
    up
    exit
    ;;
stop)
    if [ -f "$PIDFILE" ]; then
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        rm -f "$PIDFILE"
        echo "stopped the object store on port $PORT"
    fi
    exit 0
    ;;
esac

if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "installing moto's S3 server (PyPI, once)..." >&2
    mkdir -p "$CACHE"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q 'moto[s3,server]==5.*' >&2
fi
if ! up; then
    nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"${TMPDIR:-/tmp}/tidemill-s3-$PORT.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 100); do
        up && break
        sleep 0.1
    done
    up || { echo "the object store did not start; see ${TMPDIR:-/tmp}/tidemill-s3-$PORT.log" >&2; exit 1; }
fi
# The bucket (creating it again is harmless).
curl -s -o /dev/null -X PUT "$ENDPOINT/tidemill"
echo "$ENDPOINT"
