"""Integration tests of lib/provider/slack/slack.c against the Slack emulator.

Each test_* takes `ctx` (attributes `emulator_url`, `root`, and
`run(cmd_list, env=None, input=None)` returning a CompletedProcess with text
output), drives the client through build/rel/slack-client-probe
(tests/slack-client-probe.c) and checks its output and the emulator's
request record.  Python 3 standard library only; plain asserts.

Every test starts with POST /_emulator/reset, so the tests are independent
and may run in any order.
"""
import http.client
import json
import math
import os
import time
import urllib.parse
import urllib.request

ALL = "xoxb-demo-all-scopes"
USERS_ONLY = "xoxb-demo-users-only"
FREE = "xoxb-free-all-scopes"
DEMO_TEAM = "T0DEMO0001"
APP = ("1111111111.2222222222", "demo-client-secret-0123456789abcdef")
ROT = ("3333333333.4444444444", "rotate-client-secret-0123456789abcdef")
CALLBACK = "http://127.0.0.1:9/oauth/slack/callback"
PROBE = os.path.join("build", "rel", "slack-client-probe")


# ---- helpers ---------------------------------------------------------------

def _emu(ctx, method, path, body=None):
    """Calls the emulator's control API; returns (status, parsed JSON)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ctx.emulator_url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _reset(ctx, faults=None):
    status, _ = _emu(ctx, "POST", "/_emulator/reset")
    assert status == 200
    if faults:
        status, body = _emu(ctx, "POST", "/_emulator/faults", faults)
        assert status == 200, body


def _record(ctx):
    status, body = _emu(ctx, "GET", "/_emulator/record")
    assert status == 200
    return body


def _probe_path(ctx):
    # SLACK_CLIENT_PROBE may name another build (e.g. a sanitizer one).
    path = os.environ.get("SLACK_CLIENT_PROBE") or os.path.join(ctx.root, PROBE)
    if not os.path.exists(path):
        done = ctx.run(["make", "-C", ctx.root, "--no-print-directory", PROBE])
        assert done.returncode == 0, done.stderr
    return path


def _probe(ctx, args, client=APP, api_base=None, **settings):
    """Runs the probe; settings become PROBE_* variables (attempts=3 ...)."""
    env = dict(os.environ)
    env.update({
        "SLACK_API_BASE": api_base or ctx.emulator_url + "/api/",
        "SLACK_AUTHORIZE_URL": ctx.emulator_url + "/oauth/v2/authorize",
        "SLACK_CLIENT_ID": client[0],
        "SLACK_CLIENT_SECRET": client[1],
        "PROBE_BASE_MS": "50",
        "PROBE_CAP_MS": "200",
        "PROBE_TIMEOUT_MS": "10000",
    })
    for key, value in settings.items():
        env["PROBE_" + key.upper()] = str(value)
    return ctx.run([_probe_path(ctx)] + [str(a) for a in args], env=env)


def _fields(out):
    """key=value lines of the probe as a dict."""
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _error(done):
    """The probe's error line as a dict (kind, code, needed, ...)."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    line = [l for l in done.stdout.splitlines() if l.startswith("error ")][0]
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    fields["message"] = _fields(done.stdout).get("message", "")
    return fields


def _users(ctx, token, limit, **settings):
    """(ids in order, summary dict) of a successful users run."""
    done = _probe(ctx, ["users", token, limit], **settings)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("summary ")
    summary = dict(p.split("=", 1) for p in lines[-1].split()[1:])
    return lines[:-1], summary


def _workspace_ids(ctx, team):
    status, body = _emu(ctx, "GET", "/_emulator/workspace/%s?full=1" % team)
    assert status == 200, body
    return [u["id"] for u in body["users"]]


def _no_secret_logged(done, *secrets):
    for secret in secrets:
        assert secret not in done.stderr and secret not in done.stdout, secret


def _authorize_code(ctx, client, redirect=CALLBACK):
    """Builds the authorize URL with the client and follows it once."""
    done = _probe(ctx, ["authorize-url", "users:read,users:read.email,usergroups:read,team:read",
                        redirect, "state-123"], client=client)
    assert done.returncode == 0, done.stdout + done.stderr
    url = urllib.parse.urlsplit(done.stdout.strip())
    query = urllib.parse.parse_qs(url.query)
    assert query["client_id"] == [client[0]]
    assert query["redirect_uri"] == [redirect]
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", url.path + "?" + url.query)
    resp = conn.getresponse()
    resp.read()
    location = resp.getheader("Location") or ""
    conn.close()
    assert resp.status == 302, (resp.status, location)
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert back["state"] == ["state-123"]
    return back["code"][0]


