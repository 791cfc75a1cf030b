"""Whole-stack allocation-failure torture (issue 12, item 8's last demand;
curl's torture habit): the Nth allocation of a running provisioning-sync or
provisioning-api fails, for N stepped over what a sync of a small workspace
and each of a set of API requests allocate.

The programs are the sanitizer builds (build/san/bin) with
build/alloc-fault/alloc_fault.so preloaded (tests/alloc-fault/alloc_fault.c
says why a preloaded shim: it also fails json-c's allocations).  Only the
allocations of the program itself and of libjson-c are counted and failed.

Sync: a 30-person workspace (3 groups, 2 of them mapped to teams, guests, a
deleted user, pictures) is synced once cleanly in one organization (the
reference) and once with no failure in the tortured organization, which
counts its allocations.  Then, for each chosen N, the tortured
organization's directory and history are emptied, a sync is queued and a
pass runs with the Nth allocation failing (a few runs with "N+": every
allocation from the Nth on fails).  Each run must exit 0 or 1 (the pass's
documented codes: 0 the pass is done, a failed sync being an outcome; 1
configuration or database failure, here "out of memory"), with no sanitizer
report (AddressSanitizer, LeakSanitizer, UBSan) and no signal; what it left
must be consistent (every Slack user of the organization has exactly one
succeeded create row, every row's user exists; every team membership the
sync made has its add_to_team row; a sync left running has a lease owner and
an expiry); then normal passes (waiting out the 2 s lease, queueing anew
after a failed sync) must end with a succeeded sync and the same directory
as the reference (users with every field, and memberships: the crash
matrix's comparison).  make test tries the first ALLOC_HEAD allocations
(start-up) and a seeded set spread over the rest, ALLOC_SYNC_POINTS in all;
SOAK=1 tries every one.

API: one provisioning-api process under spawn-fcgi -n on a socket of its own,
with the shim in request scope (counting from FCGX_Accept_r to
FCGX_Finish_r, the fail point read at each accept), talked to over FastCGI
directly (nginx would turn a crash into its own 503).  For each request
(sign-in, /me, /users, /teams, /provisioning/slack, the reports list, a
report's actions, the CSV export, a configuration PUT with a bad and with a
good body, PATCH of a user) the allocations of a normal answer are counted,
then N is stepped over them (all of them, or ALLOC_API_POINTS spread ones
when there are more; every one under SOAK=1): each answer must be complete
(the FastCGI END_REQUEST record arrives) and either equal to the normal one
(same status, same body when the normal body is stable) or a 500/503 with
the JSON envelope; the process must still be alive and answer the next
request (GET /me) normally, and the stored state must be the old or the new
one (configuration, the patched user), never a mix.
"""
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from test_crash_matrix import _directory, _queue  # the crash matrix's comparison
from test_slack_connection import connect, emu_reset

TEAM = "T0ALLOC001"
PEOPLE = 30
GROUPS = 3
PER_GROUP = 8
SEED = 1  # 3 deleted users, a guest, 9 custom pictures
LEASE = 2
SOAK = os.environ.get("SOAK") == "1"
SYNC_POINTS = int(os.environ.get("ALLOC_SYNC_POINTS", "24"))
HEAD = int(os.environ.get("ALLOC_HEAD", "12"))
API_POINTS = int(os.environ.get("ALLOC_API_POINTS", "16"))
RNG_SEED = 1212


def _shim(ctx):
    so = os.path.join(ctx.root, "build", "alloc-fault", "alloc_fault.so")
    assert os.path.exists(so), "no %s: make test builds it" % so
    return so


