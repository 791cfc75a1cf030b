#!/bin/sh
# The API's throughput for one signed-in administrator:
#   wrk -t2 -c64 -d10s GET /api/v1/provisioning/slack
# Starts its own stack in a temporary folder (scripts/stack.sh, as make test
# does), creates an organization and its administrator, signs in, runs wrk
# with the session cookie and tears everything down.  Self-contained so that
# make bench (or anyone) can call it; prints wrk's report and one summary line
#   api_wrk: <requests/s> req/s, non-2xx <n>
# Environment: WRK_THREADS (2), WRK_CONNECTIONS (64), WRK_DURATION (10s),
# WRK_PATH (/api/v1/provisioning/slack), API_PROCESSES (3).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/provisioning-apiwrk.XXXXXX)
trap '"$ROOT/scripts/stack.sh" stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM
command -v wrk > /dev/null || { echo "api_wrk: wrk is not installed"; exit 1; }
[ -x "$ROOT/cgi-bin/provisioning-api" ] || { echo "api_wrk: build first (make)"; exit 1; }
ports=$("$ROOT/scripts/stack.sh" free-ports)
PORT=${ports% *}
EPORT=${ports#* }
SYNC_INTERVAL=0 "$ROOT/scripts/stack.sh" start "$DIR" "$PORT" "$EPORT" > /dev/null 2>&1 \
	|| { echo "api_wrk: the stack did not start"; exit 1; }
export PROVISIONING_CONFIG="$DIR/provisioning.conf"
admin="$ROOT/cron/provisioning-admin"
org=$("$admin" create-org "Bench organization") || { echo "api_wrk: create-org failed"; exit 1; }
email="bench-admin@bench.example"
password=$(openssl rand -hex 12)
printf '%s\n' "$password" | "$admin" create-admin "$org" "$email" --first Bench --last Admin \
	--password-stdin > /dev/null || { echo "api_wrk: create-admin failed"; exit 1; }
base="http://127.0.0.1:$PORT"
cookie=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/api/v1/session" \
	| sed -n 's/^[Ss]et-[Cc]ookie: \(pv_session=[0-9a-f]*\).*/\1/p')
[ -n "$cookie" ] || { echo "api_wrk: sign-in failed"; exit 1; }
path=${WRK_PATH:-/api/v1/provisioning/slack}
status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base$path")
[ "$status" = 200 ] || { echo "api_wrk: GET $path answered $status, not 200"; exit 1; }
out=$(wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNECTIONS:-64}" -d"${WRK_DURATION:-10s}" \
	-H "Cookie: $cookie" "$base$path")
echo "$out"
rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
bad=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
echo "api_wrk: ${rps:-?} req/s, non-2xx ${bad:-0}"
[ -z "$bad" ]
