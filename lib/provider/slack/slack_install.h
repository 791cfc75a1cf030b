/*
 * slack_install.h - the end of a Slack OAuth install as one use case, so
 * that the API's callback, the CLI and a future Events endpoint share it
 * (SPEC §1.1-1.3): exchange the code, check the scopes granted and that
 * the installing Slack user is an admin or owner of the workspace, read
 * the workspace, and store the connection (conn_store, one transaction);
 * a token that is not kept is revoked at Slack (best effort).
 *
 * Every call to Slack uses the policy given: SLACK_POLICY_REQUEST when an
 * administrator's browser waits on it.
 *
 * Errors: 0 on success; otherwise a negative PV_E* code with *error set to
 * the short code the settings page shows (?error=...):
 *   "slack_error"       Slack refused or could not be reached (PV_EREMOTE)
 *   "missing_scope"     a scope the sync needs was not granted (PV_EAUTH)
 *   "not_slack_admin"   the installer is not an admin or owner (PV_EAUTH)
 *   "already_connected" connect while an integration is active (PV_ECONFLICT)
 *   "not_connected"     replace without an active integration (PV_ENOTFOUND)
 *   "server_error"      database, crypto or memory failure (their code)
 * Nothing secret is logged; *error is a static string.
 */
#ifndef PV_SLACK_INSTALL_H
#define PV_SLACK_INSTALL_H

#include <stdint.h>

#include "provider/slack/slack.h"

struct config;
struct crypto_key;
struct db;

struct slack_install {
	const char *code;          /* OAuth code of the callback */
	const char *redirect_uri;  /* the one sent to the authorize URL */
	int replace;               /* 1: replace the active connection */
	enum slack_policy policy;
};

/* What an install did. */
struct slack_install_result {
	char workspace_id[33];
	int workspace_changed;     /* replace to another workspace (1), with a
				    * saved configuration cleared (2) */
};

/* Whether every scope in CONN_SCOPES is in the comma-separated granted. */
int slack_install_has_scopes(const char *granted);

int slack_install_complete(struct db *db, const struct config *cfg,
			   const struct crypto_key *key, int64_t org, int64_t user,
			   const struct slack_install *in, struct slack_install_result *res,
			   const char **error);

#endif
