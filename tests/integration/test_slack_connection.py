"""The Slack connection's lifecycle through nginx and the emulator (SPEC §1.1-1.6, §4.2)."""
import urllib.parse

DEMO = "T0DEMO0001"
OTHER = "T0OTHER001"


def emu_reset(ctx):
    emu = ctx.emulator()
    assert emu.post("/_emulator/reset", {}).status == 200
    return emu


def start(org, purpose="connect"):
    r = org.admin.post("/api/v1/provisioning/slack/%s" % purpose)
    assert r.status == 200, r
    return r.json["authorize_url"]


def consent(ctx, authorize_url):
    """The browser at Slack's consent page: returns the callback path+query."""
    u = urllib.parse.urlsplit(authorize_url)
    assert "%s:%s" % (u.hostname, u.port) == ctx.emulator_url.split("//")[1], authorize_url
    r = ctx.emulator().get(u.path + "?" + u.query)
    assert r.status == 302, r
    loc = urllib.parse.urlsplit(r.header("Location"))
    assert loc.path == "/oauth/slack/callback", loc
    return loc.path + "?" + loc.query


def finish(ctx, org, callback, client=None):
    r = (client or org.admin).get(callback)
    assert r.status == 302, r
    loc = urllib.parse.urlsplit(r.header("Location"))
    assert loc.path == "/settings/provisioning/slack", loc
    return dict(urllib.parse.parse_qsl(loc.query))


def connect(ctx, org, purpose="connect", team=DEMO, user=None):
    install = {"team": team}
    if user:
        install["user"] = user
    assert ctx.emulator().post("/_emulator/install", install).status == 200
    return finish(ctx, org, consent(ctx, start(org, purpose)))


def emulator_tokens(ctx, team):
    return [t for t in ctx.emulator().get("/_emulator/tokens").json["tokens"]
            if t["team"] == team and not t.get("predefined")]


def test_connect_round_trip_and_status(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    st = org.admin.get("/api/v1/provisioning/slack").json
    assert st["status"] == "disconnected" and st["workspace"] is None
    url = start(org)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert set(q["scope"].split(",")) == {"users:read", "users:read.email", "usergroups:read", "team:read"}
    assert q["redirect_uri"] == ctx.base_url + "/oauth/slack/callback"
    assert len(q["state"]) >= 32  # 128 bits at least
    assert finish(ctx, org, consent(ctx, url)) == {"connected": "1"}
    st = org.admin.get("/api/v1/provisioning/slack").json
    assert st["status"] == "connected", st
    assert st["workspace"] == {"id": DEMO, "name": "Acme Demo", "domain": st["workspace"]["domain"]}
    assert st["workspace"]["domain"]
    assert st["connected_by"]["name"] == "Ad Min" and st["connected_at"]
    ov = org.admin.get("/api/v1/provisioning").json
    assert ov == {"active": "slack", "providers": [{"id": "slack", "name": "Slack", "status": "connected"}]}
    # Connecting again is refused: Replace is the way.
    r = org.admin.post("/api/v1/provisioning/slack/connect")
    assert r.status == 409 and r.json["error"]["code"] == "already_connected"


def test_token_is_stored_sealed_and_opens_back(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org) == {"connected": "1"}
    tokens = emulator_tokens(ctx, DEMO)
    assert len(tokens) == 1
    token = tokens[0]["token"]
    row = ctx.sql("SELECT access_token_sealed, scopes FROM provisioning_integrations"
                  " WHERE organization_id = ?", org.id)
    sealed = row[0][0]
    assert sealed.startswith("v2:") and token not in sealed
    dump = ctx.sql("SELECT * FROM provisioning_integrations WHERE organization_id = ?", org.id)
    assert token not in repr(dump)
    # The API never shows it either.
    assert token not in org.admin.get("/api/v1/provisioning/slack").text
    r = ctx.admin_cli("slack-check", str(org.id))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == DEMO
    # Nothing secret in the logs of the API.
    with open(ctx.dir + "/api.log") as f:
        assert token not in f.read()


def test_non_admin_installer_is_refused_and_token_revoked(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org, user="U01MEMB001") == {"error": "not_slack_admin"}
    assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"
    tokens = emulator_tokens(ctx, DEMO)
    assert tokens and all(t["revoked"] for t in tokens), tokens
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_integrations WHERE organization_id = ?",
                   org.id) == [["0"]]


