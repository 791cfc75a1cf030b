"""Directory: users, teams, memberships, settings (SPEC §4.3, §6)."""


def test_team_create_list_and_members_add_remove(ctx):
    org = ctx.new_org()
    a = org.admin
    r = a.post("/api/v1/teams", {"name": "Platform"})
    assert r.status == 201, r
    team = r.json["team"]
    assert team["name"] == "Platform" and team["member_count"] == 0
    assert a.post("/api/v1/teams", {"name": "Platform"}).status == 409
    assert a.post("/api/v1/teams", {"name": "platform"}).status == 409  # case-insensitive names
    assert a.post("/api/v1/teams", {"name": "   "}).status == 422
    assert a.post("/api/v1/teams", {"name": 5}).status == 422
    names = [t["name"] for t in a.get("/api/v1/teams").json["teams"]]
    assert names == ["Platform"], names

    uid = ctx.new_user(org)
    r = a.post("/api/v1/teams/%d/members" % team["id"], {"user_id": uid})
    assert r.status == 201 and r.json["member"]["id"] == uid, r
    assert a.post("/api/v1/teams/%d/members" % team["id"], {"user_id": uid}).status == 409
    r = a.get("/api/v1/teams/%d/members" % team["id"])
    assert r.status == 200
    assert [(m["id"], m["membership_source"]) for m in r.json["members"]] == [(uid, "manual")]
    assert a.get("/api/v1/teams").json["teams"][0]["member_count"] == 1
    # The membership row says it was made by hand.
    assert ctx.sql("SELECT source FROM team_memberships WHERE team_id = ? AND user_id = ?",
                   team["id"], uid) == [["manual"]]

    assert a.delete("/api/v1/teams/%d/members/%d" % (team["id"], uid)).status == 204
    assert a.delete("/api/v1/teams/%d/members/%d" % (team["id"], uid)).status == 404
    assert a.get("/api/v1/teams/%d/members" % team["id"]).json["members"] == []
    # Unknown user and unknown team are 404.
    assert a.post("/api/v1/teams/%d/members" % team["id"], {"user_id": 999999999}).status == 404
    assert a.get("/api/v1/teams/999999999/members").status == 404
    assert a.post("/api/v1/teams/%d/members" % team["id"], {"user_id": "1"}).status == 422


def test_another_organizations_objects_are_404(ctx):
    mine, theirs = ctx.new_org(), ctx.new_org()
    their_team = theirs.admin.post("/api/v1/teams", {"name": "Secret"}).json["team"]["id"]
    their_user = ctx.new_user(theirs)
    my_team = mine.admin.post("/api/v1/teams", {"name": "Mine"}).json["team"]["id"]
    a = mine.admin
    assert a.get("/api/v1/teams/%d/members" % their_team).status == 404
    assert a.post("/api/v1/teams/%d/members" % their_team, {"user_id": their_user}).status == 404
    r = a.post("/api/v1/teams/%d/members" % my_team, {"user_id": their_user})
    assert r.status == 404 and r.json["error"]["code"] == "not_found", r
    assert a.get("/api/v1/users/%d" % their_user).status == 404
    assert their_user not in [u["id"] for u in a.get("/api/v1/users", query={"limit": 500}).json["users"]]
    assert "Secret" not in [t["name"] for t in a.get("/api/v1/teams").json["teams"]]
    # Their admin's membership rows are untouched by our attempts.
    assert ctx.sql("SELECT COUNT(*) FROM team_memberships WHERE team_id = ?", their_team) == [["0"]]


def test_user_list_pagination_returns_every_user_exactly_once(ctx):
    org = ctx.new_org()
    made = {ctx.new_user(org) for _ in range(23)}
    for limit in (1, 5, 7, 50):
        seen, cursor, pages = [], None, 0
        while True:
            q = {"limit": limit}
            if cursor:
                q["cursor"] = cursor
            r = org.admin.get("/api/v1/users", query=q)
            assert r.status == 200, r
            assert len(r.json["users"]) <= limit
            seen += [u["id"] for u in r.json["users"]]
            cursor = r.json["next_cursor"]
            pages += 1
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 24, (limit, seen)  # 23 + the admin
        assert made <= set(seen)
    for bad in ("0", "501", "abc", "-1"):
        r = org.admin.get("/api/v1/users", query={"limit": bad})
        assert r.status == 400 and r.json["error"]["field"] == "limit", r
    r = org.admin.get("/api/v1/users", query={"cursor": "zzz"})
    assert r.status == 400 and r.json["error"]["field"] == "cursor", r


