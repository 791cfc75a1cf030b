"""Sync history, sync report with filters, CSV export (SPEC §1.9-1.11, §4.2).

The sync engine is not needed: syncs and their action rows are written here
with SQL, as the engine would write them, and read back through the API."""
import csv
import io
import json
import os
import time

BASE = "/api/v1/provisioning/slack/syncs"
COUNTS = ["created", "updated", "deactivated", "reactivated", "added_to_team",
          "removed_from_team", "skipped", "failed"]
OUTCOMES = ["succeeded", "failed", "skipped", "planned"]
CHANGED = ["name", "email", "picture", "job_title", "status", "team_membership"]
CSV_HEADER = ["ID", "Date (UTC)", "Action", "Outcome", "User name", "E-mail", "Slack user ID",
              "Team", "Changed fields", "Old values", "New values", "Details",
              "Action code", "Outcome code", "Changed field codes"]
# The words a person reads in the CSV (the page's, web/js/labels.js).
ACTION_WORDS = {"create": "Create user", "update": "Update user", "deactivate": "Deactivate user",
                "reactivate": "Reactivate user", "add_to_team": "Add to team",
                "remove_from_team": "Remove from team", "skip": "Skip"}
OUTCOME_WORDS = {"succeeded": "Succeeded", "failed": "Failed", "skipped": "Skipped",
                 "planned": "Planned (not applied)"}
FIELD_WORDS = {"first_name": "First name", "last_name": "Last name", "display_name": "Display name",
               "email": "E-mail", "picture": "Picture", "job_title": "Job title", "is_guest": "Guest",
               "status": "Status", "team": "Team"}


def make_sync(ctx, org_id, status="succeeded", trigger="manual", dry_run=0,
              queued="2026-03-04 05:06:07.250", started="2026-03-04 05:06:08",
              finished="2026-03-04 05:07:09", counts=None, error=None):
    counts = counts or {}
    rows = ctx.sql(
        "INSERT INTO provisioning_syncs (organization_id, integration_id, `trigger`, dry_run,"
        " status, queued_at, started_at, finished_at, n_created, n_updated, n_deactivated,"
        " n_reactivated, n_added_to_team, n_removed_from_team, n_skipped, n_failed, error)"
        " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?); SELECT LAST_INSERT_ID()",
        org_id, trigger, dry_run, status, queued, started, finished,
        *[counts.get(k, 0) for k in COUNTS], error)
    return int(rows[-1][0])


def add_actions(ctx, org_id, sync_id, actions):
    """Inserts rows (dicts) in one statement; returns their ids in order."""
    cols = ["action", "reason", "outcome", "changed", "user_id", "user_email", "user_name",
            "slack_user_id", "team_id", "team_name", "changes_json", "details"]
    values, params = [], []
    for a in actions:
        values.append("(?, ?, " + ", ".join("?" for _ in cols) + ")")
        changes = a.get("changes")
        params += [sync_id, org_id, a.get("action", "update"), a.get("reason", "test"),
                   a.get("outcome", "succeeded"), ",".join(a.get("changed", [])),
                   a.get("user_id"), a.get("user_email"), a.get("user_name"),
                   a.get("slack_user_id"), a.get("team_id"), a.get("team_name"),
                   json.dumps(changes, ensure_ascii=False) if changes is not None else None,
                   a.get("details", "Did something.")]
    ctx.sql("INSERT INTO provisioning_sync_actions (sync_id, organization_id, " + ", ".join(cols)
            + ") VALUES " + ", ".join(values), *params)
    rows = ctx.sql("SELECT id FROM provisioning_sync_actions WHERE sync_id = ? ORDER BY id", sync_id)
    return [int(r[0]) for r in rows][-len(actions):]


def all_actions(client, sync_id, limit=500, **filters):
    """Every action of the report through its pages; checks page sizes."""
    seen, cursor = [], None
    while True:
        q = dict(filters, limit=limit)
        if cursor:
            q["cursor"] = cursor
        r = client.get("%s/%d/actions" % (BASE, sync_id), query=q)
        assert r.status == 200, r
        assert len(r.json["actions"]) <= limit
        seen += r.json["actions"]
        cursor = r.json["next_cursor"]
        if cursor is None:
            return seen
        assert isinstance(cursor, str)


