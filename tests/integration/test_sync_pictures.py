"""The sync keeps its own copy of each profile picture (SPEC §2.5, issue
11 item 3), end to end: Slack (the emulator's avatar CDN, which counts every
download) -> the sync's picture step -> the pictures folder -> nginx.  A
picture is downloaded only when its avatar_hash changes; a failed download
never fails the person, keeps the previous picture, says why, and is tried
again by the next sync; no address of Slack's CDN reaches the directory or
the report."""
import hashlib
import json

from test_slack_connection import emu_reset, DEMO
from test_sync import setup, sync, actions, emu_put_user, emu_user


def member(uid, email, name, avatar_hash=None):
    first, _, last = name.partition(" ")
    p = {"email": email, "real_name": name, "first_name": first, "last_name": last,
         "display_name": first}
    if avatar_hash:
        p.update(avatar_hash=avatar_hash, is_custom_image=True)
    return {"id": uid, "name": uid.lower(), "real_name": name, "profile": p}


def set_hash(ctx, uid, avatar_hash, custom=True, **profile):
    """A new picture in Slack: the hash, and no stale image_* links (the
    emulator passes members it does not model through as they are)."""
    u = emu_user(ctx, uid)
    p = {k: v for k, v in u["profile"].items() if not k.startswith("image_")}
    p.update(avatar_hash=avatar_hash, is_custom_image=custom, **profile)
    u["profile"] = p
    emu_put_user(ctx, u)


def fetches(ctx):
    r = ctx.emulator().get("/_emulator/avatars")
    assert r.status == 200, r
    return r.json


def picture_of(ctx, org, uid):
    rows = ctx.sql("SELECT picture_url, picture_large_url, avatar_hash FROM users"
                   " WHERE organization_id = ? AND slack_user_id = ?", org.id, uid)
    assert len(rows) == 1, rows
    return [None if v == "NULL" else v for v in rows[0]]


def no_slack_address(ctx, org, sid):
    """Neither the directory nor any report row of the sync holds an address
    of the emulator (Slack's CDN here)."""
    cdn = ctx.emulator_url
    rows = ctx.sql("SELECT COUNT(*) FROM users WHERE organization_id = ?"
                   " AND (picture_url LIKE CONCAT(?, '%') OR picture_large_url LIKE CONCAT(?, '%'))",
                   org.id, cdn, cdn)
    assert rows == [["0"]], rows
    acts = actions(org, sid)
    assert acts, "the sync wrote no report rows"
    leaked = [a for a in acts if cdn in json.dumps(a)]
    assert not leaked, leaked[:3]


def served(ctx, url):
    prefix = ctx.base_url + "/pictures/"
    assert url and url.startswith(prefix), url
    r = ctx.client().get(url[len(ctx.base_url):])
    assert r.status == 200, r
    assert r.header("Content-Type") == "image/png", r.headers
    assert "immutable" in r.header("Cache-Control"), r.headers
    assert hashlib.sha256(r.body).hexdigest() + ".png" == url[len(prefix):]
    return r.body


