"""Hostile HTTP list (issue 13, item 8) and the isolation matrix.

test_hostile_requests sends one request per kind of hostile input (the
KINDS list, built below: malformed and deep JSON, wrong types and huge
numbers in every field, oversized bodies, bad framing, path tricks, query
strings with injection text, CRLF in the OAuth callback's parameters) and
checks, for each: the status expected, the JSON error envelope with the
code expected and a message, and that nothing of the organization changed
(a digest of its users, teams, memberships, settings, configuration and
syncs, taken before and after every request).

test_injection_text_is_stored_as_text: SQL and spreadsheet-formula strings
in every text field that accepts free text are stored and served back
byte for byte, and change nothing else.

test_oauth_state_abuse: replay, expiry, forgery, a missing state and
another organization's state at the callback: each refused with its own
reason, nothing connected.

test_isolation_matrix: every route of `provisioning-api --routes`, with the
ids of organization A's objects, as anonymous, as A's member and as
organization B's administrator: anonymous gets 401 (public routes aside),
the member 403 on administrator routes, B's administrator 404 for A's
objects, and no answer to anyone carries any of A's markers (e-mails, team
names, ids in bodies).

Kinds another branch is making strict (invalid UTF-8, surrogates, NUL,
NaN, duplicate keys, raw control characters, nginx's own HTML errors) are
included only where they already give their final answer; the others are
listed in tests/RELIABILITY.md for the lead.
"""
import json
import os
import socket
import subprocess
import urllib.parse

from test_slack_connection import consent, emu_reset, finish, start

JSON = {"Content-Type": "application/json"}


def digest(ctx, org):
    """Everything an organization owns, as one comparable value."""
    return ctx.sql(
        "SELECT (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', email, first_name,"
        " last_name, display_name, job_title, role, status))), 0)) FROM users WHERE organization_id = ?),"
        " (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(name)), 0)) FROM teams WHERE organization_id = ?),"
        " (SELECT COUNT(*) FROM team_memberships m JOIN teams t ON t.id = m.team_id"
        "  WHERE t.organization_id = ?),"
        " (SELECT COALESCE(SUM(CRC32(CONCAT_WS('|', automatic_invites, sync_retention_days))), 0)"
        "  FROM organization_settings WHERE organization_id = ?),"
        " (SELECT COUNT(*) FROM provisioning_configs WHERE organization_id = ?),"
        " (SELECT COUNT(*) FROM provisioning_syncs WHERE organization_id = ?),"
        " (SELECT COUNT(*) FROM provisioning_integrations WHERE organization_id = ?)",
        *([org.id] * 7))


def _deep(n):
    return ("[" * n + "]" * n).encode()


