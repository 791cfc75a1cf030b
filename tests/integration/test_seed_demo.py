"""provisioning-admin seed-demo touches only the demo organization: an
administrator of another organization with the same e-mail keeps their
password (issue 12 item 7)."""


def _org_of_sign_in(ctx, email, password):
    r = ctx.client().post("/api/v1/session", {"email": email, "password": password})
    return r.json["organization"] if r.status == 200 else r.status


def test_seed_demo_never_resets_another_organizations_administrator(ctx):
    org = ctx.new_org()
    hash_before = ctx.sql("SELECT password_hash FROM users WHERE organization_id = ? AND email = ?",
                          org.id, org.admin_email)
    r = ctx.admin_cli("seed-demo", org.admin_email, "--password-stdin", input="demo password one\n")
    assert r.returncode == 0, r.stderr
    # The customer's administrator still signs in with their own password...
    assert _org_of_sign_in(ctx, org.admin_email, org.password)["id"] == org.id
    assert ctx.sql("SELECT password_hash FROM users WHERE organization_id = ? AND email = ?",
                   org.id, org.admin_email) == hash_before
    # ... and the same e-mail is the demo organization's administrator too.
    demo = _org_of_sign_in(ctx, org.admin_email, "demo password one")
    assert demo != 401 and demo["name"] == "Acme Demo" and demo["id"] != org.id, demo
    # A second run sets the demo administrator's password only.
    r = ctx.admin_cli("seed-demo", org.admin_email, "--password-stdin", input="demo password two\n")
    assert r.returncode == 0, r.stderr
    assert "already seeded" in r.stdout, r.stdout
    assert _org_of_sign_in(ctx, org.admin_email, "demo password two")["id"] == demo["id"]
    assert _org_of_sign_in(ctx, org.admin_email, "demo password one") == 401
    assert _org_of_sign_in(ctx, org.admin_email, org.password)["id"] == org.id
    assert ctx.sql("SELECT COUNT(*) FROM organizations WHERE name = 'Acme Demo'") == [["1"]]
