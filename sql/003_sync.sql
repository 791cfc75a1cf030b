-- 003: the daily sync: users linked to Slack, sync runs with their lease and
-- configuration snapshot, one report row per action, the invitation outbox.

-- Link of a directory user to a Slack user of a workspace.  provisioned
-- marks users a sync created or linked: only they may ever be deactivated
-- by a sync.  deactivated_by tells a sync's deactivation from a person's.
ALTER TABLE users
  ADD COLUMN IF NOT EXISTS slack_workspace_id VARCHAR(32) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS slack_user_id VARCHAR(32) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS avatar_hash VARCHAR(128) NULL,
  ADD COLUMN IF NOT EXISTS provisioned TINYINT(1) NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS deactivated_by ENUM('sync','person') NULL,
  ADD UNIQUE KEY IF NOT EXISTS users_org_slack (organization_id, slack_workspace_id, slack_user_id);

-- Next daily sync of an integration (the scheduler's clock).
ALTER TABLE provisioning_integrations
  ADD COLUMN IF NOT EXISTS next_sync_at DATETIME NULL,
  ADD KEY IF NOT EXISTS provisioning_integrations_due (status, next_sync_at);

CREATE TABLE IF NOT EXISTS provisioning_syncs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  integration_id BIGINT UNSIGNED NOT NULL,
  `trigger` ENUM('scheduled','manual') NOT NULL,
  dry_run TINYINT(1) NOT NULL DEFAULT 0,
  status ENUM('pending','running','held','succeeded','completed_with_errors','failed','discarded')
    NOT NULL DEFAULT 'pending',
  -- At most one pending or running sync per organization, by the schema.
  active_organization_id BIGINT UNSIGNED
    AS (IF(status IN ('pending','running'), organization_id, NULL)) STORED,
  -- A held sync an administrator approved: the next run applies its
  -- planned actions instead of planning anew.
  approved_by_user_id BIGINT UNSIGNED NULL,
  approved_at DATETIME NULL,
  requested_by_user_id BIGINT UNSIGNED NULL,
  queued_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  lease_owner VARCHAR(128) NULL,
  lease_expires_at DATETIME(3) NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  workspace_id VARCHAR(32) NULL,
  config_json TEXT NULL,
  n_created INT UNSIGNED NOT NULL DEFAULT 0,
  n_updated INT UNSIGNED NOT NULL DEFAULT 0,
  n_deactivated INT UNSIGNED NOT NULL DEFAULT 0,
  n_reactivated INT UNSIGNED NOT NULL DEFAULT 0,
  n_added_to_team INT UNSIGNED NOT NULL DEFAULT 0,
  n_removed_from_team INT UNSIGNED NOT NULL DEFAULT 0,
  n_skipped INT UNSIGNED NOT NULL DEFAULT 0,
  n_failed INT UNSIGNED NOT NULL DEFAULT 0,
  error VARCHAR(1000) NULL,
  UNIQUE KEY provisioning_syncs_active (active_organization_id),
  KEY provisioning_syncs_org (organization_id, id),
  KEY provisioning_syncs_claim (status, lease_expires_at),
  KEY provisioning_syncs_finished (finished_at),
  CONSTRAINT provisioning_syncs_org_fk FOREIGN KEY (organization_id) REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- One row per action of a sync, written in the same transaction as the
-- change it records.  outcome 'planned' marks the actions of a dry run and
-- of a held sync, which changed nothing.  changed is what the report's
-- "changed data" filter reads.  payload carries what applying the action
-- needs, so an approved held sync applies exactly what was shown.
CREATE TABLE IF NOT EXISTS provisioning_sync_actions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sync_id BIGINT UNSIGNED NOT NULL,
  organization_id BIGINT UNSIGNED NOT NULL,
  action ENUM('create','update','deactivate','reactivate','add_to_team','remove_from_team','skip')
    NOT NULL,
  reason VARCHAR(40) CHARACTER SET ascii NOT NULL,
  outcome ENUM('succeeded','failed','skipped','planned') NOT NULL,
  changed SET('name','email','picture','job_title','status','team_membership') NOT NULL DEFAULT '',
  user_id BIGINT UNSIGNED NULL,
  user_email VARCHAR(254) NULL,
  user_name VARCHAR(200) NULL,
  slack_user_id VARCHAR(32) CHARACTER SET ascii NULL,
  team_id BIGINT UNSIGNED NULL,
  team_name VARCHAR(200) NULL,
  changes_json TEXT NULL,
  payload_json TEXT NULL,
  details VARCHAR(1000) NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY provisioning_sync_actions_sync (sync_id, id),
  KEY provisioning_sync_actions_outcome (sync_id, outcome, id),
  KEY provisioning_sync_actions_org (organization_id, sync_id),
  CONSTRAINT provisioning_sync_actions_sync_fk FOREIGN KEY (sync_id)
    REFERENCES provisioning_syncs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- Invitation e-mails of users created by a sync, written in the user's
-- transaction and delivered (at most once) by the sync pass.
CREATE TABLE IF NOT EXISTS invitation_outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  email VARCHAR(254) NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  sent_at DATETIME NULL,
  last_error VARCHAR(500) NULL,
  UNIQUE KEY invitation_outbox_user (user_id),
  KEY invitation_outbox_due (sent_at, next_attempt_at),
  CONSTRAINT invitation_outbox_user_fk FOREIGN KEY (organization_id, user_id)
    REFERENCES users (organization_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- Sync history is kept for a year by default (organization setting).
ALTER TABLE organization_settings
  ADD COLUMN IF NOT EXISTS sync_retention_days INT UNSIGNED NOT NULL DEFAULT 365,
  ADD COLUMN IF NOT EXISTS sync_time_utc TIME NOT NULL DEFAULT '02:00:00';
