"""Deadlocks and lock wait timeouts are retried by db_tx_run, the one helper
for transactions (issue 12 item 6): a real deadlock between two connections,
provoked by tests/db-probe.c, ends with both transactions committed."""
import os
import re

PROBE = os.path.join("build", "rel", "db-probe")


def _probe(ctx, mode):
    path = os.path.join(ctx.root, PROBE)
    if not os.path.exists(path):
        done = ctx.run(["make", "-C", ctx.root, "--no-print-directory", PROBE])
        assert done.returncode == 0, done.stderr
    r = ctx.run([path, mode])
    assert r.returncode == 0, r.stderr
    m = re.search(r"rc1=(-?\d+) rc2=(-?\d+) calls=(\d+) retries=(\d+) v1=(-?\d+) v2=(-?\d+)",
                  r.stdout)
    assert m, r.stdout + r.stderr
    return dict(zip(["rc1", "rc2", "calls", "retries", "v1", "v2"], map(int, m.groups())))


def test_without_the_helper_one_of_two_crossing_transactions_loses_a_deadlock(ctx):
    # The control: the probe's crossing updates really deadlock.
    got = _probe(ctx, "plain")
    assert sorted([got["rc1"], got["rc2"]])[1] == 0, got
    assert min(got["rc1"], got["rc2"]) < 0, got  # PV_EDEADLOCK for the loser
    assert got["calls"] == 2 and got["retries"] == 0, got
    assert got["v1"] == 1 and got["v2"] == 1, got  # only the winner's writes


def test_db_tx_run_runs_the_loser_of_a_deadlock_again_and_both_commit(ctx):
    got = _probe(ctx, "deadlock")
    assert got["rc1"] == 0 and got["rc2"] == 0, got
    assert got["retries"] == 1 and got["calls"] == 3, got
    assert got["v1"] == 2 and got["v2"] == 2, got  # each transaction's two writes, once


def test_db_tx_run_runs_a_transaction_again_after_a_lock_wait_timeout(ctx):
    got = _probe(ctx, "lockwait")
    assert got["rc1"] == 0 and got["rc2"] == 0, got
    assert got["retries"] >= 1, got
    assert got["v1"] == 2, got  # the holder's update and the waiter's, once each


def test_prepared_statements_are_cached_nested_safely_and_prepared_again_after_a_kill(ctx):
    path = os.path.join(ctx.root, PROBE)
    r = ctx.run([path, "cache"])
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"prepares=(\d+) nested=(\d+) reconnects=(\d+) value=(\d+) sum=(\d+)", r.stdout)
    assert m, r.stdout
    prepares, nested, reconnects, value, s = map(int, m.groups())
    # db_exec_script's set-up prepares nothing; 50 runs of one query: one prepare.
    assert prepares == 1, r.stdout
    # Rows 1 and 2: the inner query saw 2 + 1 rows, the outer both rows.
    assert nested == 3 and s == 3, r.stdout
    # The killed connection was replaced and the query answered.
    assert reconnects == 1 and value == 2, r.stdout
