"""Session: sign-in, sign-out, who am I, throttling (SPEC §4.1)."""


def test_sign_in_returns_user_and_organization_and_a_safe_cookie(ctx):
    org = ctx.new_org()
    c = ctx.client()
    r = c.post("/api/v1/session", {"email": org.admin_email, "password": org.password})
    assert r.status == 200, r
    assert r.json["user"]["email"] == org.admin_email
    assert r.json["user"]["role"] == "administrator"
    assert r.json["organization"]["id"] == org.id
    cookie = r.header("Set-Cookie")
    assert cookie.startswith("pv_session=")
    for attr in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attr in cookie, cookie
    assert "Secure" not in cookie  # http base URL in the test stack
    me = c.get("/api/v1/me")
    assert me.status == 200 and me.json["user"]["id"] == r.json["user"]["id"], me


def test_sign_in_matches_email_case_insensitively(ctx):
    org = ctx.new_org()
    r = ctx.client().post("/api/v1/session", {"email": org.admin_email.upper(),
                                              "password": org.password})
    assert r.status == 200, r


def test_wrong_password_and_unknown_email_give_the_same_401(ctx):
    org = ctx.new_org()
    wrong = ctx.client().post("/api/v1/session", {"email": org.admin_email, "password": "nope-nope-nope"})
    unknown = ctx.client().post("/api/v1/session", {"email": "nobody-%s@example.test" % ctx.unique(),
                                                    "password": "nope-nope-nope"})
    assert wrong.status == 401 and unknown.status == 401
    assert wrong.json == unknown.json, (wrong, unknown)
    assert wrong.header("Set-Cookie") is None


def test_session_id_is_stored_hashed(ctx):
    org = ctx.new_org()
    token = org.admin.cookies["pv_session"]
    rows = ctx.sql("SELECT COUNT(*) FROM sessions WHERE id_digest = ?", token)
    assert rows == [["0"]]
    rows = ctx.sql("SELECT COUNT(*) FROM sessions WHERE id_digest = SHA2(?, 256)", token)
    assert rows == [["1"]]


def test_repeated_failures_are_throttled_even_with_the_right_password(ctx):
    org = ctx.new_org()
    c = ctx.client()
    for _ in range(5):
        r = c.post("/api/v1/session", {"email": org.admin_email, "password": "wrong-password"})
        assert r.status == 401, r
    r = c.post("/api/v1/session", {"email": org.admin_email, "password": org.password})
    assert r.status == 429, r
    assert r.json["error"]["code"] == "too_many_attempts"
    assert int(r.header("Retry-After")) > 0
    # Another account is not affected by this one's failures.
    other = ctx.new_org()
    r = ctx.client().post("/api/v1/session", {"email": other.admin_email, "password": other.password})
    assert r.status == 200, r


def test_sign_out_invalidates_the_session(ctx):
    org = ctx.new_org()
    token = org.admin.cookies["pv_session"]
    r = org.admin.delete("/api/v1/session")
    assert r.status == 204, r
    assert "Max-Age=0" in r.header("Set-Cookie")
    # Replaying the old cookie does not work any more.
    c = ctx.client()
    c.cookies["pv_session"] = token
    r = c.get("/api/v1/me")
    assert r.status == 401, r
    assert r.json["error"]["code"] == "not_signed_in"


def test_not_signed_in_is_401_and_forged_cookie_too(ctx):
    c = ctx.client()
    assert c.get("/api/v1/me").status == 401
    c.cookies["pv_session"] = "0" * 64
    r = c.get("/api/v1/teams")
    assert r.status == 401 and r.json["error"]["code"] == "not_signed_in"


def test_sign_in_validates_its_body(ctx):
    c = ctx.client()
    r = c.post("/api/v1/session", {"email": 12, "password": "x"})
    assert r.status == 422 and r.json["error"]["field"] == "email", r
    r = c.post("/api/v1/session", {"email": "a@b.test"})
    assert r.status == 422 and r.json["error"]["field"] == "password", r
    r = c.post("/api/v1/session", {"email": "a@b.test", "password": "x", "remember": True})
    assert r.status == 422 and r.json["error"]["field"] == "remember", r


def test_member_gets_403_on_administrator_endpoints_but_may_see_me(ctx):
    org = ctx.new_org()
    email = "member-%s@example.test" % ctx.unique()
    ctx.new_user(org, email=email, password="member password 1")
    c = ctx.client()
    r = c.post("/api/v1/session", {"email": email, "password": "member password 1"})
    assert r.status == 200 and r.json["user"]["role"] == "member", r
    assert c.get("/api/v1/me").status == 200
    for method, path, body in [("GET", "/api/v1/users", None), ("GET", "/api/v1/teams", None),
                               ("POST", "/api/v1/teams", {"name": "x"}),
                               ("GET", "/api/v1/settings", None),
                               ("PATCH", "/api/v1/settings", {"automatic_invites": True})]:
        r = c.request(method, path, body=body)
        assert r.status == 403, (method, path, r)
        assert r.json["error"]["code"] == "forbidden"