def test_user_list_filters(ctx):
    org = ctx.new_org()
    a = org.admin
    keep = ctx.new_user(org, email="findme-%s@example.test" % ctx.unique(), first="Zed", last="Quux")
    gone = ctx.new_user(org, first="Gone", last="Away")
    ctx.sql("UPDATE users SET status = 'deactivated' WHERE id = ?", gone)
    ctx.sql("UPDATE users SET source = 'slack' WHERE id = ?", keep)
    ids = lambda q: [u["id"] for u in a.get("/api/v1/users", query=q).json["users"]]
    assert ids({"q": "findme"}) == [keep]
    assert ids({"q": "QUUX"}) == [keep]          # case-insensitive, on names too
    assert ids({"q": "uux"}) == [keep]           # infix
    assert ids({"status": "deactivated"}) == [gone]
    assert gone not in ids({"status": "active"})
    assert ids({"source": "slack"}) == [keep]
    assert keep not in ids({"source": "manual"})
    assert ids({"source": "slack", "status": "deactivated"}) == []
    # LIKE wildcards are plain text.
    assert ids({"q": "%"}) == []
    assert ids({"q": "_"}) == []
    r = a.get("/api/v1/users", query={"status": "gone"})
    assert r.status == 400 and r.json["error"]["field"] == "status"


def test_sql_metacharacters_and_4_byte_unicode_round_trip(ctx):
    org = ctx.new_org()
    a = org.admin
    names = ["Robert'); DROP TABLE users;--", "🎉 Party 🚀", "東京チーム 𠮷", "back\\slash \"quote\" 100%_"]
    for n in names:
        r = a.post("/api/v1/teams", {"name": n})
        assert r.status == 201, (n, r)
        assert r.json["team"]["name"] == n
    listed = [t["name"] for t in a.get("/api/v1/teams").json["teams"]]
    assert sorted(listed) == sorted(names), listed
    # Two emoji-only names are different teams (4-byte characters compare apart).
    assert a.post("/api/v1/teams", {"name": "🎉"}).status == 201
    assert a.post("/api/v1/teams", {"name": "🚀"}).status == 201
    # Users through the API and through the CLI.
    r = a.post("/api/v1/users", {"email": "o'brien+%s@example.test" % ctx.unique(),
                                 "first_name": "Siobhán 😀", "last_name": "O'Brien; --",
                                 "job_title": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 lead"})
    assert r.status == 201, r
    u = r.json["user"]
    got = a.get("/api/v1/users/%d" % u["id"]).json["user"]
    assert got["first_name"] == "Siobhán 😀" and got["last_name"] == "O'Brien; --"
    assert got["job_title"] == "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 lead"
    cli = ctx.new_user(org, first="花子", last="山田 🌸")
    found = a.get("/api/v1/users", query={"q": "🌸"}).json["users"]
    assert [x["id"] for x in found] == [cli]
    assert found[0]["display_name"] == "花子 山田 🌸"
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ?", org.id) == [["3"]]


def test_user_create_validation_and_duplicate_email(ctx):
    org = ctx.new_org()
    a = org.admin
    email = "dup-%s@example.test" % ctx.unique()
    assert a.post("/api/v1/users", {"email": email, "first_name": "A"}).status == 201
    r = a.post("/api/v1/users", {"email": email.upper(), "first_name": "B"})
    assert r.status == 409 and r.json["error"]["field"] == "email", r
    r = a.post("/api/v1/users", {"email": "not-an-email"})
    assert r.status == 422 and r.json["error"]["field"] == "email", r
    r = a.post("/api/v1/users", {"email": "x@y.test", "role": "owner"})
    assert r.status == 422 and r.json["error"]["field"] == "role", r
    r = a.post("/api/v1/users", {"email": "x@y.test", "first_name": "x" * 201})
    assert r.status == 422 and r.json["error"]["field"] == "first_name", r
    # The same e-mail may exist in another organization.
    other = ctx.new_org()
    assert other.admin.post("/api/v1/users", {"email": email}).status == 201


def test_settings_get_and_patch(ctx):
    org = ctx.new_org()
    a = org.admin
    # mail_configured: the test stack's API has no mail server.
    assert a.get("/api/v1/settings").json == {"settings": {"automatic_invites": False,
                                                           "sync_retention_days": 365,
                                                           "mail_configured": False}}
    r = a.patch("/api/v1/settings", {"automatic_invites": True})
    assert r.status == 200 and r.json["settings"]["automatic_invites"] is True, r
    assert ctx.sql("SELECT automatic_invites FROM organization_settings WHERE organization_id = ?",
                   org.id) == [["1"]]
    r = a.patch("/api/v1/settings", {"automatic_invites": "yes"})
    assert r.status == 422 and r.json["error"]["field"] == "automatic_invites", r
    assert a.get("/api/v1/settings").json["settings"]["automatic_invites"] is True
    r = a.patch("/api/v1/settings", {"sync_retention_days": 30})
    assert r.status == 200 and r.json["settings"] == {"automatic_invites": True, "sync_retention_days": 30,
                                                      "mail_configured": False}, r
    for bad in (6, 3651, "30", 1.5):
        r = a.patch("/api/v1/settings", {"sync_retention_days": bad})
        assert r.status == 422 and r.json["error"]["field"] == "sync_retention_days", (bad, r)
