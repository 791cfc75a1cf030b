#!/usr/bin/env python3
"""The first sync of a workspace whose groups are mapped to teams (issue 10,
item 2), measured quickly: N people, G groups of M members each mapped 1:1
to G teams.  Prints wall time and peak RSS of the first sync, of a re-sync
with nothing changed and of a re-sync after 1 % of the people changed,
each with the directory rows it wrote, next to the read limit (the
project's Slack client listing every member) and a write limit (LOAD DATA
of exactly the users, memberships and report rows the first sync wrote,
into empty copies of their tables).  PERF=1 records the first sync with
perf (perf.data in the stack's folder; the report is printed)."""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from run import Context  # noqa: E402
from test_slack_connection import connect  # noqa: E402
from sync_bench import mariadb, timed  # noqa: E402

TEAM = "T0MAPPED01"


def directory_rows(ctx, org):
    """Directory rows the organization's last sync wrote, by its counts."""
    r = ctx.sql("SELECT id, status, n_created + n_updated + n_deactivated + n_reactivated"
                " + n_added_to_team + n_removed_from_team, n_failed FROM provisioning_syncs"
                " WHERE organization_id = ? ORDER BY id DESC LIMIT 1", org.id)[0]
    return int(r[0]), r[1], int(r[2]), int(r[3])


def one_sync(ctx, org, cmd, perf_data=None):
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    if perf_data:
        cmd = ["perf", "record", "-F", "499", "-g", "-o", perf_data, "--"] + cmd
    took, rss = timed(cmd, ctx.env)
    return (took, rss) + directory_rows(ctx, org)


def change_one_percent(ctx, token, n):
    """1 % of the people get a new job title (an update each), read back
    through the emulator's users.list (the workspace is too large for
    ?full=1)."""
    emu = ctx.emulator()
    users, cursor = [], ""
    while True:
        r = emu.request("GET", "/api/users.list", headers={"Authorization": "Bearer " + token},
                        query={"limit": "1000", "cursor": cursor})
        users += [u for u in r.json["members"] if not u.get("deleted") and not u.get("is_bot")
                  and (u.get("profile") or {}).get("email")]
        cursor = (r.json.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    changed = 0
    for u in users[:: max(1, len(users) // max(1, n // 100))][: n // 100]:
        u["profile"]["title"] = "Changed title %d" % changed
        assert emu.post("/_emulator/workspace/%s/users" % TEAM, u).status == 200
        changed += 1
    return changed


def show(label, m):
    print("%-44s %8.2fs %6.0fMiB %12d   %s, %d failed" % (label, m[0], m[1], m[4], m[3], m[5]),
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--emulator-port", type=int, required=True)
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--members", type=int, default=6800)
    args = ap.parse_args()
    ctx = Context(ROOT, args.dir, args.port, args.emulator_port)
    emu = ctx.emulator()
    emu.post("/_emulator/reset", {})
    start = time.monotonic()
    r = emu.post("/_emulator/generate", {"team": TEAM, "users": args.users, "groups": args.groups,
                                         "members_per_group": args.members, "seed": 42})
    assert r.status == 200, r
    print("mapped: workspace generated in %.1fs" % (time.monotonic() - start), flush=True)
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM) == {"connected": "1"}
    # The generator's group ids; every 20th group is disabled (the
    # workspace is too large for ?full=1).
    mappings = []
    for i in range(args.groups):
        if i % 20 == 19:
            continue
        tid = org.admin.post("/api/v1/teams", {"name": "Team %d" % i}).json["team"]["id"]
        mappings.append({"slack_group_id": "SG%08d" % i, "team_id": tid})
    cfg = {"members": {"mode": "everyone", "group_ids": []},
           "team_mapping": {"enabled": True, "mappings": mappings},
           "deactivation_threshold": {"percent": 10, "minimum": 10}}
    r = org.admin.put("/api/v1/provisioning/slack/config", cfg)
    assert r.status == 200, r
    cmd = [os.path.join(ROOT, "cron", "provisioning-sync"), "--org", str(org.id)]
    perf_data = os.path.join(args.dir, "perf.data") if os.environ.get("PERF") else None

    print("%-44s %9s %9s %12s" % ("measure", "wall", "peak RSS", "dir. rows"))
    first = one_sync(ctx, org, cmd, perf_data)
    show("first sync", first)
    sid = first[2]

    token = [t["token"] for t in emu.get("/_emulator/tokens").json["tokens"]
             if t["team"] == TEAM and not t["revoked"]][-1]
    t_read, _ = timed([os.path.join(ROOT, "build", "rel", "slack-client-probe"), "users", token, "200"],
                      dict(ctx.env, SLACK_API_BASE=ctx.emulator_url + "/api/"))

    tables = [("users", "users WHERE organization_id = %d AND source = 'slack'" % org.id,
               "organization_id, email, first_name, last_name, display_name, job_title, picture_url,"
               " avatar_hash, is_guest, source, provisioned, slack_workspace_id, slack_user_id"),
              ("team_memberships", "team_memberships WHERE organization_id = %d" % org.id,
               "organization_id, team_id, user_id, source"),
              ("provisioning_sync_actions", "provisioning_sync_actions WHERE sync_id = %d" % sid,
               "sync_id, organization_id, action, reason, outcome, changed, user_id, user_email,"
               " user_name, slack_user_id, team_id, team_name, changes_json, details")]
    loaded = []
    with tempfile.TemporaryDirectory() as tmp:
        load = ["SET foreign_key_checks = 0"]
        for name, where, cols in tables:
            path = os.path.join(tmp, name + ".tsv")
            with open(path, "w") as f:
                f.write(mariadb(ctx, "SELECT %s FROM %s" % (cols, where), "-N", "-B", "--raw"))
            mariadb(ctx, "DROP TABLE IF EXISTS bench_%s; CREATE TABLE bench_%s LIKE %s" % (name, name, name))
            load.append("LOAD DATA LOCAL INFILE '%s' INTO TABLE bench_%s (%s)" % (path, name, cols))
        start = time.monotonic()
        mariadb(ctx, "; ".join(load))
        t_write = time.monotonic() - start
        for name, _, _ in tables:
            loaded.append(mariadb(ctx, "SELECT COUNT(*) FROM bench_%s" % name, "-N", "-B").strip())
            mariadb(ctx, "DROP TABLE bench_%s" % name)

    print("%-44s %8.2fs" % ("read limit (users.list, limit 200)", t_read))
    print("%-44s %8.2fs" % ("write limit (LOAD DATA of the rows written)", t_write), flush=True)
    same = one_sync(ctx, org, cmd)
    show("no-change re-sync", same)
    n_changed = change_one_percent(ctx, token, args.users)
    pct = one_sync(ctx, org, cmd)
    show("re-sync after %d changed" % n_changed, pct)

    print("mapped: %d people, %d groups of %d mapped to %d teams" % (args.users, args.groups, args.members,
                                                                     len(mappings)))
    print("mapped: write limit loads %s users, %s memberships, %s report rows" % tuple(loaded))
    print("%-44s %8.2fx" % ("first sync / (read + write limit)", first[0] / (t_read + t_write)))
    print("%-44s %8.2fx" % ("no-change re-sync / read limit", same[0] / t_read))
    print("%-44s %8.2fx" % ("1 % re-sync / no-change re-sync", pct[0] / same[0]))
    if perf_data:
        out = subprocess.run(["perf", "report", "-i", perf_data, "--no-children", "--stdio",
                              "--percent-limit", "2", "-g", "none"], capture_output=True, text=True)
        print(out.stdout[-6000:])


if __name__ == "__main__":
    main()
