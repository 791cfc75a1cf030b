#!/bin/sh
# The first sync with mapped teams, measured quickly (issue 10 item 2):
#   bench/mapped_first_sync.sh [--users N] [--groups G] [--members M]
# starts the stack in a temporary folder as make bench does, runs
# bench/mapped_first_sync.py, tears the stack down.  PERF=1 adds a perf
# profile of the first sync.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/provisioning-mapped.XXXXXX)
trap '"$ROOT/scripts/stack.sh" stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM
ports=$("$ROOT/scripts/stack.sh" free-ports)
PORT=${ports% *}
EPORT=${ports#* }
SYNC_INTERVAL=0 "$ROOT/scripts/stack.sh" start "$DIR" "$PORT" "$EPORT" > /dev/null 2>&1 \
	|| { echo "mapped: the stack did not start"; exit 1; }
python3 "$ROOT/bench/mapped_first_sync.py" --dir "$DIR" --port "$PORT" --emulator-port "$EPORT" "$@"
