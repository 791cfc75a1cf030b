"""sql/012_report_keys.sql: the report table without its (sync_id, id)
index, a prefix of provisioning_sync_actions_report.  A database made
before it loses the index once (a second run changes nothing), the sync
foreign key stays (served by the longer index), and a sync's report reads
the same rows in the same order."""
from test_slack_connection import emu_reset
from test_sync import setup, sync, actions

KEYS = "SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index)" \
       " FROM information_schema.statistics WHERE table_schema = DATABASE()" \
       " AND table_name = 'provisioning_sync_actions' GROUP BY index_name ORDER BY index_name"
NEW = [["PRIMARY", "id"],
       ["provisioning_sync_actions_org", "organization_id,sync_id"],
       ["provisioning_sync_actions_outcome", "sync_id,outcome,id"],
       ["provisioning_sync_actions_report", "sync_id,id,outcome,changed"],
       ["provisioning_sync_actions_user", "organization_id,user_id,id"]]
FK = "SELECT constraint_name, referenced_table_name FROM information_schema.referential_constraints" \
     " WHERE constraint_schema = DATABASE() AND table_name = 'provisioning_sync_actions'"


def _script(ctx):
    with open(ctx.root + "/sql/012_report_keys.sql") as f:
        return "\n".join(l for l in f.read().splitlines() if not l.startswith("--"))


def test_the_stack_has_the_report_keys_and_the_sync_foreign_key(ctx):
    assert ctx.sql(KEYS) == NEW, ctx.sql(KEYS)
    assert ctx.sql(FK) == [["provisioning_sync_actions_sync_fk", "provisioning_syncs"]], ctx.sql(FK)
    assert ctx.sql("SELECT COUNT(*) FROM schema_migrations WHERE version = '012_report_keys'") == [["1"]]


def test_an_old_database_loses_the_index_once_and_its_report_reads_the_same(ctx):
    emu_reset(ctx)
    org = setup(ctx)
    s = sync(ctx, org)
    before = actions(org, s["id"])
    assert len(before) > 3, before
    # The layout of sql/003, as a database made before 012 has it.
    ctx.sql("CREATE INDEX provisioning_sync_actions_sync ON provisioning_sync_actions (sync_id, id)")
    try:
        assert len(ctx.sql(KEYS)) == len(NEW) + 1, ctx.sql(KEYS)
        ctx.sql(_script(ctx))
        assert ctx.sql(KEYS) == NEW, ctx.sql(KEYS)
        ctx.sql(_script(ctx))  # again, as after a crash before it was recorded
        assert ctx.sql(KEYS) == NEW, ctx.sql(KEYS)
    finally:
        if ctx.sql(KEYS) != NEW:
            ctx.sql(_script(ctx))
    assert actions(org, s["id"]) == before
    # The foreign key still holds: a row of no sync is refused, and a
    # deleted sync takes its rows with it.
    try:
        ctx.sql("INSERT INTO provisioning_sync_actions (sync_id, organization_id, action, reason,"
                " outcome, details) VALUES (0, ?, 'skip', 'x', 'skipped', 'x')", org.id)
        refused = ""
    except RuntimeError as e:
        refused = str(e)
    assert "foreign key constraint fails" in refused, refused
    n = ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?", s["id"])[0][0]
    assert int(n) == len(before)
    ctx.sql("DELETE FROM provisioning_syncs WHERE id = ?", s["id"])
    assert ctx.sql("SELECT COUNT(*) FROM provisioning_sync_actions WHERE sync_id = ?", s["id"]) == [["0"]]
