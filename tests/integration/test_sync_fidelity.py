"""The sync faithful to Slack and to the administrators (issue 11), end to
end through the emulator: e-mails matched the way the database's unique key
compares them, and changes made by hand never undone (SPEC §2.3, §7.7)."""
from test_slack_connection import emu_reset, DEMO
from test_sync import setup, sync, actions, emu_put_user, emu_user


def slack_member(uid, email, real_name, title=""):
    first, _, last = real_name.partition(" ")
    return {"id": uid, "name": uid.lower(), "real_name": real_name,
            "profile": {"email": email, "real_name": real_name, "first_name": first,
                        "last_name": last, "display_name": first, "title": title}}


def test_accented_upper_case_manual_user_is_linked_not_a_failed_create(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    r = org.admin.post("/api/v1/users", {"email": "ÉLODIE.TEST@acme.example",
                                         "first_name": "Élodie", "last_name": "Test"})
    assert r.status == 201, r
    uid = r.json["user"]["id"]
    emu_put_user(ctx, slack_member("U0ELODIE01", "élodie.test@acme.example", "Élodie Test"))
    s = sync(ctx, org)
    assert s["counts"]["failed"] == 0, s
    mine = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0ELODIE01"]
    assert [(a["action"], a["reason"], a["outcome"]) for a in mine] == \
        [("update", "linked_by_email", "succeeded")], mine
    rows = ctx.sql("SELECT id, email FROM users WHERE organization_id = ?"
                   " AND slack_user_id = 'U0ELODIE01'", org.id)
    # A case-only difference is not a change: the address as typed stays.
    assert rows == [[str(uid), "ÉLODIE.TEST@acme.example"]], rows
    # Linked once: the next sync neither creates nor updates anyone.
    s = sync(ctx, org)
    c = s["counts"]
    assert c["created"] == c["updated"] == c["failed"] == 0, c
