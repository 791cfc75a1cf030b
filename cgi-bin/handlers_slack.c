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
#include "provider/slack/slack_install.h"
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
	/* Each object is owned by its parent as soon as it is added (pjson_add
	 * and pjson_push put it when adding fails), so only `out` is put. */
	out = json_object_new_object();
	if (!out)
		goto nomem;
	providers = json_object_new_array();
	if (pjson_add(out, "providers", providers) || !providers)
		goto nomem;
	slack = json_object_new_object();
	if (pjson_push(providers, slack) || !slack)
		goto nomem;
	if (pjson_add_str(slack, "id", "slack") || pjson_add_str(slack, "name", "Slack") ||
	    pjson_add_str(slack, "status",
			  rc == 0 && strcmp(info.provider, "slack") == 0 ? info.status : "disconnected") ||
	    pjson_add_str(out, "active", rc == 0 ? info.provider : NULL))
		goto nomem;
	http_json(req, 200, out);
	return;
nomem:
	json_object_put(out);
	http_fail(req, PV_ENOMEM);
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
			pjson_add_str(o, "next_scheduled_at", next_at[0] ? next_at : NULL)))
		rc = PV_ENOMEM;
	/* pjson_add takes last over even when it fails; else it is ours. */
	if (rc == 0)
		rc = pjson_add(o, "last", last);
	else
		json_object_put(last);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* Why the configuration is gone, for an administrator, or NULL. */
static const char *config_cleared_reason(const struct conn_info *info, int saved)
{
	if (saved || strcmp(info->status, "connected") != 0 ||
	    strcmp(info->status_reason, CONN_REASON_REPLACED) != 0)
		return NULL;
	return "Slack was replaced with another workspace, so the chosen groups and team"
	       " mappings were cleared: they belong to the old workspace. Save a configuration"
	       " to start syncing again.";
}

