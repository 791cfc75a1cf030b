"""Fidelity to Slack's data and to the database's rules (issue 11): e-mails
compared the way the schema's unique key compares them, long values, pictures.

The C side is driven through build/rel/fidelity-probe (tests/fidelity-probe.c);
the database side is the real users table of the test stack.
"""
import os
import subprocess

PROBE = os.path.join("build", "rel", "fidelity-probe")


def probe(ctx, *args, input=None, env=None):
    path = os.path.join(ctx.root, PROBE)
    full_env = dict(ctx.env)
    full_env.update(env or {})
    return subprocess.run([path] + list(args), input=input, capture_output=True, text=True,
                          env=full_env, timeout=120)


# Every range of code points with a case pair that MariaDB knows (Latin,
# Greek, Cyrillic, Armenian, Georgian, Glagolitic, Coptic, Cyrillic and
# Latin extensions, fullwidth, Deseret, Osage, Old Hungarian, Adlam) and
# the caseless neighbours around them.
RANGES = [(0x20, 0x7e), (0xa0, 0x24ff), (0x2c00, 0x2d2f), (0xa640, 0xa7ff),
          (0xff00, 0xff5f), (0x10400, 0x104ff), (0x10c80, 0x10cff), (0x1e900, 0x1e95f)]


def code_point_chunks(size=200):
    cps = [cp for lo, hi in RANGES for cp in range(lo, hi + 1)
           if not 0xd800 <= cp <= 0xdfff]
    return [cps[i:i + size] for i in range(0, len(cps), size)]


def test_email_fold_equals_the_database_lower_for_thousands_of_code_points(ctx):
    chunks = code_point_chunks()
    hexes = ["".join(chr(cp) for cp in chunk).encode("utf-8").hex().upper() for chunk in chunks]
    assert sum(len(c) for c in chunks) > 10000
    # A copy of users (same email column, same generated email_key) so the
    # database computes the key exactly as for a real user.
    ctx.sql("DROP TABLE IF EXISTS fold_check")
    ctx.sql("CREATE TABLE fold_check LIKE users")
    try:
        values = ",".join("(%d, CONVERT(UNHEX('%s') USING utf8mb4))" % (i + 1, h)
                          for i, h in enumerate(hexes))
        ctx.sql("INSERT INTO fold_check (organization_id, email) VALUES " + values)
        rows = ctx.sql("SELECT organization_id, HEX(email_key), HEX(email) FROM fold_check"
                       " ORDER BY organization_id")
    finally:
        ctx.sql("DROP TABLE IF EXISTS fold_check")
    assert len(rows) == len(hexes)
    # The database stored what was sent (nothing replaced by '?').
    assert [r[2] for r in rows] == hexes
    r = probe(ctx, "fold", input="\n".join(hexes) + "\n")
    assert r.returncode == 0, r.stderr
    folded = r.stdout.split("\n")[:-1]
    assert len(folded) == len(hexes)
    differ = []
    for (oid, key, _), c_fold, chunk in zip(rows, folded, chunks):
        if key != c_fold:
            db_cps = [ord(ch) for ch in bytes.fromhex(key).decode("utf-8")]
            c_cps = [ord(ch) for ch in bytes.fromhex(c_fold).decode("utf-8")] \
                if not c_fold.startswith("error") else []
            bad = [(hex(s), hex(d), hex(c)) for s, d, c in zip(chunk, db_cps, c_cps) if d != c]
            differ.append((oid, bad[:5] or c_fold))
    assert not differ, "C fold differs from the database: %s" % differ[:5]
    # The ranges really contain case pairs: most of the generated table's
    # 1029 mappings are exercised, not only unchanged characters.
    changed = sum(1 for (_, key, orig) in rows
                  for a, b in zip(bytes.fromhex(key).decode("utf-8"),
                                  bytes.fromhex(orig).decode("utf-8")) if a != b)
    assert changed > 900, changed


def test_email_fold_refuses_what_the_database_refuses(ctx):
    # Invalid UTF-8: the probe answers an error, MariaDB refuses the value.
    r = probe(ctx, "fold", input="C328\nED A080\n".replace(" ", ""))
    assert r.stdout.split("\n")[:2] == ["error -2", "error -2"], r.stdout


