"""Sync now starts within seconds (the cron pass's --poll wait), a queued
sync can be cancelled, and each sync says which workspace it read and, while
it runs, how far it is (SPEC §1.9, issue 14)."""
import os
import subprocess
import time

from test_sync import setup, sync, DEMO

SYNCS = "/api/v1/provisioning/slack/syncs"


def start_pass(ctx, *args):
    return subprocess.Popen([os.path.join(ctx.root, "cron", "provisioning-sync")] + list(args),
                            env=ctx.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def get_sync(org, sid):
    r = org.admin.get("%s/%d" % (SYNCS, sid))
    assert r.status == 200, r
    return r.json["sync"]


def test_sync_now_starts_within_seconds_while_one_pass_waits(ctx):
    org = setup(ctx)
    sync(ctx, org)                      # the first import, out of the way
    waiting = start_pass(ctx, "--poll=10")
    try:
        time.sleep(2)                   # its pass is done: it waits now
        assert waiting.poll() is None, waiting.communicate()
        # A second pass meanwhile does its work and does not wait too.
        t = time.time()
        second = start_pass(ctx, "--poll=10")
        out, err = second.communicate(timeout=30)
        assert second.returncode == 0, err
        assert time.time() - t < 5, "a second pass waited %.1f s" % (time.time() - t)
        # Sync now: started and finished within seconds, by the waiting pass.
        r = org.admin.post(SYNCS, None)
        assert r.status == 202, r
        sid, t = r.json["sync"]["id"], time.time()
        s = ctx.wait("the sync to finish", lambda: (lambda s: s if s["status"] not in ("pending", "running")
                                                    else None)(get_sync(org, sid)), seconds=8)
        took = time.time() - t
        assert s["status"] == "succeeded", s
        assert took < 5, "Sync now took %.1f s" % took
        print("  Sync now: finished %.1f s after it was queued (a waiting pass)" % took)
        assert waiting.poll() is None, "the waiting pass left before its time"
    finally:
        out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    # Nothing is left waiting.
    assert "pending" not in [x["status"] for x in org.admin.get(SYNCS).json["syncs"]]


def test_poll_arguments_are_checked(ctx):
    for bad in ("--poll=0", "--poll=x", "--poll=", "--polling", "--poll=3601"):
        r = ctx.run([os.path.join(ctx.root, "cron", "provisioning-sync"), bad])
        assert r.returncode == 2 and "usage:" in r.stderr, (bad, r.returncode, r.stderr)


def test_a_queued_sync_can_be_cancelled_and_nothing_runs(ctx):
    org, other = setup(ctx), ctx.new_org()
    r = org.admin.post(SYNCS, None)
    assert r.status == 202, r
    sid = r.json["sync"]["id"]
    assert other.admin.post("%s/%d/cancel" % (SYNCS, sid)).status == 404
    r = org.admin.post("%s/%d/cancel" % (SYNCS, sid))
    assert r.status == 200, r
    s = r.json["sync"]
    assert s["status"] == "discarded" and s["started_at"] is None and s["finished_at"], s
    assert "Cancelled before it started" in s["error"], s
    # A pass finds nothing to run: no action was ever written.
    ctx.sync_pass("--org", str(org.id))
    assert get_sync(org, sid)["started_at"] is None
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?", sid) == [["0"]]
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'",
                   org.id) == [["0"]]
    # Twice, or once it runs or has finished: 409, unchanged.
    r = org.admin.post("%s/%d/cancel" % (SYNCS, sid))
    assert r.status == 409 and r.json["error"]["code"] == "not_queued", r
    s2 = sync(ctx, org)                 # the slot is free again, and it runs
    assert org.admin.post("%s/%d/cancel" % (SYNCS, s2["id"])).status == 409
    assert get_sync(org, s2["id"])["status"] == "succeeded"
    running = org.admin.post(SYNCS, None).json["sync"]["id"]
    ctx.sql("UPDATE provisioning_syncs SET status = 'running', started_at = NOW(3) WHERE id = ?", running)
    r = org.admin.post("%s/%d/cancel" % (SYNCS, running))
    assert r.status == 409, r
    assert get_sync(org, running)["status"] == "running"
    ctx.sql("UPDATE provisioning_syncs SET status = 'failed', finished_at = NOW(3) WHERE id = ?", running)
    assert org.admin.post("%s/999999999/cancel" % SYNCS).status == 404


