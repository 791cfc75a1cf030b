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

# A short run of every libFuzzer target (make fuzz runs the long one); its
# seed corpus holds every crash found so far, replayed first.
echo "== fuzzing (libFuzzer, ${FUZZ_SHORT_SECONDS:-10} s per target)"
"$ROOT/tests/fuzz/run.sh" "${FUZZ_SHORT_SECONDS:-10}" > "$OUT/fuzz.log" 2>&1
cat "$OUT/fuzz.log" | sed '$d'
last=$(tail -n 1 "$OUT/fuzz.log")
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
passed=$((passed + p))
failed=$((failed + f))

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

echo "== integration tests (MariaDB, nginx, FastCGI, Slack emulator; programs built with ASan + UBSan)"
DIR=$(mktemp -d /tmp/provisioning-test.XXXXXX)
# The stack and every test run the sanitizer builds of the three programs
# (make test builds them in build/san/bin).  Their reports go to files in
# the run folder, since the API's stderr is /dev/null under spawn-fcgi; the
# leak check runs when a program exits cleanly (the API does on SIGTERM).
# Any report, from any process, is a failure (counted below).
SAN="$DIR/sanitizer"
mkdir -p "$SAN"
PROVISIONING_BIN_DIR="$ROOT/build/san/bin"
ASAN_OPTIONS="log_path=$SAN/report:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:quarantine_size_mb=16"
UBSAN_OPTIONS="log_path=$SAN/report:print_stacktrace=1:halt_on_error=0"
LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
export PROVISIONING_BIN_DIR ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
for b in provisioning-api provisioning-sync provisioning-admin; do
	[ -x "$PROVISIONING_BIN_DIR/$b" ] || { echo "no sanitizer build of $b: run make test"; exit 1; }
done
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
	oid=$("$PROVISIONING_BIN_DIR/provisioning-admin" create-org "Browser tests" 2>>"$OUT/stack.log")
	pw=$(openssl rand -hex 12)
	printf '%s\n' "$pw" | "$PROVISIONING_BIN_DIR/provisioning-admin" create-admin "$oid" browser@example.test \
		--first Browser --last Tester --password-stdin >/dev/null 2>>"$OUT/stack.log"
	node "$ROOT/tests/browser/run.mjs" --base "http://127.0.0.1:$PORT" \
		--emulator "http://127.0.0.1:$EPORT" --email browser@example.test --password "$pw" \
		--out "$OUT/browser" --counts "$OUT/browser.counts" ${BROWSER_TESTS:+--only "$BROWSER_TESTS"} \
		--sync-command "PROVISIONING_CONFIG=$DIR/provisioning.conf $PROVISIONING_BIN_DIR/provisioning-sync"
	if [ -f "$OUT/browser.counts" ]; then
		read -r p f < "$OUT/browser.counts"
	else
		p=0 f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
fi

# The stack is stopped first so that the API processes exit and their
# leak check runs; then every report any program wrote is one failure.
echo "== sanitizer reports of the stack's programs (ASan, LSan, UBSan)"
"$ROOT/scripts/stack.sh" stop "$DIR" >/dev/null 2>&1
n=0
for r in "$SAN"/report.*; do
	[ -f "$r" ] || continue
	k=$(grep -c 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$r")
	[ "$k" -gt 0 ] || k=1
	n=$((n + k))
done
if [ "$n" -eq 0 ]; then
	echo "sanitizers: 0 reports"
else
	echo "sanitizers: $n reports (test-output/sanitizer/):"
	for r in "$SAN"/report.*; do
		[ -f "$r" ] || continue
		echo "--- $(basename "$r")"
		head -n 40 "$r"
	done
fi
mkdir -p "$OUT/sanitizer"
cp "$SAN"/report.* "$OUT/sanitizer/" 2>/dev/null
echo "$n" > "$OUT/sanitizer.count"
failed=$((failed + n))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
