"""Changes made by hand, which a sync never undoes (SPEC §4.3, §7.7): a user
deactivated or reactivated by an administrator, and a sync-made team
membership an administrator removed (its tombstone)."""


def me(client):
    r = client.get("/api/v1/me")
    assert r.status == 200, r
    return r.json["user"]["id"]


def test_deactivate_and_reactivate_by_hand_are_recorded_as_a_persons(ctx):
    org = ctx.new_org()
    a = org.admin
    admin_id = me(a)
    uid = ctx.new_user(org, first="Olga", last="Ivanova", password="member password 1")
    # The member is signed in somewhere.
    member = ctx.client()
    r = member.post("/api/v1/session", {"email": a.get("/api/v1/users/%d" % uid).json["user"]["email"],
                                        "password": "member password 1"})
    assert r.status == 200, r
    assert member.get("/api/v1/me").status == 200

    r = a.patch("/api/v1/users/%d" % uid, {"status": "deactivated"})
    assert r.status == 200, r
    u = r.json["user"]
    assert u["status"] == "deactivated" and u["deactivated_by"] == "administrator", u
    p = u["provisioning"]
    assert p["deactivated_by"] == "administrator" and p["deactivated_at"], p
    assert p["status_changed_by"]["id"] == admin_id and p["status_changed_by"]["name"], p
    assert p["status_changed_at"] and p["last_sync_action"] is None, p
    # What the sync's snapshot reads: deactivated_by 'person', with who and when.
    row = ctx.sql("SELECT status, deactivated_by, status_changed_by_user_id,"
                  " deactivated_at IS NOT NULL FROM users WHERE id = ?", uid)
    assert row == [["deactivated", "person", str(admin_id), "1"]], row
    # A deactivated person is signed out at once.
    assert member.get("/api/v1/me").status == 401
    assert ctx.sql("SELECT COUNT(*) FROM sessions WHERE user_id = ?", uid) == [["0"]]
    # The same status again changes nothing and is not an error.
    before = ctx.sql("SELECT status_changed_at FROM users WHERE id = ?", uid)
    r = a.patch("/api/v1/users/%d" % uid, {"status": "deactivated"})
    assert r.status == 200 and r.json["user"]["status"] == "deactivated", r
    assert ctx.sql("SELECT status_changed_at FROM users WHERE id = ?", uid) == before
    # The list shows who deactivated.
    r = a.get("/api/v1/users", query={"status": "deactivated"})
    assert [(x["id"], x["deactivated_by"]) for x in r.json["users"]] == [(uid, "administrator")], r

    r = a.patch("/api/v1/users/%d" % uid, {"status": "active"})
    assert r.status == 200, r
    u = r.json["user"]
    assert u["status"] == "active" and u["deactivated_by"] is None, u
    assert u["provisioning"]["deactivated_at"] is None
    assert u["provisioning"]["status_changed_by"]["id"] == admin_id
    row = ctx.sql("SELECT status, deactivated_by, status_changed_by_user_id FROM users WHERE id = ?", uid)
    assert row == [["active", "NULL", str(admin_id)]], row
    # Signing in works again.
    assert member.post("/api/v1/session", {"email": u["email"], "password": "member password 1"}).status == 200


def test_user_status_refusals_say_why_and_change_nothing(ctx):
    org, other = ctx.new_org(), ctx.new_org()
    a = org.admin
    admin_id = me(a)
    uid = ctx.new_user(org)
    theirs = ctx.new_user(other)
    for body, field in (({}, "status"), ({"status": "gone"}, "status"), ({"status": 1}, "status"),
                        ({"status": None}, "status"), ({"state": "active"}, "state")):
        r = a.patch("/api/v1/users/%d" % uid, body)
        assert r.status == 422 and r.json["error"]["field"] == field, (body, r)
    # Oneself: refused with a reason, nothing changed.
    r = a.patch("/api/v1/users/%d" % admin_id, {"status": "deactivated"})
    assert r.status == 409 and "your own account" in r.json["error"]["message"], r
    assert ctx.sql("SELECT status FROM users WHERE id = ?", admin_id) == [["active"]]
    # Another organization's user and no user are 404; a member is 403.
    assert a.patch("/api/v1/users/%d" % theirs, {"status": "deactivated"}).status == 404
    assert ctx.sql("SELECT status FROM users WHERE id = ?", theirs) == [["active"]]
    assert a.patch("/api/v1/users/999999999", {"status": "deactivated"}).status == 404
    ctx.new_user(org, email="plain.member.%d@example.test" % uid, password="member password 2")
    m = ctx.client()
    assert m.post("/api/v1/session", {"email": "plain.member.%d@example.test" % uid,
                                      "password": "member password 2"}).status == 200
    assert m.patch("/api/v1/users/%d" % uid, {"status": "deactivated"}).status == 403
    assert ctx.sql("SELECT status FROM users WHERE id = ?", uid) == [["active"]]
    # Another administrator may be deactivated while one stays active.
    second = ctx.new_user(org, admin=True)
    r = a.patch("/api/v1/users/%d" % second, {"status": "deactivated"})
    assert r.status == 200 and r.json["user"]["status"] == "deactivated", r