def sign_in(ctx, email, password):
    return ctx.client().post("/api/v1/session", {"email": email, "password": password})


def test_sign_in_folds_case_like_the_unique_key_in_every_script(ctx):
    org = ctx.new_org()
    pw = "correct horse battery"
    u = ctx.unique("u")
    cases = [
        # (created as, signed in as, same account?)
        ("ÉLODIE.%s@acme.example" % u, "élodie.%s@acme.example" % u, True),
        ("иван.%s@пример.рф" % u, "ИВАН.%s@ПРИМЕР.РФ" % u, True),
        ("σοφια.%s@x.gr" % u, "ΣΟΦΙΑ.%s@X.GR" % u, True),
        ("i̇lke.%s@x.tr" % u, "İLKE.%s@x.tr" % u, False),   # i + combining dot is not İ's key
        ("ilke.%s@x.tr" % u, "İLKE.%s@x.tr" % u, True),     # İ lowers to a plain i
        ("ırmak.%s@x.tr" % u, "IRMAK.%s@x.tr" % u, False),   # dotless ı is its own letter
        # Folded by the column's collation but not by a bare LOWER(?) on the
        # connection's utf8mb4_general_ci: these failed before EMAIL_KEY_SQL.
        ("straße.%s@x.de" % u, "STRAẞE.%s@x.de" % u, True),
        ("ⱥnna.%s@x.example" % u, "Ⱥnna.%s@x.example" % u, True),
        ("straße2.%s@x.de" % u, "strasse2.%s@x.de" % u, False),
        ("élise.%s@x.fr" % u, "elise.%s@x.fr" % u, False),     # accents count
        ("zoe.%s@x.fr" % u, "ZOË.%s@x.fr" % u, False),
    ]
    for created, typed, same in cases:
        ctx.new_user(org, email=created, password=pw)
        resp = sign_in(ctx, typed, pw)
        if same:
            assert resp.status == 200, (created, typed, resp)
            assert resp.json["user"]["email"] == created, resp.json
        else:
            assert resp.status == 401, (created, typed, resp)


def test_a_second_account_differing_only_in_unicode_case_is_refused(ctx):
    org = ctx.new_org()
    u = ctx.unique("dup")
    ctx.new_user(org, email="ÉLODIE.%s@acme.example" % u)
    r = ctx.admin_cli("create-user", str(org.id), "élodie.%s@acme.example" % u,
                      "--first", "E", "--last", "L")
    assert r.returncode == 3, (r.returncode, r.stderr)
    rows = ctx.sql("SELECT email, email_key FROM users WHERE organization_id = ?"
                   " AND email_key LIKE ?", org.id, "%" + u + "%")
    assert rows == [["ÉLODIE.%s@acme.example" % u, "élodie.%s@acme.example" % u]], rows


# ---- long values (sql/007_long_values.sql, lib/core/utf8_cut) -------------

TITLE_PIECE = "営業本部「グローバル戦略」担当部長 🚀👩‍💻 — \"Head of Sales\" "


def long_text(chars):
    s = ""
    while len(s) < chars:
        s += TITLE_PIECE
    return s[:chars]


