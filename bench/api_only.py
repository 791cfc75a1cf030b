#!/usr/bin/env python3
"""Figure (4) of make bench alone, in about two minutes: the API under wrk
next to a static file and a FastCGI no-op (api_bench.py), on data of the
figure's shape without the 100,000-person sync that precedes it in make
bench: the emulator's company of BENCH_USERS (2,000) people and
BENCH_GROUPS (400) groups, BENCH_MAPPINGS (200) of them mapped to teams, and
one sync, so that GET /api/v1/provisioning/slack answers connected,
configured and with a last sync, and GET /api/v1/users?limit=50 pages
through people with long titles.  Run by bench/api_only.sh, which starts and
stops the stack; prints the two rows of the table and their notes.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import api_bench  # noqa: E402
from sync_bench import TEAM, Bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--emulator-port", type=int, required=True)
    ap.add_argument("--users", type=int, default=int(os.environ.get("BENCH_USERS", "2000")))
    ap.add_argument("--groups", type=int, default=int(os.environ.get("BENCH_GROUPS", "400")))
    ap.add_argument("--mappings", type=int, default=int(os.environ.get("BENCH_MAPPINGS", "200")))
    ap.add_argument("--max-title", type=int, default=int(os.environ.get("BENCH_MAX_TITLE", "200")))
    b = Bench(ap.parse_args())
    b.emu.post("/_emulator/reset", {})
    b.workspace(TEAM)
    org, n_mapped = b.org_for(TEAM, mapping=True)
    b.sync(org, "first")
    print("bench: %d mappings; API processes %s" % (n_mapped, os.environ.get("API_PROCESSES", "3")),
          flush=True)
    api_bench.run(b, org)


if __name__ == "__main__":
    main()
