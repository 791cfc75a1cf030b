"""Invitations as an administrator sees them (issue 14 item 2): the mail
state in the settings, each created person's invitation state on their
report row, and the week rule: an invitation older than a week is never
sent, even when a mail server is configured later (SPEC §1.12)."""
from smtp_sink import SmtpSink
from test_sync import sync, actions, EVERYONE
from test_slack_connection import connect, emu_reset

MAIL = {"SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "provisioning@example.test"}


def invites_org(ctx):
    emu_reset(ctx)
    org = ctx.new_org()
    assert org.admin.patch("/api/v1/settings", {"automatic_invites": True}).status == 200
    assert connect(ctx, org) == {"connected": "1"}
    assert org.admin.put("/api/v1/provisioning/slack/config", EVERYONE).status == 200
    return org


def creates(org, sid):
    return [a for a in actions(org, sid) if a["action"] == "create" and a["outcome"] == "succeeded"]


def test_settings_say_whether_mail_can_go_out(ctx):
    org = ctx.new_org()
    r = org.admin.get("/api/v1/settings")
    assert r.status == 200, r
    # The test stack's API has no mail server configured.
    assert r.json["settings"]["mail_configured"] is False, r
    r = org.admin.patch("/api/v1/settings", {"automatic_invites": True})
    assert r.status == 200 and r.json["settings"]["mail_configured"] is False, r


def test_each_created_persons_row_says_queued_sent_or_failed(ctx):
    org = invites_org(ctx)
    # No mail server for the pass: every invitation waits, queued.
    s = sync(ctx, org)
    rows = creates(org, s["id"])
    assert rows and all(a["invitation"]["state"] == "queued" for a in rows), rows[:2]
    assert all(a["invitation"]["sent_at"] is None for a in rows)
    # Rows that are not creates carry none.
    others = [a for a in actions(org, s["id"]) if a["action"] != "create"]
    assert all(a["invitation"] is None for a in others), others[:2]
    # A dead server: still queued (retried later), the error is on the row.
    ctx.sync_pass(env=MAIL)
    rows = creates(org, s["id"])
    assert all(a["invitation"]["state"] == "queued" and a["invitation"]["error"] for a in rows), rows[:2]
    # One invitation given up after its attempts: failed.
    first = rows[0]["user"]["id"]
    ctx.sql("UPDATE invitation_outbox SET attempts = 8 WHERE user_id = ?", first)
    # A working server sends the rest: sent, with the time.
    ctx.sql("UPDATE invitation_outbox SET next_attempt_at = NOW() WHERE organization_id = ?", org.id)
    sink = SmtpSink()
    try:
        ctx.sync_pass(env={"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"})
        assert len(sink.messages) == len(rows) - 1
    finally:
        sink.close()
    by_user = {a["user"]["id"]: a["invitation"] for a in creates(org, s["id"])}
    assert by_user[first]["state"] == "failed", by_user[first]
    sent = [v for k, v in by_user.items() if k != first]
    assert sent and all(v["state"] == "sent" and v["sent_at"] for v in sent), sent[:2]


def test_an_invitation_older_than_a_week_is_never_sent(ctx):
    org = invites_org(ctx)
    s = sync(ctx, org)                   # no mail server: all wait
    rows = creates(org, s["id"])
    assert len(rows) >= 2
    old, fresh = rows[0]["user"]["id"], rows[1]["user"]["id"]
    ctx.sql("UPDATE invitation_outbox SET created_at = NOW() - INTERVAL 8 DAY WHERE user_id = ?", old)
    ctx.sql("UPDATE invitation_outbox SET created_at = NOW() - INTERVAL 6 DAY WHERE user_id = ?", fresh)
    sink = SmtpSink()
    try:
        ctx.sync_pass(env={"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"})
        to = [m["to"][0] for m in sink.messages]
    finally:
        sink.close()
    emails = {a["user"]["id"]: a["user"]["email"] for a in rows}
    assert emails[old] not in to, "a week-old invitation was sent"
    assert emails[fresh] in to and len(to) == len(rows) - 1, to
    inv = {a["user"]["id"]: a["invitation"] for a in creates(org, s["id"])}
    assert inv[old]["state"] == "failed" and "older than a week" in inv[old]["error"], inv[old]
    # And it stays unsent on later passes.
    sink = SmtpSink()
    try:
        ctx.sql("UPDATE invitation_outbox SET next_attempt_at = NOW() WHERE user_id = ?", old)
        ctx.sync_pass(env={"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"})
        assert sink.messages == []
    finally:
        sink.close()
