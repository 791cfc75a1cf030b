#include "provider/slack/connection.h"
#include "core/crypto.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "provider/slack/slack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_DEFAULT_CONFIG \
	"{\"members\":{\"mode\":\"everyone\",\"group_ids\":[]}," \
	"\"team_mapping\":{\"enabled\":false,\"mappings\":[]}," \
	"\"deactivation_threshold\":{\"percent\":10,\"minimum\":10}}"

static void copy_col(char *dst, size_t len, const struct db_rows *r, int col)
{
	const char *s = db_rows_str(r, col);

	snprintf(dst, len, "%s", s ? s : "");
}

#define CONN_COLUMNS \
	"i.id, i.provider, i.status, i.status_reason, i.workspace_id," \
	" i.workspace_name, i.workspace_domain, u.id, u.display_name," \
	" DATE_FORMAT(i.connected_at, '%Y-%m-%dT%H:%i:%sZ')"
#define CONN_JOIN_BY \
	" LEFT JOIN users u ON u.organization_id = i.organization_id AND u.id = i.connected_by_user_id"

/* A row of CONN_COLUMNS; PV_ENOTFOUND when the integration part is NULL
 * (no integration, in conn_get_with_config's outer join). */
static int conn_from_row(const struct db_rows *r, struct conn_info *out)
{
	if (db_rows_is_null(r, 0))
		return PV_ENOTFOUND;
	out->id = db_rows_int(r, 0);
	copy_col(out->provider, sizeof(out->provider), r, 1);
	copy_col(out->status, sizeof(out->status), r, 2);
	copy_col(out->status_reason, sizeof(out->status_reason), r, 3);
	copy_col(out->workspace_id, sizeof(out->workspace_id), r, 4);
	copy_col(out->workspace_name, sizeof(out->workspace_name), r, 5);
	copy_col(out->workspace_domain, sizeof(out->workspace_domain), r, 6);
	out->connected_by = db_rows_int(r, 7);
	copy_col(out->connected_by_name, sizeof(out->connected_by_name), r, 8);
	copy_col(out->connected_at, sizeof(out->connected_at), r, 9);
	return 0;
}

int conn_get(struct db *db, int64_t org, struct conn_info *out)
{
	struct db_rows *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = db_query(db, &r, "SELECT " CONN_COLUMNS " FROM provisioning_integrations i" CONN_JOIN_BY
		      " WHERE i.active_organization_id = ?", DB_ARGS(DB_INT(org)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1)
		rc = conn_from_row(r, out);
	else if (rc == 0)
		rc = PV_ENOTFOUND;
	db_rows_free(r);
	return rc;
}

int conn_get_with_config(struct db *db, int64_t org, struct conn_info *out, json_object **config,
			 int *saved)
{
	struct db_rows *r = NULL;
	int rc, found;

	memset(out, 0, sizeof(*out));
	*config = NULL;
	*saved = 0;
	/* Every table by its unique key: one row, from the organization out. */
	rc = db_query(db, &r, "SELECT " CONN_COLUMNS ", c.config_json"
		      " FROM organizations o"
		      " LEFT JOIN provisioning_integrations i ON i.active_organization_id = o.id"
		      CONN_JOIN_BY
		      " LEFT JOIN provisioning_configs c ON c.organization_id = o.id"
		      " WHERE o.id = ?", DB_ARGS(DB_INT(org)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc < 0)
		goto out;
	found = rc == 1 ? conn_from_row(r, out) : PV_ENOTFOUND;
	*saved = rc == 1 && !db_rows_is_null(r, 10);
	if (*saved)
		*config = pjson_raw(db_rows_str(r, 10), db_rows_len(r, 10));
	else
		*config = pjson_raw(CONN_DEFAULT_CONFIG, strlen(CONN_DEFAULT_CONFIG));
	rc = *config ? found : PV_ENOMEM;
out:
	db_rows_free(r);
	return rc;
}

int conn_state_new(struct db *db, int64_t org, int64_t user, const char *purpose,
		   char state[TOKEN_HEX_LEN + 1])
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	int rc = token_new(state);

	if (rc == 0)
		rc = token_digest(state, digest);
	if (rc == 0)
		rc = db_exec(db, "INSERT INTO oauth_states (state_digest, organization_id, user_id,"
			     " provider, purpose, expires_at)"
			     " VALUES (?, ?, ?, 'slack', ?, NOW() + INTERVAL ? SECOND)",
			     DB_ARGS(DB_STR(digest), DB_INT(org), DB_INT(user), DB_STR(purpose),
				     DB_INT(CONN_STATE_TTL)), NULL);
	/* Old states are of no use to anyone. */
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM oauth_states WHERE expires_at < NOW() - INTERVAL 1 DAY",
			     DB_NOARGS, NULL);
	if (rc < 0)
		state[0] = '\0';
	return rc;
}

