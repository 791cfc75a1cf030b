#!/bin/sh
# make bench: starts the stack in a temporary folder (as make test does),
# runs the benchmarks, tears the stack down.  BENCH_USERS sets the size.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/provisioning-bench.XXXXXX)
trap '"$ROOT/scripts/stack.sh" stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM
ports=$("$ROOT/scripts/stack.sh" free-ports)
PORT=${ports% *}
EPORT=${ports#* }
SYNC_INTERVAL=0 "$ROOT/scripts/stack.sh" start "$DIR" "$PORT" "$EPORT" > /dev/null 2>&1 \
	|| { echo "bench: the stack did not start"; exit 1; }
python3 "$ROOT/bench/sync_bench.py" --dir "$DIR" --port "$PORT" --emulator-port "$EPORT"
