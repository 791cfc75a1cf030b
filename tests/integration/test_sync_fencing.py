"""Each sync runs exactly once (SPEC §2.9, issue 12 items 1, 6 and 7): the
lease is kept while Slack is read and while a Retry-After is waited out,
every write of a run is fenced by the lease, so a worker that lost it
writes nothing, a lost lock wait is retried rather than recorded as a
person's failure, and a sync stopped by the database never says it
succeeded.  Leases are shortened to seconds (sync.lease_seconds) and the
Slack delays with them, so that each story takes seconds, not minutes."""
import os
import signal
import subprocess
import threading
import time

from test_slack_connection import emu_reset
from test_sync import setup, generate, connect_generated, demo_expectations

SYNCS = "/api/v1/provisioning/slack/syncs"
LEASE = 3


def start_pass(ctx, org, **env):
    e = dict(ctx.env, SYNC_LEASE_SECONDS=str(LEASE))
    e.update(env)
    return subprocess.Popen([os.path.join(ctx.root, "cron", "provisioning-sync"), "--org", str(org.id)],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, err


def queue(org):
    r = org.admin.post(SYNCS, None)
    assert r.status == 202, r
    return r.json["sync"]["id"]


def state(ctx, sid):
    return ctx.sql("SELECT status, attempts FROM provisioning_syncs WHERE id = ?", sid)[0]


def report(ctx, sid):
    return ctx.sql("SELECT id, action, outcome, slack_user_id, IFNULL(team_id, 0)"
                   " FROM provisioning_sync_actions WHERE sync_id = ? ORDER BY id", sid)


def users(ctx, org):
    return ctx.sql("SELECT id, email, status, slack_user_id, updated_at FROM users"
                   " WHERE organization_id = ? AND source = 'slack' ORDER BY id", org.id)


def assert_once_per_person(ctx, org, sid):
    """One report row per person and action, none failed, and the sync's
    counts are those of its rows."""
    dup = ctx.sql("SELECT slack_user_id, action, COUNT(*) FROM provisioning_sync_actions"
                  " WHERE sync_id = ? GROUP BY slack_user_id, action, team_id HAVING COUNT(*) > 1", sid)
    assert dup == [], dup[:5]
    failed = ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?"
                     " AND outcome = 'failed'", sid)
    assert failed == [["0"]], failed
    s = org.admin.get("%s/%d" % (SYNCS, sid)).json["sync"]
    created = int(ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?"
                          " AND action = 'create' AND outcome = 'succeeded'", sid)[0][0])
    skipped = int(ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?"
                          " AND outcome = 'skipped'", sid)[0][0])
    assert s["counts"]["created"] == created and s["counts"]["skipped"] == skipped, (s["counts"], created, skipped)
    assert s["counts"]["failed"] == 0, s["counts"]
    n = int(ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'", org.id)[0][0])
    assert n == created, (n, created)
    return created


def test_a_retry_after_longer_than_the_lease_keeps_the_sync_with_its_worker(ctx):
    # The story: users.list answers one 429 with a Retry-After
    # longer than the lease; the next pass comes when the lease would have
    # ended without renewal.  Before: the second pass took the sync
    # (attempt 2) and the first, waking up, wrote into its finished report.
    emu = emu_reset(ctx)
    org = setup(ctx)
    sid = queue(org)
    emu.post("/_emulator/record/reset", {})
    wait = 2 * LEASE
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "http429", "retry_after": wait,
                                    "count": 1}])
    first = start_pass(ctx, org)
    try:
        ctx.wait("the 429", lambda: emu.get("/_emulator/record").json["counts"].get("users.list", 0) >= 1,
                 seconds=20, interval=0.05)
        time.sleep(LEASE + 1)           # past the lease; still within the Retry-After
        assert first.poll() is None, "the first pass did not wait the Retry-After out"
        second = ctx.sync_pass("--org", str(org.id), env={"SYNC_LEASE_SECONDS": str(LEASE)})
        assert state(ctx, sid) == ["running", "1"], state(ctx, sid)
        assert "claimed" not in second.stderr, second.stderr
    finally:
        rc, err = finish(first)
        emu.delete("/_emulator/faults")
    assert rc == 0, err
    assert state(ctx, sid) == ["succeeded", "1"], (state(ctx, sid), err)
    created = assert_once_per_person(ctx, org, sid)
    _, _, with_email = demo_expectations(ctx)
    assert created == len(with_email), (created, len(with_email))
    assert "lost its lease" not in err, err


def second_pass_past_the_lease_finds_nothing(ctx, org, sid, first, what):
    """Once the first pass has run longer than its lease, a second pass
    finds the sync still the first one's."""
    time.sleep(LEASE + 1)
    assert first.poll() is None, what + " ended early"
    ctx.sync_pass("--org", str(org.id), env={"SYNC_LEASE_SECONDS": str(LEASE)})
    assert state(ctx, sid) == ["running", "1"], state(ctx, sid)