def test_each_sync_names_its_workspace_and_shows_progress_while_running(ctx):
    org = setup(ctx)
    r = org.admin.post(SYNCS, None)
    sid = r.json["sync"]["id"]
    s = r.json["sync"]
    assert s["workspace"]["id"] == DEMO and s["workspace"]["name"], s
    assert s["progress"] is None, s
    name = s["workspace"]["name"]
    # What a running sync reports (syncq_set_progress writes these columns).
    ctx.sql("UPDATE provisioning_syncs SET status = 'running', started_at = NOW(3),"
            " progress_phase = 'reading', progress_done = 400, progress_total = NULL,"
            " progress_at = NOW(3) WHERE id = ?", sid)
    p = get_sync(org, sid)["progress"]
    assert p["phase"] == "reading" and p["done"] == 400 and p["total"] is None and p["at"], p
    ctx.sql("UPDATE provisioning_syncs SET progress_phase = 'applying', progress_done = 120,"
            " progress_total = 300 WHERE id = ?", sid)
    p = get_sync(org, sid)["progress"]
    assert (p["phase"], p["done"], p["total"]) == ("applying", 120, 300), p
    # Listed in the history while running, with the same fields.
    listed = [x for x in org.admin.get(SYNCS).json["syncs"] if x["id"] == sid][0]
    assert listed["status"] == "running" and listed["progress"] == p, listed
    ctx.sql("UPDATE provisioning_syncs SET status = 'pending', started_at = NULL WHERE id = ?", sid)
    ctx.sync_pass("--org", str(org.id))
    s = get_sync(org, sid)
    assert s["status"] == "succeeded" and s["progress"] is None, s
    # The workspace stays on the history after a disconnect.
    assert org.admin.delete("/api/v1/provisioning/slack").status == 204
    s = get_sync(org, sid)
    assert s["workspace"] == {"id": DEMO, "name": name}, s


def test_a_running_sync_reports_its_phases_as_it_goes(ctx):
    # The run itself writes them (sync_run.c): "reading" with the people
    # so far (at most once a second), "planning", then "applying" with
    # done and total.  The third page is slow so that reading can be seen
    # from the outside; applying's last report says all were done.
    from test_slack_connection import emu_reset
    from test_sync import generate, connect_generated
    emu = emu_reset(ctx)
    generate(ctx, "T0PHASE001", 1000)
    org = ctx.new_org()
    connect_generated(ctx, org, "T0PHASE001")
    sid = org.admin.post(SYNCS, None).json["sync"]["id"]
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "slow", "delay_ms": 2000,
                                    "after": 2, "count": 1}])
    seen = []
    p = start_pass(ctx, "--org", str(org.id))
    try:
        while p.poll() is None:
            prog = get_sync(org, sid)["progress"]
            if prog and (prog["phase"], prog["done"], prog["total"]) not in seen:
                seen.append((prog["phase"], prog["done"], prog["total"]))
            time.sleep(0.05)
    finally:
        out, err = p.communicate(timeout=120)
        emu.delete("/_emulator/faults")
    assert p.returncode == 0, err
    assert get_sync(org, sid)["status"] == "succeeded"
    assert ("reading", 400, None) in seen, seen   # two pages of 200 read, the third on its way
    phases = [s[0] for s in seen]
    assert phases == sorted(phases, key=["reading", "planning", "applying"].index), seen
    n = int(ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?", sid)[0][0])
    last = ctx.sql("SELECT progress_phase, progress_done, progress_total FROM provisioning_syncs"
                   " WHERE id = ?", sid)
    assert n > 0 and last == [["applying", str(n), str(n)]], (last, n)