def test_removing_a_sync_made_membership_by_hand_leaves_a_tombstone(ctx):
    org = ctx.new_org()
    a = org.admin
    admin_id = me(a)
    team = a.post("/api/v1/teams", {"name": "Support"}).json["team"]["id"]
    synced, manual = ctx.new_user(org), ctx.new_user(org)
    ctx.sql("INSERT INTO team_memberships (organization_id, team_id, user_id, source)"
            " VALUES (?, ?, ?, 'provisioning'), (?, ?, ?, 'manual')",
            org.id, team, synced, org.id, team, manual)
    r = a.get("/api/v1/teams/%d/members" % team)
    assert sorted((m["id"], m["membership_source"]) for m in r.json["members"]) == \
        sorted([(synced, "provisioning"), (manual, "manual")]), r

    assert a.delete("/api/v1/teams/%d/members/%d" % (team, synced)).status == 204
    assert a.delete("/api/v1/teams/%d/members/%d" % (team, manual)).status == 204
    # Only the sync-made one is remembered, with who removed it.
    rows = ctx.sql("SELECT user_id, removed_by_user_id, removed_at IS NOT NULL"
                   " FROM team_membership_removals WHERE team_id = ?", team)
    assert rows == [[str(synced), str(admin_id), "1"]], rows
    assert ctx.sql("SELECT COUNT(*) FROM team_memberships WHERE team_id = ?", team) == [["0"]]
    r = a.get("/api/v1/teams/%d/removed" % team)
    assert r.status == 200, r
    assert [(m["id"], m["membership_source"], m["removed_by_user_id"]) for m in r.json["removed"]] == \
        [(synced, "removed_by_hand", admin_id)], r
    assert r.json["next_cursor"] is None
    # A second DELETE is 404 and leaves the tombstone as it was.
    assert a.delete("/api/v1/teams/%d/members/%d" % (team, synced)).status == 404
    assert len(ctx.sql("SELECT 1 FROM team_membership_removals WHERE team_id = ?", team)) == 1
    # Another organization sees neither the team nor its tombstones.
    assert ctx.new_org().admin.get("/api/v1/teams/%d/removed" % team).status == 404
    # Adding the person back by hand undoes the removal: no tombstone left.
    r = a.post("/api/v1/teams/%d/members" % team, {"user_id": synced})
    assert r.status == 201, r
    assert ctx.sql("SELECT COUNT(*) FROM team_membership_removals WHERE team_id = ?", team) == [["0"]]
    assert ctx.sql("SELECT source FROM team_memberships WHERE team_id = ? AND user_id = ?",
                   team, synced) == [["manual"]]
    assert a.get("/api/v1/teams/%d/removed" % team).json["removed"] == []


def test_users_filter_by_team_and_search_by_slack_id(ctx):
    org = ctx.new_org()
    a = org.admin
    t1 = a.post("/api/v1/teams", {"name": "One"}).json["team"]["id"]
    t2 = a.post("/api/v1/teams", {"name": "Two"}).json["team"]["id"]
    u1, u2, u3 = ctx.new_user(org), ctx.new_user(org), ctx.new_user(org)
    ctx.sql("UPDATE users SET slack_user_id = 'U0SEARCHME', source = 'slack' WHERE id = ?", u2)
    for t, u in ((t1, u1), (t1, u2), (t2, u3)):
        assert a.post("/api/v1/teams/%d/members" % t, {"user_id": u}).status == 201
    ids = lambda **q: [x["id"] for x in a.get("/api/v1/users", query=q).json["users"]]
    assert ids(team=t1) == [u1, u2]
    assert ids(team=t2) == [u3]
    assert ids(team=t1, source="slack") == [u2]
    assert ids(q="u0search") == [u2]
    r = a.get("/api/v1/users", query={"q": "searchme"})
    assert r.json["users"][0]["slack_user_id"] == "U0SEARCHME", r
    assert ids(team=999999999) == []
    assert a.get("/api/v1/users", query={"team": "x"}).status == 400