def test_sync_history_is_newest_first_with_every_sync_once(ctx):
    org, other = ctx.new_org(), ctx.new_org()
    ids = [make_sync(ctx, org.id, status=s, trigger=t, counts={"created": i, "failed": 8 - i})
           for i, (s, t) in enumerate([("succeeded", "scheduled"), ("failed", "manual"),
                                       ("completed_with_errors", "scheduled"),
                                       ("held", "scheduled"), ("discarded", "manual"),
                                       ("succeeded", "manual"), ("succeeded", "scheduled")])]
    ctx.sql("UPDATE provisioning_syncs SET error = ? WHERE id = ?",
            "Slack refused the token (invalid_auth): reconnect Slack.", ids[1])
    pending = make_sync(ctx, org.id, status="pending", started=None, finished=None)
    ids.append(pending)
    theirs = make_sync(ctx, other.id)
    for limit in (1, 2, 3, 100):
        got, before = [], None
        while True:
            q = {"limit": limit}
            if before:
                q["before"] = before
            r = org.admin.get(BASE, query=q)
            assert r.status == 200, r
            assert len(r.json["syncs"]) <= limit
            got += r.json["syncs"]
            before = r.json["next_before"]
            if before is None:
                break
            assert isinstance(before, int)
        assert [s["id"] for s in got] == sorted(ids, reverse=True), (limit, got)
    assert theirs not in [s["id"] for s in got]
    by_id = {s["id"]: s for s in got}
    s = by_id[ids[1]]
    assert s == {"id": ids[1], "trigger": "manual", "dry_run": False, "status": "failed",
                 "queued_at": "2026-03-04T05:06:07Z", "started_at": "2026-03-04T05:06:08Z",
                 "finished_at": "2026-03-04T05:07:09Z",
                 "counts": dict({k: 0 for k in COUNTS}, created=1, failed=7),
                 "error": "Slack refused the token (invalid_auth): reconnect Slack.",
                 "workspace": None, "progress": None}, s
    p = by_id[pending]
    assert p["status"] == "pending" and p["started_at"] is None and p["finished_at"] is None
    assert p["error"] is None
    # One sync, the same object as in the list, pending or not.
    for i in (ids[1], pending):
        r = org.admin.get("%s/%d" % (BASE, i))
        assert r.status == 200 and r.json == {"sync": by_id[i]}, r
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"before": "abc"},
                {"before": "-3"}):
        r = org.admin.get(BASE, query=bad)
        assert r.status == 400 and r.json["error"]["field"] in bad, (bad, r)
    # An organization without syncs has an empty history.
    r = ctx.new_org().admin.get(BASE)
    assert r.status == 200 and r.json == {"syncs": [], "next_before": None}, r


# A report with every outcome and combinations of changed data.
FILTER_ROWS = [
    dict(action="create", outcome="succeeded", changed=["name", "email", "picture", "job_title"]),
    dict(action="update", outcome="succeeded", changed=["name"]),
    dict(action="update", outcome="succeeded", changed=["email"]),
    dict(action="update", outcome="failed", changed=["email", "job_title"]),
    dict(action="update", outcome="succeeded", changed=["picture"]),
    dict(action="deactivate", outcome="succeeded", changed=["status"]),
    dict(action="reactivate", outcome="failed", changed=["status"]),
    dict(action="add_to_team", outcome="succeeded", changed=["team_membership"]),
    dict(action="remove_from_team", outcome="failed", changed=["team_membership"]),
    dict(action="skip", outcome="skipped", changed=[]),
    dict(action="skip", outcome="skipped", changed=[]),
    dict(action="update", outcome="planned", changed=["job_title", "name"]),
    dict(action="update", outcome="succeeded", changed=["job_title"]),
    dict(action="deactivate", outcome="planned", changed=["status"]),
    dict(action="update", outcome="failed", changed=["name", "picture"]),
]


