#!/bin/sh
# make bench: starts the stack in a temporary folder (as make test does),
# runs the benchmarks (bench/sync_bench.py, which ends with api_bench.py),
# writes bench/results.md, tears the stack down.
# Knobs: BENCH_USERS (100000), BENCH_GROUPS (2000), BENCH_MAPPINGS (200),
# BENCH_RESYNCS (5 pairs of re-syncs for (b) and (c)), BENCH_WRK_SECONDS
# (20), BENCH_PERF=1 (perf profiles of every sync), BENCH_RESULTS
# (bench/results.md), API_PROCESSES (3); BENCH_MAIN, the
# script run in bench/ (sync_bench.py; bench/api_only.sh sets api_only.py);
# BENCH_KEEP=1 leaves the stack running afterwards, for profiling (stop it
# with scripts/stack.sh stop DIR).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/provisioning-bench.XXXXXX)
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
start=$(date +%s)
python3 "$ROOT/bench/${BENCH_MAIN:-sync_bench.py}" --dir "$DIR" --port "$PORT" --emulator-port "$EPORT"
rc=$?
echo "bench: took $(( $(date +%s) - start )) s"
exit $rc
