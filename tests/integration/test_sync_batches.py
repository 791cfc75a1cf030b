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


def company_org(ctx, users=600, groups=12, mapped=6):
    """An organization on a generated company workspace (realistic
    profiles and overlapping groups), its first `mapped` groups mapped."""
    r = ctx.emulator().post("/_emulator/generate", {"team": TEAM_WS, "shape": "company", "seed": 23,
                                                    "users": users, "groups": groups})
    assert r.status == 200, r
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % TEAM_WS).json
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM_WS) == {"connected": "1"}
    mappings = []
    for i, g in enumerate([g for g in ws["usergroups"] if not g.get("date_delete")][:mapped]):
        tid = org.admin.post("/api/v1/teams", {"name": "Company team %d" % i}).json["team"]["id"]
        mappings.append({"slack_group_id": g["id"], "team_id": tid})
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": True, "mappings": mappings},
           "deactivation_threshold": {"percent": 50, "minimum": 500}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    return org, len(mappings)


def directory_of(ctx, org):
    rows = ctx.sql("SELECT slack_user_id, email, first_name, last_name, display_name,"
                   " job_title, avatar_hash, status, is_guest FROM users"
                   " WHERE organization_id = ? AND slack_user_id IS NOT NULL", org.id)
    return {r[0]: r[1:] for r in rows}


