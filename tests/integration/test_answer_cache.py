"""Answers the API gives again while nothing changed (core/answer_cache.h,
db/db_changes.h): a write of the product's own programs (the API in any of
its processes, the sync, the admin command) shows in the very next answer of
every process; a write made outside them shows within api.cache_ms, or at
once after `provisioning-admin changed`; sessions are kept under the same
count (every way the product ends a session or a person's access is a
commit), and their end is checked against the clock."""
import os
import subprocess
import threading
import time

from test_sync import setup, sync

SETTINGS = "/api/v1/settings"


def _api_processes(ctx):
    with open(os.path.join(ctx.dir, "api.pid")) as f:
        return len(f.read().split())


def _burst(ctx, client, path, rounds=8):
    """Answers of concurrent requests, one per API process at a time, so that
    every process answers (and keeps) its own copy."""
    out = []
    n = _api_processes(ctx)
    for _ in range(rounds):
        results = []
        threads = [threading.Thread(target=lambda: results.append(client.get(path)))
                   for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out.extend(results)
    return out


def _retention(answers):
    assert all(a.status == 200 for a in answers), [a for a in answers if a.status != 200][:1]
    return sorted({a.json["settings"]["sync_retention_days"] for a in answers})


def _raw_sql(ctx, query):
    """A write outside the programs and outside ctx.sql, which counts it."""
    subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(ctx.dir, "mysqld.sock"),
                    "-uroot", "provisioning", "-e", query], check=True, timeout=60)


def test_a_write_through_the_api_shows_at_once_in_every_process(ctx):
    org = ctx.new_org()
    a = org.admin
    assert _retention(_burst(ctx, a, SETTINGS)) == [365]
    for days in (30, 31, 32):
        r = a.patch(SETTINGS, {"sync_retention_days": days})
        assert r.status == 200, r
        assert _retention(_burst(ctx, a, SETTINGS, rounds=3)) == [days]


def test_a_sync_and_the_admin_command_show_at_once(ctx):
    org = setup(ctx)
    a = org.admin
    before = _burst(ctx, a, "/api/v1/users?limit=200")
    assert {len(r.json["users"]) for r in before} == {1}   # the administrator alone
    status = _burst(ctx, a, "/api/v1/provisioning/slack", rounds=2)
    assert {r.json["sync"]["last"] is None for r in status} == {True}
    s = sync(ctx, org)
    after = _burst(ctx, a, "/api/v1/users?limit=200")
    counts = {len(r.json["users"]) for r in after}
    assert counts == {1 + s["counts"]["created"]} and s["counts"]["created"] > 0, (counts, s)
    status = _burst(ctx, a, "/api/v1/provisioning/slack", rounds=2)
    assert {r.json["sync"]["last"]["id"] for r in status} == {s["id"]}
    # A member made by the operator's command line.
    uid = ctx.new_user(org, first="Cli", last="Made")
    ids = [{u["id"] for u in r.json["users"]} for r in _burst(ctx, a, "/api/v1/users?limit=200")]
    assert all(uid in i for i in ids)


def test_a_write_outside_the_programs_shows_within_the_bound_or_after_changed(ctx):
    org = ctx.new_org()
    a = org.admin
    assert _retention(_burst(ctx, a, SETTINGS)) == [365]
    _raw_sql(ctx, "UPDATE organization_settings SET sync_retention_days = 40"
                  " WHERE organization_id = %d" % org.id)
    # The processes kept 365 a moment ago: the edit is not counted, so they
    # give it again (the cache at work: without it every answer says 40)...
    assert 365 in _retention(_burst(ctx, a, SETTINGS, rounds=2))
    # ...for api.cache_ms (1000) at most.
    time.sleep(1.1)
    assert _retention(_burst(ctx, a, SETTINGS)) == [40]
    _raw_sql(ctx, "UPDATE organization_settings SET sync_retention_days = 41"
                  " WHERE organization_id = %d" % org.id)
    r = ctx.admin_cli("changed")
    assert r.returncode == 0 and "anew" in r.stdout, (r.stdout, r.stderr)
    assert _retention(_burst(ctx, a, SETTINGS, rounds=3)) == [41]


def _member(ctx, org, password="member password 1"):
    uid = ctx.new_user(org, first="Mem", last="Ber", password=password)
    email = ctx.sql("SELECT email FROM users WHERE id = ?", uid)[0][0]
    m = ctx.client()
    r = m.post("/api/v1/session", {"email": email, "password": password})
    assert r.status == 200, r
    return uid, m


def test_sessions_ended_by_the_product_are_refused_at_once_in_every_process(ctx):
    org = ctx.new_org()
    a = org.admin
    uid, m = _member(ctx, org)
    # Kept by who asks: each gets their own /me.
    assert {x.json["user"]["id"] for x in _burst(ctx, m, "/api/v1/me", rounds=2)} == {uid}
    mine = {x.json["user"]["id"] for x in _burst(ctx, a, "/api/v1/me", rounds=2)}
    assert mine == {a.get("/api/v1/me").json["user"]["id"]} and uid not in mine
    # A member is refused the administrators' answers another kept.
    assert _retention(_burst(ctx, a, SETTINGS)) == [365]
    assert {x.status for x in _burst(ctx, m, SETTINGS, rounds=2)} == {403}
    # Deactivated by an administrator: the session every process kept is
    # refused on the next request.
    r = a.patch("/api/v1/users/%d" % uid, {"status": "deactivated"})
    assert r.status == 200, r
    assert {x.status for x in _burst(ctx, m, "/api/v1/me", rounds=3)} == {401}
    # Signed out: the same, for the old cookie replayed.
    assert _retention(_burst(ctx, a, SETTINGS)) == [365]
    token = a.cookies["pv_session"]
    assert a.delete("/api/v1/session").status == 204
    replay = ctx.client()
    replay.cookies["pv_session"] = token
    assert {x.status for x in _burst(ctx, replay, SETTINGS, rounds=3)} == {401}


def test_sessions_ended_by_hand_are_refused_within_the_bound_or_after_changed(ctx):
    org = ctx.new_org()
    a = org.admin
    assert _retention(_burst(ctx, a, SETTINGS)) == [365]
    _raw_sql(ctx, "UPDATE sessions SET expires_at = NOW() - INTERVAL 1 SECOND"
                  " WHERE organization_id = %d" % org.id)
    time.sleep(1.1)
    assert {x.status for x in _burst(ctx, a, SETTINGS, rounds=3)} == {401}
    other = ctx.new_org()
    assert _retention(_burst(ctx, other.admin, SETTINGS)) == [365]
    _raw_sql(ctx, "DELETE FROM sessions WHERE organization_id = %d" % other.id)
    r = ctx.admin_cli("changed")
    assert r.returncode == 0, r.stderr
    assert {x.status for x in _burst(ctx, other.admin, SETTINGS, rounds=3)} == {401}


def test_another_organization_never_gets_an_answer_kept_for_one(ctx):
    one, two = ctx.new_org(), ctx.new_org()
    r = one.admin.patch(SETTINGS, {"sync_retention_days": 77})
    assert r.status == 200, r
    assert _retention(_burst(ctx, one.admin, SETTINGS)) == [77]
    assert _retention(_burst(ctx, two.admin, SETTINGS)) == [365]
