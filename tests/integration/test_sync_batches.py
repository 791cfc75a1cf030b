"""Team memberships written in batches (issue 10): one multi-row INSERT per
batch, and a batch whose statement does not change exactly the planned rows
is replayed one action at a time, so the odd membership is recorded alone
and the others land."""
from test_slack_connection import connect, emu_reset
from test_sync import actions, sync

TEAM_WS = "T0BATCH001"


def mapped_org(ctx, n_users=400, per_group=120):
    """An organization connected to a generated workspace whose first two
    groups are mapped to two new teams; returns (org, {team id: members})."""
    r = ctx.emulator().post("/_emulator/generate", {"team": TEAM_WS, "users": n_users, "groups": 2,
                                                    "members_per_group": per_group, "seed": 11})
    assert r.status == 200, r
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % TEAM_WS).json
    people = {u["id"]: u for u in ws["users"]}
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM_WS) == {"connected": "1"}
    teams, mappings = {}, []
    for g in ws["usergroups"][:2]:
        tid = org.admin.post("/api/v1/teams", {"name": "Team of " + g["name"]}).json["team"]["id"]
        # Only people the sync creates become members.
        teams[tid] = {u for u in g["users"] if not people[u].get("deleted")
                      and not people[u].get("is_bot") and (people[u].get("profile") or {}).get("email")}
        mappings.append({"slack_group_id": g["id"], "team_id": tid})
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": True, "mappings": mappings},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    assert all(len(m) > 50 for m in teams.values()), teams
    return org, teams


def memberships(ctx, org):
    rows = ctx.sql("SELECT m.team_id, u.slack_user_id, m.source FROM team_memberships m"
                   " JOIN users u ON u.id = m.user_id WHERE m.organization_id = ?", org.id)
    return {(int(t), u, s) for t, u, s in rows}


def test_mapped_first_sync_writes_every_membership_with_its_row(ctx):
    emu_reset(ctx)
    org, teams = mapped_org(ctx)
    s = sync(ctx, org, env={"SYNC_BATCH_SIZE": "50"})
    want = {(t, u, "provisioning") for t, ms in teams.items() for u in ms}
    assert memberships(ctx, org) == want
    assert s["counts"]["added_to_team"] == len(want) and s["counts"]["failed"] == 0, s
    adds = actions(org, s["id"], changed="team_membership")
    assert len(adds) == len(want)
    assert {a["outcome"] for a in adds} == {"succeeded"}, adds[:3]
    # Every row names its person and team (read back from the batch).
    got = {(a["team"]["id"], a["slack_user_id"]) for a in adds}
    assert got == {(t, u) for t, u, _ in want}
    # Nothing changed: a second sync writes no membership and no row of one.
    s2 = sync(ctx, org, env={"SYNC_BATCH_SIZE": "50"})
    assert s2["counts"]["added_to_team"] == 0 and s2["counts"]["removed_from_team"] == 0, s2
    assert memberships(ctx, org) == want


def test_refused_membership_in_a_batch_is_replayed_alone_and_recorded(ctx):
    emu_reset(ctx)
    org, teams = mapped_org(ctx)
    team = sorted(teams)[0]
    victim = sorted(teams[team])[len(teams[team]) // 2]
    # The directory refuses exactly one membership, as a constraint would
    # (DELIMITER: the trigger's body has semicolons of its own).
    ctx.sql("DELIMITER //\nCREATE TRIGGER test_refuse_membership BEFORE INSERT ON team_memberships FOR EACH ROW"
            " IF NEW.team_id = ? AND NEW.user_id = (SELECT id FROM users WHERE organization_id ="
            " NEW.organization_id AND slack_user_id = ?) THEN SIGNAL SQLSTATE '45000'"
            " SET MESSAGE_TEXT = 'refused by the test'; END IF //", team, victim)
    try:
        s = sync(ctx, org, expect=("completed_with_errors",), env={"SYNC_BATCH_SIZE": "50"})
    finally:
        ctx.sql("DROP TRIGGER IF EXISTS test_refuse_membership")
    want = {(t, u, "provisioning") for t, ms in teams.items() for u in ms}
    assert memberships(ctx, org) == want - {(team, victim, "provisioning")}
    assert s["counts"]["failed"] == 1, s
    assert s["counts"]["added_to_team"] == len(want) - 1, s
    failed = actions(org, s["id"], outcome="failed")
    assert [(a["slack_user_id"], a["team"]["id"]) for a in failed] == [(victim, team)], failed
    assert failed[0]["details"].startswith("Failed:"), failed
    # One row per planned membership: the replay wrote none twice.
    adds = actions(org, s["id"], changed="team_membership")
    assert len(adds) == len(want)
    assert len({(a["team"]["id"], a["slack_user_id"]) for a in adds}) == len(want)
    # The next sync adds it.
    s2 = sync(ctx, org)
    assert s2["counts"]["added_to_team"] == 1 and s2["counts"]["failed"] == 0, s2
    assert memberships(ctx, org) == want


def test_membership_added_by_hand_during_the_sync_is_skipped_and_kept(ctx):
    emu_reset(ctx)
    org, teams = mapped_org(ctx)
    team = sorted(teams)[1]
    victim = sorted(teams[team])[3]
    # An administrator adds the person by hand between the plan and the
    # batch: the batch's INSERT writes one row fewer than planned.
    ctx.sql("DELIMITER //\nCREATE TRIGGER test_hand_membership AFTER INSERT ON users FOR EACH ROW"
            " IF NEW.organization_id = ? AND NEW.slack_user_id = ? THEN"
            " INSERT INTO team_memberships (organization_id, team_id, user_id, source)"
            " VALUES (NEW.organization_id, ?, NEW.id, 'manual'); END IF //", org.id, victim, team)
    try:
        s = sync(ctx, org, env={"SYNC_BATCH_SIZE": "50"})
    finally:
        ctx.sql("DROP TRIGGER IF EXISTS test_hand_membership")
    want = {(t, u, "provisioning") for t, ms in teams.items() for u in ms}
    assert memberships(ctx, org) == (want - {(team, victim, "provisioning")}) | {(team, victim, "manual")}
    assert s["counts"]["failed"] == 0 and s["counts"]["added_to_team"] == len(want) - 1, s
    adds = actions(org, s["id"], changed="team_membership")
    skipped = [a for a in adds if a["outcome"] == "skipped"]
    assert [(a["slack_user_id"], a["team"]["id"]) for a in skipped] == [(victim, team)], skipped
    assert len(adds) == len(want)
