"""Forgot password (issue 14 item 8): a link by e-mail, single use, expiring,
stored hashed, throttled, and the same answer whether or not the account
exists."""
import re

from smtp_sink import SmtpSink

REQ = "/api/v1/password-reset"
CONFIRM = "/api/v1/password-reset/confirm"


def link_token(message):
    m = re.search(r"/signin/reset\?token=([0-9a-f]{64})", message["data"])
    assert m, message["data"]
    return m.group(1)


def test_reset_by_email_link_once_and_signs_out_everywhere(ctx):
    sink = SmtpSink()
    ctx.stack("api-restart", env={"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"})
    try:
        org = ctx.new_org()
        old = org.admin
        anon = ctx.client()
        known = anon.post(REQ, {"email": org.admin_email.upper()})
        unknown = anon.post(REQ, {"email": "nobody-%s@example.test" % org.id})
        # The same answer either way.
        assert known.status == unknown.status == 202, (known, unknown)
        assert known.json == unknown.json and "If an account uses this address" in known.json["message"]
        assert len(sink.messages) == 1 and sink.messages[0]["to"] == [org.admin_email], sink.messages
        token = link_token(sink.messages[0])
        # Only a digest is stored.
        assert ctx.sql("SELECT COUNT(*) FROM password_resets WHERE token_digest = ?", token) == [["0"]]
        assert ctx.sql("SELECT COUNT(*) FROM password_resets WHERE user_id = (SELECT id FROM users"
                       " WHERE email = ?)", org.admin_email) == [["1"]]
        # A short password is refused and spends nothing.
        r = anon.post(CONFIRM, {"token": token, "password": "short"})
        assert r.status == 422 and r.json["error"]["field"] == "password", r
        r = anon.post(CONFIRM, {"token": token, "password": "the new password 1"})
        assert r.status == 204, r
        assert old.get("/api/v1/me").status == 401             # signed out everywhere
        c = ctx.client()
        assert c.post("/api/v1/session", {"email": org.admin_email, "password": org.password}).status == 401
        assert c.post("/api/v1/session", {"email": org.admin_email, "password": "the new password 1"}).status == 200
        # Once only.
        r = anon.post(CONFIRM, {"token": token, "password": "another password 2"})
        assert r.status == 400 and r.json["error"]["code"] == "invalid_token", r
        # An expired link does not work either.
        anon.post(REQ, {"email": org.admin_email})
        token2 = link_token(sink.messages[-1])
        ctx.sql("UPDATE password_resets SET expires_at = NOW() - INTERVAL 1 SECOND WHERE used_at IS NULL")
        r = anon.post(CONFIRM, {"token": token2, "password": "another password 2"})
        assert r.status == 400 and r.json["error"]["code"] == "invalid_token", r
        for bad in ({"token": "x" * 64, "password": "long enough 123"}, {"token": "abc", "password": "long enough 123"}):
            assert anon.post(CONFIRM, bad).status == 400
        for bad in ({}, {"email": 5}, {"email": ""}, {"email": "a@b.c", "extra": 1}):
            assert anon.post(REQ, bad).status in (400, 422), bad
    finally:
        sink.close()
        ctx.stack("api-restart")


def test_requests_are_throttled_with_the_same_answer(ctx):
    sink = SmtpSink()
    ctx.stack("api-restart", env={"SMTP_URL": sink.url, "SMTP_FROM": "provisioning@example.test"})
    try:
        org = ctx.new_org()
        anon = ctx.client()
        answers = [anon.post(REQ, {"email": org.admin_email}) for _ in range(5)]
        assert all(a.status == 202 and a.json == answers[0].json for a in answers), answers
        # Three links an hour for one address; the rest are silently dropped.
        assert len(sink.messages) == 3, len(sink.messages)
    finally:
        sink.close()
        ctx.stack("api-restart")
