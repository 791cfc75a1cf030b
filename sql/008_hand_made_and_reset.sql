-- 008: changes an administrator makes by hand, which a sync never undoes
-- (SPEC §7.7); the workspace and live progress of each sync; password reset.
--
-- A user deactivated or reactivated by hand: users.deactivated_by stays
-- 'person' for a hand-made deactivation (what the sync's snapshot reads);
-- who made the last hand-made status change, and when, is kept beside it.
ALTER TABLE users
  ADD COLUMN IF NOT EXISTS status_changed_by_user_id BIGINT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS status_changed_at DATETIME NULL;

-- A sync-made membership an administrator removed by hand: a tombstone the
-- sync reads so that it never adds the pair back.  A separate table rather
-- than a membership source, so that no reader of team_memberships can take
-- a tombstone for a member.  Adding the person back by hand deletes it.
CREATE TABLE IF NOT EXISTS team_membership_removals (
  organization_id BIGINT UNSIGNED NOT NULL,
  team_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  removed_by_user_id BIGINT UNSIGNED NULL,
  removed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (team_id, user_id),
  KEY team_membership_removals_org (organization_id, team_id, user_id),
  KEY team_membership_removals_user (user_id),
  CONSTRAINT team_membership_removals_team_fk FOREIGN KEY (organization_id, team_id)
    REFERENCES teams (organization_id, id) ON DELETE CASCADE,
  CONSTRAINT team_membership_removals_user_fk FOREIGN KEY (organization_id, user_id)
    REFERENCES users (organization_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- A user's provisioning facts (the last sync action about them) read one
-- user's rows, newest first, without scanning the organization's report.
CREATE INDEX IF NOT EXISTS provisioning_sync_actions_user
  ON provisioning_sync_actions (organization_id, user_id, id);

-- The workspace each sync read, written when it is queued: the history
-- stays readable after a disconnect or a replace with another workspace.
-- Live progress of a running sync (sync_queue.h syncq_set_progress).
ALTER TABLE provisioning_syncs
  ADD COLUMN IF NOT EXISTS workspace_name VARCHAR(200) NULL,
  ADD COLUMN IF NOT EXISTS progress_phase ENUM('reading','planning','applying') NULL,
  ADD COLUMN IF NOT EXISTS progress_done INT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS progress_total INT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS progress_at DATETIME(3) NULL;

-- "Forgot password": single-use links that expire.  Only the SHA-256 of a
-- link's token is kept, so the table leaks no usable link.  Every request
-- is counted, whether or not the address has an account, for throttling
-- by address and by client without telling which addresses exist.
CREATE TABLE IF NOT EXISTS password_resets (
  token_digest CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NOT NULL,
  used_at DATETIME NULL,
  KEY password_resets_user (user_id),
  KEY password_resets_expires (expires_at),
  CONSTRAINT password_resets_user_fk FOREIGN KEY (organization_id, user_id)
    REFERENCES users (organization_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE IF NOT EXISTS password_reset_requests (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email_key VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  client_ip VARCHAR(64) CHARACTER SET ascii NOT NULL,
  requested_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY password_reset_requests_email (email_key, requested_at),
  KEY password_reset_requests_ip (client_ip, requested_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