def test_a_slow_read_renews_the_lease_and_no_second_pass_claims_the_sync(ctx):
    # One users.list page takes longer than the lease to come: the lease is
    # renewed while the answer is awaited, so a pass meanwhile finds nothing.
    emu = emu_reset(ctx)
    org = setup(ctx)
    sid = queue(org)
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "slow", "delay_ms": (2 * LEASE) * 1000,
                                    "count": 1}])
    first = start_pass(ctx, org)
    try:
        second_pass_past_the_lease_finds_nothing(ctx, org, sid, first, "the slow read")
        # The page shows the run reading Slack meanwhile (item 6).
        p = org.admin.get("%s/%d" % (SYNCS, sid)).json["sync"]["progress"]
        assert p and p["phase"] == "reading", p
    finally:
        rc, err = finish(first)
        emu.delete("/_emulator/faults")
    assert rc == 0, err
    assert state(ctx, sid) == ["succeeded", "1"], (state(ctx, sid), err)
    assert_once_per_person(ctx, org, sid)


def test_slow_pictures_keep_the_lease_and_no_second_pass_claims_the_sync(ctx):
    # Two new people whose pictures take the emulator 2 s each (four
    # downloads, one after another: longer than the lease): the writer
    # keeps the lease while it waits for them, so a pass meanwhile finds
    # nothing, and the sync ends once with both pictures stored.
    from test_sync_pictures import member, picture_of
    from test_sync import emu_put_user
    emu_reset(ctx)
    org = setup(ctx)
    slow = [ctx.unique("slow") for _ in range(2)]
    for k, h in enumerate(slow):
        emu_put_user(ctx, member("U0SLOWPIC%d" % k, "slow.picture%d@acme.example" % k,
                                 "Slow Picture%d" % k, h))
    sid = queue(org)
    first = start_pass(ctx, org)
    try:
        second_pass_past_the_lease_finds_nothing(ctx, org, sid, first, "the slow pictures")
    finally:
        rc, err = finish(first)
    assert rc == 0, err
    assert state(ctx, sid) == ["succeeded", "1"], (state(ctx, sid), err)
    assert "lost its lease" not in err, err
    for k, h in enumerate(slow):
        small, large, key = picture_of(ctx, org, "U0SLOWPIC%d" % k)
        assert key == h and small and large, (small, large, key)
    assert_once_per_person(ctx, org, sid)