def _install_token(ctx, team, client=APP):
    status, body = _emu(ctx, "POST", "/_emulator/install", {"team": team})
    assert status == 200, body
    code = _authorize_code(ctx, client)
    done = _probe(ctx, ["oauth", code, CALLBACK], client=client)
    assert done.returncode == 0, done.stdout + done.stderr
    return _fields(done.stdout)


# ---- pagination ------------------------------------------------------------

def test_pagination_every_user_once(ctx):
    _reset(ctx)
    status, body = _emu(ctx, "POST", "/_emulator/generate",
                        {"team": "T0PAGES01", "users": 1234, "groups": 4,
                         "members_per_group": 5, "seed": 11})
    assert status == 200, body
    token = _install_token(ctx, "T0PAGES01")["access_token"]
    expected = sorted(_workspace_ids(ctx, "T0PAGES01"))
    assert len(expected) == 1234
    for limit in (1, 7, 200, 1000):
        _emu(ctx, "POST", "/_emulator/record/reset")
        ids, summary = _users(ctx, token, limit)
        assert len(ids) == len(set(ids)), "a user came twice with limit %d" % limit
        assert sorted(ids) == expected, "limit %d" % limit
        pages = math.ceil(len(expected) / limit)
        assert int(summary["pages"]) == pages
        rec = _record(ctx)
        calls = [r for r in rec["requests"] if r["method"] == "users.list"]
        assert len(calls) == pages
        assert all(str(r["limit"]) == str(limit) for r in calls)
        assert not calls[0]["cursor"]
        assert all(r["cursor"] for r in calls[1:])


def test_pagination_demo_workspace_flags(ctx):
    _reset(ctx)
    ids, summary = _users(ctx, ALL, 7)
    assert sorted(ids) == sorted(_workspace_ids(ctx, DEMO_TEAM))
    assert summary["users"] == "33" and summary["pages"] == "5"
    assert summary["deleted"] == "2"          # a member and a former guest
    assert summary["guests"] == "4"           # 2 multi- + 2 single-channel


def test_invalid_cursor_restarts_once(ctx):
    _reset(ctx, [{"method": "users.list", "kind": "error", "error": "invalid_cursor",
                  "after": 3, "count": 1}])
    ids, summary = _users(ctx, ALL, 5)
    assert summary["restarts"] == "1"
    assert set(ids) == set(_workspace_ids(ctx, DEMO_TEAM))
    # a second invalid_cursor (on the restart itself) fails the listing
    _reset(ctx, [{"method": "users.list", "kind": "error", "error": "invalid_cursor",
                  "after": 3, "count": 0}])
    err = _error(_probe(ctx, ["users", ALL, 5]))
    assert err["code"] == "invalid_cursor" and err["kind"] == "fatal"


# ---- retries ---------------------------------------------------------------

def test_retry_on_429_honours_retry_after(ctx):
    _reset(ctx, [{"method": "users.list", "kind": "http429", "retry_after": 1,
                  "after": 2, "count": 2}])
    started = time.monotonic()
    ids, _ = _users(ctx, ALL, 10)
    elapsed = time.monotonic() - started
    assert sorted(ids) == sorted(_workspace_ids(ctx, DEMO_TEAM))
    assert elapsed >= 2.0, elapsed
    rec = _record(ctx)
    assert rec["retry_after_violations"] == 0, rec["retry_after_violations_by_method"]
    calls = [r for r in rec["requests"] if r["method"] == "users.list"]
    limited = [i for i, r in enumerate(calls) if r["status"] == 429]
    assert len(limited) == 2
    for i in limited:                       # the SAME page is asked again
        assert calls[i + 1]["cursor"] == calls[i]["cursor"]
        assert calls[i]["cursor"]           # a mid-listing page, not page 1


def test_retry_on_500(ctx):
    _reset(ctx, [{"method": "users.list", "kind": "http500", "after": 1, "count": 2}])
    ids, _ = _users(ctx, ALL, 10)
    assert sorted(ids) == sorted(_workspace_ids(ctx, DEMO_TEAM))
    statuses = [r["status"] for r in _record(ctx)["requests"] if r["method"] == "users.list"]
    assert statuses.count(500) == 2