def test_a_sync_stores_each_picture_once_and_serves_it_from_the_product(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    h = ctx.unique("pic")
    emu_put_user(ctx, member("U0PICT0001", "pia.picture@acme.example", "Pia Picture", h))
    emu_put_user(ctx, member("U0PICT0002", "dora.default@acme.example", "Dora Default"))
    ctx.emulator().post("/_emulator/avatars/reset", {})
    s = sync(ctx, org)
    assert s["counts"]["failed"] == 0, s
    small, large, key = picture_of(ctx, org, "U0PICT0001")
    assert key == h, key
    assert small != large, (small, large)
    assert ("%s_72.png" % h).encode() in served(ctx, small)     # the size the page shows
    assert ("%s_512.png" % h).encode() in served(ctx, large)    # and a larger one
    # Slack's default avatar is no picture.
    assert picture_of(ctx, org, "U0PICT0002") == [None, None, None]
    f = fetches(ctx)["fetches"]
    mine = {k: v for k, v in f.items() if h in k}
    assert mine == {"%s/%s_72.png" % (DEMO, h): 1, "%s/%s_512.png" % (DEMO, h): 1}, mine
    assert not any(k.startswith("default/") for k in f), f
    create = next(a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0001")
    assert {"field": "picture", "from": None, "to": small} in create["changes"], create
    assert "picture" in create["changed"], create
    no_slack_address(ctx, org, s["id"])
    # The API hands the product's address to the page.
    me = org.admin.get("/api/v1/users", query={"q": "pia.picture"}).json["users"]
    assert [u["picture_url"] for u in me] == [small], me

    # Unchanged hash: nothing is downloaded again, nothing updated.
    total = fetches(ctx)["total"]
    s = sync(ctx, org)
    assert s["counts"]["updated"] == 0 and fetches(ctx)["total"] == total, s

    # A new picture in Slack: downloaded, stored, the row says from -> to.
    set_hash(ctx, "U0PICT0001", h + "n")
    s = sync(ctx, org)
    new_small, new_large, key = picture_of(ctx, org, "U0PICT0001")
    assert key == h + "n" and new_small not in (small, large), (new_small, key)
    served(ctx, new_small)
    served(ctx, new_large)
    upd = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0001"]
    assert [(a["action"], a["outcome"], a["changes"]) for a in upd] == \
        [("update", "succeeded", [{"field": "picture", "from": small, "to": new_small}])], upd
    no_slack_address(ctx, org, s["id"])

    # Back to the default avatar: no picture.
    set_hash(ctx, "U0PICT0001", "g0000default", custom=False)
    s = sync(ctx, org)
    assert picture_of(ctx, org, "U0PICT0001") == [None, None, None]


def test_a_failed_picture_keeps_the_old_one_says_why_and_is_tried_again(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    h = ctx.unique("keep")
    emu_put_user(ctx, member("U0PICT0003", "kim.keep@acme.example", "Kim Keep", h))
    # A new person whose picture is not an image: created, without it.
    emu_put_user(ctx, member("U0PICT0004", "fay.fake@acme.example", "Fay Fake",
                             ctx.unique("fakepng")))
    s = sync(ctx, org)
    assert s["status"] == "succeeded" and s["counts"]["failed"] == 0, s
    old = picture_of(ctx, org, "U0PICT0003")
    assert old[0] and old[2] == h, old
    assert picture_of(ctx, org, "U0PICT0004") == [None, None, None]
    fay = next(a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0004")
    assert fay["outcome"] == "succeeded" and "picture" not in fay["changed"], fay
    assert "The picture was not stored, because the file Slack sent as a picture is not a" \
        " valid PNG image; the next sync tries again." in fay["details"], fay["details"]

    # The new picture of Kim answers 404: Kim keeps the old picture and its
    # key, the row is skipped with the reason, and nobody failed.
    missing = ctx.unique("missing")
    set_hash(ctx, "U0PICT0003", missing)
    s = sync(ctx, org)
    assert s["status"] == "succeeded" and s["counts"]["failed"] == 0, s
    assert picture_of(ctx, org, "U0PICT0003") == old
    kim = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0003"]
    assert [(a["action"], a["outcome"], a["changes"], a["changed"]) for a in kim] == \
        [("update", "skipped", [], [])], kim
    assert kim[0]["details"] == (
        "Not updated: the new picture was not stored, because the picture could not be"
        " downloaded from Slack (HTTP 404). The previous picture stays, and the next sync"
        " tries again."), kim[0]["details"]

    # The next sync tries again (the key still differs), and a change made
    # alongside is written while the picture is not.
    before = fetches(ctx)["total"]
    set_hash(ctx, "U0PICT0003", missing, title="Keeper of Pictures")
    s = sync(ctx, org)
    assert fetches(ctx)["total"] > before
    kim = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0003"]
    assert [(a["action"], a["outcome"]) for a in kim] == [("update", "succeeded")], kim
    assert [c["field"] for c in kim[0]["changes"]] == ["job_title"], kim
    assert kim[0]["details"].startswith("Updated from Slack: job title.")
    assert "the previous one stays, and the next sync tries again." in kim[0]["details"], kim
    assert picture_of(ctx, org, "U0PICT0003") == old
    # Fixed in Slack: stored at last.
    set_hash(ctx, "U0PICT0003", h + "ok")
    set_hash(ctx, "U0PICT0004", h + "fay")
    s = sync(ctx, org)
    assert s["counts"]["updated"] == 2 and s["counts"]["failed"] == 0, s
    assert picture_of(ctx, org, "U0PICT0003")[2] == h + "ok"
    served(ctx, picture_of(ctx, org, "U0PICT0004")[0])
    no_slack_address(ctx, org, s["id"])


def test_a_picture_imported_as_a_slack_address_is_stored_by_the_next_sync(ctx):
    """sql/010: users imported while pictures were Slack's addresses get the
    product's copy at the next sync, and show the old address until then."""
    emu_reset(ctx)
    org = setup(ctx)
    h = ctx.unique("old")
    emu_put_user(ctx, member("U0PICT0005", "otto.old@acme.example", "Otto Old", h))
    sync(ctx, org)
    cdn = "%s/avatars/%s/%s_512.png" % (ctx.emulator_url, DEMO, h)
    ctx.sql("UPDATE users SET picture_url = ?, picture_large_url = NULL WHERE"
            " organization_id = ? AND slack_user_id = 'U0PICT0005'", cdn, org.id)
    with open(ctx.root + "/sql/010_pictures_stored.sql") as f:
        statement = "\n".join(l for l in f.read().splitlines() if not l.startswith("--"))
    ctx.sql(statement)
    assert picture_of(ctx, org, "U0PICT0005") == [cdn, None, None]
    s = sync(ctx, org)
    small, large, key = picture_of(ctx, org, "U0PICT0005")
    assert key == h and small.startswith(ctx.base_url + "/pictures/") and large, (small, key)
    upd = [a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0005"]
    assert [(a["action"], a["changes"]) for a in upd] == \
        [("update", [{"field": "picture", "from": cdn, "to": small}])], upd


def test_a_picture_on_a_host_not_allowed_is_never_downloaded(ctx):
    """pictures.hosts: an address in Slack's answer that is not on an allowed
    host (Slack's CDN by default) is not fetched at all, so a forged answer
    cannot make the sync read the product's own network and publish it."""
    emu_reset(ctx)
    org = setup(ctx)
    h = ctx.unique("far")
    emu_put_user(ctx, member("U0PICT0006", "fern.far@acme.example", "Fern Far", h))
    ctx.emulator().post("/_emulator/avatars/reset", {})
    s = sync(ctx, org, env={"PICTURES_HOSTS": "slack-edge.com"})
    assert s["status"] == "succeeded" and s["counts"]["failed"] == 0, s
    assert fetches(ctx)["total"] == 0, fetches(ctx)
    assert picture_of(ctx, org, "U0PICT0006") == [None, None, None]
    fern = next(a for a in actions(org, s["id"]) if a["slack_user_id"] == "U0PICT0006")
    assert fern["outcome"] == "succeeded" and "picture" not in fern["changed"], fern
    assert "because the picture's address is not on a host allowed for pictures (the" \
        " pictures.hosts setting)" in fern["details"], fern["details"]
    # Allowed again (the stack's own setting): the next sync stores it.
    s = sync(ctx, org)
    assert picture_of(ctx, org, "U0PICT0006")[2] == h