def _san_env(ctx, report_dir, extra=None):
    """The environment of a tortured program: the shim preloaded, the
    sanitizers' reports in report_dir (to be read per run), ASan's exit code
    apart from the program's own."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    ubsan = os.environ.get("UBSAN_OPTIONS", "")
    strip = lambda opts: ":".join(o for o in opts.split(":") if o and not o.startswith(("log_path=", "exitcode=")))
    env = dict(ctx.env)
    env.update({
        "LD_PRELOAD": _shim(ctx),
        "ASAN_OPTIONS": ":".join(filter(None, [strip(asan), "log_path=%s/report" % report_dir,
                                               "verify_asan_link_order=0", "exitcode=86", "fast_unwind_on_malloc=0",
                                               "detect_leaks=1"])),
        "UBSAN_OPTIONS": ":".join(filter(None, [strip(ubsan), "log_path=%s/report" % report_dir,
                                                "print_stacktrace=1"])),
    })
    env.update(extra or {})
    return env


def _reports(report_dir):
    out = []
    for name in sorted(os.listdir(report_dir)):
        path = os.path.join(report_dir, name)
        with open(path, errors="replace") as f:
            out.append("--- %s\n%s" % (name, f.read()[:6000]))
        os.unlink(path)
    return out


def _site(ctx, binary, site):
    """file:line of the failed allocation's caller, for the messages."""
    if not site or site == "-" or not site.startswith("program+"):
        return site
    r = subprocess.run(["addr2line", "-f", "-i", "-e", binary, site.split("+", 1)[1]],
                       capture_output=True, text=True)
    lines = r.stdout.split()
    return "%s (%s)" % (site, " <- ".join(lines[1::2][:3]) if r.returncode == 0 else "?")


def _read_count(path):
    with open(path) as f:
        counted, failed, site = f.read().split()
    return int(counted), int(failed), site


def _points(total, head, n, rng):
    """Every point under SOAK, else the first `head` and a seeded spread
    over the rest (one in each equal slice), n in all."""
    if SOAK or total <= n:
        return list(range(1, total + 1))
    pts = list(range(1, head + 1))
    rest = n - head
    lo = head + 1
    for i in range(rest):
        a = lo + (total - lo + 1) * i // rest
        b = lo + (total - lo + 1) * (i + 1) // rest - 1
        pts.append(rng.randint(a, max(a, b)))
    return sorted(set(pts))


# ---- the sync ------------------------------------------------------------

def _workspace(ctx):
    r = ctx.emulator().post("/_emulator/generate", {"team": TEAM, "users": PEOPLE, "groups": GROUPS,
                                                    "members_per_group": PER_GROUP, "seed": SEED})
    assert r.status == 200, r
    ws = ctx.emulator().get("/_emulator/workspace/%s?full=1" % TEAM).json
    members = ws["users"]
    assert any(u.get("deleted") for u in members), "the workspace has no deleted user"
    assert any(u.get("is_restricted") for u in members), "the workspace has no guest"
    assert any(u["profile"].get("is_custom_image") for u in members), "the workspace has no picture"
    return [g["id"] for g in ws["usergroups"]]


def _org(ctx, groups):
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM) == {"connected": "1"}
    mappings = []
    for i, g in enumerate(groups[:2]):
        r = org.admin.post("/api/v1/teams", {"name": "Alloc team %d" % i})
        assert r.status == 201, r
        mappings.append({"slack_group_id": g, "team_id": r.json["team"]["id"]})
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": True, "mappings": mappings},
           "deactivation_threshold": {"percent": 50, "minimum": 10}}
    r = org.admin.put("/api/v1/provisioning/slack/config", cfg)
    assert r.status == 200, r
    return org, cfg


def _empty(ctx, org):
    """The organization back to before its first sync: no Slack users, no
    history (memberships and outbox rows go with the users)."""
    ctx.sql("DELETE FROM provisioning_syncs WHERE organization_id = ?", org.id)
    ctx.sql("DELETE FROM users WHERE organization_id = ? AND source = 'slack'", org.id)


def _last_sync(ctx, org):
    rows = ctx.sql("SELECT id, status, IFNULL(lease_owner, ''), lease_expires_at IS NOT NULL,"
                   " IFNULL(error, '') FROM provisioning_syncs WHERE organization_id = ?"
                   " ORDER BY id DESC LIMIT 1", org.id)
    return rows[0] if rows else None


