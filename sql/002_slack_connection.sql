-- 002: the provisioning integration of an organization (Slack today), the
-- OAuth states of connect/replace flows, the saved sync configuration and a
-- short-lived cache of the workspace's user groups for the type-ahead.

CREATE TABLE IF NOT EXISTS provisioning_integrations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  -- 'slack' today; 'entra', 'google' and others fit without a schema change.
  provider VARCHAR(32) CHARACTER SET ascii NOT NULL,
  status ENUM('connected','needs_reconnection','disconnected') NOT NULL,
  -- Set only while the integration is not disconnected.  Its unique key
  -- makes a second active integration of one organization impossible,
  -- whatever the provider and whatever the code does.
  active_organization_id BIGINT UNSIGNED
    AS (IF(status = 'disconnected', NULL, organization_id)) STORED,
  status_reason VARCHAR(64) NULL,
  workspace_id VARCHAR(32) NULL,
  workspace_name VARCHAR(200) NULL,
  workspace_domain VARCHAR(200) NULL,
  installer_slack_user_id VARCHAR(32) NULL,
  bot_user_id VARCHAR(32) NULL,
  scopes VARCHAR(1000) NULL,
  -- AES-256-GCM sealed (lib/crypto.h), bound to the organization.
  access_token_sealed VARCHAR(2048) CHARACTER SET ascii NULL,
  refresh_token_sealed VARCHAR(2048) CHARACTER SET ascii NULL,
  token_expires_at DATETIME NULL,
  connected_by_user_id BIGINT UNSIGNED NULL,
  connected_at DATETIME NULL,
  disconnected_at DATETIME NULL,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY provisioning_integrations_active (active_organization_id),
  KEY provisioning_integrations_org (organization_id, provider),
  CONSTRAINT provisioning_integrations_org_fk FOREIGN KEY (organization_id)
    REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- OAuth state: only its digest is stored; single use, expiring, bound to
-- the organization and the administrator who started the flow.
CREATE TABLE IF NOT EXISTS oauth_states (
  state_digest CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  provider VARCHAR(32) CHARACTER SET ascii NOT NULL,
  purpose ENUM('connect','replace') NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NOT NULL,
  used_at DATETIME NULL,
  KEY oauth_states_expires (expires_at),
  CONSTRAINT oauth_states_user_fk FOREIGN KEY (organization_id, user_id)
    REFERENCES users (organization_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- The saved sync configuration (members, team mapping, threshold), kept
-- per organization so that it survives a disconnect.
CREATE TABLE IF NOT EXISTS provisioning_configs (
  organization_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  config_json TEXT NOT NULL,
  updated_by_user_id BIGINT UNSIGNED NULL,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT provisioning_configs_org_fk FOREIGN KEY (organization_id)
    REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- The workspace's user groups as Slack last listed them, so that typing in
-- the type-ahead asks Slack (usergroups.list, Tier 2) at most once a minute.
CREATE TABLE IF NOT EXISTS slack_group_cache (
  organization_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  workspace_id VARCHAR(32) NOT NULL,
  groups_json MEDIUMTEXT NOT NULL,
  fetched_at DATETIME NOT NULL,
  CONSTRAINT slack_group_cache_org_fk FOREIGN KEY (organization_id)
    REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
