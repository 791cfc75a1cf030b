#!/bin/sh
# Figure (4) of make bench alone (bench/api_only.py), in about two minutes:
# bench/run.sh with api_only.py in place of sync_bench.py.
#   make all build/rel/bench-noop && bench/api_only.sh
# Knobs: BENCH_WRK_SECONDS (20), BENCH_USERS (2000), BENCH_GROUPS (400),
# BENCH_MAPPINGS (200), API_PROCESSES (3), BENCH_KEEP=1 (see run.sh);
# BENCH_API_BEFORE, a folder with an older provisioning-api,
# provisioning-sync and provisioning-admin, measured too in the same run
# for a before/after.
BENCH_MAIN=api_only.py exec "$(dirname "$0")/run.sh"