def _consistent(ctx, org):
    """What a stopped run may leave: every change with its report row."""
    problems = []
    bad = ctx.sql("SELECT u.slack_user_id, COUNT(a.id) FROM users u LEFT JOIN provisioning_sync_actions a"
                  " ON a.organization_id = u.organization_id AND a.user_id = u.id AND a.action = 'create'"
                  " AND a.outcome = 'succeeded' WHERE u.organization_id = ? AND u.source = 'slack'"
                  " GROUP BY u.id HAVING COUNT(a.id) <> 1", org.id)
    if bad:
        problems.append("users without exactly one succeeded create row: %s" % bad[:5])
    orphan = ctx.sql("SELECT a.id, a.slack_user_id FROM provisioning_sync_actions a LEFT JOIN users u"
                     " ON u.organization_id = a.organization_id AND u.id = a.user_id"
                     " WHERE a.organization_id = ? AND a.action = 'create' AND a.outcome = 'succeeded'"
                     " AND u.id IS NULL", org.id)
    if orphan:
        problems.append("succeeded create rows without their user: %s" % orphan[:5])
    unrecorded = ctx.sql("SELECT u.slack_user_id, m.team_id FROM team_memberships m"
                         " JOIN users u ON u.organization_id = m.organization_id AND u.id = m.user_id"
                         " WHERE m.organization_id = ? AND m.source = 'provisioning' AND NOT EXISTS"
                         " (SELECT 1 FROM provisioning_sync_actions a WHERE a.organization_id = m.organization_id"
                         " AND a.user_id = m.user_id AND a.team_id = m.team_id AND a.action = 'add_to_team'"
                         " AND a.outcome = 'succeeded')", org.id)
    if unrecorded:
        problems.append("sync-made memberships without their add_to_team row: %s" % unrecorded[:5])
    last = _last_sync(ctx, org)
    if last and last[1] == "running" and (not last[2] or last[3] != "1"):
        problems.append("a sync left running with no lease to expire: %s" % last)
    if last and last[1] not in ("pending", "running", "failed", "succeeded", "completed_with_errors"):
        problems.append("unexpected sync status: %s" % last)
    return problems


def _recover(ctx, org, env):
    """Normal passes until a sync succeeds: the lease of a stopped worker is
    waited out, a failed sync is queued anew."""
    for _ in range(4):
        last = _last_sync(ctx, org)
        if last is None or last[1] in ("failed", "completed_with_errors"):
            _queue(org)
        elif last[1] == "succeeded":
            return last
        elif last[1] == "running":
            ctx.wait("the lease to run out", lambda: ctx.sql(
                "SELECT lease_expires_at < NOW(3) FROM provisioning_syncs WHERE id = ?", last[0])[0][0] == "1",
                seconds=LEASE + 10, interval=0.1)
        ctx.sync_pass("--org", str(org.id), env=env)
    raise AssertionError("no sync succeeded after 4 passes: %s" % (_last_sync(ctx, org),))