int conn_state_take(struct db *db, const char *state, int64_t org, int64_t user,
		    char purpose[16])
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	struct db_rows *r = NULL;
	int rc, used, expired;

	if (strlen(state) != TOKEN_HEX_LEN)
		return PV_ENOTFOUND;
	rc = token_digest(state, digest);
	if (rc < 0)
		return rc;
	rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_query(db, &r, "SELECT organization_id, user_id, purpose, used_at IS NOT NULL,"
		      " expires_at <= NOW() FROM oauth_states WHERE state_digest = ? FOR UPDATE",
		      DB_ARGS(DB_STR(digest)));
	if (rc == 0)
		rc = db_rows_next(r);
	if (rc == 0)
		rc = PV_ENOTFOUND;
	if (rc < 0)
		goto out;
	/* Another administrator's (or organization's) state is left as it
	 * is: a stray visit to the callback must not burn the flow of the
	 * administrator who started it. */
	if (db_rows_int(r, 0) != org || db_rows_int(r, 1) != user) {
		rc = PV_EAUTH;
		goto out;
	}
	snprintf(purpose, 16, "%s", db_rows_str(r, 2));
	used = db_rows_int(r, 3) != 0;
	expired = db_rows_int(r, 4) != 0;
	rc = db_exec(db, "UPDATE oauth_states SET used_at = NOW() WHERE state_digest = ?"
		     " AND used_at IS NULL", DB_ARGS(DB_STR(digest)), NULL);
	if (rc == 0)
		rc = db_commit(db);
	if (rc == 0)
		rc = used ? PV_ECONFLICT : expired ? PV_EINVAL : 0;
out:
	if (rc < 0 && rc != PV_ECONFLICT && rc != PV_EINVAL)
		db_rollback(db);
	db_rows_free(r);
	return rc;
}

/* Forgets the saved configuration after a replace to another workspace:
 * its member groups and team mappings name groups of the old workspace,
 * and whom to import was decided for other people.  Without a saved
 * configuration the integration is "not configured", as a fresh one is:
 * Sync now answers config_required and the daily schedule waits
 * (sync_queue.c).  status_reason CONN_REASON_REPLACED says why, for the
 * status answer, until a configuration is saved. */
static int conn_clear_config(struct db *db, int64_t org, int64_t id, uint64_t *cleared)
{
	int rc = db_exec(db, "DELETE FROM provisioning_configs WHERE organization_id = ?",
			 DB_ARGS(DB_INT(org)), cleared);

	if (rc == 0 && *cleared)
		rc = db_exec(db, "UPDATE provisioning_integrations SET status_reason = ?"
			     " WHERE id = ? AND organization_id = ?",
			     DB_ARGS(DB_STR(CONN_REASON_REPLACED), DB_INT(id), DB_INT(org)), NULL);
	return rc;
}

/* Seals an integration's tokens, each bound to its organization, its row
 * and its column (refresh may be NULL: no refresh token). */
static int conn_seal_tokens(const struct crypto_key *key, int64_t org, int64_t integration,
			    const char *access, const char *refresh, char **sealed_a, char **sealed_r)
{
	int rc = crypto_seal(key, &(struct crypto_binding){ org, integration, "access_token_sealed" },
			     access, sealed_a);

	if (rc == 0 && refresh)
		rc = crypto_seal(key, &(struct crypto_binding){ org, integration, "refresh_token_sealed" },
				 refresh, sealed_r);
	return rc;
}

