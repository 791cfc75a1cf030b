"""The sync faithful to Slack and to the administrators (issue 11), end to
end through the emulator: e-mails matched the way the database's unique key
compares them, and changes made by hand never undone (SPEC §2.3, §7.7)."""
from test_slack_connection import connect, emu_reset, DEMO
from test_sync import setup, sync, actions, emu_put_user, emu_user


def slack_member(uid, email, real_name, title=""):
    first, _, last = real_name.partition(" ")
    return {"id": uid, "name": uid.lower(), "real_name": real_name,
            "profile": {"email": email, "real_name": real_name, "first_name": first,
                        "last_name": last, "display_name": first, "title": title}}


def test_accented_upper_case_manual_user_is_linked_not_a_failed_create(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    r = org.admin.post("/api/v1/users", {"email": "ÉLODIE.TEST@acme.example",
                                         "first_name": "Élodie", "last_name": "Test"})
    assert r.status == 201, r
    uid = r.json["user"]["id"]
    emu_put_user(ctx, slack_member("U0ELODIE01", "élodie.test@acme.example", "Élodie Test"))
    s = sync(ctx, org)
    assert s["counts"]["failed"] == 0, s
    mine = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0ELODIE01"]
    assert [(a["action"], a["reason"], a["outcome"]) for a in mine] == \
        [("update", "linked_by_email", "succeeded")], mine
    rows = ctx.sql("SELECT id, email FROM users WHERE organization_id = ?"
                   " AND slack_user_id = 'U0ELODIE01'", org.id)
    # A case-only difference is not a change: the address as typed stays.
    assert rows == [[str(uid), "ÉLODIE.TEST@acme.example"]], rows
    # Linked once: the next sync neither creates nor updates anyone.
    s = sync(ctx, org)
    c = s["counts"]
    assert c["created"] == c["updated"] == c["failed"] == 0, c


def test_a_membership_removed_by_hand_is_not_added_back_by_two_syncs(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    team = org.admin.post("/api/v1/teams", {"name": "Ingénierie 工程"}).json["team"]["id"]
    cfg = {"members": {"mode": "groups", "group_ids": ["S01ENGINE1"]},
           "team_mapping": {"enabled": True,
                            "mappings": [{"slack_group_id": "S01ENGINE1", "team_id": team}]},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert connect(ctx, org) == {"connected": "1"}
    r = org.admin.put("/api/v1/provisioning/slack/config", cfg)
    assert r.status == 200, r
    s = sync(ctx, org)
    assert s["counts"]["added_to_team"] >= 2 and s["counts"]["failed"] == 0, s
    rows = ctx.sql("SELECT user_id FROM team_memberships WHERE team_id = ?"
                   " AND source = 'provisioning' ORDER BY user_id", team)
    removed = int(rows[0][0])
    assert org.admin.delete("/api/v1/teams/%d/members/%d" % (team, removed)).status == 204
    for _ in range(2):
        s = sync(ctx, org)
        assert s["counts"]["added_to_team"] == 0 and s["counts"]["failed"] == 0, s
        assert ctx.sql("SELECT COUNT(*) FROM team_memberships WHERE team_id = ? AND user_id = ?",
                       team, removed) == [["0"]]
        kept = [a for a in actions(org, s["id"]) if a["reason"] == "removed_by_hand"]
        assert [(a["action"], a["outcome"], a["user"]["id"], a["team"]["name"]) for a in kept] == \
            [("skip", "skipped", removed, "Ingénierie 工程")], kept
        assert "keeps that choice" in kept[0]["details"] and "add the person to the team" \
            in kept[0]["details"], kept[0]["details"]
        # The others stay members.
        left = ctx.sql("SELECT COUNT(*) FROM team_memberships WHERE team_id = ?", team)
        assert left == [[str(len(rows) - 1)]], left
    assert len(ctx.sql("SELECT 1 FROM team_membership_removals WHERE team_id = ? AND user_id = ?",
                       team, removed)) == 1


def test_a_user_deactivated_by_hand_stays_deactivated_while_still_in_slack(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    s = sync(ctx, org)
    assert s["counts"]["created"] > 0, s
    uid = int(ctx.sql("SELECT id FROM users WHERE organization_id = ? AND slack_user_id = 'U01MEMB001'",
                      org.id)[0][0])
    r = org.admin.patch("/api/v1/users/%d" % uid, {"status": "deactivated"})
    assert r.status == 200, r
    # Still in Slack, and changed there: the administrator's choice wins.
    u = emu_user(ctx, "U01MEMB001")
    u["profile"]["title"] = "Ingénieure principale 主任工程师"
    emu_put_user(ctx, u)
    s = sync(ctx, org)
    assert s["counts"]["reactivated"] == 0 and s["counts"]["failed"] == 0, s
    assert ctx.sql("SELECT status, deactivated_by FROM users WHERE id = ?", uid) == \
        [["deactivated", "person"]]
    mine = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U01MEMB001"]
    assert [(a["action"], a["reason"], a["outcome"]) for a in mine] == \
        [("skip", "deactivated_by_hand", "skipped")], mine
    assert "keeps that choice" in mine[0]["details"] and "reactivate the account" \
        in mine[0]["details"], mine[0]["details"]
    assert ctx.sql("SELECT job_title FROM users WHERE id = ?", uid) != \
        [["Ingénieure principale 主任工程师"]]


def test_report_rows_of_a_real_sync_name_the_team_in_plain_words(ctx):
    from test_reports import parse_csv
    emu_reset(ctx)
    org = ctx.new_org()
    # Invitations on, but no mail server for the pass: no e-mail is promised.
    assert org.admin.patch("/api/v1/settings", {"automatic_invites": True}).status == 200
    team = org.admin.post("/api/v1/teams", {"name": "Ingénierie 工程"}).json["team"]["id"]
    cfg = {"members": {"mode": "groups", "group_ids": ["S01ENGINE1"]},
           "team_mapping": {"enabled": True,
                            "mappings": [{"slack_group_id": "S01ENGINE1", "team_id": team}]},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert connect(ctx, org) == {"connected": "1"}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    s = sync(ctx, org)
    adds = actions(org, s["id"], changed="team_membership")
    assert len(adds) == s["counts"]["added_to_team"] >= 2, (len(adds), s)
    for a in adds:
        assert a["action"] == "add_to_team", a
        assert a["changes"] == [{"field": "team", "from": None, "to": "Ingénierie 工程"}], a
    # One name per person: a new user's team row names them as their create row.
    creates = {a["slack_user_id"]: a for a in actions(org, s["id"]) if a["action"] == "create"}
    assert creates
    for a in adds:
        assert a["user"]["name"] == creates[a["slack_user_id"]]["user"]["name"], (a, creates[a["slack_user_id"]])
    for a in creates.values():
        assert "e-mail will be sent" not in a["details"], a["details"]
    # The CSV export carries the team change too.
    r = org.admin.get("/api/v1/provisioning/slack/syncs/%d/export.csv" % s["id"],
                      query={"changed": "team_membership"})
    assert r.status == 200, r
    table = parse_csv(r.body)
    assert len(table) == len(adds) + 1, table[:3]
    assert all(any("Ingénierie 工程" in cell for cell in row) for row in table[1:]), table[:3]
    # A profile change's Details name the field in plain words.
    uid = creates[adds[0]["slack_user_id"]]["user"]["id"]
    u = emu_user(ctx, adds[0]["slack_user_id"])
    u["profile"]["title"] = "Ingénieure principale 主任工程师"
    emu_put_user(ctx, u)
    s = sync(ctx, org)
    up = [a for a in actions(org, s["id"]) if a["action"] == "update"]
    assert [a["user"]["id"] for a in up] == [uid], up
    assert up[0]["details"] == "Updated from Slack: job title.", up[0]["details"]


def test_titles_over_200_and_1000_characters_are_stored_and_said_shortened(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    t250 = "主任工程师「データ基盤」🚀" * 25          # 250 characters, CJK and emoji
    t1500 = "高级软件工程师👩‍💻" * 150              # 1,500 code points, ZWJ emoji
    name300 = "Zoë \"the boss\" O'Brien-ñ " * 12      # 300 characters
    emu_put_user(ctx, slack_member("U0LONG0001", "long.title@acme.example", "Ada Long", t250))
    u = slack_member("U0LONG0002", "longer.title@acme.example", "Bo Longer", t1500)
    u["profile"]["display_name"] = name300
    emu_put_user(ctx, u)
    s = sync(ctx, org)
    assert s["status"] == "succeeded" and s["counts"]["failed"] == 0, s
    rows = dict((r[0], r[1:]) for r in ctx.sql(
        "SELECT slack_user_id, job_title, CHAR_LENGTH(job_title), display_name FROM users"
        " WHERE organization_id = ? AND slack_user_id IN ('U0LONG0001', 'U0LONG0002')", org.id))
    assert rows["U0LONG0001"][0] == t250, rows["U0LONG0001"][1]
    assert rows["U0LONG0002"][2] == name300
    kept = rows["U0LONG0002"][0]
    assert t1500.startswith(kept) and int(rows["U0LONG0002"][1]) <= 1000, rows["U0LONG0002"][1]
    assert int(rows["U0LONG0002"][1]) >= 990 and not kept.endswith("\u200d")
    by = {a["slack_user_id"]: a for a in actions(org, s["id"]) if a["action"] == "create"}
    assert "Shortened" not in by["U0LONG0001"]["details"], by["U0LONG0001"]["details"]
    assert by["U0LONG0002"]["details"].endswith(
        "Shortened to fit the directory's limit of 1,000 characters: job title."), by["U0LONG0002"]["details"]
    # The next sync compares the stored, cut value: no change.
    s = sync(ctx, org)
    c = s["counts"]
    assert c["created"] == c["updated"] == c["failed"] == 0, c


def test_the_last_active_administrator_is_never_deactivated_by_a_sync(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    # The organization's only administrator is also a Slack member: linked.
    emu_put_user(ctx, slack_member("U0ADMIN001", org.admin_email, "Ad Min"))
    s = sync(ctx, org)
    mine = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0ADMIN001"]
    assert [(a["action"], a["reason"]) for a in mine] == [("update", "linked_by_email")], mine
    # They leave the workspace: the sync would deactivate them, and does not.
    r = ctx.emulator().delete("/_emulator/workspace/%s/users/U0ADMIN001" % DEMO)
    assert r.status == 200, r
    s = sync(ctx, org)
    assert s["counts"]["deactivated"] == 0 and s["counts"]["failed"] == 0, s
    mine = [a for a in actions(org, s["id"]) if a["reason"] == "last_administrator"]
    assert [(a["action"], a["outcome"], a["user"]["email"]) for a in mine] == \
        [("skip", "skipped", org.admin_email)], mine
    assert "last active administrator" in mine[0]["details"], mine[0]["details"]
    assert ctx.sql("SELECT status FROM users WHERE organization_id = ? AND email = ?",
                   org.id, org.admin_email) == [["active"]]
    assert org.admin.get("/api/v1/me").status == 200


def test_a_failed_create_is_one_failed_row_and_its_teams_are_skipped_pointing_to_it(ctx):
    """Issue 11 item 1: a person whose create fails is one failed row; each of
    their team additions is skipped with a reason pointing to it, not
    failed one by one, and the next sync adds them once the account exists."""
    emu_reset(ctx)
    ada = emu_user(ctx, "U01MEMB001")          # in Engineering and Équipe Paris
    good = ada["profile"]["email"]
    ada["profile"]["email"] = "a" * 250 + "@acme.example"   # 263 characters
    emu_put_user(ctx, ada)
    org = ctx.new_org()
    eng = org.admin.post("/api/v1/teams", {"name": "Engineering"}).json["team"]["id"]
    paris = org.admin.post("/api/v1/teams", {"name": "Équipe Paris"}).json["team"]["id"]
    cfg = {"members": {"mode": "groups", "group_ids": ["S01ENGINE1", "S01PARIS01"]},
           "team_mapping": {"enabled": True,
                            "mappings": [{"slack_group_id": "S01ENGINE1", "team_id": eng},
                                         {"slack_group_id": "S01PARIS01", "team_id": paris}]},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert connect(ctx, org) == {"connected": "1"}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    s = sync(ctx, org, expect=("completed_with_errors",))
    assert s["counts"]["failed"] == 1 and s["counts"]["created"] >= 8, s
    mine = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U01MEMB001"]
    assert [(a["action"], a["outcome"]) for a in mine if a["action"] == "create"] == \
        [("create", "failed")], mine
    teams = sorted((a["action"], a["outcome"], a["reason"], a["team"]["name"])
                   for a in mine if a["action"] != "create")
    assert teams == [("add_to_team", "skipped", "account_not_created", "Engineering"),
                     ("add_to_team", "skipped", "account_not_created", "Équipe Paris")], mine
    for a in mine:
        if a["action"] == "add_to_team":
            assert a["details"].startswith("Not added to team %s: this person's account could"
                                           " not be created in this sync" % a["team"]["name"]), a
            assert "The next sync adds them" in a["details"], a["details"]
            assert a["changes"] == [] and a["changed"] == [], a   # nothing changed
    # Everyone else joined their teams.
    assert ctx.sql("SELECT COUNT(*) FROM team_memberships WHERE organization_id = ?",
                   org.id)[0][0] == str(s["counts"]["added_to_team"])
    assert s["counts"]["added_to_team"] >= 10, s
    # Fixed in Slack: created and added to both teams by the next sync.
    ada = emu_user(ctx, "U01MEMB001")
    ada["profile"]["email"] = good
    emu_put_user(ctx, ada)
    s = sync(ctx, org)
    mine = [(a["action"], a["outcome"]) for a in actions(org, s["id"])
            if a["slack_user_id"] == "U01MEMB001"]
    assert mine == [("create", "succeeded"), ("add_to_team", "succeeded"),
                    ("add_to_team", "succeeded")], mine