def test_report_filters_alone_and_combined_return_exactly_the_matching_rows(ctx):
    org = ctx.new_org()
    sync = make_sync(ctx, org.id, status="completed_with_errors")
    ids = add_actions(ctx, org.id, sync, FILTER_ROWS)
    # Another sync of the same organization, with rows that match every filter.
    other = make_sync(ctx, org.id)
    add_actions(ctx, org.id, other, FILTER_ROWS)

    def expect(outcomes=(), changed=()):
        return [i for i, row in zip(ids, FILTER_ROWS)
                if (not outcomes or row["outcome"] in outcomes)
                and (not changed or set(row["changed"]) & set(changed))]

    cases = [((), ())]
    cases += [((o,), ()) for o in OUTCOMES]
    cases += [((), (c,)) for c in CHANGED]
    cases += [(("succeeded", "failed"), ()), (("skipped", "planned", "failed"), ()),
              ((), ("name", "email")), ((), ("status", "team_membership", "picture")),
              (("failed",), ("email",)), (("succeeded",), ("name", "job_title")),
              (("succeeded", "planned"), ("job_title",)), (("skipped",), ("name",)),
              (tuple(OUTCOMES), tuple(CHANGED))]
    for outcomes, changed in cases:
        q = {}
        if outcomes:
            q["outcome"] = ",".join(outcomes)
        if changed:
            q["changed"] = ",".join(changed)
        want = expect(outcomes, changed)
        for limit in (2, 500):
            got = [a["id"] for a in all_actions(org.admin, sync, limit=limit, **q)]
            assert got == want, (q, limit, got, want)
        for a in all_actions(org.admin, sync, **q):
            assert not outcomes or a["outcome"] in outcomes
            assert not changed or set(a["changed"]) & set(changed), a
    assert expect(("skipped",), ("name",)) == []
    # Spaces around values and repeated values are accepted.
    got = [a["id"] for a in all_actions(org.admin, sync, outcome=" failed , failed")]
    assert got == expect(("failed",)), got
    # Unknown values are a 400 naming the parameter, on the report and the export.
    for path in ("actions", "export.csv"):
        for q, field in (({"outcome": "done"}, "outcome"), ({"outcome": "succeeded,nope"}, "outcome"),
                         ({"changed": "title"}, "changed"), ({"changed": "team"}, "changed"),
                         ({"outcome": "failed", "changed": "x"}, "changed"),
                         ({"outcome": "FAILED"}, "outcome")):
            r = org.admin.get("%s/%d/%s" % (BASE, sync, path), query=q)
            assert r.status == 400, (path, q, r)
            assert r.json["error"]["code"] == "invalid_parameter"
            assert r.json["error"]["field"] == field, (q, r)
    for q in ({"limit": "0"}, {"limit": "501"}, {"cursor": "abc"}):
        r = org.admin.get("%s/%d/actions" % (BASE, sync), query=q)
        assert r.status == 400 and r.json["error"]["field"] in q, r


SEARCH_ROWS = [
    dict(action="create", user_id=1, user_name="Ольга Иванова", user_email="olga.ivanova@acme.example",
         slack_user_id="U0OLGA"),
    dict(action="add_to_team", user_id=1, user_name="Ольга Иванова", user_email="olga.ivanova@acme.example",
         slack_user_id="U0OLGA", team_id=1, team_name="Support", changed=["team_membership"]),
    dict(action="create", user_id=2, user_name="José Álvarez", user_email="jose.alvarez@acme.example",
         slack_user_id="U0JOSE", outcome="failed"),
    dict(action="create", user_id=3, user_name="山田 太郎", user_email="taro.yamada@acme.example",
         slack_user_id="U0TARO"),
    dict(action="skip", user_name="Ghost 100%_sure", slack_user_id="U0GHOST", outcome="skipped"),
    dict(action="update", user_id=4, user_name="Alan Turing", user_email="ALAN@ACME.EXAMPLE",
         slack_user_id="U0ALAN", changed=["name"]),
]