int conn_store(struct db *db, const struct crypto_key *key, int64_t org, int64_t user,
	       const struct conn_grant *g, int replace, int *workspace_changed)
{
	char *access = NULL, *refresh = NULL;
	struct db_rows *r = NULL;
	int64_t id = 0;
	int rc;

	*workspace_changed = 0;
	rc = db_begin(db);
	if (rc < 0)
		goto out;
	rc = db_query(db, &r, "SELECT id, provider, workspace_id FROM provisioning_integrations"
		      " WHERE active_organization_id = ? FOR UPDATE", DB_ARGS(DB_INT(org)));
	if (rc == 0)
		rc = db_rows_next(r);
	if (rc < 0)
		goto out;
	if (rc == 1 && !replace) {
		rc = PV_ECONFLICT;
		goto out;
	}
	if (rc == 0 && replace) {
		rc = PV_ENOTFOUND;
		goto out;
	}
	if (rc == 1) {
		if (strcmp(db_rows_str(r, 1), "slack") != 0) {
			rc = PV_ECONFLICT;
			goto out;
		}
		id = db_rows_int(r, 0);
		*workspace_changed = !db_rows_str(r, 2) ||
				     strcmp(db_rows_str(r, 2), g->workspace_id) != 0;
	}
	/* The tokens are sealed for this integration's row: a new row's id is
	 * known only after its INSERT, which stores them a moment later. */
	if (id)
		rc = conn_seal_tokens(key, org, id, g->access_token, g->refresh_token, &access, &refresh);
	if (rc < 0)
		goto out;
	if (id) {
		rc = db_exec(db, "UPDATE provisioning_integrations SET status = 'connected',"
			     " status_reason = NULL, workspace_id = ?, workspace_name = ?,"
			     " workspace_domain = ?, installer_slack_user_id = ?, bot_user_id = ?,"
			     " scopes = ?, access_token_sealed = ?, refresh_token_sealed = ?,"
			     " token_expires_at = IF(? > 0, NOW() + INTERVAL ? SECOND, NULL),"
			     " connected_by_user_id = ?, connected_at = NOW(),"
			     " next_sync_at = IFNULL(next_sync_at, NOW() + INTERVAL 1 DAY)"
			     " WHERE id = ? AND organization_id = ?",
			     DB_ARGS(DB_STR(g->workspace_id), DB_STR(g->workspace_name),
				     DB_STR(g->workspace_domain), DB_STR(g->installer_slack_user_id),
				     DB_STR(g->bot_user_id), DB_STR(g->scopes), DB_STR(access),
				     DB_STR(refresh), DB_INT(g->expires_in), DB_INT(g->expires_in),
				     DB_INT(user), DB_INT(id), DB_INT(org)), NULL);
	} else {
		rc = db_exec(db, "INSERT INTO provisioning_integrations (organization_id, provider,"
			     " status, workspace_id, workspace_name, workspace_domain,"
			     " installer_slack_user_id, bot_user_id, scopes, access_token_sealed,"
			     " refresh_token_sealed, token_expires_at, connected_by_user_id, connected_at,"
			     " next_sync_at)"
			     " VALUES (?, 'slack', 'connected', ?, ?, ?, ?, ?, ?, ?, ?,"
			     " IF(? > 0, NOW() + INTERVAL ? SECOND, NULL), ?, NOW(), NOW() + INTERVAL 1 DAY)",
			     DB_ARGS(DB_INT(org), DB_STR(g->workspace_id), DB_STR(g->workspace_name),
				     DB_STR(g->workspace_domain), DB_STR(g->installer_slack_user_id),
				     DB_STR(g->bot_user_id), DB_STR(g->scopes), DB_STR(access),
				     DB_STR(refresh), DB_INT(g->expires_in), DB_INT(g->expires_in),
				     DB_INT(user)), NULL);
		id = rc == 0 ? (int64_t)db_insert_id(db) : 0;
		if (rc == 0)
			rc = conn_seal_tokens(key, org, id, g->access_token, g->refresh_token,
					      &access, &refresh);
		if (rc == 0)
			rc = db_exec(db, "UPDATE provisioning_integrations SET access_token_sealed = ?,"
				     " refresh_token_sealed = ? WHERE id = ? AND organization_id = ?",
				     DB_ARGS(DB_STR(access), DB_STR(refresh), DB_INT(id), DB_INT(org)), NULL);
	}
	if (rc == 0 && *workspace_changed) {
		uint64_t cleared = 0;

		rc = conn_clear_config(db, org, id, &cleared);
		if (rc == 0 && cleared)
			*workspace_changed = 2;
	}
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM slack_group_cache WHERE organization_id = ?",
			     DB_ARGS(DB_INT(org)), NULL);
	if (rc == 0)
		rc = db_commit(db);
out:
	if (rc < 0)
		db_rollback(db);
	db_rows_free(r);
	free(access);
	free(refresh);
	return rc;
}


int conn_config_json(struct db *db, int64_t org, json_object **out)
{
	return conn_config_json_ex(db, org, out, NULL);
}

/* The stored configuration's text, or the default's when none was saved:
 * *text lives until db_rows_free(*r). */
static int config_text(struct db *db, int64_t org, struct db_rows **r, const char **text,
		       size_t *len, int *saved)
{
	int rc;

	*text = CONN_DEFAULT_CONFIG;
	*len = strlen(CONN_DEFAULT_CONFIG);
	rc = db_query(db, r, "SELECT config_json FROM provisioning_configs WHERE organization_id = ?",
		      DB_ARGS(DB_INT(org)));
	if (rc == 0)
		rc = db_rows_next(*r);
	if (saved)
		*saved = rc == 1;
	if (rc == 1 && db_rows_str(*r, 0)) {
		*text = db_rows_str(*r, 0);
		*len = db_rows_len(*r, 0);
	}
	return rc < 0 ? rc : 0;
}

