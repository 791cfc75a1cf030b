"""Sealed tokens are bound to their organization, integration and column
(issue 12 item 7): a ciphertext moved to another column or another
organization's row does not open."""
from test_slack_connection import DEMO, OTHER, ROTATING_APP, connect, emu_reset

Q = "SELECT id, access_token_sealed, refresh_token_sealed FROM provisioning_integrations WHERE organization_id = ?"


def _check(ctx, org):
    return ctx.run([ctx.root + "/cron/provisioning-admin", "slack-check", str(org.id)], env=ROTATING_APP)


def test_a_sealed_token_moved_to_another_column_or_organization_does_not_open(ctx):
    emu = emu_reset(ctx)
    ctx.stack("api-restart", env=ROTATING_APP)  # an app whose tokens have refresh tokens
    try:
        a = ctx.new_org()
        b = ctx.new_org()
        assert connect(ctx, a) == {"connected": "1"}
        assert connect(ctx, b, team=OTHER) == {"connected": "1"}
        row_a = ctx.sql(Q, a.id)[0]
        row_b = ctx.sql(Q, b.id)[0]
        assert row_a[1].startswith("v2:") and row_a[2].startswith("v2:"), row_a
        r = _check(ctx, a)
        assert r.returncode == 0 and r.stdout.split()[0] == DEMO, r.stderr
        # The refresh token's ciphertext in the access token's column.
        ctx.sql("UPDATE provisioning_integrations SET access_token_sealed = ? WHERE id = ?",
                row_a[2], int(row_a[0]))
        r = _check(ctx, a)
        assert r.returncode != 0 and "cannot be opened" in r.stderr, (r.stdout, r.stderr)
        # Organization A's access token in organization B's row.
        ctx.sql("UPDATE provisioning_integrations SET access_token_sealed = ? WHERE id = ?",
                row_a[1], int(row_b[0]))
        r = _check(ctx, b)
        assert r.returncode != 0 and "cannot be opened" in r.stderr, (r.stdout, r.stderr)
        # Put back, both open again.
        ctx.sql("UPDATE provisioning_integrations SET access_token_sealed = ? WHERE id = ?",
                row_a[1], int(row_a[0]))
        ctx.sql("UPDATE provisioning_integrations SET access_token_sealed = ? WHERE id = ?",
                row_b[1], int(row_b[0]))
        assert _check(ctx, a).returncode == 0
        r = _check(ctx, b)
        assert r.returncode == 0 and r.stdout.split()[0] == OTHER, r.stderr
    finally:
        emu.post("/_emulator/reset", {})
        ctx.stack("api-restart")