def hold_row(ctx, sql):
    """A third connection that runs sql in an open transaction until its
    stdin gets ROLLBACK."""
    p = subprocess.Popen(["mariadb", "--no-defaults", "--socket=" + os.path.join(ctx.dir, "mysqld.sock"),
                          "-uroot", "-N", "--unbuffered", "provisioning"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdin.write("START TRANSACTION;\n%s;\nSELECT 'held';\n" % sql)
    p.stdin.flush()
    line = None
    while line != "":                   # sql's own output comes first
        line = p.stdout.readline()
        if line.strip() == "held":
            return p
    raise AssertionError("the third connection could not take its lock")


def release(p):
    if p.stdin.closed:
        return
    p.stdin.write("ROLLBACK;\n")
    p.stdin.close()
    p.wait(timeout=30)


def lock_waits(ctx):
    return int(ctx.sql("SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'")[0][0])


def test_a_worker_frozen_past_its_lease_writes_nothing_once_resumed(ctx):
    # Mid-apply, the sync's row is locked by a third connection, so the
    # worker's next batch waits in its fence; the worker is frozen with
    # SIGSTOP there, its wait times out on the server (so it holds no lock),
    # a second pass takes the sync over after the lease and finishes it,
    # then SIGCONT.  Before: nothing checked the lease inside a batch, and
    # the frozen worker's second writer wrote one more batch, every row of
    # it a 'failed' duplicate in the finished sync's report.
    emu_reset(ctx)
    generate(ctx, "T0FENCE001", 3000)
    org = ctx.new_org()
    connect_generated(ctx, org, "T0FENCE001")
    sid = queue(org)
    ctx.sql("SET GLOBAL innodb_lock_wait_timeout = 1")
    holder = None
    try:
        first = start_pass(ctx, org, SYNC_BATCH_SIZE="20", SYNC_WRITERS="2")
        try:
            ctx.wait("the first batches", lambda: int(ctx.sql(
                "SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'",
                org.id)[0][0]) >= 200, seconds=60, interval=0.05)
            holder = hold_row(ctx, "SELECT id FROM provisioning_syncs WHERE id = %d FOR UPDATE" % sid)
            ctx.wait("a batch waiting in its fence", lambda: lock_waits(ctx) > 0, seconds=20, interval=0.01)
            first.send_signal(signal.SIGSTOP)
            time.sleep(1.5)             # the frozen worker's waits time out on the server
            release(holder)
            holder = None
            ctx.sql("SET GLOBAL innodb_lock_wait_timeout = 50")
            frozen_at = len(users(ctx, org))
            assert frozen_at < 3000 * 0.9, frozen_at
            time.sleep(LEASE + 0.5)
            second = ctx.sync_pass("--org", str(org.id))
            assert "claimed (organization %d, attempt 2)" % org.id in second.stderr, second.stderr
            assert state(ctx, sid) == ["succeeded", "2"], state(ctx, sid)
            rows, people = report(ctx, sid), users(ctx, org)
            s = org.admin.get("%s/%d" % (SYNCS, sid)).json["sync"]
        finally:
            first.send_signal(signal.SIGCONT)
            rc, err = finish(first)
    finally:
        if holder:
            release(holder)
        ctx.sql("SET GLOBAL innodb_lock_wait_timeout = 50")
    # The resumed worker wrote nothing: report, directory and counts as the
    # second pass left them, and it said why it stopped.
    assert report(ctx, sid) == rows
    assert users(ctx, org) == people
    assert org.admin.get("%s/%d" % (SYNCS, sid)).json["sync"] == s
    assert "took this sync over" in err, err
    assert "succeeded" not in err, err  # a stopped run never says it succeeded (item 7)
    assert rc == 0, err                 # a lost lease ends the sync's run, not the pass
    created = assert_once_per_person(ctx, org, sid)
    assert created > frozen_at, (created, frozen_at)


def test_a_lost_lock_wait_is_retried_not_recorded_as_a_failure(ctx):
    # A third connection holds an uncommitted row with the e-mail of one
    # person the sync creates, longer than the server's lock wait: the
    # batch's INSERT loses the wait (1205).  Before: the batch was replayed
    # action by action and that person got a 'failed' row; now the
    # transaction runs again (db_tx_run) once the lock is gone.
    emu_reset(ctx)
    generate(ctx, "T0LOCK0001", 1200)
    org = ctx.new_org()
    connect_generated(ctx, org, "T0LOCK0001")
    people = ctx.emulator().get("/_emulator/workspace/T0LOCK0001?full=1").json["users"]
    emails = [(u.get("profile") or {}).get("email") for u in people
              if not u.get("deleted") and not u.get("is_bot") and not u.get("is_app_user")
              and u["id"] != "USLACKBOT"]
    emails = [e for e in emails if e]
    victim = emails[len(emails) // 2]
    sid = queue(org)
    ctx.sql("SET GLOBAL innodb_lock_wait_timeout = 1")
    holder = None
    try:
        holder = hold_row(ctx, "INSERT INTO users (organization_id, email) VALUES (%d, '%s')"
                          % (org.id, victim.replace("'", "''")))
        first = start_pass(ctx, org, SYNC_BATCH_SIZE="50", SYNC_WRITERS="2")
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(first.stderr.readline, "")))
        reader.start()
        # The run says when its batch lost the wait; before, nothing was
        # retried and the run ended with the person's failed row.
        ctx.wait("a lost lock wait or the end of the run",
                 lambda: first.poll() is not None or any("lost a deadlock or a lock wait" in x for x in lines),
                 seconds=120, interval=0.02)
        time.sleep(0.5)
        release(holder)
        first.wait(timeout=120)
        reader.join(timeout=30)
        rc, err = first.returncode, "".join(lines)
    finally:
        if holder:
            release(holder)
        ctx.sql("SET GLOBAL innodb_lock_wait_timeout = 50")
    assert rc == 0, err
    assert "lost a deadlock or a lock wait" in err, err
    assert state(ctx, sid) == ["succeeded", "1"], (state(ctx, sid), err)
    assert assert_once_per_person(ctx, org, sid) > len(emails) // 2
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND email = ?", org.id, victim) == [["1"]]


def test_a_sync_stopped_by_the_database_never_logs_succeeded(ctx):
    # MariaDB stops mid-apply.  Before: the run logged "... actions
    # planned, succeeded" and then "stopped (database unavailable)".
    emu_reset(ctx)
    generate(ctx, "T0DBSTOP01", 3000)
    org = ctx.new_org()
    connect_generated(ctx, org, "T0DBSTOP01")
    sid = queue(org)
    first = start_pass(ctx, org, SYNC_BATCH_SIZE="20")
    try:
        ctx.wait("the first batches", lambda: int(ctx.sql(
            "SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'", org.id)[0][0]) >= 100,
            seconds=60, interval=0.05)
        ctx.stack("db-stop")
        try:
            rc, err = finish(first)
        finally:
            ctx.stack("db-start")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert "sync %d: stopped (database unavailable)" % sid in err, err
    assert "succeeded" not in err, err
    ctx.wait("the database", lambda: ctx.sql("SELECT 1") == [["1"]], seconds=30)
    assert state(ctx, sid)[0] == "running"
    time.sleep(LEASE + 0.5)
    ctx.sync_pass("--org", str(org.id))
    assert state(ctx, sid) == ["succeeded", "2"], state(ctx, sid)
    assert_once_per_person(ctx, org, sid)