def test_sync_survives_each_failing_allocation(ctx):
    rng = random.Random(RNG_SEED)
    env = {"SYNC_LEASE_SECONDS": str(LEASE), "SYNC_BATCH_SIZE": "10"}
    binary = ctx.bin("provisioning-sync")
    work = tempfile.mkdtemp(prefix="alloc-sync-", dir=ctx.dir)
    count_file = os.path.join(work, "count")
    reports = os.path.join(work, "san")
    os.mkdir(reports)
    started = time.time()
    try:
        emu_reset(ctx)
        groups = _workspace(ctx)
        clean, _ = _org(ctx, groups)
        tortured, _ = _org(ctx, groups)
        _queue(clean)
        ctx.sync_pass("--org", str(clean.id), env=env)
        assert _last_sync(ctx, clean)[1] == "succeeded", _last_sync(ctx, clean)
        want = _directory(ctx, clean)
        assert len(want[0]) > 20 and len(want[1]) > 5, (len(want[0]), len(want[1]))
        assert any(u[8] not in ("", "NULL") for u in want[0]), "no picture stored"

        # The same sync, counted.
        _queue(tortured)
        r = subprocess.run([binary, "--org", str(tortured.id)], capture_output=True, text=True, timeout=120,
                           env=_san_env(ctx, reports, dict(env, PV_ALLOC_COUNT_FILE=count_file)))
        assert r.returncode == 0, r.stderr
        assert not _reports(reports) and _last_sync(ctx, tortured)[1] == "succeeded"
        assert _directory(ctx, tortured) == want
        total = _read_count(count_file)[0]
        assert total > 100, total

        points = [(n, "") for n in _points(total, HEAD, SYNC_POINTS, rng)]
        # "N+": everything from the Nth allocation on fails, at a few places.
        points += [(rng.randint(HEAD, total), "+") for _ in range(3 if not SOAK else 20)]
        outcomes = {}
        defects = []
        for n, mode in points:
            _empty(ctx, tortured)
            _queue(tortured)
            if os.path.exists(count_file):
                os.unlink(count_file)
            r = subprocess.run([binary, "--org", str(tortured.id)], capture_output=True, text=True,
                               timeout=120, env=_san_env(ctx, reports, dict(env, PV_ALLOC_FAIL_AT="%d%s" % (n, mode),
                                                                              PV_ALLOC_COUNT_FILE=count_file)))
            site = _read_count(count_file)[2] if os.path.exists(count_file) else "?"
            where = "N=%d%s at %s" % (n, mode, _site(ctx, binary, site))
            san = _reports(reports)
            if san:
                defects.append("%s: sanitizer report\n%s" % (where, "\n".join(san)[:4000]))
                continue
            if r.returncode not in (0, 1):
                defects.append("%s: exit status %d\n%s" % (where, r.returncode, r.stderr[-2000:]))
                continue
            problems = _consistent(ctx, tortured)
            if problems:
                defects.append("%s: %s" % (where, problems))
                continue
            last = _last_sync(ctx, tortured)
            key = (r.returncode, last[1] if last else None)
            outcomes[key] = outcomes.get(key, 0) + 1
            _recover(ctx, tortured, env)
            got = _directory(ctx, tortured)
            if got != want:
                defects.append("%s: directory after recovery differs from a clean run (%d/%d users,"
                               " %d/%d memberships)" % (where, len(got[0]), len(want[0]), len(got[1]),
                                                       len(want[1])))
        assert not defects, "%d of %d runs failed:\n%s" % (len(defects), len(points), "\n\n".join(defects[:6]))
        print("alloc torture (sync): %d allocations in a clean run, %d fail points tried (%s), outcomes"
              " (exit, sync status): %s, %.0f s" % (total, len(points),
                                                    "all" if SOAK else "first %d + seeded spread" % HEAD,
                                                    sorted(outcomes.items(), key=str), time.time() - started))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- the API -------------------------------------------------------------

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 1, 3, 4, 5, 6, 7


