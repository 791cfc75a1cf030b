/* Provisioning: the Slack connection's lifecycle and the group type-ahead
 * (SPEC §1.1-1.6, §4.2). */
#include "handlers.h"
#include "http.h"
#include "core/config.h"
#include "provider/slack/connection.h"
#include "db/db.h"
#include "core/err.h"
#include "provider/slack/group_search.h"
#include "core/log.h"
#include "core/pjson.h"
#include "report/report.h"
#include "directory/session.h"
#include "provider/slack/slack.h"
#include "sync/sync_queue.h"

#include <stdio.h>
#include <string.h>

#define CALLBACK_PATH "/oauth/slack/callback"
#define SETTINGS_PATH "/settings/provisioning/slack"

void handle_provisioning_overview(struct req *req)
{
	json_object *out = NULL, *providers = NULL, *slack = NULL;
	struct conn_info info;
	int rc = conn_get(req->app->db, req->who.org_id, &info);

	if (rc < 0 && rc != PV_ENOTFOUND) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	providers = json_object_new_array();
	slack = json_object_new_object();
	if (!out || !providers || !slack || pjson_add_str(slack, "id", "slack") ||
	    pjson_add_str(slack, "name", "Slack") ||
	    pjson_add_str(slack, "status",
			  rc == 0 && strcmp(info.provider, "slack") == 0 ? info.status : "disconnected") ||
	    pjson_push(providers, slack) ||
	    pjson_add_str(out, "active", rc == 0 ? info.provider : NULL) ||
	    pjson_add(out, "providers", providers)) {
		if (!providers)
			json_object_put(slack);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}

/* {id, name} or null */
static json_object *named(int64_t id, const char *name)
{
	json_object *o;

	if (!id)
		return NULL;
	o = json_object_new_object();
	if (o && (pjson_add_int(o, "id", id) || pjson_add_str(o, "name", name))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* sync: {pending, running, next_scheduled_at, last} */
static int sync_state_json(struct req *req, json_object **out)
{
	json_object *o = json_object_new_object(), *last = NULL;
	char next_at[32];
	int pending, running, rc;
	int64_t last_id;

	*out = NULL;
	if (!o)
		return PV_ENOMEM;
	rc = syncq_state(req->app->db, req->who.org_id, &pending, &running, &last_id, next_at);
	if (rc == 0 && last_id)
		rc = report_sync_json(req->app->db, req->who.org_id, last_id, &last);
	if (rc == 0 && (pjson_add_bool(o, "pending", pending) || pjson_add_bool(o, "running", running) ||
			pjson_add_str(o, "next_scheduled_at", next_at[0] ? next_at : NULL) ||
			pjson_add(o, "last", last)))
		rc = PV_ENOMEM;
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	*out = o;
	return 0;
}

void handle_slack_status(struct req *req)
{
	json_object *out = NULL, *ws = NULL, *sync = NULL, *cfg = NULL;
	struct conn_info info;
	int rc = conn_get(req->app->db, req->who.org_id, &info);
	int on = rc == 0 && strcmp(info.provider, "slack") == 0;

	if (rc < 0 && rc != PV_ENOTFOUND) {
		http_fail(req, rc);
		return;
	}
	rc = conn_config_json(req->app->db, req->who.org_id, &cfg);
	if (rc == 0)
		rc = sync_state_json(req, &sync);
	if (rc < 0) {
		json_object_put(cfg);
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (on) {
		ws = json_object_new_object();
		if (!ws || pjson_add_str(ws, "id", info.workspace_id) ||
		    pjson_add_str(ws, "name", info.workspace_name) ||
		    pjson_add_str(ws, "domain", info.workspace_domain))
			rc = PV_ENOMEM;
	}
	if (rc == 0 && (!out || pjson_add_str(out, "status", on ? info.status : "disconnected") ||
			pjson_add_str(out, "status_reason",
				      on && info.status_reason[0] ? info.status_reason : NULL) ||
			pjson_add(out, "workspace", ws) ||
			pjson_add(out, "connected_by",
				  on ? named(info.connected_by, info.connected_by_name) : NULL) ||
			pjson_add_str(out, "connected_at", on ? info.connected_at : NULL) ||
			pjson_add(out, "config", cfg) || pjson_add(out, "sync", sync)))
		rc = PV_ENOMEM;
	ws = cfg = sync = NULL;  /* owned by out from here on, or lost with it */
	if (rc < 0) {
		json_object_put(out);
		http_fail(req, rc);
		return;
	}
	http_json(req, 200, out);
}

/* Starts an OAuth flow: {authorize_url}. */
static void start_flow(struct req *req, const char *purpose)
{
	char state[TOKEN_HEX_LEN + 1];
	struct conn_info info;
	struct buf url, redirect;
	json_object *out;
	int rc = conn_get(req->app->db, req->who.org_id, &info);

	if (rc < 0 && rc != PV_ENOTFOUND) {
		http_fail(req, rc);
		return;
	}
	if (rc == 0 && strcmp(info.provider, "slack") != 0) {
		http_error(req, 409, "another_provider_active",
			   "Another provisioning integration is active; disconnect it first.", NULL);
		return;
	}
	if (rc == 0 && strcmp(purpose, "connect") == 0) {
		http_error(req, 409, "already_connected",
			   "Slack is already connected; use Replace to connect another account.", NULL);
		return;
	}
	if (rc == PV_ENOTFOUND && strcmp(purpose, "replace") == 0) {
		http_error(req, 409, "not_connected", "Slack is not connected; connect it first.", NULL);
		return;
	}
	rc = conn_state_new(req->app->db, req->who.org_id, req->who.user_id, purpose, state);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	buf_init(&url, 4096);
	buf_init(&redirect, 2048);
	rc = buf_printf(&redirect, "%s" CALLBACK_PATH, config_get(req->app->cfg, "app.base_url"));
	if (rc == 0)
		rc = slack_authorize_url(req->app->cfg, CONN_SCOPES, buf_cstr(&redirect), state, &url);
	memset(state, 0, sizeof(state));
	out = rc == 0 ? json_object_new_object() : NULL;
	if (rc == PV_EINVAL) {
		http_error(req, 503, "slack_not_configured",
			   "This service has no Slack app configured (slack.client_id); ask its operator.",
			   NULL);
	} else if (!out || pjson_add_str(out, "authorize_url", buf_cstr(&url))) {
		json_object_put(out);
		http_fail(req, rc < 0 ? rc : PV_ENOMEM);
	} else {
		http_json(req, 200, out);
	}
	buf_release(&url);
	buf_release(&redirect);
}

void handle_slack_connect(struct req *req)
{
	start_flow(req, "connect");
}

void handle_slack_replace(struct req *req)
{
	start_flow(req, "replace");
}

/* Back to the settings page with ?connected=1 or ?error=code. */
static void callback_done(struct req *req, const char *error)
{
	char location[2048];

	snprintf(location, sizeof(location), "%s" SETTINGS_PATH "?%s%s",
		 config_get(req->app->cfg, "app.base_url"), error ? "error=" : "connected=1",
		 error ? error : "");
	http_redirect(req, location);
}

static int has_scope(const char *granted, const char *scope)
{
	size_t n = strlen(scope);

	for (const char *p = granted; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, scope, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Whether every scope the sync needs was granted. */
static int has_all_scopes(const char *granted)
{
	static const char *const needed[] = { "users:read", "users:read.email", "usergroups:read",
					      "team:read" };

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!granted || !has_scope(granted, needed[i]))
			return 0;
	return 1;
}

/* Exchanges the code, checks the installer, reads the workspace and stores
 * the connection.  Returns the ?error= code, or NULL on success. */
static const char *complete_install(struct req *req, int64_t org, int64_t user,
				    const char *purpose, const char *code)
{
	struct slack_oauth oauth = { 0 };
	struct slack_error serr = { 0 };
	struct slack_user installer = { 0 };
	struct slack_team team = { 0 };
	struct slack *s = NULL;
	struct buf redirect;
	const char *error = NULL;
	int changed = 0, rc, keep_token = 0;

	buf_init(&redirect, 2048);
	rc = buf_printf(&redirect, "%s" CALLBACK_PATH, config_get(req->app->cfg, "app.base_url"));
	if (rc == 0)
		rc = slack_oauth_access_ex(req->app->cfg, code, buf_cstr(&redirect), &oauth, &serr);
	if (rc < 0) {
		log_warn("oauth: organization %lld: code exchange failed: %s", (long long)org,
			 serr.code);
		error = "slack_error";
		goto out;
	}
	rc = slack_new(&s, req->app->cfg, oauth.access_token);
	if (rc == 0 && !has_all_scopes(oauth.scope)) {
		error = "missing_scope";
		goto out;
	}
	if (rc == 0)
		rc = slack_user_info(s, oauth.authed_user_id, &installer);
	if (rc == 0 && !installer.is_admin && !installer.is_owner) {
		error = "not_slack_admin";
		goto out;
	}
	if (rc == 0)
		rc = slack_team_info(s, &team);
	if (rc < 0) {
		log_warn("oauth: organization %lld: %s failed: %s", (long long)org,
			 slack_last_error(s)->method, slack_last_error(s)->code);
		error = "slack_error";
		goto out;
	}
	rc = conn_store(req->app->db, req->app->key, org, user,
			&(struct conn_grant){ .workspace_id = team.id, .workspace_name = team.name,
					      .workspace_domain = team.domain,
					      .installer_slack_user_id = installer.id,
					      .bot_user_id = oauth.bot_user_id, .scopes = oauth.scope,
					      .access_token = oauth.access_token,
					      .refresh_token = oauth.refresh_token,
					      .expires_in = oauth.expires_in },
			strcmp(purpose, "replace") == 0, &changed);
	if (rc == PV_ECONFLICT)
		error = "already_connected";
	else if (rc == PV_ENOTFOUND)
		error = "not_connected";
	else if (rc < 0)
		error = "server_error";
	else
		keep_token = 1;
	if (rc == 0)
		log_info("oauth: organization %lld: Slack workspace %s %s%s", (long long)org, team.id,
			 strcmp(purpose, "replace") == 0 ? "replaced the connection" : "connected",
			 changed && strcmp(purpose, "replace") == 0 ? " (group configuration cleared)" : "");
out:
	/* A token we will not keep is given back, so the app does not stay
	 * installed in a workspace we refused (best effort). */
	if (!keep_token && s && slack_auth_revoke(s) < 0)
		log_warn("oauth: organization %lld: could not revoke a refused token",
			 (long long)org);
	slack_free(s);
	slack_oauth_release(&oauth);
	slack_user_release(&installer);
	slack_team_release(&team);
	buf_release(&redirect);
	return error;
}

void handle_slack_callback(struct req *req)
{
	const char *state = http_query(req, "state");
	const char *code = http_query(req, "code");
	const char *slack_error = http_query(req, "error");
	char purpose[16];
	struct session_who who;
	int64_t org = 0, user = 0;
	int rc;

	if (!state || !*state) {
		callback_done(req, "state_missing");
		return;
	}
	rc = conn_state_take(req->app->db, state, &org, &user, purpose);
	if (rc == PV_ENOTFOUND || rc == PV_ECONFLICT || rc == PV_EINVAL) {
		callback_done(req, rc == PV_ENOTFOUND ? "state_unknown"
			      : rc == PV_ECONFLICT ? "state_used" : "state_expired");
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	/* The flow ends in the browser of the administrator who started it. */
	if (!req->session_token || session_lookup(req->app->db, req->session_token, &who) < 0 ||
	    who.user_id != user || who.org_id != org || !who.is_admin) {
		callback_done(req, "session_mismatch");
		return;
	}
	if (slack_error) {
		callback_done(req, strcmp(slack_error, "access_denied") == 0 ? "access_denied"
				   : "slack_error");
		return;
	}
	if (!code || !*code) {
		callback_done(req, "slack_error");
		return;
	}
	callback_done(req, complete_install(req, org, user, purpose, code));
}

void handle_slack_disconnect(struct req *req)
{
	struct conn_info info;
	int rc = conn_get(req->app->db, req->who.org_id, &info);

	if (rc == 0 && strcmp(info.provider, "slack") != 0)
		rc = PV_ENOTFOUND;
	if (rc == 0)
		rc = conn_disconnect(req->app->db, req->app->cfg, req->app->key, req->who.org_id);
	if (rc == PV_ENOTFOUND) {
		http_error(req, 409, "not_connected", "Slack is not connected.", NULL);
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	log_info("connection: organization %lld: Slack disconnected by user %lld",
		 (long long)req->who.org_id, (long long)req->who.user_id);
	http_no_content(req);
}

void handle_slack_groups(struct req *req)
{
	struct slack_error serr;
	json_object *groups = NULL, *out;
	const char *q = http_query(req, "q");
	int limit, no_plan = 0, rc;

	if (http_query_limit(req, 20, 100, &limit) < 0)
		return;
	if (q && strlen(q) > 100) {
		http_error(req, 400, "invalid_parameter", "q is limited to 100 characters.", "q");
		return;
	}
	rc = groups_search(req->app->db, req->app->cfg, req->app->key, req->who.org_id, q, limit,
			   &groups, &no_plan, &serr);
	if (rc == PV_ENOTFOUND) {
		http_error(req, 409, "not_connected", "Connect Slack first.", NULL);
		return;
	}
	if (rc == PV_EREMOTE) {
		char msg[640];

		snprintf(msg, sizeof(msg), "Slack could not list the workspace's groups: %s%s%s",
			 serr.message[0] ? serr.message : serr.code,
			 serr.needed[0] ? " Missing scope: " : "", serr.needed);
		http_error(req, serr.kind == SLACK_ERR_RETRYABLE ? 503 : 502,
			   serr.kind == SLACK_ERR_AUTH ? "slack_needs_reconnection"
			   : serr.kind == SLACK_ERR_SCOPE ? "slack_missing_scope" : "slack_unavailable",
			   msg, NULL);
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (!out || pjson_add(out, "groups", groups) ||
	    (no_plan && pjson_add_str(out, "notice", "This Slack workspace's plan has no user groups."))) {
		if (!out)
			json_object_put(groups);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}
