"""provisioning-admin set-password ORG_ID EMAIL: the operator's way back into
a locked-out account (issue 14 item 8)."""


def sign_in(ctx, email, password):
    c = ctx.client()
    return c, c.post("/api/v1/session", {"email": email, "password": password}).status


def test_set_password_replaces_it_and_ends_the_sessions(ctx):
    org, other = ctx.new_org(), ctx.new_org()
    old_session = org.admin
    assert old_session.get("/api/v1/me").status == 200
    r = ctx.admin_cli("set-password", str(org.id), org.admin_email.upper(), "--password-stdin",
                      input="a brand new password\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and "brand new" not in r.stderr
    # The old session and the old password are gone; the new one works.
    assert old_session.get("/api/v1/me").status == 401
    assert sign_in(ctx, org.admin_email, org.password)[1] == 401
    c, status = sign_in(ctx, org.admin_email, "a brand new password")
    assert status == 200 and c.get("/api/v1/me").status == 200
    # The other organization's administrator is untouched.
    assert other.admin.get("/api/v1/me").status == 200
    assert sign_in(ctx, other.admin_email, other.password)[1] == 200


def test_set_password_refusals_change_nothing(ctx):
    org, other = ctx.new_org(), ctx.new_org()
    cases = [
        (["set-password", str(org.id), "nobody@example.test", "--password-stdin"], "long enough pw\n", 4),
        (["set-password", str(org.id), other.admin_email, "--password-stdin"], "long enough pw\n", 4),
        (["set-password", "999999999", org.admin_email, "--password-stdin"], "long enough pw\n", 4),
        (["set-password", str(org.id), org.admin_email, "--password-stdin"], "short\n", 2),
        (["set-password", str(org.id), org.admin_email], None, 2),
        (["set-password", str(org.id), org.admin_email, "--password-stdin", "--admin"], "long enough pw\n", 2),
        (["set-password", "x", org.admin_email, "--password-stdin"], "long enough pw\n", 2),
        (["set-password", str(org.id)], None, 2),
    ]
    for args, stdin, code in cases:
        r = ctx.admin_cli(*args, input=stdin)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert r.stderr.strip(), args
    assert org.admin.get("/api/v1/me").status == 200
    assert sign_in(ctx, org.admin_email, org.password)[1] == 200
    assert sign_in(ctx, other.admin_email, other.password)[1] == 200
