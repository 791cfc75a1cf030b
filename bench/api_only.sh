#!/bin/sh
# Figure (4) of make bench alone (bench/api_only.py): starts the stack in a
# temporary folder as bench/run.sh does, measures, tears it down.
#   make all build/rel/bench-noop && bench/api_only.sh
# Knobs: BENCH_WRK_SECONDS (20), BENCH_USERS (2000), BENCH_GROUPS (400),
# BENCH_API_BEFORE (a folder with an older provisioning-api, provisioning-sync
# and provisioning-admin: measured too, in the same run, for a before/after),
# BENCH_MAPPINGS (200), API_PROCESSES (3); BENCH_KEEP=1 keeps the stack
# running afterwards (stop it with scripts/stack.sh stop DIR) for profiling.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/provisioning-apibench.XXXXXX)
if [ "${BENCH_KEEP:-0}" = 1 ]; then
	echo "bench: stack kept in $DIR"
else
	trap '"$ROOT/scripts/stack.sh" stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
fi
trap 'exit 130' INT TERM
ports=$("$ROOT/scripts/stack.sh" free-ports)
PORT=${ports% *}
EPORT=${ports#* }
SYNC_INTERVAL=0 "$ROOT/scripts/stack.sh" start "$DIR" "$PORT" "$EPORT" > "$DIR/stack.log" 2>&1 \
	|| { echo "bench: the stack did not start"; tail -20 "$DIR/stack.log"; exit 1; }
python3 "$ROOT/bench/api_only.py" --dir "$DIR" --port "$PORT" --emulator-port "$EPORT"
