#include "routes.h"
#include "handlers.h"
#include "http.h"
#include "core/answer_cache.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "core/pool.h"
#include "core/token.h"
#include "db/db.h"
#include "db/db_changes.h"
#include "directory/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KB64 ROUTE_BODY_LIMIT

/* Every route of the API.  tests/integration checks that each one is in
 * cgi-bin/openapi.json, so add it there too. */
const struct route routes[] = {
	{ "POST", "/api/v1/session", handle_session_create, ACCESS_PUBLIC, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "DELETE", "/api/v1/session", handle_session_delete, ACCESS_USER, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/api/v1/me", handle_me, ACCESS_USER, BODY_NONE, 0, KEEP_ANSWER },
	{ "POST", "/api/v1/password-reset", handle_password_reset_request, ACCESS_PUBLIC, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "POST", "/api/v1/password-reset/confirm", handle_password_reset_confirm, ACCESS_PUBLIC, BODY_REQUIRED, KB64, KEEP_NEVER },

	{ "GET", "/api/v1/users", handle_users_list, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "POST", "/api/v1/users", handle_users_create, ACCESS_ADMIN, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "GET", "/api/v1/users/{id}", handle_user_get, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "PATCH", "/api/v1/users/{id}", handle_user_patch, ACCESS_ADMIN, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "GET", "/api/v1/teams", handle_teams_list, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "POST", "/api/v1/teams", handle_teams_create, ACCESS_ADMIN, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "GET", "/api/v1/teams/{id}/members", handle_team_members_list, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "POST", "/api/v1/teams/{id}/members", handle_team_members_add, ACCESS_ADMIN, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "DELETE", "/api/v1/teams/{id}/members/{id}", handle_team_members_remove, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/api/v1/teams/{id}/removed", handle_team_removed_list, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "GET", "/api/v1/settings", handle_settings_get, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "PATCH", "/api/v1/settings", handle_settings_patch, ACCESS_ADMIN, BODY_REQUIRED, KB64, KEEP_NEVER },

	{ "GET", "/api/v1/provisioning", handle_provisioning_overview, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "GET", "/api/v1/provisioning/slack", handle_slack_status, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "DELETE", "/api/v1/provisioning/slack", handle_slack_disconnect, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "POST", "/api/v1/provisioning/slack/connect", handle_slack_connect, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "POST", "/api/v1/provisioning/slack/replace", handle_slack_replace, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/api/v1/provisioning/slack/groups", handle_slack_groups, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/api/v1/provisioning/slack/syncs", handle_syncs_list, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "GET", "/api/v1/provisioning/slack/syncs/{id}", handle_sync_get, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "GET", "/api/v1/provisioning/slack/syncs/{id}/actions", handle_sync_actions, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "GET", "/api/v1/provisioning/slack/syncs/{id}/export.csv", handle_sync_export, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/api/v1/provisioning/slack/config", handle_slack_config_get, ACCESS_ADMIN, BODY_NONE, 0, KEEP_ANSWER },
	{ "PUT", "/api/v1/provisioning/slack/config", handle_slack_config_put, ACCESS_ADMIN, BODY_REQUIRED, KB64, KEEP_NEVER },
	{ "POST", "/api/v1/provisioning/slack/syncs", handle_slack_syncs_create, ACCESS_ADMIN, BODY_OPTIONAL, KB64, KEEP_NEVER },
	{ "POST", "/api/v1/provisioning/slack/syncs/{id}/approve", handle_slack_sync_approve, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "POST", "/api/v1/provisioning/slack/syncs/{id}/discard", handle_slack_sync_discard, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	{ "POST", "/api/v1/provisioning/slack/syncs/{id}/cancel", handle_slack_sync_cancel, ACCESS_ADMIN, BODY_NONE, 0, KEEP_NEVER },
	/* Slack sends the browser here; the state, not a route rule, says who
	 * may complete the flow, and the handler checks the session itself. */
	{ "GET", "/oauth/slack/callback", handle_slack_callback, ACCESS_PUBLIC, BODY_NONE, 0, KEEP_NEVER },

	/* For monitors, which carry no session; they answer nothing secret,
	 * and /metrics checks the caller's address itself. */
	{ "GET", "/healthz", handle_healthz, ACCESS_PUBLIC, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/readyz", handle_readyz, ACCESS_PUBLIC, BODY_NONE, 0, KEEP_NEVER },
	{ "GET", "/metrics", handle_metrics, ACCESS_PUBLIC, BODY_NONE, 0, KEEP_NEVER },
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);

/* Matches path against pattern; {id} takes a positive decimal number. */
static int route_match(const char *pattern, const char *path, struct req *req)
{
	const char *p = pattern, *s = path;

	req->nids = 0;
	while (*p && *s) {
		if (strncmp(p, "{id}", 4) == 0) {
			char *end;
			long long v;

			if (*s < '1' || *s > '9' || req->nids == HTTP_MAX_PATH_IDS)
				return 0;
			errno = 0;
			v = strtoll(s, &end, 10);
			if (errno || (*end && *end != '/'))
				return 0;
			req->ids[req->nids++] = v;
			p += 4;
			s = end;
		} else if (*p == *s) {
			p++;
			s++;
		} else {
			return 0;
		}
	}
	return !*p && !*s;
}

static int is_json_type(const char *type)
{
	size_t n = strlen("application/json");

	if (!type || strncasecmp(type, "application/json", n) != 0)
		return 0;
	return type[n] == '\0' || type[n] == ';' || type[n] == ' ';
}

static void put_json(void *obj)
{
	json_object_put(obj);
}

/* Reads and parses the body; answers and returns negative on any fault. */
static int route_read_body(struct req *req, const struct route *rt)
{
	const char *type = FCGX_GetParam("CONTENT_TYPE", req->fcgi->envp);
	const char *clen = FCGX_GetParam("CONTENT_LENGTH", req->fcgi->envp);
	long long declared = clen && *clen ? strtoll(clen, NULL, 10) : 0;
	const char *why;
	char *text;
	int n, rc;

	if (declared <= 0 && rt->body == BODY_OPTIONAL)
		return 0;
	if (!is_json_type(type)) {
		http_error(req, 415, "unsupported_media_type",
			   "Send the body as JSON with Content-Type: application/json.", NULL);
		return PV_EINVAL;
	}
	if (declared < 0 || (unsigned long long)declared > rt->body_limit) {
		char msg[96];

		snprintf(msg, sizeof(msg), "The body is larger than the %zu KiB this API accepts.",
			 rt->body_limit / 1024);
		http_error(req, 413, "body_too_large", msg, NULL);
		return PV_ETOOBIG;
	}
	text = pool_alloc(req->pool, (size_t)declared + 1);
	if (!text) {
		http_fail(req, PV_ENOMEM);
		return PV_ENOMEM;
	}
	n = FCGX_GetStr(text, (int)declared, req->fcgi->in);
	if (n != declared) {
		http_error(req, 400, "incomplete_body", "The body ended before its declared length.",
			   NULL);
		return PV_EINVAL;
	}
	rc = pjson_parse(text, (size_t)n, PJSON_MAX_DEPTH, &req->body, &why);
	if (rc == PV_ENOMEM) {
		http_fail(req, rc);
		return rc;
	}
	if (rc < 0) {
		http_error(req, 400, rc == PV_ETOOBIG ? "json_too_deep" : "malformed_json", why, NULL);
		return rc;
	}
	if (pool_on_free(req->pool, put_json, req->body) < 0) {
		req->body = NULL;
		http_fail(req, PV_ENOMEM);
		return PV_ENOMEM;
	}
	if (!json_object_is_type(req->body, json_type_object)) {
		http_error(req, 400, "malformed_json", "The body must be a JSON object.", NULL);
		return PV_EINVAL;
	}
	return 0;
}

/* The session behind the cookie.  Kept like an answer (core/answer_cache.h),
 * under its digest, while no commit was counted since it was read: every
 * way the product ends a session or a person's access (signing out, a new
 * password, a deactivation by an administrator, the sync or the command
 * line) is a commit, so it is refused at once; one ended by hand in SQL
 * within api.cache_ms.  Its end is checked against the clock each time. */
static int route_session(struct req *req)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1], key[sizeof("session ") + TOKEN_DIGEST_HEX_LEN];
	const char *kept;
	size_t len;
	int rc;

	if (!req->keeping || strlen(req->session_token) != TOKEN_HEX_LEN ||
	    token_digest(req->session_token, digest) < 0)
		return session_lookup(req->app->db, req->session_token, &req->who);
	snprintf(key, sizeof(key), "session %s", digest);
	kept = answer_cache_get(req->app->answers, key, req->keep_changes, req->keep_now_ms, &len);
	if (kept && len == sizeof(req->who)) {
		memcpy(&req->who, kept, len);
		if (req->who.expires_at > (int64_t)time(NULL))
			return 0;
	}
	rc = session_lookup_digest(req->app->db, digest, &req->who);
	if (rc == 0 && answer_cache_put(req->app->answers, key, req->keep_changes, req->keep_now_ms,
					(const char *)&req->who, sizeof(req->who)) < 0)
		log_warn("api: a session was not kept: out of memory");
	return rc;
}

/* Recognizes the caller from the session cookie; answers when refused. */
static int route_authenticate(struct req *req, const struct route *rt)
{
	int rc;

	req->session_token = http_cookie(req, "pv_session");
	if (rt->access == ACCESS_PUBLIC)
		return 0;
	if (!req->session_token) {
		http_error(req, 401, "not_signed_in", "Sign in first.", NULL);
		return PV_EAUTH;
	}
	rc = route_session(req);
	if (rc == PV_ENOTFOUND) {
		http_error(req, 401, "not_signed_in", "Your session has ended; sign in again.", NULL);
		return PV_EAUTH;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return rc;
	}
	req->signed_in = 1;
	if (rt->access == ACCESS_ADMIN && !req->who.is_admin) {
		http_error(req, 403, "forbidden", "Only administrators of the organization may do this.",
			   NULL);
		return PV_EAUTH;
	}
	return 0;
}

/* Gives the answer kept for this request when it is still good (1), or
 * prepares the handler's 200 answer to be kept (0).  The key names
 * everything an answer depends on besides the database: the route, who
 * asks (organization and user: GET /me differs per user) and the path and
 * query as sent.  The counter was read (routes_dispatch) before anything
 * of the request read the database, so a write that commits while the
 * handler runs makes its answer out of date. */
#define KEEP_KEY_FORMAT "%ld %lld %lld %s?%s"
#define KEEP_KEY_ARGS(req) (req)->route_index, (long long)(req)->who.org_id, \
	(long long)(req)->who.user_id, (req)->path, (req)->query ? (req)->query : ""

static int route_answer_kept(struct req *req)
{
	const char *text;
	char *key;
	size_t len;
	int n;

	if (!req->keeping)
		return 0;
	n = snprintf(NULL, 0, KEEP_KEY_FORMAT, KEEP_KEY_ARGS(req));
	key = n > 0 ? pool_alloc(req->pool, (size_t)n + 1) : NULL;
	if (!key)
		return 0;
	snprintf(key, (size_t)n + 1, KEEP_KEY_FORMAT, KEEP_KEY_ARGS(req));
	req->keep_key = key;
	text = answer_cache_get(req->app->answers, req->keep_key, req->keep_changes,
				req->keep_now_ms, &len);
	if (!text)
		return 0;
	req->keep_key = NULL;  /* given, not to be kept again */
	http_json_bytes(req, 200, text, len);
	return 1;
}

void routes_dispatch(struct req *req)
{
	const struct db_changes *changes;
	const struct route *rt = NULL;
	struct buf allow;
	int path_known = 0;

	buf_init(&allow, 256);
	for (size_t i = 0; i < routes_count; i++) {
		if (!route_match(routes[i].pattern, req->path, req))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, req->method) == 0) {
			rt = &routes[i];
			break;
		}
		buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
	}
	if (!rt) {
		if (path_known) {
			http_header(req, "Allow: %s", buf_cstr(&allow));
			http_error(req, 405, "method_not_allowed",
				   "This method is not allowed here; see the Allow header.", NULL);
		} else {
			http_error(req, 404, "route_not_found", "There is no such API route.", NULL);
		}
		buf_release(&allow);
		return;
	}
	buf_release(&allow);
	req->route_index = (long)(rt - routes);
	route_match(rt->pattern, req->path, req);
	/* One reading of the counter and the clock, before the session or
	 * the handler reads the database: both are kept under it. */
	changes = db_changes_of(req->app->db);
	if (changes && req->app->answers) {
		req->keeping = 1;
		req->keep_changes = db_changes_read(changes);
		req->keep_now_ms = clock_mono_ms();
	}
	if (route_authenticate(req, rt) < 0)
		return;
	if (rt->body != BODY_NONE && route_read_body(req, rt) < 0)
		return;
	if (rt->keep == KEEP_ANSWER && route_answer_kept(req))
		return;
	rt->handler(req);
	if (!req->status) {
		log_error("api: %s %s: handler gave no answer", req->method, req->path);
		http_fail(req, PV_EINVAL);
	}
}
