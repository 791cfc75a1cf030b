"""The daily sync end to end: configuration, queue, pass, planner, applier, report (SPEC §2)."""
import os
import signal
import subprocess
import time

from test_slack_connection import connect, emu_reset, DEMO

EVERYONE = {"members": {"mode": "everyone", "group_ids": []},
            "team_mapping": {"enabled": False, "mappings": []},
            "deactivation_threshold": {"percent": 10, "minimum": 10}}

# The demo workspace (tests/slack-emulator/fixtures/demo.json) as the sync
# must see it: humans in scope with an e-mail, and what is never imported.
BOTS_AND_APPS = {"USLACKBOT"}


def demo_expectations(ctx):
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % DEMO).json
    users = ws["users"]
    humans = [u for u in users if not u.get("deleted") and not u.get("is_bot")
              and not u.get("is_app_user") and u["id"] != "USLACKBOT"]
    with_email = [u for u in humans if (u.get("profile") or {}).get("email")]
    return users, humans, with_email


def setup(ctx, config=None, team=DEMO):
    """A new organization connected to the demo workspace, configured."""
    org = ctx.new_org()
    assert connect(ctx, org, team=team) == {"connected": "1"}
    r = org.admin.put("/api/v1/provisioning/slack/config", config or EVERYONE)
    assert r.status == 200, r
    return org


def sync(ctx, org, dry_run=False, expect=("succeeded",), env=None):
    body = {"dry_run": True} if dry_run else None
    r = org.admin.post("/api/v1/provisioning/slack/syncs", body)
    assert r.status == 202, r
    sid = r.json["sync"]["id"]
    assert r.json["sync"]["status"] == "pending"
    ctx.sync_pass("--org", str(org.id), env=env)
    s = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % sid).json["sync"]
    assert s["status"] in expect, s
    return s