def kinds(team_id, user_id):
    """(name, method, path, raw body or None, headers, status, code)."""
    k = []
    add = lambda *a: k.append(a)
    # -- malformed JSON on every body route
    malformed = [b"{", b"}", b"{\"name\": }", b"{'name': 'x'}", b"{\"name\":\"x\"} trailing",
                 b"", b" ", b"{\"name\":\"x\",}", b"{\"name\" \"x\"}", b"{name:\"x\"}",
                 b"{\"name\":\"x\"}{\"name\":\"y\"}", b"[1,2]", b"\"x\"", b"42", b"true", b"null",
                 b"{\"name\":\"\\x\"}", b"{\"name\":\"\\u12\"}", b"{\"name\":01}", b"{\"name\":.5}",
                 b"{\"name\":+1}", b"{\"name\":tru}", b"/*c*/{\"name\":\"x\"}",
                 b"\xef\xbb\xbf{\"name\":\"x\"}", b"\xff\xfe{}"]
    for i, raw in enumerate(malformed):
        add("malformed json %d %r" % (i, raw[:20]), "POST", "/api/v1/teams", raw, JSON, 400, "malformed_json")
    for route, method in (("/api/v1/users", "POST"), ("/api/v1/settings", "PATCH"),
                          ("/api/v1/provisioning/slack/config", "PUT"),
                          ("/api/v1/teams/%d/members" % team_id, "POST"),
                          ("/api/v1/provisioning/slack/syncs", "POST")):
        add("malformed json on " + route, method, route, b"{\"a\":", JSON, 400, "malformed_json")
    # -- deep JSON
    for n in (17, 100, 5000):
        add("deep array %d" % n, "POST", "/api/v1/teams", b"{\"name\":" + _deep(n) + b"}", JSON,
            400, "json_too_deep")
    add("deep object 40", "POST", "/api/v1/teams", b"{\"a\":" * 40 + b"1" + b"}" * 40, JSON, 400,
        "json_too_deep")
    # -- wrong types, field by field
    wrong = [1, -1, 1.5, True, False, None, [], ["x"], {}, {"a": 1}]
    for v in wrong:
        add("teams.name = %s" % json.dumps(v), "POST", "/api/v1/teams", json.dumps({"name": v}).encode(),
            JSON, 422, "validation_failed")
    for field in ("email", "first_name", "last_name", "display_name", "job_title", "role"):
        for v in (7, True, [], {}):
            body = {"email": "typed%s@example.test" % field, field: v}
            add("users.%s = %s" % (field, json.dumps(v)), "POST", "/api/v1/users", json.dumps(body).encode(),
                JSON, 422, "validation_failed")
    # null in a PATCH leaves the setting as it is (200, nothing changes).
    for v in (None,):
        add("settings.automatic_invites = null", "PATCH", "/api/v1/settings",
            b"{\"automatic_invites\":null}", JSON, 200, None)
        add("settings.sync_retention_days = null", "PATCH", "/api/v1/settings",
            b"{\"sync_retention_days\":null}", JSON, 200, None)
    for v in ("yes", 1, 0, [], "true"):
        add("settings.automatic_invites = %s" % json.dumps(v), "PATCH", "/api/v1/settings",
            json.dumps({"automatic_invites": v}).encode(), JSON, 422, "validation_failed")
    for v in ("30", 30.5, -1, 0, 6, 3651, True, []):
        add("settings.sync_retention_days = %s" % json.dumps(v), "PATCH", "/api/v1/settings",
            json.dumps({"sync_retention_days": v}).encode(), JSON, 422, "validation_failed")
    for v in ("1", -1, 0, 1.5, None, True, [], 99999999999):
        add("members.user_id = %s" % json.dumps(v), "POST", "/api/v1/teams/%d/members" % team_id,
            json.dumps({"user_id": v}).encode(), JSON, 422 if v != 99999999999 else 404, None)
    # -- huge numbers
    for raw in (b"9223372036854775808", b"-9223372036854775809", b"1e400", b"-1e400",
                b"123456789012345678901234567890", b"1e-400", b"0.0000000000000000000001e-300"):
        add("sync_retention_days = %s" % raw.decode(), "PATCH", "/api/v1/settings",
            b"{\"sync_retention_days\":" + raw + b"}", JSON, 422, "validation_failed")
        # Past int64, json-c saturates: an id that exists nowhere (404).
        big = raw in (b"9223372036854775808", b"123456789012345678901234567890")
        add("user_id = %s" % raw.decode(), "POST", "/api/v1/teams/%d/members" % team_id,
            b"{\"user_id\":" + raw + b"}", JSON, 404 if big else 422,
            "not_found" if big else "validation_failed")
    # -- unknown and missing fields
    add("teams: no name", "POST", "/api/v1/teams", b"{}", JSON, 422, "validation_failed")
    add("teams: empty name", "POST", "/api/v1/teams", b"{\"name\":\"\"}", JSON, 422, "validation_failed")
    add("teams: blank name", "POST", "/api/v1/teams", b"{\"name\":\"   \"}", JSON, 422, "validation_failed")
    add("teams: name of 201", "POST", "/api/v1/teams", json.dumps({"name": "n" * 201}).encode(), JSON,
        422, "validation_failed")
    add("teams: unknown key", "POST", "/api/v1/teams", b"{\"name\":\"x\",\"owner\":1}", JSON, 422,
        "unknown_field")
    add("users: no email", "POST", "/api/v1/users", b"{\"first_name\":\"x\"}", JSON, 422, "validation_failed")
    for bad in ("no-at-sign", "@example.test", "a@", "a@@b.c", "a b@c.d", "a@b", "x" * 250 + "@e.test",
                "' OR 1=1 --@x.com", "=cmd|' /C calc'!A0@x.com", "a@b.c\r\nBcc: evil@x.com"):
        add("users.email = %r" % bad[:30], "POST", "/api/v1/users", json.dumps({"email": bad}).encode(), JSON,
            422, "validation_failed")
    add("users.role = owner", "POST", "/api/v1/users",
        json.dumps({"email": "role@example.test", "role": "owner"}).encode(), JSON, 422, "validation_failed")
    add("settings: unknown key", "PATCH", "/api/v1/settings", b"{\"admin\":true}", JSON, 422,
        "unknown_field")
    add("session: email number", "POST", "/api/v1/session", b"{\"email\":1,\"password\":\"x\"}", JSON,
        422, "validation_failed")
    add("session: missing password", "POST", "/api/v1/session", b"{\"email\":\"a@b.c\"}", JSON,
        422, "validation_failed")
    add("syncs.dry_run = \"true\"", "POST", "/api/v1/provisioning/slack/syncs", b"{\"dry_run\":\"true\"}",
        JSON, 422, "validation_failed")
    # -- media type and size
    add("no content type", "POST", "/api/v1/teams", b"{\"name\":\"x\"}", {}, 415, "unsupported_media_type")
    add("text/plain", "POST", "/api/v1/teams", b"{\"name\":\"x\"}", {"Content-Type": "text/plain"}, 415,
        "unsupported_media_type")
    add("form encoded", "POST", "/api/v1/teams", b"name=x",
        {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type")
    add("70 KiB body", "POST", "/api/v1/teams", json.dumps({"name": "x" * 70 * 1024}).encode(), JSON, 413,
        "body_too_large")
    add("2 MiB body (nginx's limit)", "POST", "/api/v1/teams", json.dumps({"name": "x" * (2 << 20)}).encode(),
        JSON, 413, "body_too_large")
    # -- path tricks: never another route, never a file
    for p in ("/api/v1/teams/../users", "/api/v1//teams/1/members", "/api/v1/users/%2e%2e/1",
              "/api/v1/users/-1", "/api/v1/users/1e3", "/api/v1/users/0x10", "/api/v1/users/1.0",
              "/api/v1/users/%201", "/api/v1/users/1;x", "/api/v1/users/abc",
              "/api/v1/teams/1/members/abc", "/api/v1/teams/abc/members", "/API/V1/TEAMS",
              "/api/v1/teams/", "/api/v2/teams", "/api/v1/users/99999999999999999999999",
              "/api/v1/provisioning/slack/syncs/1/export.csv/..", "/api/v1/%2e%2e/%2e%2e/etc/passwd"):
        add("path %s" % p, "GET", p, None, {}, None, None)
    # -- query strings with hostile text: never a 5xx
    for q in ("q=' OR 1=1 --", "q=%00", "q=%ff%fe", "q=" + "x" * 3000, "status=deleted' --",
              "limit=-1", "limit=1e9", "limit=abc", "cursor=' UNION SELECT 1 --", "cursor=%00%00",
              "source=../../", "limit=99999999999999999999"):
        add("users?" + q[:30], "GET", "/api/v1/users?" + q.replace(" ", "%20"), None, {}, None, None)
    for q in ("outcome=x' OR '1'='1", "changed=;DROP TABLE users", "limit=0", "cursor=zz"):
        add("syncs?" + q[:30], "GET", "/api/v1/provisioning/slack/syncs?" + q.replace(" ", "%20"),
            None, {}, None, None)
    # -- the OAuth callback: CRLF and junk in its parameters never reach a header
    for q in ("state=x%0d%0aLocation:%20http://evil.example&code=y",
              "error=access_denied%0d%0aSet-Cookie:%20pv_session=evil",
              "code=%0d%0a%0d%0a<script>&state=" + "ab" * 32,
              "state=" + "%00" * 40, "state=" + "a" * 5000, "error=" + "%e2%80%ae" * 10):
        add("callback " + q[:30], "GET", "/oauth/slack/callback?" + q, None, {}, 302, None)
    return k


def _check_error(name, r, status, code):
    if status is not None:
        assert r.status == status, (name, r)
    else:
        assert r.status < 500, (name, r)
    if r.status >= 400:
        assert r.header("Content-Type") == "application/json; charset=utf-8", (name, r.headers)
        err = r.json["error"]
        assert isinstance(err["message"], str) and err["message"], (name, err)
        if code:
            assert err["code"] == code, (name, err)


def test_hostile_requests(ctx):
    org = ctx.new_org()
    team = org.admin.post("/api/v1/teams", {"name": "Hostile base"}).json["team"]["id"]
    user = ctx.new_user(org)
    before = digest(ctx, org)
    cases = kinds(team, user)
    names = [c[0] for c in cases]
    assert len(set(names)) == len(names), "two kinds share a name"
    assert len(cases) >= 150, len(cases)
    for name, method, path, raw, headers, status, code in cases:
        r = org.admin.request(method, path, raw=raw, headers=headers)
        _check_error(name, r, status, code)
        if r.status in (301, 302, 303, 307, 308):
            loc = r.header("Location") or ""
            assert "\r" not in loc and "\n" not in loc and "evil" not in loc, (name, loc)
        for h, v in r.headers:
            assert h.lower() != "set-cookie" or "evil" not in v, (name, h, v)
        assert digest(ctx, org) == before, "%s changed the organization" % name
    # Bad framing, on a raw socket: nginx refuses it and nothing is stored.
    framing = [
        b"POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{\"name\":\"short\"}",
        b"POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"name\":\"x\"}\r\n0\r\n\r\n",
        b"POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 13\r\nContent-Length: 14\r\n\r\n{\"name\":\"xy\"}",
        b"POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: -5\r\n\r\n{\"name\":\"x\"}",
        b"GET /api/v1/teams HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n",
        b"GET /api/v1/teams HTTP/1.1\r\nHost: x\r\nCookie: pv_session=" + b"b" * 70000 + b"\r\n\r\n",
        b"GET /api/v1/teams HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ]
    cookie = "; ".join("%s=%s" % kv for kv in org.admin.cookies.items()).encode()
    for i, raw in enumerate(framing):
        raw = raw.replace(b"Host: x\r\n", b"Host: x\r\nCookie: " + cookie + b"\r\n", 1) \
            if b"Cookie:" not in raw else raw
        s = socket.create_connection(("127.0.0.1", ctx.port), timeout=30)
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        finally:
            s.close()
        status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/") else 0
        assert status in (0, 400, 411, 413, 431, 494, 505), (i, got[:200])
        assert digest(ctx, org) == before, "framing %d changed the organization" % i
    print("hostile: %d kinds through the API + %d framings on a raw socket, 0 stored, 0 5xx"
          % (len(cases), len(framing)))


INJECTIONS = ["' OR '1'='1", "'; DROP TABLE users; --", "\" OR \"\"=\"", "1; SELECT SLEEP(5)",
              "admin'/*", "\\'; --", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3",
              "@SUM(A1:A9)", "=cmd|' /C calc'!A0", "\t=1", "%s%s%n", "<script>alert(1)</script>"]


def test_injection_text_is_stored_as_text(ctx):
    org = ctx.new_org()
    n = 0
    for i, text in enumerate(INJECTIONS):
        r = org.admin.post("/api/v1/teams", {"name": text})
        assert r.status == 201, (text, r)
        assert r.json["team"]["name"] == text
        body = {"email": "inj%d@example.test" % i, "first_name": text, "last_name": text,
                "display_name": text, "job_title": text}
        r = org.admin.post("/api/v1/users", body)
        assert r.status == 201, (text, r)
        got = org.admin.get("/api/v1/users/%d" % r.json["user"]["id"]).json["user"]
        for f in ("first_name", "last_name", "display_name", "job_title"):
            assert got[f] == text, (f, got[f], text)
        n += 5
    teams = {t["name"] for t in org.admin.get("/api/v1/teams", query={"limit": 100}).json["teams"]}
    assert set(INJECTIONS) <= teams
    # The database is whole: every table still there, other organizations untouched.
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ?", org.id) == [[str(len(INJECTIONS) + 1)]]
    print("injection: %d strings in %d text fields, stored as text" % (len(INJECTIONS), n))


def test_oauth_state_abuse(ctx):
    emu_reset(ctx)
    a, b = ctx.new_org(), ctx.new_org()
    cb = consent(ctx, start(a))
    assert finish(ctx, a, cb) == {"connected": "1"}
    sealed = ctx.sql("SELECT access_token_sealed FROM provisioning_integrations WHERE organization_id = ?", a.id)
    for _ in range(3):  # replayed, again and again
        assert finish(ctx, a, cb) == {"error": "state_used"}
    assert ctx.sql("SELECT access_token_sealed FROM provisioning_integrations WHERE organization_id = ?",
                   a.id) == sealed
    cb = consent(ctx, start(b))
    ctx.sql("UPDATE oauth_states SET expires_at = NOW() - INTERVAL 1 SECOND WHERE organization_id = ?", b.id)
    assert finish(ctx, b, cb) == {"error": "state_expired"}
    assert finish(ctx, b, "/oauth/slack/callback?code=x&state=" + "cd" * 32) == {"error": "state_unknown"}
    assert finish(ctx, b, "/oauth/slack/callback?code=x") == {"error": "state_missing"}
    c = ctx.new_org()
    cb = consent(ctx, start(c))
    assert finish(ctx, b, cb, client=b.admin) == {"error": "session_mismatch"}
    for org in (b, c):
        assert org.admin.get("/api/v1/provisioning/slack").json["status"] == "disconnected"


def _routes(ctx):
    out = subprocess.run([ctx.bin("provisioning-api"), "--routes"], capture_output=True, text=True,
                         check=True).stdout
    routes = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
    assert len(routes) >= 25, routes
    return routes


# Routes anyone may call: sign-in, the OAuth callback (it checks the session
# itself), the password reset (the same answer for any address), and the
# operator's endpoints (/metrics answers only configured addresses, which
# include the tests' loopback).  Each still must not leak or 5xx.
PUBLIC = {("POST", "/api/v1/session"), ("GET", "/oauth/slack/callback"),
          ("POST", "/api/v1/password-reset"), ("POST", "/api/v1/password-reset/confirm"),
          ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
MEMBER_OK = {("GET", "/api/v1/me"), ("DELETE", "/api/v1/session")}


def test_isolation_matrix(ctx):
    emu_reset(ctx)
    from test_slack_connection import connect
    a = ctx.new_org()
    assert connect(ctx, a) == {"connected": "1"}
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": False, "mappings": []},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert a.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    marker = ctx.unique("isolation")
    team = a.admin.post("/api/v1/teams", {"name": "Team " + marker}).json["team"]["id"]
    uid = ctx.new_user(a, email="%s@example.test" % marker)
    assert a.admin.post("/api/v1/teams/%d/members" % team, {"user_id": uid}).status == 201
    sid = a.admin.post("/api/v1/provisioning/slack/syncs").json["sync"]["id"]
    ctx.sync_pass("--org", str(a.id))
    member_pw = "member password 123"
    member_email = "%s@example.test" % ctx.unique("member")
    ctx.new_user(a, email=member_email, password=member_pw)
    member = ctx.client()
    assert member.post("/api/v1/session", {"email": member_email, "password": member_pw}).status == 200
    b = ctx.new_org()
    secrets = [marker.encode(), a.admin_email.encode()]
    # The markers are where A's own administrator looks (so finding none
    # elsewhere means something).
    assert marker.encode() in a.admin.get("/api/v1/teams").body
    assert marker.encode() in a.admin.get("/api/v1/users", query={"limit": 100}).body
    before = digest(ctx, a)
    tried = leaks = 0
    for method, pattern in _routes(ctx):
        ids = iter([team, uid] if "/teams/" in pattern else [uid] if "/users/" in pattern else [sid])
        path = "/".join(str(next(ids)) if part == "{id}" else part for part in pattern.split("/"))
        body = b"{}" if method in ("POST", "PUT", "PATCH") else None
        for who, client in (("anonymous", ctx.client()), ("member", member), ("other admin", b.admin)):
            if (method, pattern) == ("DELETE", "/api/v1/session"):
                continue  # would sign the member out; covered by test_api_session
            r = client.request(method, path, raw=body, headers=JSON if body else {})
            tried += 1
            if (method, pattern) in PUBLIC:
                assert r.status < 500, (who, method, path, r)
            elif who == "anonymous":
                _check_error(path, r, 401, "not_signed_in")
            elif who == "member" and (method, pattern) not in MEMBER_OK:
                _check_error(path, r, 403, None)
            elif who == "other admin" and "{id}" in pattern:
                assert r.status in (404, 422), (who, method, path, r)
            found = [s for s in secrets if s in r.body]
            if found:
                leaks += 1
            assert not found, (who, method, path, r.body[:300])
    assert digest(ctx, a) == before, "another organization or a member changed A"
    print("isolation: %d route x identity requests, %d leaks" % (tried, leaks))
