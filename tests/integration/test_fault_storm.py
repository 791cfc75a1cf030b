"""Slack fault storm (issue 13, item 5): a seeded mix of 429 with
Retry-After, 500, slow answers, connection resets, truncated bodies (short
and with the full length declared) and a bad cursor over the users.list
pages of a large workspace's second sync.

The first sync of the workspace runs clean; the second, under the storm,
must succeed with nothing changed (0 deactivations, the directory as it
was: a failed read never deactivates anyone) and with 0 Retry-After
violations counted by the emulator.  Then a storm that outlasts the
client's retries (every users.list answer fails, of each kind in turn)
must fail the sync with a plain message and change nothing.

STORM_PEOPLE sets the workspace's size: 20,000 (100 pages of 200) by
default, in make test and make soak alike.
"""
import os
import random

from test_slack_connection import connect, emu_reset

TEAM = "T0STORM001"
SEED = 2020
KINDS = ["http429", "http500", "slow", "reset", "truncate", "truncate_declared"]


def _rule(kind, after, rng):
    r = {"method": "users.list", "after": after, "count": 1}
    if kind == "http429":
        r.update(kind="http429", retry_after=rng.choice([1, 2]))
    elif kind == "slow":
        r.update(kind="slow", delay_ms=rng.choice([300, 800, 1500]))
    elif kind == "truncate_declared":
        r.update(kind="truncate", declared_length=True)
    else:
        r.update(kind=kind)
    return r


def storm(pages, rng):
    """One fault every 2 to 4 requests over the read, each kind at least
    twice.  Rules never hit consecutive requests, so no page outlasts its
    retries."""
    rules, after = [], 1
    kinds = KINDS * 2
    while after < pages - 2:
        kind = kinds.pop(0) if kinds else rng.choice(KINDS)
        rules.append(_rule(kind, after, rng))
        after += rng.randint(2, 4)
    return rules


def _directory(ctx, org):
    return ctx.sql("SELECT slack_user_id, email, first_name, last_name, display_name, job_title,"
                   " is_guest, status FROM users WHERE organization_id = ? AND source = 'slack'"
                   " ORDER BY slack_user_id", org.id)


def _sync(ctx, org, expect):
    r = org.admin.post("/api/v1/provisioning/slack/syncs")
    assert r.status == 202, r
    sid = r.json["sync"]["id"]
    ctx.sync_pass("--org", str(org.id), env={"SYNC_LEASE_SECONDS": "600"})
    s = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % sid).json["sync"]
    assert s["status"] == expect, s
    return s


def test_storm_of_every_fault_kind_completes_with_no_violation_and_no_change(ctx):
    people = int(os.environ.get("STORM_PEOPLE", "20000"))
    rng = random.Random(SEED)
    emu = emu_reset(ctx)
    r = emu.post("/_emulator/generate", {"team": TEAM, "users": people, "groups": 2,
                                         "members_per_group": 10, "seed": SEED})
    assert r.status == 200, r
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM) == {"connected": "1"}
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": False, "mappings": []},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    first = _sync(ctx, org, "succeeded")
    before = _directory(ctx, org)
    assert len(before) == first["counts"]["created"] > people // 2, (len(before), first["counts"])

    pages = (people + 199) // 200
    rules = storm(pages, rng)
    assert emu.post("/_emulator/record/reset", {}).status == 200
    r = emu.post("/_emulator/faults", rules)
    assert r.status == 200, r
    try:
        s = _sync(ctx, org, "succeeded")
        fired = emu.get("/_emulator/faults").json
        fired = fired.get("faults", fired) if isinstance(fired, dict) else fired
    finally:
        emu.delete("/_emulator/faults")
    rec = emu.get("/_emulator/record").json
    # Every rule fired: the storm really happened, kind by kind.
    assert len(fired) == len(rules) and all(f["fired"] == 1 for f in fired), \
        [(f["kind"], f["after"], f["fired"]) for f in fired if f["fired"] != 1]
    assert rec["retry_after_violations"] == 0, rec["retry_after_violations"]
    # One call per page plus one retry per failing fault (slow ones answer).
    failing = sum(1 for f in rules if f["kind"] != "slow")
    assert rec["counts"]["users.list"] == pages + failing, (rec["counts"], pages, failing)
    c = s["counts"]
    assert c["deactivated"] == c["created"] == c["updated"] == c["failed"] == 0, c
    assert _directory(ctx, org) == before
    print("fault storm: %d people, %d pages, %d faults (%s), %d users.list calls, 0 violations"
          % (people, pages, len(rules), ",".join(sorted({f["kind"] for f in fired})),
             rec["counts"]["users.list"]))

    # A bad cursor in the middle of the read: the client restarts the
    # listing once, and the snapshot keeps every person once (before the
    # snapshot stage the list was emptied on every page after a restart,
    # and the planner saw only the last page: 18,785 deactivations planned).
    assert emu.post("/_emulator/faults", [{"method": "users.list", "kind": "error",
                                           "error": "invalid_cursor", "after": pages // 2,
                                           "count": 1}]).status == 200
    try:
        r = org.admin.post("/api/v1/provisioning/slack/syncs")
        assert r.status == 202, r
        sid = r.json["sync"]["id"]
        ctx.sync_pass("--org", str(org.id))
        s = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % sid).json["sync"]
    finally:
        emu.delete("/_emulator/faults")
    assert s["status"] == "succeeded" and s["counts"]["deactivated"] == 0, s
    print("bad cursor: sync %s, %d deactivations" % (s["status"], s["counts"]["deactivated"]))
    assert _directory(ctx, org) == before

    # A storm the retries cannot outlast: every answer fails.  The sync
    # fails with a plain message, and nobody is deactivated.
    for kind in ("http500", "reset", "truncate"):
        assert emu.post("/_emulator/faults", [{"method": "users.list", "kind": kind}]).status == 200
        try:
            s = _sync(ctx, org, "failed")
        finally:
            emu.delete("/_emulator/faults")
        assert "could not be reached" in s["error"], (kind, s)
        assert _directory(ctx, org) == before, kind
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE organization_id = ?"
                   " AND action = 'deactivate' AND outcome = 'succeeded'", org.id) == [["0"]]