def _fcgi_record(kind, content, request_id=1):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def _fcgi_pairs(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        for x in (k, v):
            out += struct.pack(">B", len(x)) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
        out += k + v
    return out


class Answer:
    def __init__(self, status, headers, body, complete):
        self.status, self.headers, self.body, self.complete = status, headers, body, complete

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%s %s %r>" % (self.status, "complete" if self.complete else "INCOMPLETE", self.body[:200])


def _fcgi(sock_path, method, path, body=b"", cookie=None, ctype="application/json", timeout=30):
    """One FastCGI request with the parameters nginx passes; the answer
    and whether it was complete (END_REQUEST received)."""
    path_only, _, query = path.partition("?")
    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": path_only, "REQUEST_URI": path,
              "QUERY_STRING": query, "SCRIPT_NAME": path_only, "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": "127.0.0.9", "REMOTE_PORT": "40000", "SERVER_ADDR": "127.0.0.1",
              "SERVER_PORT": "8080", "SERVER_NAME": "localhost", "HTTP_HOST": "127.0.0.1",
              "REQUEST_ID": "alloc%d" % time.monotonic_ns(), "GATEWAY_INTERFACE": "CGI/1.1",
              "CONTENT_LENGTH": str(len(body)) if body else "", "CONTENT_TYPE": ctype if body else ""}
    if cookie:
        params["HTTP_COOKIE"] = cookie
    msg = _fcgi_record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0))
    msg += _fcgi_record(FCGI_PARAMS, _fcgi_pairs(params)) + _fcgi_record(FCGI_PARAMS, b"")
    for i in range(0, len(body), 60000):
        msg += _fcgi_record(FCGI_STDIN, body[i:i + 60000])
    msg += _fcgi_record(FCGI_STDIN, b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    out, data, complete = b"", b"", False
    try:
        s.sendall(msg)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            while len(data) >= 8:
                _, kind, _, clen, plen = struct.unpack(">BBHHB", data[:7])
                if len(data) < 8 + clen + plen:
                    break
                content, data = data[8:8 + clen], data[8 + clen + plen:]
                if kind == FCGI_STDOUT:
                    out += content
                elif kind == FCGI_END:
                    complete = True
            if complete:
                break
    finally:
        s.close()
    head, sep, resp_body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k:
            headers.setdefault(k.strip().lower(), v.strip())
    status = headers.get("status", "200" if sep else "")
    status = int(status.split()[0]) if status[:3].isdigit() else None
    return Answer(status, headers, resp_body, complete and bool(sep))


class Api:
    """One provisioning-api process with the shim in request scope."""

    def __init__(self, ctx, work):
        self.ctx, self.work = ctx, work
        self.sock = os.path.join(work, "api.sock")
        self.ctl = os.path.join(work, "ctl")
        self.count = os.path.join(work, "count")
        self.reports = os.path.join(work, "san")
        os.mkdir(self.reports)
        self.binary = ctx.bin("provisioning-api")
        env = _san_env(ctx, self.reports, {"PV_ALLOC_SCOPE": "request", "PV_ALLOC_CTL": self.ctl,
                                           "PV_ALLOC_COUNT_FILE": self.count,
                                           "LOG_FILE": os.path.join(work, "api.log")})
        self.proc = subprocess.Popen(["spawn-fcgi", "-n", "-s", self.sock, "-M", "0600", "--", self.binary],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ctx.wait("the API's socket", lambda: os.path.exists(self.sock), seconds=30, interval=0.05)

    def arm(self, n):
        with open(self.ctl, "w") as f:
            f.write(str(n))

    def request(self, method, path, body=None, cookie=None, fail_at=0):
        self.arm(fail_at)
        if os.path.exists(self.count):
            os.unlink(self.count)
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or b"")
        a = _fcgi(self.sock, method, path, raw, cookie)
        # Written at FCGX_Finish_r: after the answer when it was broken off.
        deadline = time.time() + 10
        while not os.path.exists(self.count) and time.time() < deadline and self.alive():
            time.sleep(0.005)
        self.arm(0)
        counted = _read_count(self.count) if os.path.exists(self.count) else (0, 0, "-")
        return a, counted

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _envelope(a):
    """A 500/503 with the JSON error envelope."""
    if a.status not in (500, 503) or not (a.header("content-type") or "").startswith("application/json"):
        return False
    try:
        e = json.loads(a.body.decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(e.get("code"), str) and isinstance(e.get("message"), str) and e["message"] != ""


def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(x) for x in v]
    return type(v).__name__


def _same_answer(a, base, stable):
    if a.status != base.status:
        return False
    # The same headers (a sign-in's Set-Cookie...), whatever their values.
    if set(base.headers) - set(a.headers):
        return False
    if stable:
        return a.body == base.body
    if (base.header("content-type") or "").startswith("application/json"):
        try:
            return _shape(json.loads(a.body)) == _shape(json.loads(base.body))
        except ValueError:
            return False
    return len(a.body) > 0


def test_api_requests_survive_each_failing_allocation(ctx):
    rng = random.Random(RNG_SEED + 1)
    work = tempfile.mkdtemp(prefix="alloc-api-", dir=ctx.dir)
    started = time.time()
    api = None
    try:
        emu_reset(ctx)
        groups = _workspace(ctx)
        org, cfg = _org(ctx, groups)
        sid = _queue(org)
        ctx.sync_pass("--org", str(org.id))
        assert _last_sync(ctx, org)[1] == "succeeded"
        uid = int(ctx.sql("SELECT id FROM users WHERE organization_id = ? AND source = 'slack'"
                          " ORDER BY id LIMIT 1", org.id)[0][0])
        api = Api(ctx, work)
        sign_in = {"email": org.admin_email, "password": org.password}
        a, _ = api.request("POST", "/api/v1/session", sign_in)
        assert a.status == 200 and a.complete, a
        cookie = a.header("set-cookie").split(";", 1)[0]
        bad_cfg = dict(cfg, deactivation_threshold={"percent": 250, "minimum": -1})
        patch = {"job_title": "Torture tester"}
        requests = [
            ("sign-in", "POST", "/api/v1/session", sign_in, None),
            ("me", "GET", "/api/v1/me", None, cookie),
            ("users", "GET", "/api/v1/users", None, cookie),
            ("teams", "GET", "/api/v1/teams", None, cookie),
            ("slack status", "GET", "/api/v1/provisioning/slack", None, cookie),
            ("reports", "GET", "/api/v1/provisioning/slack/syncs", None, cookie),
            ("report actions", "GET", "/api/v1/provisioning/slack/syncs/%d/actions" % sid, None, cookie),
            ("csv export", "GET", "/api/v1/provisioning/slack/syncs/%d/export.csv" % sid, None, cookie),
            ("config bad", "PUT", "/api/v1/provisioning/slack/config", bad_cfg, cookie),
            ("config good", "PUT", "/api/v1/provisioning/slack/config", cfg, cookie),
            ("patch user", "PATCH", "/api/v1/users/%d" % uid, patch, cookie),
        ]

        def stored():
            # The sign-in throttle's count too: a sign-in stopped by our own
            # failure must not count against the account.
            return (ctx.sql("SELECT failures FROM sign_in_throttle WHERE scope = 'account'"
                            " AND subject = ?", org.admin_email.lower()),
                    ctx.sql("SELECT config_json FROM provisioning_configs WHERE organization_id = ?", org.id),
                    ctx.sql("SELECT email, first_name, last_name, job_title, status, role FROM users"
                            " WHERE organization_id = ? AND id = ?", org.id, uid))

        me_base, _ = api.request("GET", "/api/v1/me", cookie=cookie)
        assert me_base.status == 200, me_base
        figures = []
        defects = []
        broken_off = 0
        for name, method, path, body, ck in requests:
            # Counted on the second answer: a process's first sign-in, say,
            # also sets up what later ones reuse.
            base, _ = api.request(method, path, body, ck)
            again, (total, _, _) = api.request(method, path, body, ck)
            assert base.complete and base.status in (200, 201, 400, 422), (name, base)
            assert total > 0, (name, "no allocation counted")
            stable = base.body == again.body
            before = stored()
            pts = _points(total, min(HEAD, total), API_POINTS, rng)
            tried = unreached = 0
            for n in pts:
                a, (_, failed, site) = api.request(method, path, body, ck, fail_at=n)
                if failed == 0:
                    unreached += 1  # this answer made fewer allocations
                    continue
                tried += 1
                where = "%s, N=%d at %s" % (name, n, _site(ctx, api.binary, site))
                san = _reports(api.reports)
                if san:
                    defects.append("%s: sanitizer report\n%s" % (where, "\n".join(san)[:4000]))
                if not api.alive():
                    defects.append("%s: the API process died (%s)" % (where, api.proc.returncode))
                    break
                if not a.complete:
                    # Only a streamed download may be broken off (the client
                    # sees a failed download), after whole rows of the
                    # normal answer.
                    cut = a.body.endswith(b"\r\n") and base.body.startswith(a.body)
                    if not (name == "csv export" and a.status == 200 and cut):
                        defects.append("%s: incomplete answer %r" % (where, a))
                    else:
                        broken_off += 1
                elif not (_same_answer(a, base, stable) or _envelope(a)):
                    i = next((k for k in range(min(len(a.body), len(base.body))) if a.body[k] != base.body[k]),
                             min(len(a.body), len(base.body)))
                    defects.append("%s: answer %d (%d bytes), normal %d (%d bytes); first difference at %d:"
                                   " %r instead of %r" % (where, a.status or 0, len(a.body), base.status,
                                                          len(base.body), i, a.body[max(0, i - 80):i + 80],
                                                          base.body[max(0, i - 80):i + 80]))
                after = stored()
                if after != before:
                    defects.append("%s: stored state changed: %s -> %s" % (where, before, after))
                nxt, _ = api.request("GET", "/api/v1/me", cookie=cookie)
                if not (nxt.complete and nxt.status == 200 and nxt.body == me_base.body):
                    defects.append("%s: the next request got %r" % (where, nxt))
            figures.append("%s %d/%d" % (name, tried, total))
            assert tried >= len(pts) // 2, (name, tried, unreached, "the fail points were not reached")
        api.stop()
        san = _reports(api.reports)
        if san:
            defects.append("at the API's exit: %s" % "\n".join(san)[:4000])
        assert not defects, "%d defects:\n%s\n\nthe first ones in full:\n%s" % (
            len(defects), "\n".join(d.split("\n")[0][:300] for d in defects[:60]), "\n\n".join(defects[:2] + defects[-1:]))
        print("alloc torture (API): fail points tried/allocations per request: %s; %d CSV downloads"
              " broken off; %.0f s" % (", ".join(figures), broken_off, time.time() - started))
    finally:
        if api:
            api.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_a_broken_off_csv_export_fails_visibly_through_nginx(ctx):
    """The stack's own API processes (spawn-fcgi, nginx in front) with the
    shim: an export whose allocation fails mid-way must reach the client as
    a cut chunked answer (http.client: IncompleteRead) or a connection
    closed with no answer (nginx had not sent the head yet), never as a
    short file that ends cleanly; the next request is answered normally."""
    import http.client
    ctl = os.path.join(ctx.dir, "alloc-ctl")
    with open(ctl, "w") as f:
        f.write("0")
    emu_reset(ctx)
    groups = _workspace(ctx)
    org, _ = _org(ctx, groups)
    sid = _queue(org)
    ctx.sync_pass("--org", str(org.id))
    path = "/api/v1/provisioning/slack/syncs/%d/export.csv" % sid
    full = org.admin.get(path)
    assert full.status == 200 and full.body.count(b"\r\n") > 30, full
    asan = os.environ.get("ASAN_OPTIONS", "")
    try:
        ctx.stack("api-restart", env={"LD_PRELOAD": _shim(ctx), "PV_ALLOC_SCOPE": "request",
                                      "PV_ALLOC_CTL": ctl,
                                      "ASAN_OPTIONS": asan + ":verify_asan_link_order=0"})
        outcomes = []
        # Points in the rows' part of the export (its header is built first).
        for n in (600, 900, 1200):
            with open(ctl, "w") as f:
                f.write(str(n))
            conn = http.client.HTTPConnection("127.0.0.1", ctx.port, timeout=60)
            try:
                conn.request("GET", path, headers={"Cookie": "pv_session=" + org.admin.cookies["pv_session"]})
                try:
                    r = conn.getresponse()
                except http.client.RemoteDisconnected:
                    # nginx had not sent the head yet: the connection closes
                    # with no answer at all.
                    outcomes.append(("cut", 200, True))
                    continue
                try:
                    body = r.read()
                    outcomes.append(("whole", r.status, body == full.body))
                except http.client.IncompleteRead as e:
                    outcomes.append(("cut", r.status, full.body.startswith(e.partial)))
            finally:
                conn.close()
                with open(ctl, "w") as f:
                    f.write("0")
            assert org.admin.get("/api/v1/me").status == 200
        # Each answer is whole and right, or visibly cut after a prefix of
        # the right one; at least one was cut.
        assert all(o[1] == 200 and o[2] for o in outcomes), outcomes
        assert any(o[0] == "cut" for o in outcomes), outcomes
        print("alloc torture (nginx): export answers %s" % outcomes)
    finally:
        ctx.stack("api-restart")
