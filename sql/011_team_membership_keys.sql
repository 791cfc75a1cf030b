-- 011: team_memberships keyed by organization first, with two indexes
-- instead of four.  The primary key (team_id, user_id), the foreign key's
-- (organization_id, team_id) and a lone (user_id) made 282 MiB for the
-- 1.3 million memberships of 200 mapped teams of 100,000 people: more than
-- the stack's buffer pool, so a re-sync's batched removals read most of
-- their index pages from disk (0.4 ms a removed row), and the sync's read
-- of an organization's memberships looked each row up by its primary key.
-- Keyed (organization_id, team_id, user_id), the same rows are one range of
-- the table itself, the primary key serves the team foreign key, and every
-- query names its organization, so the lone user_id index served none;
-- (organization_id, user_id) stays for the user foreign key.
-- MariaDB cannot roll DDL back: the change is made only while the old key
-- is in place, so that a second run (after a crash before it was recorded)
-- changes nothing.  One ALTER TABLE: the table is rebuilt once, atomically.
SET @team_memberships_key = (
  SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index)
    FROM information_schema.statistics
   WHERE table_schema = DATABASE() AND table_name = 'team_memberships'
     AND index_name = 'PRIMARY');
SET @team_memberships_alter = IF(@team_memberships_key = 'team_id,user_id',
  'ALTER TABLE team_memberships DROP PRIMARY KEY,
     ADD PRIMARY KEY (organization_id, team_id, user_id),
     DROP INDEX IF EXISTS team_memberships_user,
     DROP INDEX IF EXISTS team_memberships_team_fk',
  'DO 0');
PREPARE team_memberships_stmt FROM @team_memberships_alter;
EXECUTE team_memberships_stmt;
DEALLOCATE PREPARE team_memberships_stmt;