def test_retry_on_truncated_json(ctx):
    _reset(ctx, [{"method": "users.list", "kind": "truncate", "after": 1, "count": 1},
                 {"method": "users.list", "kind": "truncate", "declared_length": True,
                  "after": 2, "count": 1}])
    ids, _ = _users(ctx, ALL, 10)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(_workspace_ids(ctx, DEMO_TEAM))
    _, body = _emu(ctx, "GET", "/_emulator/faults")
    rules = body.get("faults", body) if isinstance(body, dict) else body
    assert rules and all(r["fired"] == 1 for r in rules), rules


def test_retry_on_timeout(ctx):
    _reset(ctx, [{"method": "team.info", "kind": "slow", "delay_ms": 1500, "count": 1}])
    done = _probe(ctx, ["team", ALL], timeout_ms=500)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _fields(done.stdout)["id"] == DEMO_TEAM
    assert "retrying" in done.stderr


def test_gives_up_after_attempts(ctx):
    _reset(ctx, [{"method": "users.list", "kind": "http500"}])
    err = _error(_probe(ctx, ["users", ALL, 10], attempts=3))
    assert err["kind"] == "retryable" and err["code"] == "http_500"
    assert err["http"] == "500"
    assert "3 attempts" in err["message"]
    assert _record(ctx)["counts"]["users.list"] == 3


def test_429_storm_gives_up_retryable(ctx):
    _reset(ctx, [{"method": "team.info", "kind": "http429", "retry_after": 1}])
    started = time.monotonic()
    err = _error(_probe(ctx, ["team", ALL], attempts=3))
    assert time.monotonic() - started >= 2.0
    assert err["kind"] == "retryable" and err["code"] == "ratelimited"
    assert err["http"] == "429"
    rec = _record(ctx)
    assert rec["counts"]["team.info"] == 3
    assert rec["retry_after_violations"] == 0


def test_unreachable_is_retryable(ctx):
    # port 9 (discard) on loopback: nobody listens there
    err = _error(_probe(ctx, ["auth", ALL], api_base="http://127.0.0.1:9/api/",
                        attempts=2))
    assert err["kind"] == "retryable" and err["code"] == "connect_failed"
    assert err["http"] == "0"


# ---- error kinds -----------------------------------------------------------

def test_token_revoked_is_auth(ctx):
    _reset(ctx)
    status, _ = _emu(ctx, "POST", "/_emulator/tokens/revoke", {"token": ALL})
    assert status == 200
    done = _probe(ctx, ["users", ALL, 200])
    err = _error(done)
    assert err["kind"] == "auth" and err["code"] == "token_revoked"
    assert "reconnect" in err["message"]
    _no_secret_logged(done, ALL)
    assert _record(ctx)["counts"]["users.list"] == 1      # not retried


def test_invalid_auth_is_auth(ctx):
    _reset(ctx)
    done = _probe(ctx, ["team", "xoxb-not-a-real-token"])
    err = _error(done)
    assert err["kind"] == "auth" and err["code"] == "invalid_auth"
    _no_secret_logged(done, "xoxb-not-a-real-token")


def test_token_expired_is_expired(ctx):
    _reset(ctx)
    _emu(ctx, "POST", "/_emulator/tokens/expire", {"token": ALL})
    err = _error(_probe(ctx, ["auth", ALL]))
    assert err["kind"] == "expired" and err["code"] == "token_expired"


def test_missing_scope_names_scope(ctx):
    _reset(ctx)
    err = _error(_probe(ctx, ["groups", USERS_ONLY]))
    assert err["kind"] == "scope" and err["code"] == "missing_scope"
    assert err["needed"] == "usergroups:read"
    assert "usergroups:read" in err["message"]
    err = _error(_probe(ctx, ["team", USERS_ONLY]))
    assert err["kind"] == "scope" and err["needed"] == "team:read"


def test_plan_upgrade_required_on_free_workspace(ctx):
    _reset(ctx)
    err = _error(_probe(ctx, ["groups", FREE, "users"]))
    assert err["kind"] == "plan" and err["code"] == "plan_upgrade_required"
    err = _error(_probe(ctx, ["members", FREE, "S0ANY"]))
    assert err["kind"] == "plan"