def test_access_denied_lands_on_a_clear_error(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert ctx.emulator().post("/_emulator/install", {"team": DEMO, "deny": True}).status == 200
    assert finish(ctx, org, consent(ctx, start(org))) == {"error": "access_denied"}
    assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"


def test_state_replay_expiry_and_another_organizations_state(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    cb = consent(ctx, start(org))
    assert finish(ctx, org, cb) == {"connected": "1"}
    before = ctx.sql("SELECT access_token_sealed FROM provisioning_integrations WHERE organization_id = ?", org.id)
    # Replay of a used state changes nothing.
    assert finish(ctx, org, cb) == {"error": "state_used"}
    assert ctx.sql("SELECT access_token_sealed FROM provisioning_integrations WHERE organization_id = ?",
                   org.id) == before
    # An expired state.
    other = ctx.new_org()
    cb = consent(ctx, start(other))
    ctx.sql("UPDATE oauth_states SET expires_at = NOW() - INTERVAL 1 SECOND WHERE organization_id = ?", other.id)
    assert finish(ctx, other, cb) == {"error": "state_expired"}
    assert other.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"
    # A state forged or unknown.
    assert finish(ctx, other, "/oauth/slack/callback?code=x&state=" + "ab" * 32) == {"error": "state_unknown"}
    assert finish(ctx, other, "/oauth/slack/callback?code=x") == {"error": "state_missing"}
    # Another organization's state, completed by this organization's admin.
    third = ctx.new_org()
    cb = consent(ctx, start(third))
    assert finish(ctx, other, cb, client=other.admin) == {"error": "session_mismatch"}
    assert other.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"
    assert third.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"
    # ...and by a browser with no session at all: neither burns the state, so the
    # administrator who started the flow still finishes it.
    assert finish(ctx, third, cb, client=ctx.client()) == {"error": "session_mismatch"}
    assert ctx.sql("SELECT COUNT(*) FROM oauth_states WHERE organization_id = ? AND used_at IS NULL",
                   third.id) == [["1"]]
    assert finish(ctx, third, cb) == {"connected": "1"}
    assert third.admin.get("/api/v1/provisioning/slack").json["status"] == "connected"


def test_disconnect_keeps_users_and_teams_and_revokes_at_slack(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    team = org.admin.post("/api/v1/teams", {"name": "Kept"}).json["team"]["id"]
    uid = ctx.new_user(org)
    assert org.admin.post("/api/v1/teams/%d/members" % team, {"user_id": uid}).status == 201
    assert connect(ctx, org) == {"connected": "1"}
    users_before = ctx.sql("SELECT id, status FROM users WHERE organization_id = ? ORDER BY id", org.id)
    r = org.admin.delete("/api/v1/provisioning/slack")
    assert r.status == 204, r
    tokens = emulator_tokens(ctx, DEMO)
    assert tokens and all(t["revoked"] for t in tokens), tokens
    assert ctx.sql("SELECT id, status FROM users WHERE organization_id = ? ORDER BY id", org.id) == users_before
    assert ctx.sql("SELECT COUNT(*) FROM team_memberships WHERE team_id = ?", team) == [["1"]]
    assert ctx.sql("SELECT status, access_token_sealed IS NULL FROM provisioning_integrations"
                   " WHERE organization_id = ?", org.id) == [["disconnected", "1"]]
    assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"
    r = org.admin.delete("/api/v1/provisioning/slack")
    assert r.status == 409 and r.json["error"]["code"] == "not_connected"
    # Connecting again after a disconnect works.
    assert connect(ctx, org) == {"connected": "1"}


def test_disconnect_succeeds_when_slack_answers_500(ctx):
    emu = emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org) == {"connected": "1"}
    assert emu.post("/_emulator/faults", [{"method": "auth.revoke", "kind": "http500"}]).status == 200
    try:
        r = org.admin.delete("/api/v1/provisioning/slack")
        assert r.status == 204, r
    finally:
        emu.delete("/_emulator/faults")
    assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"
    assert ctx.sql("SELECT access_token_sealed IS NULL FROM provisioning_integrations"
                   " WHERE organization_id = ?", org.id) == [["1"]]


def save_group_config(ctx, org):
    ctx.sql("INSERT INTO provisioning_configs (organization_id, config_json) VALUES (?, ?)", org.id,
            '{"members":{"mode":"groups","group_ids":["S01ENGINE1"]},'
            '"team_mapping":{"enabled":true,"mappings":[{"slack_group_id":"S01ENGINE1","team_id":1}]},'
            '"deactivation_threshold":{"percent":10,"minimum":10}}')


def test_replace_with_the_same_workspace_keeps_the_configuration(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    r = org.admin.post("/api/v1/provisioning/slack/replace")
    assert r.status == 409 and r.json["error"]["code"] == "not_connected"
    assert connect(ctx, org) == {"connected": "1"}
    save_group_config(ctx, org)
    old = ctx.sql("SELECT id, access_token_sealed FROM provisioning_integrations WHERE organization_id = ?", org.id)
    assert connect(ctx, org, purpose="replace", user="U01ADMIN01") == {"connected": "1"}
    new = ctx.sql("SELECT id, access_token_sealed, installer_slack_user_id FROM provisioning_integrations"
                  " WHERE organization_id = ?", org.id)
    assert len(new) == 1 and new[0][0] == old[0][0] and new[0][1] != old[0][1]
    assert new[0][2] == "U01ADMIN01"
    cfg = org.admin.get("/api/v1/provisioning/slack").json["config"]
    assert cfg["members"]["group_ids"] == ["S01ENGINE1"]
    assert cfg["team_mapping"]["mappings"] != []


def test_replace_with_a_different_workspace_is_not_configured_until_saved(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org) == {"connected": "1"}
    save_group_config(ctx, org)
    st = org.admin.get("/api/v1/provisioning/slack").json
    assert st["config_saved"] is True and st["config_cleared_reason"] is None
    assert connect(ctx, org, purpose="replace", team=OTHER) == {"connected": "1"}
    st = org.admin.get("/api/v1/provisioning/slack").json
    assert st["workspace"]["id"] == OTHER and st["status"] == "connected"
    assert st["status_reason"] is None, st
    # The old workspace's groups and mappings are gone, and the status says why, in words.
    assert st["config_saved"] is False
    assert "another workspace" in st["config_cleared_reason"], st
    assert "groups" in st["config_cleared_reason"] and "_" not in st["config_cleared_reason"]
    assert st["config"]["members"]["group_ids"] == [] and st["config"]["team_mapping"]["mappings"] == []
    # Not configured, as a fresh connection: Sync now is refused...
    r = org.admin.post("/api/v1/provisioning/slack/syncs")
    assert r.status == 409 and r.json["error"]["code"] == "config_required", r
    # ...and the daily schedule waits.
    ctx.sql("UPDATE provisioning_integrations SET next_sync_at = NOW() - INTERVAL 1 MINUTE"
            " WHERE organization_id = ? AND status = 'connected'", org.id)
    ctx.sync_pass()
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_syncs WHERE organization_id = ?", org.id) == [["0"]]
    # Saving a configuration (against the new workspace) ends it.
    r = org.admin.put("/api/v1/provisioning/slack/config",
                      {"members": {"mode": "everyone", "group_ids": []},
                       "team_mapping": {"enabled": False, "mappings": []},
                       "deactivation_threshold": {"percent": 10, "minimum": 10}})
    assert r.status == 200, r
    st = org.admin.get("/api/v1/provisioning/slack").json
    assert st["config_saved"] is True and st["config_cleared_reason"] is None, st
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_integrations WHERE organization_id = ?", org.id) == [["1"]]
    r = ctx.admin_cli("slack-check", str(org.id))
    assert r.stdout.split()[0] == OTHER, r.stdout + r.stderr


def test_second_provider_is_refused_by_the_api_and_by_the_schema(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    ctx.sql("INSERT INTO provisioning_integrations (organization_id, provider, status)"
            " VALUES (?, 'entra', 'connected')", org.id)
    r = org.admin.post("/api/v1/provisioning/slack/connect")
    assert r.status == 409 and r.json["error"]["code"] == "another_provider_active", r
    assert org.admin.get("/api/v1/provisioning").json["active"] == "entra"
    # The database itself refuses a second active integration.
    try:
        ctx.sql("INSERT INTO provisioning_integrations (organization_id, provider, status)"
                " VALUES (?, 'slack', 'connected')", org.id)
    except RuntimeError as e:
        assert "Duplicate" in str(e)
    else:
        raise AssertionError("a second active integration was accepted")
    # Disconnected rows do not count.
    ctx.sql("INSERT INTO provisioning_integrations (organization_id, provider, status)"
            " VALUES (?, 'slack', 'disconnected')", org.id)


def test_member_cannot_connect_and_other_org_sees_nothing(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    email = "m-%s@example.test" % ctx.unique()
    ctx.new_user(org, email=email, password="member password 1")
    m = ctx.client()
    assert m.post("/api/v1/session", {"email": email, "password": "member password 1"}).status == 200
    for method, path in (("POST", "/api/v1/provisioning/slack/connect"), ("GET", "/api/v1/provisioning/slack"),
                         ("DELETE", "/api/v1/provisioning/slack"), ("GET", "/api/v1/provisioning/slack/groups")):
        assert m.request(method, path).status == 403, (method, path)
    assert connect(ctx, org) == {"connected": "1"}
    other = ctx.new_org()
    assert other.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"


def test_group_type_ahead_matches_and_is_cached(ctx):
    emu = emu_reset(ctx)
    org = ctx.new_org()
    r = org.admin.get("/api/v1/provisioning/slack/groups", query={"q": "eng"})
    assert r.status == 409 and r.json["error"]["code"] == "not_connected"
    assert connect(ctx, org) == {"connected": "1"}
    emu.post("/_emulator/record/reset", {})
    names = lambda q: [g["name"] for g in org.admin.get("/api/v1/provisioning/slack/groups",
                                                         query={"q": q}).json["groups"]]
    assert names("eng") == ["Engineering"]
    assert names("ENG") == ["Engineering"]          # case-insensitive
    assert names("gineer") == ["Engineering"]       # infix
    assert names("support") == ["Customer Support"] # by handle
    assert names("équipe") == ["Équipe Paris"]
    assert names("ÉQUIPE") == ["Équipe Paris"]
    assert "Project Phoenix (archived)" not in names("")   # disabled groups are not offered
    # Prefix matches first: "s" starts Sales and the handle "support".
    got = names("s")
    assert got[:2] == sorted(got[:2]) and set(got[:2]) == {"Customer Support", "Sales"}, got
    g = org.admin.get("/api/v1/provisioning/slack/groups", query={"q": "eng"}).json["groups"][0]
    assert g == {"id": "S01ENGINE1", "name": "Engineering", "handle": "engineering", "user_count": g["user_count"]}
    assert g["user_count"] > 0
    assert len(org.admin.get("/api/v1/provisioning/slack/groups", query={"limit": 2}).json["groups"]) == 2
    # Ten searches, one call to Slack.
    rec = emu.get("/_emulator/record").json
    assert rec["counts"].get("usergroups.list") == 1, rec["counts"]
    # After the cache expires, Slack is asked again.
    ctx.sql("UPDATE slack_group_cache SET fetched_at = NOW() - INTERVAL 2 MINUTE WHERE organization_id = ?", org.id)
    names("eng")
    assert emu.get("/_emulator/record").json["counts"].get("usergroups.list") == 2


def test_missing_scope_is_reported_with_the_scope_name(ctx):
    emu = emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org) == {"connected": "1"}
    emu.post("/_emulator/faults", [{"method": "usergroups.list", "kind": "error", "error": "missing_scope",
                                   "needed": "usergroups:read"}])
    try:
        r = org.admin.get("/api/v1/provisioning/slack/groups", query={"q": "x"})
    finally:
        emu.delete("/_emulator/faults")
    assert r.status == 502 and r.json["error"]["code"] == "slack_missing_scope", r
    assert "usergroups:read" in r.json["error"]["message"]


def test_revoked_token_marks_the_integration_needs_reconnection(ctx):
    emu = emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org) == {"connected": "1"}
    assert emu.post("/_emulator/tokens/revoke", {"team": DEMO}).status == 200
    r = org.admin.get("/api/v1/provisioning/slack/groups", query={"q": "x"})
    assert r.status == 502 and r.json["error"]["code"] == "slack_needs_reconnection", r
    st = org.admin.get("/api/v1/provisioning/slack").json
    assert st["status"] == "needs_reconnection" and st["status_reason"] == "token_revoked", st
    # Replace (reconnect) brings it back.
    assert connect(ctx, org, purpose="replace") == {"connected": "1"}
    assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "connected"


def test_groups_on_a_free_workspace_are_an_empty_list_with_a_notice(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert connect(ctx, org, team="T0FREE0001") == {"connected": "1"}
    r = org.admin.get("/api/v1/provisioning/slack/groups")
    assert r.status == 200 and r.json["groups"] == [] and "plan" in r.json["notice"], r


ROTATING_APP = {"SLACK_CLIENT_ID": "3333333333.4444444444",
                "SLACK_CLIENT_SECRET": "rotate-client-secret-0123456789abcdef"}


def test_rotating_token_is_refreshed_before_expiry(ctx):
    emu = emu_reset(ctx)
    # Tokens that expire in an hour: inside the two-hour refresh margin.
    assert emu.post("/_emulator/config", {"expires_in": 3600}).status == 200
    ctx.stack("api-restart", env=ROTATING_APP)
    try:
        org = ctx.new_org()
        assert connect(ctx, org) == {"connected": "1"}
        q = ("SELECT access_token_sealed, refresh_token_sealed, token_expires_at IS NOT NULL"
             " FROM provisioning_integrations WHERE organization_id = ?")
        first = ctx.sql(q, org.id)
        assert first[0][1] != "NULL" and first[0][2] == "1", first
        emu.post("/_emulator/record/reset", {})
        r = org.admin.get("/api/v1/provisioning/slack/groups", query={"q": "eng"})
        assert r.status == 200, r
        second = ctx.sql(q, org.id)
        assert second[0][0] != first[0][0] and second[0][1] != first[0][1], "tokens not refreshed"
        rec = emu.get("/_emulator/record").json
        assert rec["counts"].get("oauth.v2.access") == 1, rec["counts"]
        # The used refresh token is dead at Slack; the new pair works.
        r = ctx.run([ctx.bin("provisioning-admin"), "slack-check", str(org.id)], env=ROTATING_APP)
        assert r.returncode == 0 and r.stdout.split()[0] == DEMO, r.stderr
    finally:
        emu.post("/_emulator/reset", {})
        ctx.stack("api-restart")