def test_report_search_by_person_matches_name_email_and_slack_id(ctx):
    org, other = ctx.new_org(), ctx.new_org()
    sync = make_sync(ctx, org.id)
    ids = add_actions(ctx, org.id, sync, SEARCH_ROWS)
    # The same people in another sync and another organization never leak in.
    add_actions(ctx, org.id, make_sync(ctx, org.id), SEARCH_ROWS)
    add_actions(ctx, other.id, make_sync(ctx, other.id), SEARCH_ROWS)
    cases = [
        ("ольга", [0, 1]),              # Cyrillic, any case
        ("ИВАНОВА", [0, 1]),
        ("jose", [2]),                  # accents ignored, as the directory compares names
        ("ÁLVAREZ", [2]),
        ("山田", [3]),
        ("u0taro", [3]),                # Slack id, any case
        ("U0GHOST", [4]),
        ("100%_", [4]),                 # % and _ are letters, not wildcards
        ("%", [4]),
        ("_", [4]),
        ("alan@acme", [5]),             # part of an e-mail
        ("acme.example", [0, 1, 2, 3, 5]),
        ("  turing  ", [5]),            # spaces around are ignored
        ("nobody", []),
        ("", list(range(6))),           # empty: no search
    ]
    for q, want in cases:
        for limit in (1, 500):
            got = [a["id"] for a in all_actions(org.admin, sync, limit=limit, q=q)]
            assert got == [ids[i] for i in want], (q, limit, got)
    # With the other filters: AND-ed.
    got = [a["id"] for a in all_actions(org.admin, sync, q="acme", outcome="failed")]
    assert got == [ids[2]], got
    got = [a["id"] for a in all_actions(org.admin, sync, q="olga", changed="team_membership")]
    assert got == [ids[1]], got
    # The export carries the same search.
    r = org.admin.get("%s/%d/export.csv" % (BASE, sync), query={"q": "ольга"})
    assert r.status == 200, r
    table = parse_csv(r.body)
    assert [row[0] for row in table[1:]] == [str(ids[0]), str(ids[1])], table
    # Too long or not text: a 400 naming q, on both endpoints.
    for path in ("actions", "export.csv"):
        for bad in ("x" * 101, "é" * 101):
            r = org.admin.get("%s/%d/%s" % (BASE, sync, path), query={"q": bad})
            assert r.status == 400 and r.json["error"]["field"] == "q", (path, r)
            assert "100 characters" in r.json["error"]["message"], r
    r = org.admin.get("%s/%d/actions" % (BASE, sync), query={"q": "é" * 100})
    assert r.status == 200 and r.json["actions"] == [], r


def test_action_shape_users_teams_changes_and_details(ctx):
    org = ctx.new_org()
    uid = ctx.new_user(org)
    team = org.admin.post("/api/v1/teams", {"name": "Design"}).json["team"]["id"]
    sync = make_sync(ctx, org.id)
    ids = add_actions(ctx, org.id, sync, [
        dict(action="update", changed=["name", "job_title"], user_id=uid, user_email="a@x.test",
             user_name="Ann Lee", slack_user_id="U0A", reason="profile_changed",
             changes=[{"field": "first_name", "from": "An", "to": "Ann"},
                      {"field": "job_title", "from": None, "to": "Designer"}],
             details="Updated Ann Lee: first name, job title."),
        dict(action="skip", outcome="skipped", slack_user_id="U0B", reason="no_email",
             details="Skipped U0B: Slack gave no e-mail address; add the users:read.email scope."),
        dict(action="add_to_team", changed=["team_membership"], user_id=uid, user_email="a@x.test",
             user_name="Ann Lee", team_id=team, team_name="Design",
             changes=[{"field": "team", "from": None, "to": "Design"}],
             details="Added Ann Lee to Design."),
        dict(action="create", outcome="failed", user_email="new@x.test", user_name="New Person",
             details="Could not create new@x.test.", changes=[]),
    ])
    acts = all_actions(org.admin, sync)
    assert [a["id"] for a in acts] == ids
    a = acts[0]
    assert a["action"] == "update" and a["outcome"] == "succeeded"
    assert a["reason"] == "profile_changed" and sorted(a["changed"]) == ["job_title", "name"]
    assert a["user"] == {"id": uid, "email": "a@x.test", "name": "Ann Lee"}
    assert a["slack_user_id"] == "U0A" and a["team"] is None
    assert a["changes"] == [{"field": "first_name", "from": "An", "to": "Ann"},
                            {"field": "job_title", "from": None, "to": "Designer"}]
    assert a["details"] == "Updated Ann Lee: first name, job title."
    assert a["created_at"].endswith("Z") and "T" in a["created_at"]
    assert acts[1]["user"] is None and acts[1]["changes"] == [] and acts[1]["changed"] == []
    assert acts[2]["team"] == {"id": team, "name": "Design"}
    assert acts[3]["user"] == {"id": None, "email": "new@x.test", "name": "New Person"}


