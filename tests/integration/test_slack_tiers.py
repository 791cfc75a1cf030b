"""A sync under Slack's rate-limit tiers (SLACK-API.md §6; the emulator's
tiers with a speed factor, tests/slack-emulator/tiers.h): users.list and the
groups' members are read side by side on two connections, each method's
calls are spaced once it met a 429 instead of bursting into the next one,
every Retry-After is honoured, and the groups still resolve to the people.
"""
from test_slack_connection import connect, emu_reset
from test_sync import sync

TEAM = "T0TIER0001"
USERS = 5000          # 25 users.list pages of 200: more than a window's 20
GROUPS = 24           # 24 usergroups.users.list calls: more than 20 too


def _setup(ctx):
    emu = emu_reset(ctx)
    r = emu.post("/_emulator/generate", {"team": TEAM, "users": USERS, "groups": GROUPS,
                                         "members_per_group": 15, "seed": 11})
    assert r.status == 200, r
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM) == {"connected": "1"}
    groups = [g for g in emu.get("/_emulator/workspace/%s?full=1" % TEAM).json["usergroups"]
              if not g.get("date_delete")]
    mappings, teams = [], {}
    for i, g in enumerate(groups):
        r = org.admin.post("/api/v1/teams", {"name": "Tier team %02d" % i})
        assert r.status in (200, 201), r
        teams[g["id"]] = r.json["team"]["id"]
        mappings.append({"slack_group_id": g["id"], "team_id": teams[g["id"]]})
    assert len(mappings) > 20, len(mappings)
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": True, "mappings": mappings},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    return emu, org, groups, teams


def test_tiers_reads_side_by_side_paced_and_honoured(ctx):
    emu, org, groups, teams = _setup(ctx)
    # x20: a window of 3 s, so that even a sanitizer build's pages fill it
    # (20 of them in 3 s) and both methods meet their window's end.
    assert emu.post("/_emulator/workspace/%s/tiers" % TEAM, {"factor": 20}).status == 200
    emu.post("/_emulator/record/reset", {})
    try:
        s = sync(ctx, org)
    finally:
        emu.post("/_emulator/workspace/%s/tiers" % TEAM, {"factor": 0})
    rec = emu.get("/_emulator/record").json
    assert rec["retry_after_violations"] == 0, rec["retry_after_violations_by_method"]
    calls = {}
    for q in rec["requests"]:
        calls.setdefault(q["method"], []).append(q)
    users = [q for q in calls["users.list"] if q["status"] == 200]
    members = [q for q in calls["usergroups.users.list"] if q["status"] == 200]
    assert len(users) > 20, len(users)
    assert len(members) == len(groups), len(members)
    # Side by side: the groups' members are read while users.list pages.
    assert members[0]["t_ms"] < users[-1]["t_ms"], (members[0]["t_ms"], users[-1]["t_ms"])
    # Each method met its window's end; after that its calls were spaced:
    # a client that only waited out each Retry-After would burst into a 429
    # as each slot freed, page after page.
    for method in ("users.list", "usergroups.users.list"):
        limited = [q for q in calls[method] if q["status"] == 429]
        assert 1 <= len(limited) <= 3, (method, len(limited))
    # Everyone once, and each team holds exactly its group's members.
    assert s["counts"]["created"] > 0
    for g in groups:
        want = set(g["users"])
        got = {r[0] for r in ctx.sql(
            "SELECT u.slack_user_id FROM team_memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.organization_id = ? AND m.team_id = ?", org.id, teams[g["id"]])}
        people = {r[0] for r in ctx.sql(
            "SELECT slack_user_id FROM users WHERE organization_id = ? AND slack_user_id IS NOT NULL",
            org.id)}
        assert got == want & people, (g["id"], len(got), len(want & people))


def test_a_failed_groups_read_stops_the_sync_and_deactivates_no_one(ctx):
    emu, org, groups, _ = _setup(ctx)
    s = sync(ctx, org)
    created = s["counts"]["created"]
    assert created > 0
    # The groups' side fails for good while users.list is still paging.
    emu.post("/_emulator/faults", [{"method": "usergroups.users.list", "kind": "error",
                                    "error": "invalid_auth", "count": 100}])
    emu.post("/_emulator/record/reset", {})
    try:
        s = sync(ctx, org, expect=("failed",))
    finally:
        emu.delete("/_emulator/faults")
    assert "user group" in (s.get("error") or ""), s
    active = ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'"
                     " AND status = 'active'", org.id)[0][0]
    assert int(active) == created, (active, created)
