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