def test_action_pagination_returns_every_row_once(ctx):
    org = ctx.new_org()
    sync = make_sync(ctx, org.id)
    ids = add_actions(ctx, org.id, sync, [dict(details="row %d" % i,
                                               outcome=OUTCOMES[i % 3]) for i in range(23)])
    for limit in (1, 4, 7, 22, 23, 24, 500):
        got = [a["id"] for a in all_actions(org.admin, sync, limit=limit)]
        assert got == ids, (limit, got)
    got = [a["id"] for a in all_actions(org.admin, sync, limit=3, outcome="failed")]
    assert got == ids[1::3], got
    r = org.admin.get("%s/%d/actions" % (BASE, sync))
    assert len(r.json["actions"]) == 23 and r.json["next_cursor"] is None   # default 50
    # A cursor past the end is an empty last page.
    r = org.admin.get("%s/%d/actions" % (BASE, sync), query={"cursor": str(ids[-1])})
    assert r.status == 200 and r.json == {"actions": [], "next_cursor": None}, r


def test_report_and_export_are_409_while_pending_and_running(ctx):
    org = ctx.new_org()
    sync = make_sync(ctx, org.id, status="pending", started=None, finished=None)
    for status in ("pending", "running"):
        ctx.sql("UPDATE provisioning_syncs SET status = ? WHERE id = ?", status, sync)
        for path in ("actions", "export.csv"):
            r = org.admin.get("%s/%d/%s" % (BASE, sync, path))
            assert r.status == 409, (status, path, r)
            assert r.header("Content-Type").startswith("application/json")
            err = r.json["error"]
            assert err["code"] == "sync_not_finished"
            assert "available when the sync completes" in err["message"], err
        # The sync itself is visible, with its status.
        r = org.admin.get("%s/%d" % (BASE, sync))
        assert r.status == 200 and r.json["sync"]["status"] == status
    # Held syncs and dry runs show their planned actions.
    ctx.sql("UPDATE provisioning_syncs SET status = 'held' WHERE id = ?", sync)
    ids = add_actions(ctx, org.id, sync, [dict(action="deactivate", outcome="planned",
                                               changed=["status"], details="Would deactivate.")])
    r = org.admin.get("%s/%d/actions" % (BASE, sync), query={"outcome": "planned"})
    assert r.status == 200 and [a["id"] for a in r.json["actions"]] == ids, r
    assert org.admin.get("%s/%d/export.csv" % (BASE, sync)).status == 200
    dry = make_sync(ctx, org.id, dry_run=1)
    ids = add_actions(ctx, org.id, dry, [dict(outcome="planned", details="Would update.")])
    assert org.admin.get("%s/%d" % (BASE, dry)).json["sync"]["dry_run"] is True
    assert [a["id"] for a in all_actions(org.admin, dry)] == ids


def test_another_organizations_sync_is_404_on_every_endpoint(ctx):
    mine, theirs = ctx.new_org(), ctx.new_org()
    their_sync = make_sync(ctx, theirs.id)
    add_actions(ctx, theirs.id, their_sync, [dict(details="secret")])
    their_running = make_sync(ctx, theirs.id, status="running", finished=None)
    for s in (their_sync, their_running, 999999999):
        for path in ("", "/actions", "/export.csv", "/actions?outcome=failed",
                     "/export.csv?changed=name"):
            r = mine.admin.get("%s/%d%s" % (BASE, s, path))
            assert r.status == 404 and r.json["error"]["code"] == "not_found", (s, path, r)
    assert their_sync not in [s["id"] for s in mine.admin.get(BASE).json["syncs"]]
    assert theirs.admin.get("%s/%d/actions" % (BASE, their_sync)).status == 200
    # Members (not administrators) and strangers are refused.
    member = ctx.client()
    email = "%s@example.test" % ctx.unique("member")
    ctx.new_user(theirs, email=email, password="member password 1")
    assert member.post("/api/v1/session", {"email": email,
                                           "password": "member password 1"}).status == 200
    for path in ("", "/%d" % their_sync, "/%d/actions" % their_sync, "/%d/export.csv" % their_sync):
        assert member.get(BASE + path).status == 403
        assert ctx.client().get(BASE + path).status == 401


