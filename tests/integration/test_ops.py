"""What an operator relies on: /healthz, /readyz, /metrics, the API's own log
file (plain and JSON) and an access log without OAuth secrets (issue 15,
issue 12 items 5 and 7)."""
import json
import os
import re
import signal


def read_log(ctx, name):
    path = os.path.join(ctx.dir, name)
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def log_size(ctx, name):
    try:
        return os.path.getsize(os.path.join(ctx.dir, name))
    except FileNotFoundError:
        return 0


def log_since(ctx, name, offset):
    with open(os.path.join(ctx.dir, name), "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def test_healthz_is_json_without_a_session(ctx):
    r = ctx.client().get("/healthz")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json; charset=utf-8", r.headers
    assert r.json == {"status": "ok"}, r
    r = ctx.client().get("/healthz?probe=1")
    assert r.status == 200 and r.json == {"status": "ok"}, r


def test_readyz_says_ready_then_schema_then_database(ctx):
    c = ctx.client()
    r = c.get("/readyz")
    assert r.status == 200 and r.json == {"status": "ready"}, r
    # A gap below the newest migration counts too.
    last = ctx.sql("SELECT MIN(version) FROM schema_migrations")[0][0]
    assert re.match(r"^\d{3}_", last), last
    ctx.sql("DELETE FROM schema_migrations WHERE version = ?", last)
    try:
        r = c.get("/readyz")
        assert r.status == 503, r
        assert r.json == {"status": "not_ready", "reason": "schema"}, r
        assert r.header("Retry-After") == "5"
        # Liveness does not depend on the schema.
        assert c.get("/healthz").status == 200
    finally:
        ctx.sql("INSERT INTO schema_migrations (version) VALUES (?)", last)
    assert c.get("/readyz").status == 200
    ctx.stack("db-stop")
    try:
        ctx.wait("readyz to see the database gone",
                 lambda: c.get("/readyz").status == 503, seconds=30)
        r = c.get("/readyz")
        assert r.json == {"status": "not_ready", "reason": "database"}, r
        # Nothing that helps an attacker: no error text, no host, no version.
        assert b"mysql" not in r.body.lower() and b"socket" not in r.body.lower(), r
        assert c.get("/healthz").status == 200
    finally:
        ctx.stack("db-start")
    ctx.wait("readyz to come back", lambda: c.get("/readyz").status == 200, seconds=60)


def test_health_endpoints_are_never_the_page_when_the_api_is_down(ctx):
    with open(os.path.join(ctx.dir, "api.pid")) as f:
        pids = [int(p) for p in f.read().split()]
    c = ctx.client()
    try:
        for p in pids:
            os.kill(p, signal.SIGTERM)
        ctx.wait("the API processes to stop", lambda: c.get("/healthz").status == 503)
        for path in ("/healthz", "/readyz", "/metrics"):
            r = c.get(path)
            assert r.status == 503, (path, r)
            assert r.header("Content-Type") == "application/json; charset=utf-8", (path, r.headers)
            assert b"<html" not in r.body.lower(), (path, r)
    finally:
        ctx.stack("api-restart")
    ctx.wait("the API to come back", lambda: c.get("/healthz").status == 200)


def metric(text, name, **labels):
    """The value of one sample, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, "not a Prometheus sample line: %r" % line
        if m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if got == {k: str(v) for k, v in labels.items()}:
            return float(m.group(4))
    return None


def test_metrics_count_requests_of_every_process_without_organization_labels(ctx):
    org = ctx.new_org()
    c = ctx.client()
    before = c.get("/metrics")
    assert before.status == 200, before
    assert before.header("Content-Type").startswith("text/plain; version=0.0.4"), before.headers
    n0 = metric(before.text, "provisioning_http_requests_total",
                method="GET", route="/api/v1/users/{id}", status="404") or 0
    h0 = metric(before.text, "provisioning_http_request_duration_seconds_count",
                method="GET", route="/api/v1/users/{id}") or 0
    # Nine requests on fresh connections spread over the API processes; the
    # count is exact only because the processes share their counters.
    for i in range(9):
        assert org.admin.get("/api/v1/users/%d" % (900000 + i)).status == 404
    after = c.get("/metrics").text
    assert metric(after, "provisioning_http_requests_total",
                  method="GET", route="/api/v1/users/{id}", status="404") == n0 + 9
    assert metric(after, "provisioning_http_request_duration_seconds_count",
                  method="GET", route="/api/v1/users/{id}") == h0 + 9
    inf = metric(after, "provisioning_http_request_duration_seconds_bucket",
                 method="GET", route="/api/v1/users/{id}", le="+Inf")
    assert inf == h0 + 9
    # Unknown paths share one series, whatever was probed.
    c.get("/api/v1/no-such-%s" % ctx.unique())
    page = c.get("/metrics").text
    assert metric(page, "provisioning_http_requests_total",
                  method="other", route="unmatched", status="404") >= 1
    assert "no-such" not in page
    # The sync side, read from the database; no organization anywhere.
    assert metric(page, "provisioning_database_up") == 1
    assert metric(page, "provisioning_sync_queue_oldest_seconds") is not None
    assert metric(page, "provisioning_integrations", status="needs_reconnection") is not None
    assert metric(page, "provisioning_sync_rows_written_24h", kind="created") is not None
    assert metric(page, "provisioning_sync_duration_seconds_24h", le="+Inf") is not None
    # Every label is one of a fixed few, so the series do not grow with
    # the organizations.
    names = set(re.findall(r'[{,](\w+)="', page))
    assert {"method", "route", "status", "le", "kind"} <= names, names
    assert names <= {"method", "route", "status", "le", "trigger", "kind"}, names


def test_metrics_reflect_the_sync_tables(ctx):
    org = ctx.new_org()
    integ = ctx.sql("SELECT COUNT(*) FROM provisioning_integrations WHERE status = 'needs_reconnection'")
    base = int(integ[0][0])
    ctx.sql("INSERT INTO provisioning_integrations (organization_id, provider, status)"
            " VALUES (?, 'slack', 'needs_reconnection')", org.id)
    iid = int(ctx.sql("SELECT id FROM provisioning_integrations WHERE organization_id = ?", org.id)[0][0])
    ctx.sql("INSERT INTO provisioning_syncs (organization_id, integration_id, `trigger`, status,"
            " queued_at, started_at, finished_at, n_created)"
            " VALUES (?, ?, 'manual', 'succeeded', NOW(3) - INTERVAL 50 SECOND,"
            " NOW(3) - INTERVAL 40 SECOND, NOW(3) - INTERVAL 10 SECOND, 7)", org.id, iid)
    ctx.sql("INSERT INTO provisioning_syncs (organization_id, integration_id, `trigger`, status,"
            " queued_at) VALUES (?, ?, 'scheduled', 'pending', NOW(3) - INTERVAL 1000 SECOND)",
            org.id, iid)
    try:
        page = ctx.client().get("/metrics").text
        assert metric(page, "provisioning_integrations", status="needs_reconnection") == base + 1
        assert metric(page, "provisioning_sync_queue_oldest_seconds") >= 1000
        assert metric(page, "provisioning_syncs_queued", trigger="scheduled", status="pending") >= 1
        assert metric(page, "provisioning_syncs_finished_24h", trigger="manual", status="succeeded") >= 1
        assert metric(page, "provisioning_sync_rows_written_24h", kind="created") >= 7
        # The 30 s sync is above the 10 s bucket and within the 60 s one.
        le10 = metric(page, "provisioning_sync_duration_seconds_24h", le="10")
        le60 = metric(page, "provisioning_sync_duration_seconds_24h", le="60")
        assert le60 >= le10 + 1, (le10, le60)
    finally:
        ctx.sql("DELETE FROM provisioning_syncs WHERE organization_id = ?", org.id)
        ctx.sql("DELETE FROM provisioning_integrations WHERE organization_id = ?", org.id)


def test_metrics_report_slack_calls_and_429_waits_from_every_host(ctx):
    # What passes on two hosts flushed (slack_stats_flush adds to these).
    ctx.sql("INSERT INTO slack_call_counts (method, http_status, calls, wait_seconds) VALUES"
            " ('users.list', 200, 40, 0), ('users.list', 429, 3, 0)"
            " ON DUPLICATE KEY UPDATE calls = calls + VALUES(calls)")
    ctx.sql("UPDATE slack_call_counts SET wait_seconds = wait_seconds + 65.5"
            " WHERE method = 'users.list' AND http_status = 429")
    page = ctx.client().get("/metrics").text
    assert metric(page, "provisioning_slack_calls_total", method="users.list", status="200") >= 40
    assert metric(page, "provisioning_slack_calls_total", method="users.list", status="429") >= 3
    assert metric(page, "provisioning_slack_rate_limit_wait_seconds_total",
                  method="users.list") >= 65.5
    assert "# TYPE provisioning_slack_calls_total counter" in page


def _slack_counts(ctx):
    return {(m, int(st)): (int(c), float(w)) for m, st, c, w in ctx.sql(
        "SELECT method, http_status, calls, wait_seconds FROM slack_call_counts")}


def test_a_real_sync_counts_its_slack_calls_and_429_waits(ctx):
    # The client itself counts (slack_http.c), the pass flushes the counts:
    # nothing is inserted by hand here.
    from test_sync import setup, sync, emu_reset
    emu_reset(ctx)
    org = setup(ctx)
    before = _slack_counts(ctx)
    emu = ctx.emulator()
    emu.post("/_emulator/faults", [{"method": "users.list", "kind": "http429", "retry_after": 1,
                                     "count": 1}])
    try:
        sync(ctx, org)
    finally:
        emu.delete("/_emulator/faults")
    after = _slack_counts(ctx)
    grew = lambda key: after.get(key, (0, 0.0))[0] - before.get(key, (0, 0.0))[0]
    assert grew(("users.list", 200)) >= 1, (before, after)
    assert grew(("users.list", 429)) == 1, (before, after)
    waited = after[("users.list", 429)][1] - before.get(("users.list", 429), (0, 0.0))[1]
    assert waited >= 1.0, waited
    page = ctx.client().get("/metrics").text
    assert metric(page, "provisioning_slack_calls_total", method="users.list",
                  status="429") >= after[("users.list", 429)][0]


def test_metrics_only_answer_configured_addresses(ctx):
    c = ctx.client()
    try:
        ctx.stack("api-restart", env={"METRICS_ALLOW": "192.0.2.10, 198.51.100.7"})
        ctx.wait("the API with another metrics.allow", lambda: c.get("/healthz").status == 200)
        r = c.get("/metrics")
        assert r.status == 403, r
        assert r.json["error"]["code"] == "forbidden", r
        assert b"provisioning_http" not in r.body
    finally:
        ctx.stack("api-restart")
    ctx.wait("the API to come back", lambda: c.get("/metrics").status == 200)


def test_api_logs_one_line_per_request_to_its_file(ctx):
    org = ctx.new_org()
    offset = log_size(ctx, "api.log")
    r = org.admin.get("/api/v1/users/987654")
    assert r.status == 404, r
    rid = r.header("X-Request-Id")
    assert rid and re.match(r"^[0-9a-f]{32}$", rid), r.headers
    ctx.wait("the request's log line", lambda: rid in log_since(ctx, "api.log", offset), seconds=5)
    lines = [l for l in log_since(ctx, "api.log", offset).splitlines() if rid in l]
    assert len(lines) == 1, lines
    line = lines[0]
    assert re.search(r" info: request GET /api/v1/users/\{id\} 404 [0-9.]+ms org=%d req=%s$"
                     % (org.id, rid), line), line
    # The path's number is not logged: the pattern is.
    assert "987654" not in line
    # Every API process opened the log and the shared metrics and is
    # serving (a process stuck at start would be missing here).
    with open(os.path.join(ctx.dir, "api.pid")) as f:
        pids = f.read().split()
    text = read_log(ctx, "api.log")
    for p in pids:
        assert "provisioning-api[%s] info: api: ready" % p in text, (p, text[-2000:])


def test_log_holds_no_password_cookie_or_oauth_code(ctx):
    org = ctx.new_org()
    offset_api = log_size(ctx, "api.log")
    offset_nginx = log_size(ctx, "nginx-access.log")
    secret_pw = "wrong-%s-pw" % ctx.unique()
    r = ctx.client().post("/api/v1/session", {"email": org.admin_email, "password": secret_pw})
    assert r.status == 401, r
    code, state = "code%s" % ctx.unique(), "st%s" % ("ab" * 30)
    r = org.admin.get("/oauth/slack/callback?code=%s&state=%s" % (code, state),
                      headers={"Referer": "https://slack.com/oauth?code=%s" % code})
    assert r.status == 302, r
    cookie = org.admin.cookies["pv_session"]
    ctx.wait("both requests in the API's log",
             lambda: log_since(ctx, "api.log", offset_api).count("request ") >= 2, seconds=5)
    ctx.wait("both requests in nginx's access log",
             lambda: "/oauth/slack/callback" in log_since(ctx, "nginx-access.log", offset_nginx),
             seconds=5)
    api = log_since(ctx, "api.log", offset_api)
    access = log_since(ctx, "nginx-access.log", offset_nginx)
    assert "/oauth/slack/callback 302" in api, api
    assert "GET /oauth/slack/callback HTTP/1.1" in access, access
    for text in (api, access):
        for secret in (secret_pw, code, state, cookie):
            assert secret not in text, (secret, text)


def test_json_log_format_carries_the_fields(ctx):
    org = ctx.new_org()
    c = ctx.client()
    try:
        ctx.stack("api-restart", env={"LOG_FORMAT": "json"})
        ctx.wait("the API in JSON mode", lambda: c.get("/healthz").status == 200)
        offset = log_size(ctx, "api.log")
        r = org.admin.get("/api/v1/teams")
        assert r.status == 200, r
        rid = r.header("X-Request-Id")
        ctx.wait("the JSON line", lambda: rid in log_since(ctx, "api.log", offset), seconds=5)
        objs = [json.loads(l) for l in log_since(ctx, "api.log", offset).splitlines() if l.strip()]
        mine = [o for o in objs if o.get("request_id") == rid]
        assert len(mine) == 1, objs
        o = mine[0]
        assert set(o) == {"time", "level", "program", "pid", "organization", "request_id",
                          "event", "message"}, o
        assert o["program"] == "provisioning-api" and o["level"] == "info", o
        assert o["event"] == "request" and o["organization"] == org.id, o
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", o["time"]), o
        assert o["message"].startswith("GET /api/v1/teams 200 "), o
    finally:
        ctx.stack("api-restart")
    ctx.wait("the API back in plain mode", lambda: c.get("/healthz").status == 200)


def doctor(ctx, env=None):
    r = ctx.run([os.path.join(ctx.root, "cron", "provisioning-admin"), "doctor"], env=env)
    lines = r.stdout.splitlines()
    by = {}
    for line in lines:
        m = re.match(r"^(OK|FIX) +(\S+(?: file)?) +(.*)$", line)
        assert m, "not a doctor line: %r (all: %s)" % (line, r.stdout)
        by.setdefault(m.group(2), []).append((m.group(1), m.group(3)))
    return r.returncode, by, r.stdout


def test_doctor_on_the_test_stack_says_ok_to_every_check(ctx):
    from smtp_sink import SmtpSink
    sink = SmtpSink()
    try:
        rc, by, out = doctor(ctx, env={"SMTP_URL": sink.url, "SMTP_FROM": "p@example.test"})
    finally:
        sink.close()
    assert rc == 0, out
    assert set(by) == {"configuration", "config file", "key file", "answers", "database", "schema",
                       "slack", "smtp"}, out
    assert by["answers"][0][1].endswith("db-changes; an answer is given again for 1000 ms at most"), out
    assert all(v == "OK" for lines in by.values() for v, _ in lines), out
    assert "greets with 220" in by["smtp"][0][1], out
    assert "accepts slack.client_id 1111111111.2222222222" in by["slack"][0][1], out
    # Nothing secret is printed.
    conf = read_log(ctx, "provisioning.conf")
    pw = re.search(r"^db.password = (.*)$", conf, re.M).group(1)
    assert pw not in out and "demo-client-secret" not in out, out


def test_doctor_names_what_to_fix(ctx):
    key = os.path.join(ctx.dir, "doctor-open.key")
    with open(os.path.join(ctx.dir, "token.key"), "rb") as f, open(key, "wb") as g:
        g.write(f.read())
    os.chmod(key, 0o644)
    rc, by, out = doctor(ctx, env={"CRYPTO_KEY_FILE": key, "SLACK_CLIENT_ID": "999.999",
                                   "DB_PASSWORD": "not-the-password",
                                   "SMTP_URL": "smtp://127.0.0.1:1", "SMTP_FROM": "p@x.test",
                                   "APP_BASE_URL": "http://provisioning.example.com",
                                   "DB_CHANGES_FILE": "/nonexistent/db-changes"})
    assert rc == 1, out
    assert by["answers"][0][0] == "FIX" and "/nonexistent/db-changes" in by["answers"][0][1], out
    assert by["key file"] == [("FIX", "%s is mode 0644: run chmod 600 %s" % (key, key))], out
    assert by["slack"][0][0] == "FIX" and "does not know slack.client_id 999.999" in by["slack"][0][1], out
    assert by["database"][0][0] == "FIX" and by["database"][0][1].startswith("cannot connect"), out
    assert "schema" not in by, out
    assert by["smtp"][0][0] == "FIX" and "cannot connect to 127.0.0.1 port 1" in by["smtp"][0][1], out
    assert any(v == "FIX" and "https://" in t for v, t in by["configuration"]), out
    r = ctx.run([os.path.join(ctx.root, "cron", "provisioning-admin"), "doctor"],
                env={"DB_PORT": "seventy"})
    assert r.returncode == 1 and r.stdout.startswith("FIX  configuration  config: db.port:"), r


def connect_slack(ctx, org):
    import urllib.parse
    assert ctx.emulator().post("/_emulator/install", {"team": "T0DEMO0001"}).status == 200
    r = org.admin.post("/api/v1/provisioning/slack/connect")
    assert r.status == 200, r
    u = urllib.parse.urlsplit(r.json["authorize_url"])
    r = ctx.emulator().get(u.path + "?" + u.query)
    assert r.status == 302, r
    loc = urllib.parse.urlsplit(r.header("Location"))
    r = org.admin.get(loc.path + "?" + loc.query)
    assert r.status == 302 and "connected=1" in r.header("Location"), r


def test_rekey_reseals_every_token_and_the_old_key_no_longer_opens_them(ctx):
    assert ctx.emulator().post("/_emulator/reset", {}).status == 200
    org = ctx.new_org()
    connect_slack(ctx, org)
    old_key = os.path.join(ctx.dir, "token.key")
    new_key = os.path.join(ctx.dir, "rekey-new.key")
    with open(new_key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(new_key, 0o600)
    admin = os.path.join(ctx.root, "cron", "provisioning-admin")
    before = ctx.sql("SELECT access_token_sealed FROM provisioning_integrations"
                     " WHERE organization_id = ?", org.id)[0][0]
    assert ctx.run([admin, "slack-check", str(org.id)]).returncode == 0
    # A key file that is not a key changes nothing.
    r = ctx.run([admin, "rekey", os.path.join(ctx.dir, "provisioning.conf")])
    assert r.returncode != 0 and "not a readable 32-byte key" in r.stderr, r
    r = ctx.run([admin, "rekey", new_key])
    try:
        assert r.returncode == 0, r.stderr
        n = int(re.match(r"^rekey: (\d+) integrations re-sealed", r.stdout).group(1))
        assert n >= 1, r.stdout
        after = ctx.sql("SELECT access_token_sealed FROM provisioning_integrations"
                        " WHERE organization_id = ?", org.id)[0][0]
        assert after != before and after.startswith("v2:"), after
        r = ctx.run([admin, "slack-check", str(org.id)], env={"CRYPTO_KEY_FILE": new_key})
        assert r.returncode == 0 and r.stdout.startswith("T0DEMO0001 "), r
        r = ctx.run([admin, "slack-check", str(org.id)])
        assert r.returncode != 0 and "cannot be opened" in r.stderr, r
        # Run again with the old key: nothing opens, nothing is changed.
        r = ctx.run([admin, "rekey", new_key])
        assert r.returncode != 0 and "does not open with crypto.key_file" in r.stderr, r
        assert ctx.sql("SELECT access_token_sealed FROM provisioning_integrations"
                       " WHERE organization_id = ?", org.id)[0][0] == after
    finally:
        # Back under the stack's key, which the running API holds.
        r = ctx.run([admin, "rekey", old_key], env={"CRYPTO_KEY_FILE": new_key})
        assert r.returncode == 0, r.stderr
    assert ctx.run([admin, "slack-check", str(org.id)]).returncode == 0


def test_slack_manifest_asks_for_what_the_api_asks_for(ctx):
    import urllib.parse
    with open(os.path.join(ctx.root, "slack", "manifest.json")) as f:
        m = json.load(f)
    assert m["_metadata"]["major_version"] == 1
    assert m["settings"]["token_rotation_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is False
    urls = m["oauth_config"]["redirect_urls"]
    assert len(urls) == 1 and urls[0].startswith("https://"), urls
    assert urllib.parse.urlsplit(urls[0]).path == "/oauth/slack/callback"
    # The scopes are exactly those of the API's authorize URL.
    org = ctx.new_org()
    r = org.admin.post("/api/v1/provisioning/slack/connect")
    assert r.status == 200, r
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.json["authorize_url"]).query))
    assert sorted(q["scope"].split(",")) == sorted(m["oauth_config"]["scopes"]["bot"]), q
    assert "user" not in m["oauth_config"]["scopes"]


def test_sync_pass_logs_json_lines_with_its_organization_and_sync(ctx):
    assert ctx.emulator().post("/_emulator/reset", {}).status == 200
    org = ctx.new_org()
    connect_slack(ctx, org)
    everyone = {"members": {"mode": "everyone", "group_ids": []},
                "team_mapping": {"enabled": False, "mappings": []},
                "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert org.admin.put("/api/v1/provisioning/slack/config", everyone).status == 200
    r = org.admin.post("/api/v1/provisioning/slack/syncs", {"dry_run": True})
    assert r.status == 202, r
    sid = r.json["sync"]["id"]
    r = ctx.sync_pass("--org", str(org.id), env={"LOG_FORMAT": "json"})
    objs = [json.loads(l) for l in r.stderr.splitlines() if l.strip()]
    assert objs, r.stderr
    assert all(o["program"] == "provisioning-sync" for o in objs), objs
    run = [o for o in objs if o.get("sync") == sid]
    assert run, objs
    assert all(o["organization"] == org.id for o in run), run
    # The claim line comes before the context is set; the run's lines have it.
    assert any("claimed" in o["message"] for o in objs), objs
    tokens = ctx.sql("SELECT access_token_sealed FROM provisioning_integrations"
                     " WHERE organization_id = ?", org.id)
    assert "xoxb-" not in r.stderr and tokens[0][0] not in r.stderr
