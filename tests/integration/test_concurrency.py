"""Concurrency (issue 13, item 6): several workers and the API at once.

test_four_workers_fifty_organizations_config_saves_during_syncs: 50
organizations on the demo workspace queue a manual sync each; 4 sync
workers run at once while the API saves configurations (of those same
organizations) and reads their syncs.  Every sync runs exactly once
(succeeded, attempt 1), no report row is written twice, and every
organization's directory equals that of a reference organization synced
alone (a serial run).

test_approvals_racing_discards: 10 held syncs, each approved and discarded
at the same instant by two clients: exactly one of the two wins, the other
gets the plain 409; an approved sync then applies its plan, a discarded
one changes nothing.

CONCURRENCY_ORGS sets the number of organizations (50).
"""
import os
import random
import subprocess
import threading

from test_slack_connection import emu_reset
from test_sync import EVERYONE, directory, setup, shrink_scope_config

WORKERS = 4


def _strip(rows):
    # updated_at and ids differ between organizations; the rest must not.
    return [r[:-1] for r in rows]


def _run_workers(ctx, n):
    procs = [subprocess.Popen([ctx.bin("provisioning-sync")], env=ctx.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()


def test_four_workers_fifty_organizations_config_saves_during_syncs(ctx):
    n = int(os.environ.get("CONCURRENCY_ORGS", "50"))
    emu_reset(ctx)
    ref = setup(ctx)
    r = ref.admin.post("/api/v1/provisioning/slack/syncs")
    assert r.status == 202, r
    ctx.sync_pass("--org", str(ref.id))
    expected = _strip(directory(ctx, ref))
    assert expected
    orgs = [setup(ctx) for _ in range(n)]
    sids = {}
    for o in orgs:
        r = o.admin.post("/api/v1/provisioning/slack/syncs")
        assert r.status == 202, r
        sids[o.id] = r.json["sync"]["id"]
    stop, errors, saves = threading.Event(), [], [0]
    rng = random.Random(6)

    def saver():
        while not stop.is_set():
            o = rng.choice(orgs)
            cfg = dict(EVERYONE, deactivation_threshold={"percent": rng.randint(10, 50), "minimum": 10})
            r = o.admin.put("/api/v1/provisioning/slack/config", cfg)
            if r.status != 200:
                errors.append(("save", r.status, r.body[:200]))
            saves[0] += 1
            r = o.admin.get("/api/v1/provisioning/slack/syncs/%d" % sids[o.id])
            if r.status != 200:
                errors.append(("read", r.status, r.body[:200]))

    threads = [threading.Thread(target=saver, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        _run_workers(ctx, WORKERS)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == [], errors[:5]
    assert saves[0] > 0
    ids = ",".join(str(o.id) for o in orgs)
    rows = ctx.sql("SELECT organization_id, status, attempts FROM provisioning_syncs"
                   " WHERE organization_id IN (%s) ORDER BY organization_id" % ids)
    assert len(rows) == n and all(r[1] == "succeeded" and r[2] == "1" for r in rows), \
        [r for r in rows if r[1] != "succeeded" or r[2] != "1"][:5]
    dup = ctx.sql("SELECT sync_id, slack_user_id, action, team_id, COUNT(*) FROM provisioning_sync_actions"
                  " WHERE organization_id IN (%s) GROUP BY sync_id, slack_user_id, action, team_id"
                  " HAVING COUNT(*) > 1" % ids)
    assert dup == [], dup[:5]
    for o in orgs:
        assert _strip(directory(ctx, o)) == expected, "organization %d differs from a serial run" % o.id
    print("concurrency: %d organizations, %d workers, %d configuration saves during the run,"
          " every sync once" % (n, WORKERS, saves[0]))


def test_approvals_racing_discards(ctx):
    emu_reset(ctx)
    orgs = []
    for _ in range(10):
        o = setup(ctx, config=dict(EVERYONE, deactivation_threshold={"percent": 10, "minimum": 2}))
        assert o.admin.post("/api/v1/provisioning/slack/syncs").status == 202
        orgs.append(o)
    _run_workers(ctx, WORKERS)
    held = {}
    for o in orgs:
        assert o.admin.put("/api/v1/provisioning/slack/config", shrink_scope_config(10, 2)).status == 200
        r = o.admin.post("/api/v1/provisioning/slack/syncs")
        assert r.status == 202, r
        held[o.id] = r.json["sync"]["id"]
    _run_workers(ctx, WORKERS)
    before = {}
    for o in orgs:
        s = o.admin.get("/api/v1/provisioning/slack/syncs/%d" % held[o.id]).json["sync"]
        assert s["status"] == "held", s
        before[o.id] = directory(ctx, o)
    results = {}

    def race(o):
        # A second client of the same administrator: same session cookie.
        other = ctx.client()
        other.cookies = dict(o.admin.cookies)
        go = threading.Barrier(2)
        out = {}

        def call(name, client):
            go.wait()
            out[name] = client.post("/api/v1/provisioning/slack/syncs/%d/%s" % (held[o.id], name))

        ts = [threading.Thread(target=call, args=("approve", o.admin)),
              threading.Thread(target=call, args=("discard", other))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        results[o.id] = out

    threads = [threading.Thread(target=race, args=(o,)) for o in orgs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    approved = []
    for o in orgs:
        out = results[o.id]
        codes = sorted((k, v.status) for k, v in out.items())
        winners = [k for k, v in out.items() if v.status == 200]
        assert len(winners) == 1, codes
        loser = [v for k, v in out.items() if v.status != 200][0]
        assert loser.status == 409 and loser.json["error"]["message"], loser
        if winners[0] == "approve":
            approved.append(o)
    _run_workers(ctx, WORKERS)
    for o in orgs:
        s = o.admin.get("/api/v1/provisioning/slack/syncs/%d" % held[o.id]).json["sync"]
        if o in approved:
            assert s["status"] == "succeeded", s
            assert directory(ctx, o) != before[o.id]
        else:
            assert s["status"] == "discarded", s
            assert directory(ctx, o) == before[o.id]
    print("approval races: %d held syncs, %d approved, %d discarded, each exactly one winner"
          % (len(orgs), len(approved), len(orgs) - len(approved)))


LOAD_PATHS = ["/api/v1/me", "/api/v1/teams", "/api/v1/users?limit=50", "/api/v1/settings",
              "/api/v1/provisioning/slack/syncs", "/api/v1/provisioning"]


def _api_rss_kib(ctx):
    with open(os.path.join(ctx.dir, "api.pid")) as f:
        pids = [int(p) for p in f.read().split()]
    out = {}
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1])
    assert len(out) == len(pids) > 0, out
    return out


def _wrk(ctx, seconds, cookie, script):
    r = subprocess.run(["wrk", "-t", "2", "-c", "64", "-d", "%ds" % seconds, "--timeout", "10s",
                        "-H", "Cookie: " + cookie, "-s", script, ctx.base_url + "/"],
                       capture_output=True, text=True, timeout=seconds + 120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_load_on_the_main_read_endpoints(ctx):
    """wrk at 64 connections over the main read endpoints (LOAD_SECONDS: 6
    in make test, 60 in make soak): 0 answers but 200, and the API
    processes' memory does not grow (RSS before and after, after a
    warm-up run of the same length)."""
    seconds = int(os.environ.get("LOAD_SECONDS", "60" if os.environ.get("SOAK") else "6"))
    org = ctx.new_org()
    for i in range(20):
        ctx.new_user(org)
        org.admin.post("/api/v1/teams", {"name": "Load %d" % i})
    cookie = "; ".join("%s=%s" % kv for kv in org.admin.cookies.items())
    script = os.path.join(ctx.dir, "load.lua")
    with open(script, "w") as f:
        f.write("local paths = {%s}\nlocal i = 0\n" % ", ".join('"%s"' % p for p in LOAD_PATHS))
        f.write("request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
        f.write("done = function(summary, latency, requests)\n"
                "  io.write(string.format(\"requests %d non2xx %d errors %d\\n\", summary.requests,"
                " summary.errors.status, summary.errors.connect + summary.errors.read +"
                " summary.errors.write + summary.errors.timeout))\nend\n")
    _wrk(ctx, max(2, seconds // 3), cookie, script)  # warm-up: caches, pools, allocator
    before = _api_rss_kib(ctx)
    out = _wrk(ctx, seconds, cookie, script)
    after = _api_rss_kib(ctx)
    line = [l for l in out.splitlines() if l.startswith("requests ")]
    assert line, out
    _, total, _, non2xx, _, errors = line[0].split()
    assert int(total) > 0 and int(non2xx) == 0 and int(errors) == 0, line[0]
    growth = {pid: after[pid] - before[pid] for pid in before}
    # Under ASan a freed block waits in a 16 MB quarantine before reuse, so
    # a process may settle a few MB higher; a leak per request would be
    # far above this bound over tens of thousands of requests.
    assert max(growth.values()) < 24 * 1024, growth
    print("load: %s requests in %d s at 64 connections, 0 non-2xx, RSS growth KiB %s"
          % (total, seconds, sorted(growth.values())))