def actions(org, sid, **q):
    out, cursor = [], None
    while True:
        query = dict(q, limit=500)
        if cursor:
            query["cursor"] = cursor
        r = org.admin.get("/api/v1/provisioning/slack/syncs/%d/actions" % sid, query=query)
        assert r.status == 200, r
        out += r.json["actions"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return out


def directory(ctx, org):
    return ctx.sql("SELECT email, first_name, last_name, display_name, job_title, is_guest, status,"
                   " slack_user_id, picture_url, updated_at FROM users WHERE organization_id = ?"
                   " AND source = 'slack' ORDER BY email", org.id)


def test_first_sync_imports_humans_guests_included_never_bots(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    users, humans, with_email = demo_expectations(ctx)
    s = sync(ctx, org)
    assert s["counts"]["created"] == len(with_email), (s, len(with_email))
    assert s["counts"]["skipped"] == len(humans) - len(with_email)
    rows = ctx.sql("SELECT slack_user_id, is_guest, provisioned, source FROM users"
                   " WHERE organization_id = ? AND slack_user_id IS NOT NULL", org.id)
    got = {r[0]: r for r in rows}
    assert set(got) == {u["id"] for u in with_email}
    for u in users:
        if u.get("is_bot") or u.get("is_app_user") or u["id"] == "USLACKBOT":
            assert u["id"] not in got, u["id"]
    guests = [u["id"] for u in with_email if u.get("is_restricted") or u.get("is_ultra_restricted")]
    assert guests, "the fixture has guests"
    for g in guests:
        assert got[g][1] == "1", g
    assert rows and all(r[2] == "1" and r[3] == "slack" for r in rows)
    skipped = actions(org, s["id"], outcome="skipped")
    assert skipped and all("no e-mail address" in a["details"] for a in skipped), skipped
    # The report's rows carry user, Slack id and the values set.
    created = actions(org, s["id"], outcome="succeeded")
    assert len(created) == len(with_email)
    a = created[0]
    assert a["action"] == "create" and a["user"]["id"] and a["slack_user_id"]
    assert {"field": "email", "from": None, "to": a["user"]["email"]} in a["changes"]


def test_second_sync_without_change_writes_nothing(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    sync(ctx, org)
    before = directory(ctx, org)
    time.sleep(1.1)  # updated_at has second precision
    s = sync(ctx, org)
    c = s["counts"]
    assert c["created"] == c["updated"] == c["deactivated"] == c["reactivated"] == 0, c
    assert c["added_to_team"] == c["removed_from_team"] == c["failed"] == 0, c
    assert directory(ctx, org) == before
    rerun = actions(org, s["id"])
    assert rerun and all(a["outcome"] == "skipped" for a in rerun), rerun[:3]


def emu_user(ctx, uid):
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % DEMO).json
    return next(u for u in ws["users"] if u["id"] == uid)


def emu_put_user(ctx, user):
    r = ctx.emulator().post("/_emulator/workspace/%s/users" % DEMO, user)
    assert r.status == 200, r


def test_changes_between_syncs_are_updates_of_changed_fields_only(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    sync(ctx, org)
    u = emu_user(ctx, "U01MEMB001")
    u["profile"]["title"] = "Chief Analytical Engine Officer"
    u["profile"]["email"] = u["profile"]["email"].upper()  # case only: not a change
    emu_put_user(ctx, u)
    s = sync(ctx, org)
    assert s["counts"]["updated"] == 1, s
    up = actions(org, s["id"], changed="job_title")
    assert len(up) == 1 and up[0]["slack_user_id"] == "U01MEMB001"
    assert [c["field"] for c in up[0]["changes"]] == ["job_title"]
    assert up[0]["changes"][0]["to"] == "Chief Analytical Engine Officer"
    assert actions(org, s["id"], changed="email") == []
    assert ctx.sql("SELECT job_title FROM users WHERE organization_id = ? AND slack_user_id = ?",
                   org.id, "U01MEMB001") == [["Chief Analytical Engine Officer"]]


def test_deletion_deactivates_and_restore_reactivates(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    sync(ctx, org)
    u = emu_user(ctx, "U01MEMB002")
    u["deleted"] = True
    emu_put_user(ctx, u)
    s = sync(ctx, org)
    assert s["counts"]["deactivated"] == 1, s
    d = actions(org, s["id"], changed="status")
    assert d[0]["action"] == "deactivate" and "deactivated in Slack" in d[0]["details"]
    assert ctx.sql("SELECT status, deactivated_by FROM users WHERE organization_id = ? AND slack_user_id = ?",
                   org.id, "U01MEMB002") == [["deactivated", "sync"]]
    u["deleted"] = False
    emu_put_user(ctx, u)
    s = sync(ctx, org)
    assert s["counts"]["reactivated"] == 1, s
    assert ctx.sql("SELECT status FROM users WHERE organization_id = ? AND slack_user_id = ?",
                   org.id, "U01MEMB002") == [["active"]]
    # No duplicate was ever created.
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND slack_user_id = ?",
                   org.id, "U01MEMB002") == [["1"]]


def test_manual_user_is_linked_by_email_not_duplicated(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    u = emu_user(ctx, "U01MEMB001")
    mine = ctx.new_user(org, email=u["profile"]["email"].upper(), first="Old", last="Name")
    assert connect(ctx, org) == {"connected": "1"}
    assert org.admin.put("/api/v1/provisioning/slack/config", EVERYONE).status == 200
    s = sync(ctx, org)
    linked = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U01MEMB001"]
    assert len(linked) == 1 and linked[0]["action"] == "update" and linked[0]["user"]["id"] == mine
    assert "Linked" in linked[0]["details"]
    assert ctx.sql("SELECT slack_user_id, provisioned, source FROM users WHERE id = ?", mine) == \
        [["U01MEMB001", "1", "manual"]]
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND email_key = LOWER(?)",
                   org.id, u["profile"]["email"]) == [["1"]]


def test_groups_mode_and_team_mapping_keep_hand_added_memberships(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    team = org.admin.post("/api/v1/teams", {"name": "Builders"}).json["team"]["id"]
    hand = ctx.new_user(org)
    assert org.admin.post("/api/v1/teams/%d/members" % team, {"user_id": hand}).status == 201
    assert connect(ctx, org) == {"connected": "1"}
    cfg = {"members": {"mode": "groups", "group_ids": ["S01ENGINE1", "S01DESIGN1"]},
           "team_mapping": {"enabled": True, "mappings": [{"slack_group_id": "S01ENGINE1", "team_id": team},
                                                          {"slack_group_id": "S01DESIGN1", "team_id": team}]},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    r = org.admin.put("/api/v1/provisioning/slack/config", cfg)
    assert r.status == 200, r
    s = sync(ctx, org)
    groups = {g["id"]: g for g in ctx.emulator().get("/_emulator/workspace/%s?full=1" % DEMO).json["usergroups"]}
    members = set(groups["S01ENGINE1"]["users"]) | set(groups["S01DESIGN1"]["users"])
    linked = {r[0] for r in ctx.sql("SELECT slack_user_id FROM users WHERE organization_id = ?"
                                    " AND slack_user_id IS NOT NULL", org.id)}
    assert linked and linked <= members, (linked, members)
    rows = ctx.sql("SELECT u.slack_user_id, m.source FROM team_memberships m JOIN users u ON u.id = m.user_id"
                   " WHERE m.team_id = ? ORDER BY m.source, u.slack_user_id", team)
    prov = {r[0] for r in rows if r[1] == "provisioning"}
    assert prov == linked, (prov, linked)
    assert ctx.sql("SELECT source FROM team_memberships WHERE team_id = ? AND user_id = ?", team, hand) == [["manual"]]
    assert s["counts"]["added_to_team"] == len(prov)
    adds = actions(org, s["id"], changed="team_membership")
    # Non-empty first: all() over no rows would pass whatever the report says.
    assert len(adds) == len(prov) > 0, (len(adds), len(prov))
    assert all(a["team"]["name"] == "Builders" for a in adds)
    # Drop one group from the mapping: its members leave the team, the
    # hand-added membership stays.
    cfg["team_mapping"]["mappings"] = cfg["team_mapping"]["mappings"][:1]
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    s = sync(ctx, org)
    eng = set(groups["S01ENGINE1"]["users"])
    left = {r[0] for r in ctx.sql("SELECT u.slack_user_id FROM team_memberships m JOIN users u ON u.id = m.user_id"
                                  " WHERE m.team_id = ? AND m.source = 'provisioning'", team)}
    assert left == linked & eng, (left, eng)
    assert s["counts"]["removed_from_team"] == len(prov - eng)
    assert ctx.sql("SELECT source FROM team_memberships WHERE team_id = ? AND user_id = ?", team, hand) == [["manual"]]


def test_config_validation_names_the_field(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    other = ctx.new_org()
    foreign = other.admin.post("/api/v1/teams", {"name": "Theirs"}).json["team"]["id"]
    cases = [
        ({"members": {"mode": "groups", "group_ids": []}}, "members.group_ids"),
        ({"members": {"mode": "some"}}, "members.mode"),
        ({"members": {"mode": "groups", "group_ids": ["SNOPE"]}}, "members.group_ids[0]"),
        ({"members": {"mode": "groups", "group_ids": ["S01ENGINE1", "S01ENGINE1"]}}, "members.group_ids[1]"),
        ({"members": {"mode": "everyone"}, "team_mapping": {"enabled": True, "mappings": [
            {"slack_group_id": "S01ENGINE1", "team_id": foreign}]}}, "team_mapping.mappings[0].team_id"),
        ({"members": {"mode": "everyone"}, "deactivation_threshold": {"percent": 101, "minimum": 1}},
         "deactivation_threshold.percent"),
        ({"members": {"mode": "everyone"}, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = org.admin.put("/api/v1/provisioning/slack/config", body)
        assert r.status == 422 and r.json["error"]["field"] == field, (body, r)
    assert org.admin.get("/api/v1/provisioning/slack/config").json["config"] == EVERYONE


def test_sync_requests_conflict_while_one_is_pending(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    r = org.admin.post("/api/v1/provisioning/slack/syncs")
    assert r.status == 409 and r.json["error"]["code"] == "sync_in_progress", r
    st = org.admin.get("/api/v1/provisioning/slack").json["sync"]
    assert st["pending"] is True and st["running"] is False
    ctx.sync_pass("--org", str(org.id))
    st = org.admin.get("/api/v1/provisioning/slack").json["sync"]
    assert st["pending"] is False and st["last"]["status"] == "succeeded", st


def test_dry_run_reports_and_changes_nothing(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    before = ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ?", org.id)
    s = sync(ctx, org, dry_run=True)
    assert s["dry_run"] is True and s["counts"]["created"] > 0
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ?", org.id) == before
    planned = actions(org, s["id"], outcome="planned")
    assert planned and all(a["details"].startswith("Planned") for a in planned)


def shrink_scope_config(percent=10, minimum=10):
    return {"members": {"mode": "groups", "group_ids": ["S01LEADER1"]},
            "team_mapping": {"enabled": False, "mappings": []},
            "deactivation_threshold": {"percent": percent, "minimum": minimum}}


def test_held_sync_then_approve_applies_exactly_the_plan(ctx):
    emu_reset(ctx)
    org = setup(ctx, config=dict(EVERYONE, deactivation_threshold={"percent": 10, "minimum": 2}))
    sync(ctx, org)
    active = ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND status = 'active'"
                     " AND provisioned = 1", org.id)[0][0]
    assert org.admin.put("/api/v1/provisioning/slack/config", shrink_scope_config(10, 2)).status == 200
    s = sync(ctx, org, expect=("held",))
    assert "Held" in s["error"], s
    planned = actions(org, s["id"], outcome="planned")
    deact = [a for a in planned if a["action"] == "deactivate"]
    assert len(deact) == s["counts"]["deactivated"] > 2
    # Nothing applied while held.
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND status = 'active'"
                   " AND provisioned = 1", org.id)[0][0] == active
    r = org.admin.post("/api/v1/provisioning/slack/syncs/%d/approve" % s["id"])
    assert r.status == 200 and r.json["sync"]["status"] == "pending", r
    ctx.sync_pass("--org", str(org.id))
    s2 = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % s["id"]).json["sync"]
    assert s2["status"] == "succeeded", s2
    gone = {r[0] for r in ctx.sql("SELECT slack_user_id FROM users WHERE organization_id = ?"
                                  " AND status = 'deactivated'", org.id)}
    assert gone == {a["slack_user_id"] for a in deact}
    status_rows = actions(org, s["id"], changed="status")
    assert len(status_rows) == len(gone) > 0, (len(status_rows), len(gone))
    assert all(a["outcome"] == "succeeded" for a in status_rows)
    assert org.admin.post("/api/v1/provisioning/slack/syncs/%d/approve" % s["id"]).status == 409


def test_held_sync_discarded_changes_nothing(ctx):
    emu_reset(ctx)
    org = setup(ctx, config=dict(EVERYONE, deactivation_threshold={"percent": 10, "minimum": 2}))
    sync(ctx, org)
    before = directory(ctx, org)
    assert org.admin.put("/api/v1/provisioning/slack/config", shrink_scope_config(10, 2)).status == 200
    s = sync(ctx, org, expect=("held",))
    r = org.admin.post("/api/v1/provisioning/slack/syncs/%d/discard" % s["id"])
    assert r.status == 200 and r.json["sync"]["status"] == "discarded", r
    ctx.sync_pass("--org", str(org.id))
    assert directory(ctx, org) == before
    assert org.admin.post("/api/v1/provisioning/slack/syncs/%d/discard" % s["id"]).status == 409
    other = ctx.new_org()
    assert other.admin.post("/api/v1/provisioning/slack/syncs/%d/approve" % s["id"]).status == 404


def test_token_revoked_fails_the_sync_and_asks_for_reconnection(ctx):
    emu = emu_reset(ctx)
    org = setup(ctx)
    sync(ctx, org)
    before = directory(ctx, org)
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    emu.post("/_emulator/tokens/revoke", {"team": DEMO})
    ctx.sync_pass("--org", str(org.id))
    s = org.admin.get("/api/v1/provisioning/slack/syncs", query={"limit": 1}).json["syncs"][0]
    assert s["status"] == "failed" and "Reconnect" in s["error"], s
    assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "needs_reconnection"
    assert directory(ctx, org) == before


def test_missing_scope_fails_with_the_scope_name(ctx):
    emu = emu_reset(ctx)
    org = setup(ctx)
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "error", "error": "missing_scope",
                                   "needed": "users:read.email"}])
    try:
        s = sync(ctx, org, expect=("failed",))
    finally:
        emu.delete("/_emulator/faults")
    assert "users:read.email" in s["error"], s
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'", org.id) == [["0"]]


def test_slack_answering_500_then_garbage_fails_without_deactivating(ctx):
    emu = emu_reset(ctx)
    org = setup(ctx)
    sync(ctx, org)
    before = directory(ctx, org)
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "http500"}])
    try:
        s = sync(ctx, org, expect=("failed",), env={})
    finally:
        emu.delete("/_emulator/faults")
    assert "could not be reached" in s["error"], s
    assert directory(ctx, org) == before
    # Cut-short answers, every time: the same.
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "truncate"}])
    try:
        s = sync(ctx, org, expect=("failed",))
    finally:
        emu.delete("/_emulator/faults")
    assert "could not be reached" in s["error"], s
    assert directory(ctx, org) == before