def test_directory_holds_1000_characters_of_names_and_titles_in_any_script(ctx):
    org = ctx.new_org()
    uid = ctx.new_user(org)
    value = long_text(1000)
    assert len(value.encode("utf-8")) > 2000   # CJK and 4-byte emoji, not ASCII
    for col in ("first_name", "last_name", "display_name", "job_title"):
        ctx.sql("UPDATE users SET %s = ? WHERE id = ? AND organization_id = ?" % col,
                value, uid, org.id)
        got = ctx.sql("SELECT CHAR_LENGTH(%s), %s = ? FROM users WHERE id = ?" % (col, col),
                      value, uid)
        assert got == [["1000", "1"]], (col, got)
        # Past the limit the database refuses (strict mode): nothing is
        # silently cut by the database; the sync cuts on purpose.
        try:
            ctx.sql("UPDATE users SET %s = ? WHERE id = ?" % col, value + "x", uid)
        except RuntimeError as e:
            assert "Data too long" in str(e), e
        else:
            raise AssertionError("%s accepted 1001 characters" % col)
    r = ctx.sql("SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                "provisioning_sync_actions", "user_name")
    assert r == [["1000"]], r
    r = ctx.sql("SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'"
                " AND COLUMN_NAME IN ('email', 'email_key') ORDER BY COLUMN_NAME")
    assert r == [["254"], ["254"]], r


def test_a_value_cut_to_1000_characters_fits_and_keeps_its_emoji_whole(ctx):
    org = ctx.new_org()
    uid = ctx.new_user(org)
    # 1,500 characters; limits around the last 👩‍💻 (woman, ZWJ, laptop)
    # before 1,000 put the cut before it, inside it (twice) and after it.
    value = long_text(1500)
    w = value.rindex("👩", 0, 1000)
    assert value[w:w + 3] == "👩\u200d💻"
    limits = [w, w + 1, w + 2, w + 3, 1000]
    outs = []
    for n in limits:
        r = probe(ctx, "cut", str(n), input=value.encode("utf-8").hex() + "\n")
        assert r.returncode == 0, r.stderr
        kept_hex, flag = r.stdout.split()
        assert flag == "cut"
        kept = bytes.fromhex(kept_hex).decode("utf-8")   # valid UTF-8 always
        assert value.startswith(kept)
        assert len(kept) <= n
        outs.append((n, kept))
        ctx.sql("UPDATE users SET job_title = ? WHERE id = ? AND organization_id = ?",
                kept, uid, org.id)
        got = ctx.sql("SELECT job_title = ?, CHAR_LENGTH(job_title) FROM users WHERE id = ?",
                      kept, uid)
        assert got == [["1", str(len(kept))]], got
    # Inside 👩‍💻 the cut keeps none of it; before and after it, all it may.
    assert [len(k) for n, k in outs[:4]] == [w, w, w, w + 3], [len(k) for n, k in outs]
    for n, k in outs:
        assert not k.endswith("\u200d") and not k.endswith("👩"), (n, k[-3:])
    r = probe(ctx, "cut", "1000", input=long_text(1000).encode("utf-8").hex() + "\n")
    assert r.stdout.split()[1] == "whole", r.stdout


# ---- pictures (lib/directory/picture_store, lib/provider/slack/slack_picture)

import hashlib
import json


def avatar_url(ctx, hash_, size=512, ext="png"):
    return "%s/avatars/T0FIDELITY/%s_%d.%s" % (ctx.emulator_url, hash_, size, ext)


def avatar_fetches(ctx):
    r = ctx.emulator().get("/_emulator/avatars")
    assert r.status == 200, r
    return r.json


def pictures_dir(ctx):
    return os.path.join(ctx.dir, "pictures")


def stored_files(ctx):
    d = pictures_dir(ctx)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def parse_kv(out):
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_picture_import_stores_both_sizes_and_nginx_serves_them_immutable(ctx):
    # Counted from here: syncs before this test downloaded pictures too.
    assert ctx.emulator().post("/_emulator/avatars/reset", {}).status == 200
    h = ctx.unique("pic")
    url = avatar_url(ctx, h)
    r = probe(ctx, "picture-import", url)
    assert r.returncode == 0, r.stdout + r.stderr
    urls = parse_kv(r.stdout)
    prefix = ctx.base_url + "/pictures/"
    assert urls["small"].startswith(prefix) and urls["large"].startswith(prefix), urls
    assert urls["small"] != urls["large"]   # two sizes are two files
    files = stored_files(ctx)
    for which, size in (("small", 72), ("large", 512)):
        name = urls[which][len(prefix):]
        assert name in files, (name, files)
        resp = ctx.client().get("/pictures/" + name)
        assert resp.status == 200, resp
        assert resp.header("Content-Type") == "image/png", resp.headers
        cache = resp.header("Cache-Control")
        assert "max-age=31536000" in cache and "immutable" in cache, cache
        assert resp.header("X-Content-Type-Options") == "nosniff"
        # Content-addressed: the name is the SHA-256 of what is served, and
        # the bytes are the emulator's for this hash and size.
        assert hashlib.sha256(resp.body).hexdigest() + ".png" == name
        assert resp.body.startswith(b"\x89PNG\r\n\x1a\n")
        assert ("%s_%d.png" % (h, size)).encode() in resp.body
        with open(os.path.join(pictures_dir(ctx), name), "rb") as f:
            assert f.read() == resp.body
    counts = avatar_fetches(ctx)["fetches"]
    assert counts.get("T0FIDELITY/%s_72.png" % h) == 1, counts
    assert counts.get("T0FIDELITY/%s_512.png" % h) == 1, counts
    # The same picture again: the same names, no new file (the fetch count
    # says the store, not the fetcher, deduplicates; the sync fetches only
    # when avatar_hash changes).
    r = probe(ctx, "picture-import", url)
    assert parse_kv(r.stdout) == urls, r.stdout
    assert stored_files(ctx) == files
    counts = avatar_fetches(ctx)["fetches"]
    assert counts.get("T0FIDELITY/%s_72.png" % h) == 2, counts
    # Another hash is another picture.
    r = probe(ctx, "picture-import", avatar_url(ctx, h + "b"))
    other = parse_kv(r.stdout)
    assert other["small"] not in urls.values() and other["large"] not in urls.values()


def test_picture_fetch_checks_status_type_signature_size_and_time(ctx):
    before = stored_files(ctx)
    u = ctx.unique("")
    cases = [
        # (hash prefix, env, rc, words of why)
        ("missing", {}, "-12", "could not be downloaded from Slack (HTTP 404)"),
        ("html", {}, "-12", "not an image of an accepted type"),
        ("fakepng", {}, "-12", "is not a valid PNG image"),
        ("huge", {}, "-7", "larger than 1024 KiB"),
        ("slow", {"PROBE_TIMEOUT_MS": "500"}, "-8", "no answer in time"),
    ]
    for prefix, env, rc, words in cases:
        r = probe(ctx, "picture-import", avatar_url(ctx, prefix + u), env=env)
        assert r.returncode == 1, (prefix, r.stdout)
        assert r.stdout.startswith("error rc=%s " % rc), (prefix, r.stdout)
        assert words in r.stdout, (prefix, r.stdout)
    # A smaller cap refuses an ordinary picture, before it is stored.
    r = probe(ctx, "picture-fetch", avatar_url(ctx, "ok" + u), env={"PROBE_MAX_BYTES": "64"})
    assert r.stdout.startswith("error rc=-7 "), r.stdout
    r = probe(ctx, "picture-fetch", "ftp://127.0.0.1/x_512.png")
    assert r.stdout.startswith("error rc=-2 "), r.stdout
    # A failure stores nothing, not even a temporary file.
    assert stored_files(ctx) == before, set(stored_files(ctx)) - set(before)
    # JPEG is accepted and keeps its type.
    r = probe(ctx, "picture-import", avatar_url(ctx, "jpeg" + u))
    assert r.returncode == 0, r.stdout
    name = parse_kv(r.stdout)["small"].rsplit("/", 1)[1]
    assert name.endswith(".jpg")
    resp = ctx.client().get("/pictures/" + name)
    assert resp.status == 200 and resp.header("Content-Type") == "image/jpeg", resp


def test_picture_store_refuses_what_is_not_a_picture(ctx):
    path = os.path.join(ctx.dir, "not-a-picture.txt")
    with open(path, "wb") as f:
        f.write(b"<svg onload=alert(1)></svg>")
    r = probe(ctx, "picture-put", path)
    assert r.stdout.startswith("error rc=-2 "), r.stdout
    with open(path, "wb") as f:
        f.write(b"")
    r = probe(ctx, "picture-put", path)
    assert r.stdout.startswith("error rc=-7 "), r.stdout


def test_pictures_location_serves_only_well_formed_names(ctx):
    c = ctx.client()
    # nginx resolves ".." before matching: the page answers, never the file.
    r = c.get("/pictures/../provisioning.conf")
    assert b"db.password" not in r.body and b"<!doctype html>" in r.body, r
    for path in ("/pictures/", "/pictures/provisioning.conf",
                 "/pictures/.tmp-abcdef", "/pictures/%s.png" % ("0" * 64),
                 "/pictures/%s.svg" % ("a" * 64), "/pictures/%s.PNG" % ("a" * 64)):
        r = c.get(path)
        assert r.status == 404, (path, r)
        assert b"db.password" not in r.body
