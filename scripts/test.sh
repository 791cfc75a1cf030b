#!/bin/sh
# make test, after the build: runs the unit tests (built with the
# sanitizers), then brings up the whole stack in a temporary folder on free
# loopback ports, runs the integration tests through nginx, and tears the
# stack down whatever happens.  Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/test-output"
rm -rf "$OUT"
mkdir -p "$OUT"

# The developer's own overrides must not point the tests elsewhere.
for v in $(env | sed -n 's/^\(\(DB\|APP\|SLACK\|CRYPTO\|SMTP\|LOG\|SESSION\)_[A-Z_]*\)=.*/\1/p'); do
	unset "$v"
done
unset PROVISIONING_CONFIG PORT EMULATOR_PORT

passed=0
failed=0

echo "== unit tests (address and undefined behaviour sanitizers)"
for t in "$ROOT"/build/san/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$t" > "$OUT/$name.tap" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$OUT/$name.tap")
	f=$(grep -c '^not ok ' "$OUT/$name.tap")
	# A crash or a sanitizer report fails the binary even if its cases passed.
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$OUT/$name.tap"; then
		f=$((f + 1))
	fi
	echo "$name: $p passed, $f failed"
	[ "$f" -eq 0 ] || sed -n '/^not ok\|runtime error\|Sanitizer/,+15p' "$OUT/$name.tap" | head -40
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "== Slack emulator self-test (its own nginx on a free port)"
python3 "$ROOT/tests/slack-emulator/selftest.py" > "$OUT/emulator-selftest.log" 2>&1
last=$(tail -n 1 "$OUT/emulator-selftest.log")
case "$last" in
*" passed, "*" failed")
	p=${last%% passed*}
	f=${last#*passed, }
	f=${f%% failed*}
	;;
*)
	p=0 f=1
	;;
esac
echo "emulator: $p passed, $f failed"
[ "$f" -eq 0 ] || grep -i 'fail' "$OUT/emulator-selftest.log" | head -20
passed=$((passed + p))
failed=$((failed + f))

echo "== integration tests (MariaDB, nginx, FastCGI, Slack emulator)"
DIR=$(mktemp -d /tmp/provisioning-test.XXXXXX)
cleanup() {
	"$ROOT/scripts/stack.sh" stop "$DIR" >/dev/null 2>&1
	# Logs of the run are kept for whoever reads a failure.
	cp "$DIR"/*.log "$OUT"/ 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ports=$("$ROOT/scripts/stack.sh" free-ports)
PORT=${ports% *}
EPORT=${ports#* }
if SYNC_INTERVAL=0 "$ROOT/scripts/stack.sh" start "$DIR" "$PORT" "$EPORT" > "$OUT/stack.log" 2>&1; then
	python3 "$ROOT/tests/integration/run.py" --root "$ROOT" --dir "$DIR" --port "$PORT" \
		--emulator-port "$EPORT" --counts "$OUT/integration.counts" ${TESTS:+--only "$TESTS"}
	if [ -f "$OUT/integration.counts" ]; then
		read -r p f < "$OUT/integration.counts"
	else
		p=0 f=1
	fi
else
	echo "the stack did not start; see test-output/stack.log"
	cat "$OUT/stack.log"
	p=0 f=1
fi
passed=$((passed + p))
failed=$((failed + f))

# The browser tests need their own organization: they connect, reconfigure
# and disconnect Slack.  They run after the integration tests, on the same
# stack, unless a TESTS filter asked for integration tests only.
if [ -z "${TESTS:-}" ] || [ -n "${BROWSER_TESTS:-}" ]; then
	echo "== browser tests (Debian's chromium driven by playwright-core)"
	PROVISIONING_CONFIG="$DIR/provisioning.conf"
	export PROVISIONING_CONFIG
	oid=$("$ROOT/cron/provisioning-admin" create-org "Browser tests" 2>>"$OUT/stack.log")
	pw=$(openssl rand -hex 12)
	printf '%s\n' "$pw" | "$ROOT/cron/provisioning-admin" create-admin "$oid" browser@example.test \
		--first Browser --last Tester --password-stdin >/dev/null 2>>"$OUT/stack.log"
	node "$ROOT/tests/browser/run.mjs" --base "http://127.0.0.1:$PORT" \
		--emulator "http://127.0.0.1:$EPORT" --email browser@example.test --password "$pw" \
		--out "$OUT/browser" --counts "$OUT/browser.counts" ${BROWSER_TESTS:+--only "$BROWSER_TESTS"} \
		--sync-command "PROVISIONING_CONFIG=$DIR/provisioning.conf $ROOT/cron/provisioning-sync"
	if [ -f "$OUT/browser.counts" ]; then
		read -r p f < "$OUT/browser.counts"
	else
		p=0 f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
