/*
 * connection.h - an organization's provisioning integration: the Slack
 * connection's lifecycle (SPEC §1.1-1.5, §4.2) and its OAuth states.
 *
 * At most one integration per organization is active (not disconnected);
 * the schema enforces it (sql/002).  Tokens are stored sealed with
 * core/crypto.h and only opened in memory to call Slack; they never leave
 * this module and the Slack client (slack.h).
 *
 * Errors: PV_ENOTFOUND (no active integration; unknown state), PV_ECONFLICT
 * (an integration is already active; state already used), PV_EINVAL (state
 * expired), PV_EAUTH (a state that is not the caller's), PV_ETHROTTLED
 * (another process is refreshing the token and did not finish in time),
 * PV_EREMOTE (Slack refused; slack_last_error of the client says why),
 * database and crypto errors from db.h and crypto.h.
 */
#ifndef PV_CONNECTION_H
#define PV_CONNECTION_H

#include <json-c/json.h>
#include <stdint.h>

#include "core/token.h"
#include "provider/slack/slack.h"

struct config;
struct crypto_key;
struct db;
struct slack;

#define CONN_SCOPES "users:read,users:read.email,usergroups:read,team:read"
#define CONN_STATE_TTL 600          /* seconds an OAuth state stays valid */
#define CONN_REFRESH_MARGIN 7200    /* refresh a rotating token this early */
#define CONN_REFRESH_WAIT 30        /* seconds to wait for another refresher */
#define CONN_REFRESH_WAIT_REQUEST 1 /* the same on the API's request path */
/* status_reason of a connected integration whose configuration a replace
 * to another workspace cleared (until a configuration is saved). */
#define CONN_REASON_REPLACED "workspace_replaced"

struct conn_info {
	int64_t id;
	char provider[33];
	char status[24];           /* "connected", "needs_reconnection" */
	char status_reason[65];    /* Slack's code that broke it, or "" */
	char workspace_id[33];
	char workspace_name[801];
	char workspace_domain[801];
	int64_t connected_by;      /* 0 when that user is gone */
	char connected_by_name[801];
	char connected_at[32];     /* ISO 8601 UTC */
};

/* The active integration of org (any provider); PV_ENOTFOUND if none. */
int conn_get(struct db *db, int64_t org, struct conn_info *out);
/* conn_get and conn_config_raw in one statement, for the status answer that
 * shows both: *config (a new object, the caller puts it) and *saved are
 * set whenever the return is 0 or PV_ENOTFOUND (no integration). */
int conn_get_with_config(struct db *db, int64_t org, struct conn_info *out, json_object **config,
			 int *saved);

/* Starts an OAuth flow: a new random state (returned in clear, stored as a
 * digest) for org and user, purpose "connect" or "replace". */
int conn_state_new(struct db *db, int64_t org, int64_t user, const char *purpose,
		   char state[TOKEN_HEX_LEN + 1]);
/* Consumes a state exactly once, for the administrator (org, user) of the
 * session that visits the callback.  PV_ENOTFOUND unknown, PV_EAUTH the
 * state of another administrator or organization (left unconsumed, so
 * that its own administrator can still finish), PV_ECONFLICT used
 * before, PV_EINVAL expired (consumed). */
int conn_state_take(struct db *db, const char *state, int64_t org, int64_t user,
		    char purpose[16]);

/* What a successful OAuth exchange gives to store. */
struct conn_grant {
	const char *workspace_id, *workspace_name, *workspace_domain;
	const char *installer_slack_user_id, *bot_user_id, *scopes;
	const char *access_token;   /* in clear; sealed here */
	const char *refresh_token;  /* NULL without token rotation */
	long expires_in;            /* seconds, 0 without rotation */
};

/* Stores a connection in one transaction.  replace = 0: a new integration
 * (PV_ECONFLICT if one is active).  replace = 1: swaps the active Slack
 * integration's workspace and tokens (PV_ENOTFOUND if none).  When the
 * workspace differs, *workspace_changed is 1, and 2 when a saved
 * configuration was cleared with it: the integration is then "not
 * configured" as a new one is (status_reason CONN_REASON_REPLACED). */
int conn_store(struct db *db, const struct crypto_key *key, int64_t org, int64_t user,
	       const struct conn_grant *g, int replace, int *workspace_changed);

/* Opens a Slack client with the org's token, refreshing a rotating token
 * that expires within CONN_REFRESH_MARGIN first (processes take turns on
 * a named lock, never a row lock held across the call to Slack, so that
 * two do not both refresh).  A refresh Slack refuses marks the
 * integration needs_reconnection.  conn_client is the sync worker's
 * (SLACK_POLICY_BATCH); conn_client_p gives the client, and the refresh,
 * another policy: SLACK_POLICY_REQUEST on the API's request path. */
int conn_client(struct db *db, const struct config *cfg, const struct crypto_key *key,
		int64_t org, struct slack **out);
int conn_client_p(struct db *db, const struct config *cfg, const struct crypto_key *key,
		  int64_t org, enum slack_policy policy, struct slack **out);

/* The same after a refresh, whatever the expiry says: for a call Slack
 * answered with token_expired (a rotating token expired early, or the
 * clocks disagree).  Without a refresh token it opens the stored one. */
int conn_client_refreshed(struct db *db, const struct config *cfg, const struct crypto_key *key,
			  int64_t org, struct slack **out);

/* The saved sync configuration of org, or the default one (everyone, no
 * team mapping, threshold 10% and at least 10 users); a new object.
 * *saved (may be NULL) says whether one was saved. */
int conn_config_json(struct db *db, int64_t org, json_object **out);
int conn_config_json_ex(struct db *db, int64_t org, json_object **out, int *saved);
/* The same to print only (pjson_raw): the stored text, which only ever
 * comes from sync_config_save's pjson_text, unparsed -- for the answers that
 * show the configuration, where parsing ~10 KiB of mappings was a third of
 * the request's time. */
int conn_config_raw(struct db *db, int64_t org, json_object **out, int *saved);

/* Marks the active integration needs_reconnection with Slack's code. */
int conn_mark_broken(struct db *db, int64_t org, const char *reason);

/* Revokes the token at Slack (best effort: a Slack failure is logged and
 * ignored), then forgets the tokens and marks the integration
 * disconnected.  Users, teams and memberships are not touched. */
int conn_disconnect(struct db *db, const struct config *cfg, const struct crypto_key *key,
		    int64_t org);

#endif
