-- 012: the report table without its (sync_id, id) index, a prefix of
-- provisioning_sync_actions_report (sync_id, id, outcome, changed, sql/004):
-- every query it served (a sync's rows in id order, the sync foreign key)
-- is served by that one.  Each report row paid for it, one index of the six
-- written per row: a first sync of 100,000 people with 200 mapped teams
-- writes 1.4 million rows, and the index held tens of MiB of the buffer
-- pool that the next sync's writes need.  IF EXISTS: a second run (after a
-- crash before it was recorded) changes nothing.
DROP INDEX IF EXISTS provisioning_sync_actions_sync ON provisioning_sync_actions;
