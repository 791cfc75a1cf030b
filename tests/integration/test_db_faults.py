"""Database faults (issue 13, item 4): MariaDB stopped and started again in
the middle of a sync and under API load.

The sync: a 3,000-person first sync in batches of 50 loses its database
after some batches.  It must stop by itself (no hang), with every batch
either wholly applied or not at all: each created user has exactly its one
succeeded create row, written in the same transaction.  Once MariaDB is
back and the lease has run out, the next pass finishes the same sync, and
the directory holds everyone once.

The API: four client threads read /api/v1/me and /api/v1/teams while the
database goes away and comes back.  Every answer is 200, or 503 with the
JSON envelope (database_unavailable, Retry-After); never another status,
never a body that is not the envelope; once recovered, 40 answers in a row
are 200.  (The spurious 503 of each process's first request after a
reconnect is being fixed on another branch; the check to add then is that
no 503 follows the first 200 after the restart, see RELIABILITY.md.)
"""
import json
import signal
import subprocess
import threading
import time

from test_slack_connection import connect, emu_reset

TEAM = "T0DBFAULT1"
PEOPLE = 3000
LEASE = 3


def _org(ctx):
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM) == {"connected": "1"}
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": False, "mappings": []},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    return org


def _consistent(ctx, org):
    """Users created == succeeded create rows, person by person."""
    users = {r[0] for r in ctx.sql("SELECT slack_user_id FROM users WHERE organization_id = ?"
                                   " AND source = 'slack'", org.id)}
    rows = [r[0] for r in ctx.sql("SELECT slack_user_id FROM provisioning_sync_actions"
                                  " WHERE organization_id = ? AND action = 'create'"
                                  " AND outcome = 'succeeded'", org.id)]
    assert len(rows) == len(set(rows)), "a create recorded twice"
    assert set(rows) == users, (len(rows), len(users))
    return len(users)


def test_mariadb_stopped_during_a_sync_stops_it_cleanly_and_the_next_pass_finishes(ctx):
    emu = emu_reset(ctx)
    assert emu.post("/_emulator/generate", {"team": TEAM, "users": PEOPLE, "groups": 2,
                                            "members_per_group": 10, "seed": 4}).status == 200
    org = _org(ctx)
    r = org.admin.post("/api/v1/provisioning/slack/syncs")
    assert r.status == 202, r
    sid = r.json["sync"]["id"]
    env = dict(ctx.env, SYNC_BATCH_SIZE="50", SYNC_LEASE_SECONDS=str(LEASE))
    p = subprocess.Popen([ctx.bin("provisioning-sync"), "--org", str(org.id)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stopped = False
    try:
        ctx.wait("some batches", lambda: int(ctx.sql(
            "SELECT COUNT(*) FROM users WHERE organization_id = ? AND source = 'slack'",
            org.id)[0][0]) >= 300 or p.poll() is not None, seconds=120, interval=0.05)
        assert p.poll() is None, "the sync finished before the database was stopped"
        ctx.stack("db-stop")
        stopped = True
        # It stops by itself, in bounded time, and says why.
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            raise AssertionError("the sync hung without its database")
        err = p.stderr.read()
        assert err.strip(), "the sync stopped without a word"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if stopped:
            ctx.stack("db-start")
    done = _consistent(ctx, org)
    assert 0 < done < PEOPLE, done
    st = ctx.sql("SELECT status, attempts FROM provisioning_syncs WHERE id = ?", sid)[0]
    assert st[0] in ("running", "failed"), st
    how = st[0]
    _settle(ctx)
    if st[0] == "running":
        # Its lease runs out; the next pass resumes the same sync.
        time.sleep(LEASE + 0.5)
        ctx.sync_pass("--org", str(org.id))
        st = ctx.sql("SELECT status, attempts FROM provisioning_syncs WHERE id = ?", sid)[0]
        assert st == ["succeeded", "2"], st
    else:
        # Failed cleanly: a new sync finishes the work.
        r = org.admin.post("/api/v1/provisioning/slack/syncs")
        assert r.status == 202, r
        ctx.sync_pass("--org", str(org.id))
    total = _consistent(ctx, org)
    assert total > done, (total, done)
    dup = ctx.sql("SELECT email, COUNT(*) FROM users WHERE organization_id = ? GROUP BY email"
                  " HAVING COUNT(*) > 1", org.id)
    assert dup == [], dup[:5]
    print("db fault in a sync: stopped after %d of %d people (%s); finished with %d"
          % (done, total, how, total))


def _settle(ctx):
    """Waits until every API process answers from the database again: a
    forged session is looked up and refused (401) twelve times in a row.
    Each process's first request after a restart is a 503 today (issue 12,
    being fixed elsewhere), so this wait is needed before a test signs in."""
    c = ctx.client()
    c.cookies["pv_session"] = "0" * 64
    streak, deadline = 0, time.time() + 60
    while streak < 12:
        assert time.time() < deadline, "the API did not recover"
        streak = streak + 1 if c.get("/api/v1/teams").status == 401 else 0


def _is_envelope_503(status, headers, body):
    if status != 503 or not headers.get("retry-after"):
        return False
    try:
        e = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return e.get("code") == "database_unavailable" and bool(e.get("message"))


def test_mariadb_stopped_under_api_load_gives_503_envelopes_then_recovers(ctx):
    _settle(ctx)
    org = ctx.new_org()
    cookie = "; ".join("%s=%s" % kv for kv in org.admin.cookies.items())
    answers, bad, stop = [], [], threading.Event()
    lock = threading.Lock()

    def reader(path):
        import http.client
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", ctx.port, timeout=30)
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                r = conn.getresponse()
                status, headers, body = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
            finally:
                conn.close()
            ok = status == 200 or _is_envelope_503(status, headers, body)
            with lock:
                answers.append((time.time(), status))
                if not ok:
                    bad.append((status, body[:200]))
            time.sleep(0.02)

    threads = [threading.Thread(target=reader, args=(p,), daemon=True)
               for p in ("/api/v1/me", "/api/v1/teams", "/api/v1/me", "/api/v1/teams")]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        ctx.stack("db-stop")
        down_at = time.time()
        time.sleep(3)
    finally:
        start_at = time.time()
        ctx.stack("db-start")
    ctx.wait("the API to recover", lambda: org.admin.get("/api/v1/teams").status == 200, seconds=30)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert bad == [], bad[:5]
    while_down = [s for t, s in answers if down_at + 0.5 < t < start_at]
    assert while_down and all(s == 503 for s in while_down), while_down[:20]
    assert any(s == 200 for t, s in answers if t < down_at), "no load before the stop"
    # Recovered by itself, no restart of the API.
    _settle(ctx)
    for _ in range(40):
        assert org.admin.get("/api/v1/me").status == 200
    print("db fault under load: %d answers, %d 503 envelopes while down, 0 others"
          % (len(answers), len(while_down)))