def test_retryable_envelope_codes_are_retried(ctx):
    _reset(ctx, [{"method": "auth.test", "kind": "error", "error": "internal_error",
                  "count": 2}])
    done = _probe(ctx, ["auth", ALL])
    assert done.returncode == 0, done.stdout + done.stderr
    assert _fields(done.stdout)["team_id"] == DEMO_TEAM
    assert _record(ctx)["counts"]["auth.test"] == 3


# ---- other methods ---------------------------------------------------------

def test_groups_and_members(ctx):
    _reset(ctx)
    done = _probe(ctx, ["groups", ALL, "users", "disabled"])
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [l.split("\t") for l in done.stdout.splitlines() if not l.startswith("summary")]
    groups = {r[0]: r for r in rows}
    assert len(groups) == 9
    disabled = [r for r in rows if r[4] == "1"]
    assert len(disabled) == 1 and disabled[0][2] == "phoenix"
    for r in rows:
        assert int(r[3]) == int(r[5])        # user_count (a string) = members
    eng = next(r for r in rows if r[2] == "engineering")
    done = _probe(ctx, ["members", ALL, eng[0]])
    assert done.returncode == 0, done.stdout + done.stderr
    members = [l for l in done.stdout.splitlines() if not l.startswith("summary")]
    assert members == eng[6].split(",")
    # without include_disabled the disabled group is not listed
    done = _probe(ctx, ["groups", ALL])
    assert "summary groups=8" in done.stdout
    err = _error(_probe(ctx, ["members", ALL, "S0NOSUCH"]))
    assert err["kind"] == "not_found" and err["code"] == "no_such_subteam"


def test_team_and_user_info(ctx):
    _reset(ctx)
    done = _probe(ctx, ["team", ALL])
    assert done.returncode == 0
    team = _fields(done.stdout)
    assert team["id"] == DEMO_TEAM and team["name"] == "Acme Demo"
    assert team["domain"] == "acme-demo" and team["email_domain"] == "acme.example"
    done = _probe(ctx, ["info", ALL, "U01OWNER01"])
    assert done.returncode == 0, done.stdout + done.stderr
    user = _fields(done.stdout)
    assert user["id"] == "U01OWNER01" and "primary_owner" in user["flags"]
    assert user["email"] != "(null)"
    done = _probe(ctx, ["info", "xoxb-demo-no-email", "U01OWNER01"])
    assert _fields(done.stdout)["email"] == "(null)"
    err = _error(_probe(ctx, ["info", ALL, "U0NOSUCH99"]))
    assert err["kind"] == "not_found" and err["code"] == "user_not_found"


def test_oauth_exchange_refresh_and_revoke(ctx):
    _reset(ctx)
    # app without rotation
    first = _install_token(ctx, DEMO_TEAM)
    assert first["access_token"].startswith("xoxb-")
    assert first["refresh_token"] == "(null)" and first["expires_in"] == "0"
    assert first["team_id"] == DEMO_TEAM and first["authed_user_id"] != "(null)"
    # app with rotation
    rot = _install_token(ctx, DEMO_TEAM, client=ROT)
    assert rot["refresh_token"].startswith("xoxe-1-") and int(rot["expires_in"]) > 0
    done = _probe(ctx, ["refresh", rot["refresh_token"]], client=ROT)
    assert done.returncode == 0, done.stdout + done.stderr
    fresh = _fields(done.stdout)
    assert fresh["access_token"] != rot["access_token"]
    assert fresh["refresh_token"] != rot["refresh_token"]
    err = _error(_probe(ctx, ["refresh", rot["refresh_token"]], client=ROT))
    assert err["kind"] == "auth" and err["code"] == "invalid_refresh_token"
    # wrong client secret
    err = _error(_probe(ctx, ["oauth", "nonsense-code", CALLBACK],
                        client=(APP[0], "wrong-secret")))
    assert err["code"] == "bad_client_secret" and err["kind"] == "fatal"
    # revoke, then the token is refused
    done = _probe(ctx, ["revoke", first["access_token"]])
    assert done.returncode == 0 and "revoked" in done.stdout
    _no_secret_logged(done, first["access_token"])
    err = _error(_probe(ctx, ["auth", first["access_token"]]))
    assert err["kind"] == "auth" and err["code"] == "token_revoked"
