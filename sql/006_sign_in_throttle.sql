-- 006: the sign-in throttle that cannot be turned against users (SPEC §4.1,
-- issue 12 item 4).  One row per account (the lower-cased e-mail) and one
-- per client address; a sign-in reserves its attempt with one UPDATE whose
-- WHERE decides and whose SET records, so concurrent guesses cannot all slip
-- through between a check and a write.
--   account: consecutive failures; past a few, each attempt waits a delay
--            that doubles with every failure (capped) since the last one;
--            a right password resets it.
--   address: failures against unknown accounts only, in a window, with a
--            much higher bound; an account that exists never waits for it.
CREATE TABLE IF NOT EXISTS sign_in_throttle (
  scope ENUM('account','address') NOT NULL,
  subject VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  -- Signed: the delay's exponent is failures minus a constant.
  failures INT NOT NULL DEFAULT 0,
  window_start DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_failure_at DATETIME(3) NOT NULL DEFAULT '1970-01-02 00:00:00',
  PRIMARY KEY (scope, subject),
  KEY sign_in_throttle_last (last_failure_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- The old per-row log of failures (a hard 15-minute lock); its rows only
-- ever served the throttle, which now starts afresh.
DROP TABLE IF EXISTS sign_in_failures;