def test_429_storm_is_honoured_with_zero_violations(ctx):
    emu = emu_reset(ctx)
    org = setup(ctx)
    emu.post("/_emulator/record/reset", {})
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "http429", "retry_after": 1, "count": 3}])
    try:
        s = sync(ctx, org)
    finally:
        emu.delete("/_emulator/faults")
    assert s["counts"]["created"] > 0
    rec = emu.get("/_emulator/record").json
    assert rec["retry_after_violations"] == 0, rec["retry_after_violations"]
    assert rec["counts"]["users.list"] >= 4


def generate(ctx, team, users):
    r = ctx.emulator().post("/_emulator/generate", {"team": team, "users": users, "groups": 5,
                                                    "members_per_group": 10, "seed": 7})
    assert r.status == 200, r


def connect_generated(ctx, org, team):
    assert connect(ctx, org, team=team) == {"connected": "1"}
    assert org.admin.put("/api/v1/provisioning/slack/config", EVERYONE).status == 200


KILL_WORKSPACE = 20000


def test_worker_killed_mid_sync_is_finished_by_the_next_pass_without_duplicates(ctx):
    emu_reset(ctx)
    # Large enough that the kill lands mid-apply even when a batch of 20
    # commits in a millisecond: 3,000 people were all written before the
    # test could see the first 100.
    generate(ctx, "T0KILL0001", KILL_WORKSPACE)
    org = ctx.new_org()
    connect_generated(ctx, org, "T0KILL0001")
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    env = dict(ctx.env, SYNC_BATCH_SIZE="20", SYNC_LEASE_SECONDS="3")
    p = subprocess.Popen([ctx.bin("provisioning-sync"), "--org", str(org.id)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ctx.wait("the first batches", lambda: int(ctx.sql(
            "SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'", org.id)[0][0]) >= 100,
            seconds=60, interval=0.05)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    done = int(ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'", org.id)[0][0])
    st = ctx.sql("SELECT status FROM provisioning_syncs WHERE organization_id = ?", org.id)
    assert st == [["running"]] and done < KILL_WORKSPACE * 0.9, (st, done)
    # The data is consistent after the kill: every user has its report row.
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE organization_id = ?"
                   " AND action = 'create' AND outcome = 'succeeded'", org.id) == [[str(done)]]
    # A pass while the lease runs does not take the sync over.
    ctx.sync_pass("--org", str(org.id), env={"SYNC_LEASE_SECONDS": "3"})
    assert ctx.sql("SELECT status FROM provisioning_syncs WHERE organization_id = ?", org.id) == [["running"]]
    time.sleep(3.5)
    ctx.sync_pass("--org", str(org.id))
    st = ctx.sql("SELECT status, attempts FROM provisioning_syncs WHERE organization_id = ?", org.id)
    assert st == [["succeeded", "2"]], st
    humans = ctx.emulator().get("/_emulator/workspace/T0KILL0001").json
    total = int(ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'", org.id)[0][0])
    dup = ctx.sql("SELECT slack_user_id, COUNT(*) FROM provisioning_sync_actions WHERE organization_id = ?"
                  " AND action = 'create' GROUP BY slack_user_id HAVING COUNT(*) > 1", org.id)
    assert dup == [], dup[:5]
    creates = ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE organization_id = ?"
                      " AND action = 'create' AND outcome = 'succeeded'", org.id)
    assert creates == [[str(total)]] and total > done, (creates, total, humans)


def test_three_workers_racing_over_ten_organizations_run_each_sync_once(ctx):
    emu_reset(ctx)
    orgs = []
    for _ in range(10):
        org = setup(ctx)
        assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
        orgs.append(org)
    procs = [subprocess.Popen([ctx.bin("provisioning-sync")], env=ctx.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    ids = ",".join(str(o.id) for o in orgs)
    rows = ctx.sql("SELECT organization_id, status, attempts FROM provisioning_syncs"
                   " WHERE organization_id IN (%s) ORDER BY organization_id" % ids)
    assert len(rows) == 10 and all(r[1] == "succeeded" and r[2] == "1" for r in rows), rows
    dup = ctx.sql("SELECT organization_id, slack_user_id, COUNT(*) FROM provisioning_sync_actions"
                  " WHERE organization_id IN (%s) GROUP BY organization_id, slack_user_id, action, team_id"
                  " HAVING COUNT(*) > 1" % ids)
    assert dup == [], dup
    counts = {r[0] for r in ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id IN (%s)"
                                    " AND source = 'slack' GROUP BY organization_id" % ids)}
    assert len(counts) == 1, counts  # every organization got the same people


def test_another_organization_cannot_touch_syncs(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    s = sync(ctx, org)
    other = ctx.new_org()
    for path in ("/api/v1/provisioning/slack/syncs/%d", "/api/v1/provisioning/slack/syncs/%d/actions"):
        assert other.admin.get(path % s["id"]).status == 404
    assert other.admin.post("/api/v1/provisioning/slack/syncs/%d/discard" % s["id"]).status == 404


def test_invitations_are_sent_once_per_created_user_and_only_when_on(ctx):
    from smtp_sink import SmtpSink
    sink = SmtpSink()
    env = {"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"}
    try:
        emu_reset(ctx)
        on = ctx.new_org()
        assert on.admin.patch("/api/v1/settings", {"automatic_invites": True}).status == 200
        assert connect(ctx, on) == {"connected": "1"}
        assert on.admin.put("/api/v1/provisioning/slack/config", EVERYONE).status == 200
        s = sync(ctx, on, env=env)
        created = [a["user"]["email"] for a in actions(on, s["id"], outcome="succeeded") if a["action"] == "create"]
        assert created
        got = sorted(m["to"][0] for m in sink.messages)
        assert got == sorted(created), (got, created)
        assert all("Message-ID: <invitation-" in m["data"] for m in sink.messages)
        # Another pass, a no-change sync and an update send nothing more.
        ctx.sync_pass(env=env)
        u = emu_user(ctx, "U01MEMB001")
        u["profile"]["title"] = "Changed for the invitation test"
        emu_put_user(ctx, u)
        s = sync(ctx, on, env=env)
        assert s["counts"]["updated"] == 1
        assert len(sink.messages) == len(created)
        assert ctx.sql("SELECT COUNT(*) FROM invitation_outbox WHERE organization_id = ? AND sent_at IS NULL",
                       on.id) == [["0"]]
        # Off (the default): nobody is written to.
        off = setup(ctx)
        s = sync(ctx, off, env=env)
        assert s["counts"]["created"] > 0
        assert len(sink.messages) == len(created)
        assert ctx.sql("SELECT COUNT(*) FROM invitation_outbox WHERE organization_id = ?", off.id) == [["0"]]
    finally:
        sink.close()


def test_invitation_delivery_is_retried_when_smtp_is_down(ctx):
    from smtp_sink import SmtpSink
    emu_reset(ctx)
    org = ctx.new_org()
    assert org.admin.patch("/api/v1/settings", {"automatic_invites": True}).status == 200
    assert connect(ctx, org) == {"connected": "1"}
    assert org.admin.put("/api/v1/provisioning/slack/config", EVERYONE).status == 200
    # Nothing listens on this port: every send fails and is kept for later.
    dead = {"SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "provisioning@example.test"}
    s = sync(ctx, org, env=dead)
    n = s["counts"]["created"]
    rows = ctx.sql("SELECT COUNT(*), SUM(attempts) FROM invitation_outbox WHERE organization_id = ?"
                   " AND sent_at IS NULL AND last_error IS NOT NULL", org.id)
    assert rows == [[str(n), str(n)]], rows
    ctx.sql("UPDATE invitation_outbox SET next_attempt_at = NOW() WHERE organization_id = ?", org.id)
    sink = SmtpSink()
    try:
        ctx.sync_pass(env={"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"})
        assert len(sink.messages) == n
    finally:
        sink.close()


def test_retention_removes_syncs_older_than_the_setting(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    old = sync(ctx, org)
    recent = sync(ctx, org)
    assert org.admin.patch("/api/v1/settings", {"sync_retention_days": 30}).status == 200
    ctx.sql("UPDATE provisioning_syncs SET finished_at = NOW() - INTERVAL 31 DAY WHERE id = ?", old["id"])
    ctx.sql("UPDATE provisioning_syncs SET finished_at = NOW() - INTERVAL 29 DAY WHERE id = ?", recent["id"])
    ctx.sync_pass()
    assert org.admin.get("/api/v1/provisioning/slack/syncs/%d" % old["id"]).status == 404
    assert org.admin.get("/api/v1/provisioning/slack/syncs/%d" % recent["id"]).status == 200
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?", old["id"]) == [["0"]]
    # Users the old sync created stay: only the history goes.
    assert int(ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'",
                       org.id)[0][0]) > 0


def test_token_expired_during_a_sync_is_refreshed_and_the_sync_goes_on(ctx):
    from test_slack_connection import ROTATING_APP
    emu = emu_reset(ctx)
    ctx.stack("api-restart", env=ROTATING_APP)
    try:
        org = setup(ctx)
        tokens = [t["token"] for t in emu.get("/_emulator/tokens").json["tokens"]
                  if t["team"] == DEMO and not t.get("predefined")]
        assert len(tokens) == 1
        # Slack ends the token before the expiry it announced.
        assert emu.post("/_emulator/tokens/expire", {"token": tokens[0]}).status == 200
        emu.post("/_emulator/record/reset", {})
        s = sync(ctx, org, env=ROTATING_APP)
        assert s["counts"]["created"] > 0, s
        rec = emu.get("/_emulator/record").json["counts"]
        assert rec.get("oauth.v2.access") == 1, rec
        assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "connected"
    finally:
        emu.post("/_emulator/reset", {})
        ctx.stack("api-restart")


def test_one_users_failure_is_recorded_and_the_sync_goes_on(ctx):
    # 1,200 members written by two connections in batches of 100; one of
    # them has an e-mail address longer than the directory accepts.
    emu_reset(ctx)
    generate(ctx, "T0FAIL0001", 1200)
    ws = ctx.emulator().get("/_emulator/workspace/T0FAIL0001?full=1").json
    victim = next(u for u in ws["users"][500:] if (u.get("profile") or {}).get("email")
                  and not u.get("deleted") and not u.get("is_bot"))
    victim["profile"]["email"] = "x" * 250 + "@example.test"
    r = ctx.emulator().post("/_emulator/workspace/T0FAIL0001/users", victim)
    assert r.status == 200, r
    org = ctx.new_org()
    connect_generated(ctx, org, "T0FAIL0001")
    s = sync(ctx, org, expect=("completed_with_errors",), env={"SYNC_BATCH_SIZE": "100"})
    assert s["counts"]["failed"] == 1 and s["counts"]["created"] > 1000, s
    failed = actions(org, s["id"], outcome="failed")
    assert len(failed) == 1 and failed[0]["slack_user_id"] == victim["id"], failed
    assert failed[0]["details"].startswith("Failed:") and "longer than" in failed[0]["details"], failed
    assert "next sync" in failed[0]["details"]
    # Everyone else is there, once, each with its report row.
    created = int(ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'",
                          org.id)[0][0])
    assert created == s["counts"]["created"]
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND slack_user_id = ?",
                   org.id, victim["id"]) == [["0"]]
    dup = ctx.sql("SELECT slack_user_id FROM provisioning_sync_actions WHERE sync_id = ?"
                  " GROUP BY slack_user_id HAVING COUNT(*) > 1", s["id"])
    assert dup == [], dup


def test_daily_schedule_runs_only_after_a_configuration_was_saved(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org) == {"connected": "1"}
    r = org.admin.post("/api/v1/provisioning/slack/syncs")
    assert r.status == 409 and r.json["error"]["code"] == "config_required", r
    nxt = org.admin.get("/api/v1/provisioning/slack").json["sync"]["next_scheduled_at"]
    assert nxt, "a connected workspace has a next daily sync"
    # The day has come, but nothing was configured: nothing is imported.
    ctx.sql("UPDATE provisioning_integrations SET next_sync_at = NOW() - INTERVAL 1 MINUTE"
            " WHERE organization_id = ?", org.id)
    ctx.sync_pass()
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_syncs WHERE organization_id = ?", org.id) == [["0"]]
    assert org.admin.put("/api/v1/provisioning/slack/config", EVERYONE).status == 200
    ctx.sync_pass()
    rows = ctx.sql("SELECT `trigger`, status FROM provisioning_syncs WHERE organization_id = ?", org.id)
    assert rows == [["scheduled", "succeeded"]], rows
    # The clock moved a day on: another pass queues nothing.
    assert ctx.sql("SELECT next_sync_at > NOW() + INTERVAL 23 HOUR FROM provisioning_integrations"
                   " WHERE organization_id = ? AND status = 'connected'", org.id) == [["1"]]
    ctx.sync_pass()
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_syncs WHERE organization_id = ?", org.id) == [["1"]]
