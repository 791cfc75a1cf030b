#!/usr/bin/env python3
"""make bench: the sync of a large workspace against what the same work costs
done the simplest way, measured in the same run (these machines are noisy, so
only ratios are compared).

  first sync / (read Slack + bulk-load exactly the rows the sync wrote)
  no-change re-sync / read Slack
  peak memory of the sync process

Reading Slack is the project's own client (build/rel/slack-client-probe)
listing every member with the same page size; bulk loading is LOAD DATA of
the users and report rows the sync wrote, into empty copies of their tables.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from run import Context  # noqa: E402
from test_slack_connection import connect  # noqa: E402

TEAM = "T0BENCH001"


def peak_rss_kib(pid):
    """VmHWM of a live process, 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(cmd, env):
    """Runs cmd; returns (seconds, peak RSS in MiB).  The peak is read from
    /proc while it runs: getrusage's ru_maxrss would also count the memory
    of this Python process, which the child inherits until its exec."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while p.poll() is None:
        peak = max(peak, peak_rss_kib(p.pid))
        time.sleep(0.02)
    took = time.monotonic() - start
    if p.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (cmd[0], p.stderr.read().decode()[-2000:]))
    return took, peak / 1024.0


def mariadb(ctx, sql, *extra):
    return subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(ctx.dir, "mysqld.sock"),
                           "-uroot", "--local-infile=1", "provisioning"] + list(extra) + ["-e", sql],
                          capture_output=True, text=True, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--emulator-port", type=int, required=True)
    ap.add_argument("--users", type=int, default=int(os.environ.get("BENCH_USERS", "100000")))
    args = ap.parse_args()
    ctx = Context(ROOT, args.dir, args.port, args.emulator_port)
    emu = ctx.emulator()
    emu.post("/_emulator/reset", {})
    r = emu.post("/_emulator/generate", {"team": TEAM, "users": args.users, "groups": 50,
                                         "members_per_group": 200, "seed": 42})
    assert r.status == 200, r
    org = ctx.new_org()
    assert connect(ctx, org, team=TEAM) == {"connected": "1"}
    cfg = {"members": {"mode": "everyone", "group_ids": []}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    sync_cmd = [os.path.join(ROOT, "cron", "provisioning-sync"), "--org", str(org.id)]

    # The sync, first time: everything is created.
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    t_sync, rss_sync = timed(sync_cmd, ctx.env)
    sid = int(ctx.sql("SELECT MAX(id) FROM provisioning_syncs WHERE organization_id = ?", org.id)[0][0])
    status = ctx.sql("SELECT status, n_created, n_skipped FROM provisioning_syncs WHERE id = ?", sid)[0]

    # Baseline 1: reading Slack with the same client and page size.
    token = [t["token"] for t in emu.get("/_emulator/tokens").json["tokens"]
             if t["team"] == TEAM and not t["revoked"]][-1]
    t_read, _ = timed([os.path.join(ROOT, "build", "rel", "slack-client-probe"), "users", token, "200"],
                      dict(ctx.env, SLACK_API_BASE=ctx.emulator_url + "/api/"))

    # Baseline 2: bulk-loading exactly the rows the sync wrote.
    with tempfile.TemporaryDirectory() as tmp:
        users_tsv, actions_tsv = os.path.join(tmp, "users.tsv"), os.path.join(tmp, "actions.tsv")
        ucols = ("organization_id, email, first_name, last_name, display_name, job_title, picture_url,"
                 " avatar_hash, is_guest, source, provisioned, slack_workspace_id, slack_user_id")
        acols = ("sync_id, organization_id, action, reason, outcome, changed, user_id, user_email,"
                 " user_name, slack_user_id, team_id, team_name, changes_json, details")
        with open(users_tsv, "w") as f:
            f.write(mariadb(ctx, "SELECT %s FROM users WHERE organization_id = %d AND source = 'slack'"
                            % (ucols, org.id), "-N", "-B", "--raw"))
        with open(actions_tsv, "w") as f:
            f.write(mariadb(ctx, "SELECT %s FROM provisioning_sync_actions WHERE sync_id = %d"
                            % (acols, sid), "-N", "-B", "--raw"))
        mariadb(ctx, "DROP TABLE IF EXISTS bench_users, bench_actions;"
                     " CREATE TABLE bench_users LIKE users; CREATE TABLE bench_actions LIKE provisioning_sync_actions")
        start = time.monotonic()
        mariadb(ctx, "SET unique_checks = 1; LOAD DATA LOCAL INFILE '%s' INTO TABLE bench_users (%s);"
                     " LOAD DATA LOCAL INFILE '%s' INTO TABLE bench_actions (%s)"
                % (users_tsv, ucols, actions_tsv, acols))
        t_load = time.monotonic() - start
        loaded = mariadb(ctx, "SELECT (SELECT COUNT(*) FROM bench_users), (SELECT COUNT(*) FROM bench_actions)",
                         "-N", "-B").split()
        mariadb(ctx, "DROP TABLE bench_users, bench_actions")

    # The sync again, nothing changed in Slack.
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    t_resync, rss_resync = timed(sync_cmd, ctx.env)
    re_counts = ctx.sql("SELECT n_created + n_updated + n_deactivated + n_reactivated, n_skipped"
                        " FROM provisioning_syncs WHERE organization_id = ? ORDER BY id DESC LIMIT 1", org.id)[0]

    print("bench: workspace of %d members; first sync %s, %s created, %s skipped"
          % (args.users, status[0], status[1], status[2]))
    print("bench: rows bulk-loaded for the baseline: %s users, %s report rows" % tuple(loaded))
    print("%-52s %9s" % ("measure", "value"))
    print("%-52s %8.2fs" % ("read Slack (users.list, limit 200)", t_read))
    print("%-52s %8.2fs" % ("bulk-load the rows the sync wrote (LOAD DATA)", t_load))
    print("%-52s %8.2fs" % ("first sync", t_sync))
    print("%-52s %8.2fx" % ("first sync / (read + bulk load)   [target <= 1.2]", t_sync / (t_read + t_load)))
    print("%-52s %8.2fs" % ("no-change re-sync (changes applied: %s)" % re_counts[0], t_resync))
    print("%-52s %8.2fx" % ("no-change re-sync / read Slack", t_resync / t_read))
    print("%-52s %7.0fMiB" % ("peak memory, first sync   [target <= 200 MiB]", rss_sync))
    print("%-52s %7.0fMiB" % ("peak memory, re-sync", rss_resync))


if __name__ == "__main__":
    main()
