-- 004: indexes of the sync report and its CSV export (SPEC §1.10, §1.11).
--
-- The report reads one sync's actions in id order, after a keyset cursor,
-- optionally filtered by outcome (IN) and by changed data (FIND_IN_SET on
-- the SET column, which no index can seek on).  With the filter columns in
-- the index after (sync_id, id), the scan is one range of the sync in id
-- order (no sort, so the export streams from the first row) and the
-- filters are checked on the narrow index entry (index condition pushdown)
-- before the row is read: a rare filter over a 100,000-action sync costs a
-- pass over its index entries, not over its rows, and never touches other
-- syncs or organizations.
CREATE INDEX IF NOT EXISTS provisioning_sync_actions_report
  ON provisioning_sync_actions (sync_id, id, outcome, changed);
