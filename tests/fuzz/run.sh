#!/bin/sh
# run.sh SECONDS [TARGET...] - runs (all targets when none is named) each libFuzzer target of build/fuzz for
# SECONDS on a copy of its seed corpus (tests/fuzz/corpus/TARGET, which
# also holds every crash found so far: replayed first, so it stays fixed),
# with its dictionary.  New inputs stay in build/fuzz/work; a crash is
# written to build/fuzz/crashes/ and shown.  Prints one line per target
# with executions and coverage (-print_final_stats=1), then
# "N passed, N failed" (scripts/test.sh counts it).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
secs=$1
shift
if [ $# -eq 0 ]; then
	set -- $(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
fi
B="$ROOT/build/fuzz"
mkdir -p "$B/crashes"
passed=0
failed=0
for t in "$@"; do
	work="$B/work/$t"
	mkdir -p "$work"
	log="$B/$t.log"
	dict=""
	[ -f "$ROOT/tests/fuzz/$t.dict" ] && dict="-dict=$ROOT/tests/fuzz/$t.dict"
	# One process, no forking: the two cores are shared with the rest.
	"$B/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-max_len=8192 -seed=${FUZZ_SEED:-0} $dict -artifact_prefix="$B/crashes/$t-" \
		"$work" "$ROOT/tests/fuzz/corpus/$t" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	corp=$(ls "$work" | wc -l)
	if [ $rc -eq 0 ] && [ -n "$execs" ]; then
		passed=$((passed + 1))
		echo "$t: ${execs} executions in ${secs} s, coverage ${cov:-?} edges, ${ft:-?} features, corpus of ${corp} (build/fuzz/work): ok"
	else
		failed=$((failed + 1))
		echo "$t: FAILED (exit $rc) after ${execs:-?} executions; log build/fuzz/$t.log:"
		grep -A 30 'ERROR:\|runtime error\|deadly signal\|Test unit written' "$log" | head -n 50
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