void handle_slack_status(struct req *req)
{
	json_object *out = NULL, *ws = NULL, *sync = NULL, *cfg = NULL, *by = NULL;
	struct conn_info info;
	int saved = 0;
	/* The integration and the configuration in one statement. */
	int rc = conn_get_with_config(req->app->db, req->who.org_id, &info, &cfg, &saved);
	int on = rc == 0 && strcmp(info.provider, "slack") == 0;
	int broken = on && strcmp(info.status, "connected") != 0;

	if (rc < 0 && rc != PV_ENOTFOUND) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (!out) {
		json_object_put(cfg);
		http_fail(req, PV_ENOMEM);
		return;
	}
	/* Every object below is owned by out once added, even when adding
	 * fails, so that putting out releases everything. */
	rc = pjson_add(out, "config", cfg) ? PV_ENOMEM : 0;
	if (rc == 0)
		rc = sync_state_json(req, &sync);
	if (rc == 0 && pjson_add(out, "sync", sync))
		rc = PV_ENOMEM;
	if (rc == 0 && on) {
		ws = json_object_new_object();
		if (pjson_add(out, "workspace", ws) || !ws || pjson_add_str(ws, "id", info.workspace_id) ||
		    pjson_add_str(ws, "name", info.workspace_name) ||
		    pjson_add_str(ws, "domain", info.workspace_domain))
			rc = PV_ENOMEM;
	} else if (rc == 0 && pjson_add(out, "workspace", NULL)) {
		rc = PV_ENOMEM;
	}
	/* named() is NULL both for nobody and when out of memory. */
	if (rc == 0 && on && info.connected_by) {
		by = named(info.connected_by, info.connected_by_name);
		if (!by)
			rc = PV_ENOMEM;
	}
	if (rc == 0 && (pjson_add_str(out, "status", on ? info.status : "disconnected") ||
			pjson_add_str(out, "status_reason",
				      broken && info.status_reason[0] ? info.status_reason : NULL)))
		rc = PV_ENOMEM;
	if (rc == 0)
		rc = pjson_add(out, "connected_by", by);	/* takes by over */
	else
		json_object_put(by);
	if (rc == 0 && (pjson_add_str(out, "connected_at", on ? info.connected_at : NULL) ||
			pjson_add_bool(out, "config_saved", saved) ||
			pjson_add_str(out, "config_cleared_reason",
				      on ? config_cleared_reason(&info, saved) : NULL)))
		rc = PV_ENOMEM;
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

void handle_slack_callback(struct req *req)
{
	const char *state = http_query(req, "state");
	const char *code = http_query(req, "code");
	const char *slack_error = http_query(req, "error");
	const char *error = NULL;
	struct slack_install_result res;
	char purpose[16];
	struct session_who who;
	struct buf redirect;
	int rc;

	if (!state || !*state) {
		callback_done(req, "state_missing");
		return;
	}
	/* The flow ends in the browser of the administrator who started it;
	 * the session is checked first, so that a visit by anyone else leaves
	 * the administrator's state unused. */
	if (!req->session_token || session_lookup(req->app->db, req->session_token, &who) < 0 ||
	    !who.is_admin) {
		callback_done(req, "session_mismatch");
		return;
	}
	rc = conn_state_take(req->app->db, state, who.org_id, who.user_id, purpose);
	if (rc == PV_ENOTFOUND || rc == PV_ECONFLICT || rc == PV_EINVAL || rc == PV_EAUTH) {
		callback_done(req, rc == PV_ENOTFOUND ? "state_unknown"
			      : rc == PV_ECONFLICT ? "state_used"
			      : rc == PV_EAUTH ? "session_mismatch" : "state_expired");
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
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
	buf_init(&redirect, 2048);
	if (buf_printf(&redirect, "%s" CALLBACK_PATH, config_get(req->app->cfg, "app.base_url")) < 0) {
		buf_release(&redirect);
		callback_done(req, "server_error");
		return;
	}
	slack_install_complete(req->app->db, req->app->cfg, req->app->key, who.org_id, who.user_id,
			       &(struct slack_install){ .code = code,
							.redirect_uri = buf_cstr(&redirect),
							.replace = strcmp(purpose, "replace") == 0,
							.policy = SLACK_POLICY_REQUEST },
			       &res, &error);
	buf_release(&redirect);
	callback_done(req, error);
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

/* Answers a failure to read the workspace's groups from Slack (`doing`:
 * what it was for, in plain words).  A slow or rate-limited Slack is 503 or
 * 504 at once (the request path never waits it out); the rest is 502. */
void answer_slack_groups_failure(struct req *req, int rc, const struct slack_error *serr,
				 const char *doing)
{
	char msg[640];

	if (rc == PV_ETHROTTLED) {
		http_header(req, "Retry-After: %d", SLACK_REQUEST_TIMEOUT_MS / 1000);
		snprintf(msg, sizeof(msg), "Slack is already being asked on behalf of this"
			 " organization; try again in a few seconds (%s).", doing);
		http_error(req, 503, "slack_unavailable", msg, NULL);
		return;
	}
	if (rc != PV_EREMOTE) {
		http_fail(req, rc);
		return;
	}
	if (serr->kind == SLACK_ERR_RETRYABLE && strcmp(serr->code, "timeout") == 0) {
		snprintf(msg, sizeof(msg), "Slack did not answer within %d seconds (%s); try again"
			 " in a moment.", SLACK_REQUEST_TIMEOUT_MS / 1000, doing);
		http_error(req, 504, "slack_timeout", msg, NULL);
		return;
	}
	if (serr->kind == SLACK_ERR_RETRYABLE) {
		if (serr->retry_after > 0)
			http_header(req, "Retry-After: %ld", serr->retry_after);
		snprintf(msg, sizeof(msg), "Slack is busy or rate-limiting requests (%s); try again%s.",
			 doing, serr->retry_after > 0 ? " after the time in Retry-After" : " in a moment");
		http_error(req, 503, "slack_unavailable", msg, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "Slack could not list the workspace's groups: %s%s%s",
		 serr->message[0] ? serr->message : serr->code,
		 serr->needed[0] ? " Missing scope: " : "", serr->needed);
	http_error(req, 502,
		   serr->kind == SLACK_ERR_AUTH ? "slack_needs_reconnection"
		   : serr->kind == SLACK_ERR_SCOPE ? "slack_missing_scope" : "slack_unavailable",
		   msg, NULL);
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
	if (rc < 0) {
		answer_slack_groups_failure(req, rc, &serr, "searching the groups");
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
