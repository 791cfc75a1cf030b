"""The sync's snapshot as it is read.  The people: a users.list that starts
over is counted once (the last test).  The directory side
(directory_snapshot_read) is one moment: rows written while it reads are wholly out of it, and the next read
has them.  Driven through build/rel/directory-snapshot-probe
(tests/directory-snapshot-probe.c).

To race deterministically, a second session holds LOCK TABLES teams WRITE:
the reader gets through users and then waits on teams.  While it waits a
user and a team are added; then the lock is released.  Reads that were not
one transaction (the old COUNT-then-SELECT statements) saw the new team."""
import os
import subprocess
import time

PROBE = os.path.join("build", "rel", "directory-snapshot-probe")


def _probe_path(ctx):
    path = os.path.join(ctx.root, PROBE)
    if not os.path.exists(path):
        done = ctx.run(["make", "-C", ctx.root, "--no-print-directory", PROBE])
        assert done.returncode == 0, done.stderr
    return path


def _read(out):
    lines = out.splitlines()
    counts = dict(kv.split("=") for kv in lines[0].split())
    users = [line.split()[2] for line in lines if line.startswith("user ")]
    teams = [line.split(" ", 2)[2] for line in lines if line.startswith("team ")]
    return {k: int(v) for k, v in counts.items()}, users, teams


def _session(ctx):
    """An interactive root session whose answers come line by line."""
    return subprocess.Popen(
        ["mariadb", "--no-defaults", "--socket=" + os.path.join(ctx.dir, "mysqld.sock"), "-uroot",
         "-N", "-B", "--unbuffered", "provisioning"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _say(session, sql, marker):
    session.stdin.write(sql + "\nSELECT '%s';\n" % marker)
    session.stdin.flush()
    line = session.stdout.readline().strip()
    assert line == marker, "session answered %r (%s)" % (line, session.stderr.read() if not line else "")


def test_directory_read_racing_inserts_sees_one_moment(ctx):
    org = ctx.new_org()
    ctx.sql("INSERT INTO teams (organization_id, name) VALUES (?, ?)", org.id, "Before")
    probe = _probe_path(ctx)
    done = ctx.run([probe, str(org.id), "W1"])
    assert done.returncode == 0, done.stdout + done.stderr
    before, users, teams = _read(done.stdout)
    assert before == {"users": 1, "teams": 1, "memberships": 0}, done.stdout
    assert users == [org.admin_email] and teams == ["Before"], done.stdout

    lock = _session(ctx)
    reader = None
    try:
        _say(lock, "LOCK TABLES teams WRITE;", "locked")
        reader = subprocess.Popen([probe, str(org.id), "W1"], env=ctx.env, cwd=ctx.root,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The reader has read users and waits for teams.
        ctx.wait("the reader blocked on teams", lambda: ctx.sql(
            "SELECT COUNT(*) FROM information_schema.processlist"
            " WHERE info LIKE 'SELECT id, name FROM teams%'")[0][0] == "1", seconds=30)
        late = ctx.new_user(org, email="late-%s@example.test" % ctx.unique())
        assert late > 0
        _say(lock, "INSERT INTO teams (organization_id, name) VALUES (%d, 'During');" % org.id,
             "inserted")
        _say(lock, "UNLOCK TABLES;", "unlocked")
        out, err = reader.communicate(timeout=60)
    finally:
        if reader and reader.poll() is None:
            reader.kill()
        lock.stdin.close()
        lock.wait(timeout=30)
    assert reader.returncode == 0, out + err
    during, users, teams = _read(out)
    # Neither the user written while teams were read nor the team.
    assert during == before, out
    assert users == [org.admin_email] and teams == ["Before"], out

    done = ctx.run([probe, str(org.id), "W1"])
    assert done.returncode == 0, done.stdout + done.stderr
    after, users, teams = _read(done.stdout)
    assert after == {"users": 2, "teams": 2, "memberships": 0}, done.stdout
    assert sorted(teams) == ["Before", "During"], done.stdout


def test_directory_read_keeps_links_of_this_workspace_only(ctx):
    org = ctx.new_org()
    a = ctx.new_user(org, email="a-%s@example.test" % ctx.unique())
    b = ctx.new_user(org, email="b-%s@example.test" % ctx.unique())
    ctx.sql("UPDATE users SET slack_workspace_id = 'W1', slack_user_id = 'UA', provisioned = 1,"
            " status = 'deactivated', deactivated_by = 'person' WHERE id = ?", a)
    ctx.sql("UPDATE users SET slack_workspace_id = 'WOLD', slack_user_id = 'UB', provisioned = 1"
            " WHERE id = ?", b)
    done = ctx.run([_probe_path(ctx), str(org.id), "W1"])
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {int(line.split()[1]): line.split()[3:] for line in done.stdout.splitlines()
            if line.startswith("user ")}
    # Linked here: the link, provisioned, deactivated by a person.
    assert rows[a] == ["UA", "1", "1"], done.stdout
    # Linked to a previous workspace: no link, not provisioned.
    assert rows[b] == ["-", "0", "0"], done.stdout


def test_sync_whose_listing_restarts_keeps_every_member_once(ctx):
    """users.list answering invalid_cursor on its third page starts over
    (SLACK-API.md): the snapshot starts the people over once, so the first
    sync creates every member of a 650-member workspace, each once."""
    from test_slack_connection import connect
    team = "T0RESTART1"
    emu = ctx.emulator()
    assert emu.post("/_emulator/reset", {}).status == 200
    r = emu.post("/_emulator/generate", {"team": team, "users": 650, "groups": 1,
                                         "members_per_group": 10, "seed": 7})
    assert r.status == 200, r
    org = ctx.new_org()
    assert connect(ctx, org, team=team) == {"connected": "1"}
    cfg = {"members": {"mode": "everyone", "group_ids": []}}
    assert org.admin.put("/api/v1/provisioning/slack/config", cfg).status == 200
    assert emu.post("/_emulator/faults", [{"method": "users.list", "kind": "error",
                                           "error": "invalid_cursor", "after": 2,
                                           "count": 1}]).status == 200
    assert org.admin.post("/api/v1/provisioning/slack/syncs").status == 202
    ctx.sync_pass("--org", str(org.id))
    sid, status, created, skipped = ctx.sql(
        "SELECT id, status, n_created, n_skipped FROM provisioning_syncs WHERE organization_id = ?"
        " ORDER BY id DESC LIMIT 1", org.id)[0]
    assert status == "succeeded", (status, created, skipped)
    linked = ctx.sql("SELECT COUNT(DISTINCT slack_user_id), COUNT(*) FROM users"
                     " WHERE organization_id = ? AND slack_user_id IS NOT NULL", org.id)[0]
    assert linked[0] == linked[1] == created, (linked, created, skipped)
    ws = emu.get("/_emulator/workspace/%s?full=1" % team).json["users"]
    people = [u for u in ws if not u.get("deleted") and not u.get("is_bot")
              and not u.get("is_app_user") and u["id"] != "USLACKBOT"]
    assert int(created) + int(skipped) == len(people) > 400, (created, skipped, len(people))