def neutral(s):
    s = s or ""
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def csv_value(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return v
    return json.dumps(v)


def expected_csv_row(a):
    user, team, ch = a["user"] or {}, a["team"] or {}, a["changes"]
    cells = [str(a["id"]), a["created_at"], ACTION_WORDS[a["action"]], OUTCOME_WORDS[a["outcome"]],
             user.get("name"), user.get("email"), a["slack_user_id"], team.get("name"),
             "\n".join(FIELD_WORDS[c["field"]] for c in ch), "\n".join(csv_value(c["from"]) for c in ch),
             "\n".join(csv_value(c["to"]) for c in ch), a["details"],
             a["action"], a["outcome"], "\n".join(c["field"] for c in ch)]
    return [neutral(c) for c in cells]


def parse_csv(body):
    # UTF-8's byte-order mark, once, first: Excel then reads the file as UTF-8.
    assert body.startswith(b"\xef\xbb\xbf") and body.count(b"\xef\xbb\xbf") == 1, body[:20]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), strict=True))


TRICKY = ["Zoë \"the boss\", Jr.", "line one\nline two", "carriage\rreturn", "crlf\r\nname",
          "🎉 Party 🚀", "東京チーム 𠮷野家", "=SUM(A1)", "+1", "-1", "@x", "\tTab", "\rCR",
          "=HYPERLINK(\"http://evil.example\",\"click\")", "plain", "a,b,c", "'quoted'"]


def test_csv_export_equals_the_json_report_row_for_row(ctx):
    org = ctx.new_org()
    sync = make_sync(ctx, org.id, queued="2026-02-28 23:59:59.900")
    rows = []
    for i, name in enumerate(TRICKY):
        rows.append(dict(
            action=["update", "create", "skip", "add_to_team"][i % 4],
            outcome=OUTCOMES[i % 4], changed=[CHANGED[i % 6]] + ([CHANGED[(i + 2) % 6]] if i % 3 else []),
            user_id=i + 1 if i % 5 else None, user_email=None if i % 7 == 4 else "u%d@x.test" % i,
            user_name=name, slack_user_id="U%03d" % i if i % 2 else "-U%d" % i,
            team_id=i if i % 4 == 3 else None, team_name=name if i % 4 == 3 else None,
            changes=[{"field": "display_name", "from": name, "to": "new, \"%s\"" % name},
                     {"field": "is_guest", "from": False, "to": True},
                     {"field": "job_title", "from": None, "to": "=1+1"}][: i % 4],
            details="Details of %s: commas, \"quotes\",\nnewlines and 😀." % name if i % 2
            else name))
    # Someone Slack gave no e-mail: no account, but the name is shown.
    rows.append(dict(action="skip", outcome="skipped", user_name="Ghost", slack_user_id="U0GHOST",
                     details="Skipped Ghost (U0GHOST): no e-mail address in Slack."))
    add_actions(ctx, org.id, sync, rows)
    filters = [{}, {"outcome": "failed"}, {"changed": "name,email"},
               {"outcome": "succeeded,planned", "changed": "team_membership,status,picture"},
               {"outcome": "skipped", "changed": "job_title"}]
    for q in filters:
        r = org.admin.get("%s/%d/export.csv" % (BASE, sync), query=q or None)
        assert r.status == 200, (q, r)
        assert r.header("Content-Type") == "text/csv; charset=utf-8", r.header("Content-Type")
        assert r.header("Content-Disposition") == \
            'attachment; filename="slack-sync-%d-2026-02-28.csv"' % sync, r.header("Content-Disposition")
        assert r.body.endswith(b"\r\n")
        table = parse_csv(r.body)
        assert table[0] == CSV_HEADER, table[0]
        want = [expected_csv_row(a) for a in all_actions(org.admin, sync, limit=3, **q)]
        assert table[1:] == want, (q, table[1:], want)
        if not q:
            assert len(want) == len(TRICKY) + 1 and want[-1][4:7] == ["Ghost", "", "U0GHOST"]
    # Every formula-looking name came out neutralised, and the rest untouched.
    names = [row[4] for row in parse_csv(org.admin.get("%s/%d/export.csv" % (BASE, sync)).body)[1:-1]]
    assert names == [neutral(n) for n in TRICKY], names
    assert "'=SUM(A1)" in names and "'+1" in names and "'-1" in names and "'@x" in names
    assert "🎉 Party 🚀" in names and "東京チーム 𠮷野家" in names
    # Line ends are CRLF; a newline inside a cell is kept as written.
    body = org.admin.get("%s/%d/export.csv" % (BASE, sync), query={"outcome": "planned"}).body
    assert body.startswith(b"\xef\xbb\xbfID,Date (UTC),Action,Outcome,") and b"\r\n" in body
    # An export with no matching row is the header alone.
    r = org.admin.get("%s/%d/export.csv" % (BASE, sync), query={"outcome": "skipped",
                                                                "changed": "team_membership"})
    assert r.status == 200 and parse_csv(r.body) == [CSV_HEADER], r


