-- 007: every value Slack can hold is stored (issue 11, SPEC §2.4).
--
-- Slack publishes no limit for names, display names and titles, and real
-- workspaces have job titles past 200 characters in CJK, with emoji and
-- quotes.  The directory holds up to 1,000 characters (code points) of each,
-- in any script: VARCHAR(1000) in utf8mb4 is at most 4,000 bytes, which
-- InnoDB's DYNAMIC rows keep off the page when long, and no index covers
-- these columns, so the 3,072-byte index limit does not apply.  All such
-- columns of users come to ~21 KB at most, far from the 65,535-byte row
-- limit.  A value beyond 1,000 characters is cut at a character boundary by
-- the sync (lib/core/utf8_cut.h) and the Details say it was shortened.
-- E-mails stay VARCHAR(254), the longest address SMTP allows (RFC 5321
-- path of 256 with its brackets); email_key is generated from email at the
-- same width and its unique index is 1,016 bytes.
--
-- Widening a VARCHAR whose length already needs two bytes is done in place
-- by InnoDB (no table copy), so this is quick on a large directory.
ALTER TABLE users
  MODIFY COLUMN first_name VARCHAR(1000) NOT NULL DEFAULT '',
  MODIFY COLUMN last_name VARCHAR(1000) NOT NULL DEFAULT '',
  MODIFY COLUMN display_name VARCHAR(1000) NOT NULL DEFAULT '',
  MODIFY COLUMN job_title VARCHAR(1000) NOT NULL DEFAULT '',
  -- The product's own copy of the picture (lib/directory/picture_store.h):
  -- picture_url is the size the page shows (Slack's image_72), this one the
  -- larger (image_512, else image_192) for wider views.
  ADD COLUMN IF NOT EXISTS picture_large_url VARCHAR(1024) NULL AFTER picture_url;

-- The report keeps what it reports as wide as the directory: a name that
-- fits the directory fits its report row, so a row is never cut for a value
-- that was stored whole.  team_name stays 200: it is teams.name.
ALTER TABLE provisioning_sync_actions
  MODIFY COLUMN user_name VARCHAR(1000) NULL;
