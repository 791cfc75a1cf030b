"""The error envelope and statuses of SPEC §4, and the routing table."""
import json
import subprocess
import os


def check_envelope(r, status, code):
    assert r.status == status, r
    assert r.header("Content-Type") == "application/json; charset=utf-8", r.headers
    err = r.json["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err


def test_malformed_json_is_400(ctx):
    a = ctx.new_org().admin
    for raw in (b"{", b"{\"name\": }", b"{'name': 'x'}", b"{\"name\":\"x\"} trailing", b""):
        r = a.post("/api/v1/teams", raw=raw, headers={"Content-Type": "application/json"})
        check_envelope(r, 400, "malformed_json")
    r = a.post("/api/v1/teams", raw=b"[1,2]", headers={"Content-Type": "application/json"})
    check_envelope(r, 400, "malformed_json")
    r = a.post("/api/v1/teams", raw=b"\xff\xfe{}", headers={"Content-Type": "application/json"})
    check_envelope(r, 400, "malformed_json")


def test_missing_content_type_is_415(ctx):
    a = ctx.new_org().admin
    r = a.post("/api/v1/teams", raw=b'{"name":"x"}')
    check_envelope(r, 415, "unsupported_media_type")
    r = a.post("/api/v1/teams", raw=b'{"name":"x"}', headers={"Content-Type": "text/plain"})
    check_envelope(r, 415, "unsupported_media_type")
    r = a.post("/api/v1/teams", raw=b'{"name":"x"}',
               headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 201, r


def test_70_kib_body_is_413(ctx):
    a = ctx.new_org().admin
    r = a.post("/api/v1/teams", {"name": "x" * (70 * 1024)})
    check_envelope(r, 413, "body_too_large")
    # Past nginx's own limit (1 MiB) the answer is the same envelope.
    r = a.post("/api/v1/teams", {"name": "x" * (2 * 1024 * 1024)})
    check_envelope(r, 413, "body_too_large")


def test_deep_json_nesting_is_rejected(ctx):
    a = ctx.new_org().admin
    deep = "[" * 100 + "]" * 100
    r = a.post("/api/v1/teams", raw=('{"name":%s}' % deep).encode(),
               headers={"Content-Type": "application/json"})
    check_envelope(r, 400, "json_too_deep")


def test_unknown_route_is_404_and_wrong_method_405(ctx):
    a = ctx.new_org().admin
    check_envelope(a.get("/api/v1/nothing-here"), 404, "route_not_found")
    check_envelope(a.get("/api/v1/teams/abc/members"), 404, "route_not_found")
    r = a.put("/api/v1/teams", {"name": "x"})
    check_envelope(r, 405, "method_not_allowed")
    assert set(r.header("Allow").split(", ")) == {"GET", "POST"}


def test_security_headers_are_sent(ctx):
    r = ctx.client().get("/")
    assert r.status == 200
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in r.header("Content-Security-Policy")
    r = ctx.client().get("/api/v1/me")
    assert r.header("Cache-Control") == "no-store"
    assert r.header("X-Content-Type-Options") == "nosniff"


def test_every_route_is_in_the_openapi_document(ctx):
    r = ctx.client().get("/api/v1/openapi.json")
    assert r.status == 200, r
    doc = r.json
    assert doc["openapi"].startswith("3.")
    out = subprocess.run([ctx.bin("provisioning-api"), "--routes"],
                         capture_output=True, text=True, check=True).stdout
    routes = [line.split(" ", 1) for line in out.splitlines()]
    assert len(routes) >= 10
    missing = []
    for method, pattern in routes:
        path = pattern.replace("/api/v1", "", 1) if pattern.startswith("/api/v1") else pattern
        # The document names its parameters; the table uses {id}.
        candidates = [p for p in doc["paths"]
                      if _same_shape(p, path) or _same_shape(p, pattern)]
        if not any(method.lower() in doc["paths"][p] for p in candidates):
            missing.append((method, pattern))
    assert not missing, "routes missing from cgi-bin/openapi.json: %s" % missing


def _same_shape(doc_path, route_path):
    a, b = doc_path.strip("/").split("/"), route_path.strip("/").split("/")
    if len(a) != len(b):
        return False
    return all(x == y or (x.startswith("{") and y.startswith("{")) for x, y in zip(a, b))


def test_migrations_run_twice_change_nothing(ctx):
    before = ctx.sql("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    schema = ctx.sql("SELECT table_name, column_name, column_type FROM information_schema.columns"
                     " WHERE table_schema = 'provisioning' ORDER BY 1, 2")
    r = ctx.admin_cli("migrate")
    assert r.returncode == 0, r.stderr
    assert "0 applied" in r.stdout, r.stdout
    assert ctx.sql("SELECT version, applied_at FROM schema_migrations ORDER BY version") == before
    assert ctx.sql("SELECT table_name, column_name, column_type FROM information_schema.columns"
                   " WHERE table_schema = 'provisioning' ORDER BY 1, 2") == schema
    assert ["001_directory"] in [[v] for v, _ in before]


def test_tables_are_innodb_utf8mb4(ctx):
    rows = ctx.sql("SELECT table_name, engine, table_collation FROM information_schema.tables"
                   " WHERE table_schema = 'provisioning'")
    assert rows
    for name, engine, coll in rows:
        assert engine == "InnoDB", (name, engine)
        assert coll.startswith("utf8mb4"), (name, coll)


def test_admin_cli_errors_and_exit_codes(ctx):
    r = ctx.admin_cli()
    assert r.returncode == 2 and "usage" in r.stderr
    r = ctx.admin_cli("create-admin", "999999999", "x@example.test", "--password-stdin",
                      input="long enough password\n")
    assert r.returncode == 4 and "no organization" in r.stderr, (r.returncode, r.stderr)
    org = ctx.new_org()
    r = ctx.admin_cli("create-admin", str(org.id), org.admin_email, "--password-stdin",
                      input="long enough password\n")
    assert r.returncode == 3 and "already exists" in r.stderr, (r.returncode, r.stderr)
    r = ctx.admin_cli("create-admin", str(org.id), "short@example.test", "--password-stdin",
                      input="short\n")
    assert r.returncode == 2 and "8 to" in r.stderr, (r.returncode, r.stderr)
    r = ctx.admin_cli("create-user", "abc", "x@example.test")
    assert r.returncode == 2
    r = ctx.admin_cli("create-user", str(org.id), "not-an-email")
    assert r.returncode == 2 and "e-mail" in r.stderr, r.stderr


def test_bad_configuration_stops_programs_with_one_line_naming_the_key(ctx):
    admin = ctx.bin("provisioning-admin")
    for env, key in (({"DB_PORT": "99999"}, "db.port"), ({"SLACK_API_BASE": "ftp://x"}, "slack.api_base"),
                     ({"LOG_LEVEL": "loud"}, "log.level")):
        r = ctx.run([admin, "migrate"], env=env)
        assert r.returncode == 1, r
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0], r.stderr
    bad = os.path.join(ctx.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("db.nmae = x\n")
    r = ctx.run([admin, "migrate"], env={"PROVISIONING_CONFIG": bad})
    assert r.returncode == 1 and "db.nmae: unknown key" in r.stderr, r.stderr
