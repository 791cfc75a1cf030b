"""Held syncs' planned payloads name their kind, reason and fields
(lib/sync/sync_apply.c), and sql/005_held_payload_names.sql rewrites those
stored before with enum ordinals: a held sync written in the old format is
migrated and then approved exactly as planned."""
import json

from test_sync import EVERYONE, actions, setup, shrink_scope_config, sync
from test_slack_connection import emu_reset

# The enums' order when payloads held ordinals (lib/sync/sync_plan.h then).
KINDS = ["create", "update", "deactivate", "reactivate", "add_to_team", "remove_from_team", "skip"]
REASONS = ["new_in_scope", "profile_changed", "linked_by_email", "back_in_scope",
           "deleted_in_slack", "left_workspace", "left_scope", "excluded", "domain_not_allowed",
           "in_mapped_group", "not_in_mapped_group", "no_email", "email_taken_by_linked_user",
           "email_taken_by_other_user", "needs_review", "last_administrator"]
FIELDS = ["first_name", "last_name", "display_name", "email", "picture", "job_title",
          "is_guest", "status"]


def _payloads(ctx, sid):
    return {int(r[0]): json.loads(r[1]) for r in ctx.sql(
        "SELECT id, payload_json FROM provisioning_sync_actions WHERE sync_id = ?"
        " AND outcome = 'planned'", sid)}


def _as_ordinals(p):
    """The payload as the old applier wrote it."""
    old = dict(p, kind=KINDS.index(p["kind"]), reason=REASONS.index(p["reason"]))
    old["changes"] = [dict(c, f=FIELDS.index(c["f"])) for c in p["changes"]]
    return old


def test_held_sync_stored_with_ordinals_is_migrated_then_approved(ctx):
    emu_reset(ctx)
    org = setup(ctx, config=dict(EVERYONE, deactivation_threshold={"percent": 10, "minimum": 2}))
    sync(ctx, org)
    assert org.admin.put("/api/v1/provisioning/slack/config", shrink_scope_config(10, 2)).status == 200
    s = sync(ctx, org, expect=("held",))
    named = _payloads(ctx, s["id"])
    deact = [p for p in named.values() if p["kind"] == "deactivate"]
    assert len(deact) > 2, named
    # Names, never numbers, in what the applier writes now.
    assert all(p["reason"] == "left_scope" and p["changes"][0]["f"] == "status" for p in deact)

    # Back to the old format, as a held sync stored before this change.
    for rid, p in named.items():
        ctx.sql("UPDATE provisioning_sync_actions SET payload_json = ? WHERE id = ?",
                json.dumps(_as_ordinals(p), ensure_ascii=False), rid)
    old = _payloads(ctx, s["id"])
    assert all(isinstance(p["kind"], int) for p in old.values())
    assert {p["kind"] for p in old.values() if p["reason"] == REASONS.index("left_scope")} == \
        {KINDS.index("deactivate")}

    ctx.sql("DELETE FROM schema_migrations WHERE version = '005_held_payload_names'")
    r = ctx.admin_cli("migrate")
    assert r.returncode == 0, r.stderr
    got = _payloads(ctx, s["id"])
    bad = [(named[k], got[k]) for k in named if got.get(k) != named[k]]
    assert not bad, (r.stdout, r.stderr, bad[:2])
    # Run again: nothing left to rewrite, nothing changes.
    ctx.sql("DELETE FROM schema_migrations WHERE version = '005_held_payload_names'")
    assert ctx.admin_cli("migrate").returncode == 0
    assert _payloads(ctx, s["id"]) == named

    r = org.admin.post("/api/v1/provisioning/slack/syncs/%d/approve" % s["id"])
    assert r.status == 200, r
    ctx.sync_pass("--org", str(org.id))
    s2 = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % s["id"]).json["sync"]
    assert s2["status"] == "succeeded", s2
    gone = {r[0] for r in ctx.sql("SELECT slack_user_id FROM users WHERE organization_id = ?"
                                  " AND status = 'deactivated'", org.id)}
    assert gone == {p["slack"] for p in deact}
    rows = actions(org, s["id"], changed="status")
    assert len(rows) == len(deact) and all(a["outcome"] == "succeeded" for a in rows), rows


def test_a_payload_with_an_unknown_name_fails_the_approval_plainly(ctx):
    emu_reset(ctx)
    org = setup(ctx, config=dict(EVERYONE, deactivation_threshold={"percent": 10, "minimum": 2}))
    sync(ctx, org)
    active = ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND status = 'active'",
                     org.id)[0][0]
    assert org.admin.put("/api/v1/provisioning/slack/config", shrink_scope_config(10, 2)).status == 200
    s = sync(ctx, org, expect=("held",))
    rid = min(_payloads(ctx, s["id"]))
    ctx.sql("UPDATE provisioning_sync_actions SET payload_json = JSON_SET(payload_json, '$.reason',"
            " 'no_such_reason') WHERE id = ?", rid)
    assert org.admin.post("/api/v1/provisioning/slack/syncs/%d/approve" % s["id"]).status == 200
    ctx.sync_pass("--org", str(org.id))
    s2 = org.admin.get("/api/v1/provisioning/slack/syncs/%d" % s["id"]).json["sync"]
    assert s2["status"] == "failed", s2
    assert "could not be read, so nothing was changed" in s2["error"], s2
    assert "reason" not in s2["error"] and "payload" not in s2["error"], s2
    # Nobody was deactivated on a payload nobody can read.
    assert ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ? AND status = 'active'",
                   org.id)[0][0] == active
