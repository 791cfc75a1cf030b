-- 001: organizations, their users and teams, sessions and settings.
-- Every table is InnoDB in utf8mb4.  Names compare with utf8mb4_unicode_520_ci,
-- which tells 4-byte characters (emoji, rare CJK) apart, unlike unicode_ci.
-- Statements are idempotent (IF NOT EXISTS) because MariaDB cannot roll back
-- DDL: a migration interrupted half-way is simply run again.

CREATE TABLE IF NOT EXISTS organizations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE IF NOT EXISTS users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  email VARCHAR(254) NOT NULL,
  -- Unique per organization regardless of case: the key is the lower-cased
  -- address compared byte for byte.
  email_key VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
    AS (LOWER(email)) STORED,
  first_name VARCHAR(200) NOT NULL DEFAULT '',
  last_name VARCHAR(200) NOT NULL DEFAULT '',
  display_name VARCHAR(200) NOT NULL DEFAULT '',
  job_title VARCHAR(200) NOT NULL DEFAULT '',
  picture_url VARCHAR(1024) NULL,
  is_guest TINYINT(1) NOT NULL DEFAULT 0,
  role ENUM('administrator','member') NOT NULL DEFAULT 'member',
  status ENUM('active','deactivated') NOT NULL DEFAULT 'active',
  -- Who created the user: an administrator or the CLI (manual) or a
  -- provisioning sync (slack).
  source ENUM('manual','slack') NOT NULL DEFAULT 'manual',
  password_hash VARCHAR(128) NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  deactivated_at DATETIME NULL,
  UNIQUE KEY users_org_email (organization_id, email_key),
  UNIQUE KEY users_org_id (organization_id, id),
  KEY users_org_status (organization_id, status, id),
  KEY users_email_key (email_key),
  CONSTRAINT users_org_fk FOREIGN KEY (organization_id) REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE IF NOT EXISTS teams (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(200) NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY teams_org_name (organization_id, name),
  UNIQUE KEY teams_org_id (organization_id, id),
  CONSTRAINT teams_org_fk FOREIGN KEY (organization_id) REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- The composite foreign keys make a membership across two organizations
-- impossible, whatever the code does.
CREATE TABLE IF NOT EXISTS team_memberships (
  organization_id BIGINT UNSIGNED NOT NULL,
  team_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  source ENUM('manual','provisioning') NOT NULL DEFAULT 'manual',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (team_id, user_id),
  KEY team_memberships_user (user_id),
  CONSTRAINT team_memberships_team_fk FOREIGN KEY (organization_id, team_id)
    REFERENCES teams (organization_id, id) ON DELETE CASCADE,
  CONSTRAINT team_memberships_user_fk FOREIGN KEY (organization_id, user_id)
    REFERENCES users (organization_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- Only the SHA-256 of a session id is kept.
CREATE TABLE IF NOT EXISTS sessions (
  id_digest CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  organization_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NOT NULL,
  KEY sessions_user (user_id),
  KEY sessions_expires (expires_at),
  CONSTRAINT sessions_user_fk FOREIGN KEY (organization_id, user_id)
    REFERENCES users (organization_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- Failed sign-ins, for throttling; keyed by the lower-cased e-mail and by
-- the client address so that neither guessing one account's password nor
-- spraying many accounts from one address goes fast.
CREATE TABLE IF NOT EXISTS sign_in_failures (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email_key VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  client_ip VARCHAR(64) CHARACTER SET ascii NOT NULL,
  failed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY sign_in_failures_email (email_key, failed_at),
  KEY sign_in_failures_ip (client_ip, failed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE IF NOT EXISTS organization_settings (
  organization_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  automatic_invites TINYINT(1) NOT NULL DEFAULT 0,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT organization_settings_org_fk FOREIGN KEY (organization_id)
    REFERENCES organizations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
