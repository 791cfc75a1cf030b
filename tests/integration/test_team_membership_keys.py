"""sql/011_team_membership_keys.sql: team_memberships keyed by
(organization_id, team_id, user_id) with one more index, (organization_id,
user_id), for the user foreign key.  A database made before it is
rebuilt once with every membership kept, a second run changes nothing, and
the team pages read the new key."""

KEYS = "SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index)" \
       " FROM information_schema.statistics WHERE table_schema = DATABASE()" \
       " AND table_name = 'team_memberships' GROUP BY index_name ORDER BY index_name"
NEW = [["PRIMARY", "organization_id,team_id,user_id"],
       ["team_memberships_user_fk", "organization_id,user_id"]]
OLD = [["PRIMARY", "team_id,user_id"],
       ["team_memberships_team_fk", "organization_id,team_id"],
       ["team_memberships_user", "user_id"],
       ["team_memberships_user_fk", "organization_id,user_id"]]


def _script(ctx):
    with open(ctx.root + "/sql/011_team_membership_keys.sql") as f:
        return "\n".join(l for l in f.read().splitlines() if not l.startswith("--"))


def _memberships(ctx):
    return ctx.sql("SELECT organization_id, team_id, user_id, source FROM team_memberships"
                   " ORDER BY organization_id, team_id, user_id")


def _team_with_members(ctx, n):
    org = ctx.new_org()
    a = org.admin
    team = a.post("/api/v1/teams", {"name": "Keys"}).json["team"]
    uids = [ctx.new_user(org) for _ in range(n)]
    for uid in uids:
        assert a.post("/api/v1/teams/%d/members" % team["id"], {"user_id": uid}).status in (200, 201)
    return org, team, uids


def test_the_stack_has_the_new_keys(ctx):
    assert ctx.sql(KEYS) == NEW, ctx.sql(KEYS)
    assert ctx.sql("SELECT COUNT(*) FROM schema_migrations"
                   " WHERE version = '011_team_membership_keys'") == [["1"]]


def test_an_old_database_is_rebuilt_once_and_keeps_every_membership(ctx):
    org, team, uids = _team_with_members(ctx, 3)
    other, other_team, _ = _team_with_members(ctx, 2)
    before = _memberships(ctx)
    assert len([m for m in before if m[0] in (str(org.id), str(other.id))]) == 5, before
    # The layout of sql/001, as a database made before 011 has it.
    ctx.sql("ALTER TABLE team_memberships DROP PRIMARY KEY, ADD PRIMARY KEY (team_id, user_id),"
            " ADD INDEX team_memberships_user (user_id),"
            " ADD INDEX team_memberships_team_fk (organization_id, team_id)")
    try:
        assert ctx.sql(KEYS) == OLD, ctx.sql(KEYS)
        ctx.sql(_script(ctx))
        assert ctx.sql(KEYS) == NEW, ctx.sql(KEYS)
        assert _memberships(ctx) == before
        ctx.sql(_script(ctx))  # again, as after a crash before it was recorded
        assert ctx.sql(KEYS) == NEW and _memberships(ctx) == before
    finally:
        if ctx.sql(KEYS) != NEW:
            ctx.sql(_script(ctx))
    # The foreign keys still hold: a membership across organizations is refused.
    try:
        ctx.sql("INSERT INTO team_memberships (organization_id, team_id, user_id)"
                " VALUES (?, ?, ?)", org.id, other_team["id"], uids[0])
        refused = ""
    except RuntimeError as e:
        refused = str(e)
    assert "foreign key constraint fails" in refused, refused
    a = org.admin
    members = a.get("/api/v1/teams/%d/members" % team["id"]).json["members"]
    assert sorted(m["id"] for m in members) == sorted(uids)
    counts = {t["id"]: t["member_count"] for t in a.get("/api/v1/teams").json["teams"]}
    assert counts == {team["id"]: 3}, counts
    # Removing a member reads the new key too.
    assert a.delete("/api/v1/teams/%d/members/%d" % (team["id"], uids[0])).status in (200, 204)
    assert sorted(m["id"] for m in a.get("/api/v1/teams/%d/members" % team["id"]).json["members"]) \
        == sorted(uids[1:])


def test_an_organizations_memberships_are_a_range_of_the_primary_key(ctx):
    """The sync's read of an organization's memberships (directory.c) can be
    served by the table itself, in key order, rather than by a secondary
    index and one primary-key lookup a row (the layout before 011 had no
    key starting with the organization that held the rows).  On a few rows
    the optimizer may still choose either; what is checked is that it can."""
    org, _, _ = _team_with_members(ctx, 2)
    plan = ctx.sql("EXPLAIN SELECT team_id, user_id, source = 'provisioning' FROM team_memberships"
                   " WHERE organization_id = ?", org.id)
    assert plan and "PRIMARY" in plan[0][4].split(","), plan