def _api_pids(ctx):
    with open(os.path.join(ctx.dir, "api.pid")) as f:
        return [int(line) for line in f.read().split() if line.strip()]


def _status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (key, pid))


def test_export_of_100000_actions_streams_in_flat_memory(ctx):
    org = ctx.new_org()
    sync = make_sync(ctx, org.id)
    n = 100000
    # ~400 bytes a row: a 40 MB file, larger than the memory bound below, so
    # an export that held the file (or the result set) in memory would fail.
    ctx.sql("INSERT INTO provisioning_sync_actions (sync_id, organization_id, action, reason,"
            " outcome, changed, user_id, user_email, user_name, slack_user_id, changes_json, details)"
            " SELECT ?, ?, 'update', 'profile_changed',"
            " ELT(1 + seq MOD 4, 'succeeded', 'failed', 'skipped', 'planned'),"
            " IF(seq MOD 2, 'name', 'email,job_title'), seq, CONCAT('user', seq, '@example.test'),"
            " CONCAT('Person ', seq, ', \"', REPEAT('é', 20), '\"'), CONCAT('U', LPAD(seq, 9, '0')),"
            " CONCAT(?, seq, ?, seq, ?),"
            " CONCAT('Updated person ', seq, ': ', REPEAT('the first name changed in Slack; ', 7))"
            " FROM seq_1_to_100000", sync, org.id,
            '[{"field":"first_name","from":"Old ', '","to":"New ', '"}]')
    pids = _api_pids(ctx)
    assert pids
    for pid in pids:
        try:   # resets VmHWM to the current RSS (Linux >= 4.0), so the peak is the export's
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
        except OSError:
            pass
    before = {pid: _status_kib(pid, "VmRSS") for pid in pids}
    start = time.time()
    r = org.admin.get("%s/%d/export.csv" % (BASE, sync))
    took = time.time() - start
    assert r.status == 200, r
    peak = {pid: _status_kib(pid, "VmHWM") for pid in pids}
    growth = max(peak[p] - before[p] for p in pids)
    assert len(r.body) > 35 * 1024 * 1024, len(r.body)
    assert growth < 30 * 1024, "export grew an API process by %d KiB" % growth
    lines = r.body.count(b"\r\n")
    assert lines == n + 1, lines
    table = parse_csv(r.body)
    assert len(table) == n + 1 and table[0] == CSV_HEADER
    assert [row[4] for row in table[1:3]] == ['Person 1, "%s"' % ("é" * 20),
                                              'Person 2, "%s"' % ("é" * 20)]
    ids = [int(row[0]) for row in table[1:]]
    assert ids == sorted(ids) and len(set(ids)) == n
    print("  export: %d rows, %.1f MB in %.1fs; largest API process growth %d KiB"
          % (n, len(r.body) / 1e6, took, growth))
    # The filtered export of the same sync is exact too.
    r = org.admin.get("%s/%d/export.csv" % (BASE, sync), query={"outcome": "failed",
                                                                "changed": "job_title"})
    assert r.status == 200
    # seq MOD 4 = 1 is failed (odd: changed 'name'), so no row has both.
    assert parse_csv(r.body) == [CSV_HEADER]
    r = org.admin.get("%s/%d/export.csv" % (BASE, sync), query={"outcome": "skipped",
                                                                "changed": "job_title"})
    assert len(parse_csv(r.body)) == 1 + n // 4