def test_a_re_sync_of_many_changes_on_two_writers_applies_each_once(ctx):
    """A re-sync's person actions (creates, updates, deactivations,
    reactivations, skips) are written by two connections, alternate
    batches: every change lands exactly once, with its row, and one update
    the directory refuses is replayed alone and recorded while the others
    land.  The next sync then has nothing left to do but that one."""
    emu_reset(ctx)
    org, n_mapped = company_org(ctx)
    first = sync(ctx, org, env={"SYNC_BATCH_SIZE": "40"})
    assert first["counts"]["failed"] == 0 and first["counts"]["created"] > 400, first
    r = ctx.emulator().post("/_emulator/workspace/%s/change" % TEAM_WS,
                            {"percent": 25, "seed": 4, "mapped": n_mapped})
    assert r.status == 200, r
    changes = r.json["changes"]
    assert changes["renamed"] > 10 and changes["deactivated"] > 5 and changes["arrived"] > 5, changes
    # One renamed person's update is refused, as a constraint would.
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % TEAM_WS).json
    before = directory_of(ctx, org)
    renamed = sorted(u["id"] for u in ws["users"] if u["id"] in before and not u.get("deleted")
                     and before[u["id"]][1]
                     != ((u.get("profile") or {}).get("first_name") or before[u["id"]][1])
                     and before[u["id"]][6] == "active")
    assert len(renamed) > 5, renamed
    victim = renamed[len(renamed) // 2]
    ctx.sql("DELIMITER //\nCREATE TRIGGER test_refuse_update BEFORE UPDATE ON users FOR EACH ROW"
            " IF NEW.slack_user_id = ? AND NEW.first_name <> OLD.first_name THEN SIGNAL SQLSTATE"
            " '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF //", victim)
    try:
        s = sync(ctx, org, expect=("completed_with_errors",), env={"SYNC_BATCH_SIZE": "40"})
    finally:
        ctx.sql("DROP TRIGGER IF EXISTS test_refuse_update")
    c = s["counts"]
    assert c["failed"] == 1 and c["updated"] > 10 and c["deactivated"] > 5 and c["created"] > 5, c
    failed = actions(org, s["id"], outcome="failed")
    assert [a["slack_user_id"] for a in failed] == [victim], failed
    # Each person has at most one row of a person action in this sync.
    rows = [a for a in actions(org, s["id"]) if not a.get("team")]
    people = [a["slack_user_id"] for a in rows if a["slack_user_id"]]
    assert len(people) == len(set(people)), len(people)
    assert len(people) >= c["created"] + c["updated"] + c["deactivated"] + c["failed"], (len(people), c)
    assert before[victim][1] == directory_of(ctx, org)[victim][1]  # kept as it was
    # Each written row names its person's directory account.
    ids = dict(ctx.sql("SELECT slack_user_id, id FROM users WHERE organization_id = ?"
                       " AND slack_user_id IS NOT NULL", org.id))
    written = [a for a in rows if a["outcome"] == "succeeded"]
    assert len(written) == c["created"] + c["updated"] + c["deactivated"] + c["reactivated"]
    assert all(a["user"]["id"] == int(ids[a["slack_user_id"]]) for a in written), \
        [a for a in written if a["user"]["id"] != int(ids[a["slack_user_id"]])][:2]
    # Everything else landed: the next sync has only the refused update left.
    s2 = sync(ctx, org, env={"SYNC_BATCH_SIZE": "40"})
    c2 = s2["counts"]
    assert (c2["updated"], c2["created"], c2["deactivated"], c2["reactivated"], c2["failed"],
            c2["added_to_team"], c2["removed_from_team"]) == (1, 0, 0, 0, 0, 0, 0), c2
    upd = actions(org, s2["id"], outcome="succeeded")
    assert [a["slack_user_id"] for a in upd] == [victim], upd


def test_approved_deactivations_land_in_batches_and_one_made_by_hand_meanwhile_is_skipped(ctx):
    """A held sync's deactivations, approved after an administrator
    deactivated one of those people by hand: every other one is
    deactivated by the sync with its sessions ended, in batches; the one
    made by hand is recorded as skipped and stays the administrator's."""
    emu_reset(ctx)
    org, _ = company_org(ctx)
    first = sync(ctx, org, env={"SYNC_BATCH_SIZE": "40"})
    assert first["counts"]["failed"] == 0 and first["counts"]["created"] > 400, first
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % TEAM_WS).json
    small = min((g for g in ws["usergroups"] if not g.get("date_delete") and len(g["users"]) > 5),
                key=lambda g: len(g["users"]))
    cfg = {"members": {"mode": "groups", "group_ids": [small["id"]]},
           "team_mapping": {"enabled": False, "mappings": []},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    held = sync(ctx, org, expect=("held",), env={"SYNC_BATCH_SIZE": "40"})
    planned = [a for a in actions(org, held["id"], outcome="planned") if a["action"] == "deactivate"]
    assert len(planned) > 200, len(planned)
    ids = dict(ctx.sql("SELECT slack_user_id, id FROM users WHERE organization_id = ?"
                       " AND slack_user_id IS NOT NULL AND status = 'active'", org.id))
    gone = [a["slack_user_id"] for a in planned]
    by_hand, kept = gone[len(gone) // 3], next(u for u in small["users"] if u in ids)
    # Sessions of three leaving people and of one who stays.
    with_session = [gone[0], gone[len(gone) // 2], gone[-1], kept]
    for k, u in enumerate(with_session):
        ctx.sql("INSERT INTO sessions (id_digest, organization_id, user_id, expires_at)"
                " VALUES (?, ?, ?, NOW() + INTERVAL 1 DAY)", "%064x" % (k + 1), org.id, ids[u])
    r = org.admin.patch("/api/v1/users/%d" % int(ids[by_hand]), {"status": "deactivated"})
    assert r.status == 200, r
    assert org.admin.post("/api/v1/provisioning/slack/syncs/%d/approve" % held["id"]).status == 200
    ctx.sync_pass("--org", str(org.id), env={"SYNC_BATCH_SIZE": "40"})
    s = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % held["id"]).json["sync"]
    assert s["status"] == "succeeded" and s["counts"]["failed"] == 0, s
    assert s["counts"]["deactivated"] == len(gone) - 1, (s["counts"], len(gone))
    status_rows = actions(org, held["id"], changed="status")
    rows = {a["slack_user_id"]: a["outcome"] for a in status_rows}
    # Each row names its person (a batch writes it from the plan's id).
    assert all(a["user"]["id"] == int(ids[a["slack_user_id"]]) for a in status_rows), status_rows[:2]
    assert rows == dict({u: "succeeded" for u in gone}, **{by_hand: "skipped"}), \
        [(u, o) for u, o in rows.items() if o != "succeeded"]
    state = {u: (st, by) for u, st, by in ctx.sql(
        "SELECT slack_user_id, status, deactivated_by FROM users WHERE organization_id = ?"
        " AND slack_user_id IS NOT NULL", org.id)}
    assert all(state[u] == ("deactivated", "sync") for u in gone if u != by_hand)
    assert state[by_hand][0] == "deactivated" and state[by_hand][1] != "sync", state[by_hand]
    assert state[kept][0] == "active"
    left = {u for (u,) in ctx.sql("SELECT u.slack_user_id FROM sessions s JOIN users u"
                                  " ON u.id = s.user_id WHERE s.organization_id = ?"
                                  " AND u.slack_user_id IS NOT NULL", org.id)}
    assert left == {kept}, left
