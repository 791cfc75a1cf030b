-- 009: Slack calls counted by method and HTTP status, for /metrics.  Each
-- process (a sync pass, an API process) adds what it counted since its last
-- flush, so the table holds totals over every host; no organization column,
-- so its size is fixed by Slack's methods.  wait_seconds: time spent waiting
-- out Retry-After after a 429 of that method.
CREATE TABLE IF NOT EXISTS slack_call_counts (
  method VARCHAR(48) CHARACTER SET ascii NOT NULL,
  http_status SMALLINT UNSIGNED NOT NULL,
  calls BIGINT UNSIGNED NOT NULL DEFAULT 0,
  wait_seconds DOUBLE NOT NULL DEFAULT 0,
  PRIMARY KEY (method, http_status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