int conn_config_json_ex(struct db *db, int64_t org, json_object **out, int *saved)
{
	struct db_rows *r = NULL;
	const char *text, *why;
	size_t len;
	int rc;

	*out = NULL;
	rc = config_text(db, org, &r, &text, &len, saved);
	if (rc == 0)
		rc = pjson_parse(text, len, PJSON_MAX_DEPTH, out, &why);
	db_rows_free(r);
	return rc;
}

int conn_config_raw(struct db *db, int64_t org, json_object **out, int *saved)
{
	struct db_rows *r = NULL;
	const char *text;
	size_t len;
	int rc;

	*out = NULL;
	rc = config_text(db, org, &r, &text, &len, saved);
	if (rc == 0) {
		*out = pjson_raw(text, len);
		rc = *out ? 0 : PV_ENOMEM;
	}
	db_rows_free(r);
	return rc;
}

int conn_mark_broken(struct db *db, int64_t org, const char *reason)
{
	log_warn("connection: organization %lld needs reconnection: %s", (long long)org, reason);
	return db_exec(db, "UPDATE provisioning_integrations SET status = 'needs_reconnection',"
		       " status_reason = ? WHERE active_organization_id = ?",
		       DB_ARGS(DB_STR(reason), DB_INT(org)), NULL);
}

/* Refreshes the rotating token of org's integration when it is about to
 * expire (or force); *token is the token to use.  No row lock and no
 * transaction are held across the call to Slack: a named lock per
 * organization (GET_LOCK, waited for at most CONN_REFRESH_WAIT seconds, or
 * CONN_REFRESH_WAIT_REQUEST on the request path)
 * makes the processes that would refresh at once take turns, and each
 * re-reads the row once it holds the lock, so that a refresh made
 * meanwhile by another process is used rather than repeated (the old
 * refresh token is single use).  PV_ETHROTTLED when the lock stays taken. */
static int conn_refresh(struct db *db, const struct config *cfg, const struct crypto_key *key,
			int64_t org, int force, enum slack_policy policy, char **token)
{
	struct slack_oauth fresh = { 0 };
	struct slack_error serr = { 0 };
	struct db_rows *r = NULL;
	char *refresh = NULL, *access = NULL, *sealed_a = NULL, *sealed_r = NULL;
	char *read_sealed = NULL;
	uint64_t changed = 0;
	long long got = 0;
	int rc, due;

	rc = db_query_int(db, &got, "SELECT IFNULL(GET_LOCK(CONCAT('pv_slack_refresh_', ?), ?), 0)",
			  DB_ARGS(DB_INT(org), DB_INT(policy == SLACK_POLICY_REQUEST
						      ? CONN_REFRESH_WAIT_REQUEST : CONN_REFRESH_WAIT)));
	if (rc < 0)
		return rc;
	if (got != 1)
		return PV_ETHROTTLED;
	rc = db_query(db, &r, "SELECT access_token_sealed, refresh_token_sealed,"
		      " token_expires_at < NOW() + INTERVAL ? SECOND, id"
		      " FROM provisioning_integrations WHERE active_organization_id = ?",
		      DB_ARGS(DB_INT(CONN_REFRESH_MARGIN), DB_INT(org)));
	if (rc == 0)
		rc = db_rows_next(r);
	if (rc == 0)
		rc = PV_ENOTFOUND;
	if (rc < 0)
		goto out;
	due = force || db_rows_int(r, 2) != 0;
	/* Tokens sealed before v2 open too (crypto.h); the refresh below, or
	 * the next connection, seals them again for their row and column. */
	rc = crypto_open(key, &(struct crypto_binding){ org, db_rows_int(r, 3), "access_token_sealed" },
			 db_rows_str(r, 0), &access, NULL);
	if (rc < 0 || !due || db_rows_is_null(r, 1))
		goto out;
	/* What was read, so that the new pair replaces only that pair: no row
	 * lock is held, and a replace may store other tokens meanwhile. */
	read_sealed = strdup(db_rows_str(r, 1));
	rc = read_sealed ? crypto_open(key, &(struct crypto_binding){ org, db_rows_int(r, 3),
								   "refresh_token_sealed" },
				       db_rows_str(r, 1), &refresh, NULL)
			 : PV_ENOMEM;
	if (rc == 0)
		rc = slack_oauth_refresh_p(cfg, refresh, policy, &fresh, &serr);
	if (rc < 0) {
		if (serr.kind == SLACK_ERR_AUTH || serr.kind == SLACK_ERR_FATAL)
			conn_mark_broken(db, org, serr.code[0] ? serr.code : "refresh_failed");
		goto out;
	}
	rc = conn_seal_tokens(key, org, db_rows_int(r, 3), fresh.access_token, fresh.refresh_token,
			      &sealed_a, &sealed_r);
	if (rc == 0)
		rc = db_exec(db, "UPDATE provisioning_integrations SET access_token_sealed = ?,"
			     " refresh_token_sealed = ?,"
			     " token_expires_at = IF(? > 0, NOW() + INTERVAL ? SECOND, NULL)"
			     " WHERE active_organization_id = ? AND refresh_token_sealed = ?",
			     DB_ARGS(DB_STR(sealed_a), DB_STR(sealed_r), DB_INT(fresh.expires_in),
				     DB_INT(fresh.expires_in), DB_INT(org), DB_STR(read_sealed)),
			     &changed);
	if (rc == 0 && changed == 0) {
		log_warn("connection: organization %lld: the connection changed during a token"
			 " refresh; the refreshed token is not used", (long long)org);
		rc = PV_ECONFLICT;
	}
	if (rc == 0) {
		crypto_secret_free(access);
		access = strdup(fresh.access_token);
		if (!access)
			rc = PV_ENOMEM;
		log_info("connection: organization %lld: token refreshed", (long long)org);
	}
out:
	db_exec(db, "DO RELEASE_LOCK(CONCAT('pv_slack_refresh_', ?))", DB_ARGS(DB_INT(org)), NULL);
	if (rc == 0) {
		*token = access;
		access = NULL;
	}
	crypto_secret_free(access);
	crypto_secret_free(refresh);
	free(read_sealed);
	free(sealed_a);
	free(sealed_r);
	slack_oauth_release(&fresh);
	db_rows_free(r);
	return rc;
}

static int conn_client_ex(struct db *db, const struct config *cfg, const struct crypto_key *key,
			  int64_t org, int force, enum slack_policy policy, struct slack **out)
{
	char *token = NULL;
	int rc;

	*out = NULL;
	rc = conn_refresh(db, cfg, key, org, force, policy, &token);
	if (rc == 0)
		rc = slack_new(out, cfg, token);
	if (rc == 0)
		slack_set_policy(*out, policy);
	crypto_secret_free(token);
	return rc;
}

int conn_client_p(struct db *db, const struct config *cfg, const struct crypto_key *key,
		  int64_t org, enum slack_policy policy, struct slack **out)
{
	return conn_client_ex(db, cfg, key, org, 0, policy, out);
}

int conn_client(struct db *db, const struct config *cfg, const struct crypto_key *key,
		int64_t org, struct slack **out)
{
	return conn_client_ex(db, cfg, key, org, 0, SLACK_POLICY_BATCH, out);
}

int conn_client_refreshed(struct db *db, const struct config *cfg, const struct crypto_key *key,
			  int64_t org, struct slack **out)
{
	return conn_client_ex(db, cfg, key, org, 1, SLACK_POLICY_BATCH, out);
}

int conn_disconnect(struct db *db, const struct config *cfg, const struct crypto_key *key,
		    int64_t org)
{
	struct slack *s = NULL;
	uint64_t changed = 0;
	int rc;

	/* Best effort, and an administrator is waiting: the request policy. */
	rc = conn_client_p(db, cfg, key, org, SLACK_POLICY_REQUEST, &s);
	if (rc == 0 && slack_auth_revoke(s) < 0)
		log_warn("connection: organization %lld: auth.revoke failed (%s); disconnecting anyway",
			 (long long)org, slack_last_error(s)->code);
	else if (rc < 0 && rc != PV_ENOTFOUND)
		log_warn("connection: organization %lld: token unusable (%s); disconnecting anyway",
			 (long long)org, pv_strerror(rc));
	slack_free(s);
	rc = db_exec(db, "UPDATE provisioning_integrations SET status = 'disconnected',"
		     " access_token_sealed = NULL, refresh_token_sealed = NULL,"
		     " token_expires_at = NULL, disconnected_at = NOW()"
		     " WHERE active_organization_id = ?", DB_ARGS(DB_INT(org)), &changed);
	if (rc == 0 && changed == 0)
		rc = PV_ENOTFOUND;
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM slack_group_cache WHERE organization_id = ?",
			     DB_ARGS(DB_INT(org)), NULL);
	return rc;
}
