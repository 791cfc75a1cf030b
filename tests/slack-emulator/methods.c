/*
 * methods.c - the Slack Web API methods under /api/: the dispatcher
 * (faults, authentication, scopes, record) and the read methods.
 * Behaviour follows /work/shared/SLACK-API.md; section numbers below
 * refer to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "util.h"

/* users.list: page size when no limit is given, and the cap (§2). */
#define EMU_USERS_LIST_MAX 1000

struct method {
	const char *name;
	const char *scope;	/* scope the token needs, NULL: any token */
	bool needs_token;
	int (*run)(struct emu_call *c);
};

/* ---- users.list / users.info ---------------------------------------- */

/* Cursors are base64("user:<id of the next user>"), as Slack's look. */
static int cursor_encode(const char *user_id, struct emu_buf *out)
{
	char text[64];

	snprintf(text, sizeof(text), "user:%s", user_id);
	return emu_b64_encode(text, strlen(text), out);
}

/* Position the cursor points at; -EINVAL for garbage or a vanished user. */
static int cursor_decode(const struct emu_workspace *ws, const char *cursor,
			 size_t *pos)
{
	struct emu_buf text;
	long found;
	int rc;

	emu_buf_init(&text, 256);
	rc = emu_b64_decode(cursor, &text);
	if (rc == 0 && (text.len < 6 || strncmp(text.data, "user:", 5) != 0 ||
			memchr(text.data, '\0', text.len)))
		rc = -EINVAL;
	if (rc == 0) {
		found = emu_workspace_find_user(ws, text.data + 5);
		if (found < 0)
			rc = -EINVAL;
		else
			*pos = (size_t)found;
	}
	emu_buf_free(&text);
	return rc == -E2BIG ? -EINVAL : rc;
}

static bool with_email(const struct emu_call *c)
{
	return emu_scopes_have(c->token->g.scopes, "users:read.email");
}

/* A user as this call may see it: e-mail only with users:read.email. */
static json_object *user_json(const struct emu_call *c, const struct emu_user *u,
			      bool locale)
{
	json_object *o = emu_user_json(c->ws, u, c->st->public_url, with_email(c));

	if (o && locale && emu_json_add_str(o, "locale", "en-US") < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static bool include_locale(const struct emu_call *c)
{
	return emu_parse_bool(emu_req_arg(c->req, "include_locale"));
}

/*
 * A users.list page from each user's kept JSON text (workspace.h): paging
 * 100,000 users then costs copies, not JSON building, so the emulator is
 * never what a benchmark measures.  Same members, same order as the
 * json-c answer.
 */
static int users_page_text(struct emu_call *c, size_t start, size_t end,
			   const char *next)
{
	struct emu_resp *r = c->resp;
	bool email = with_email(c);
	size_t i, len;
	int rc;

	r->status = 200;
	r->content_type = "application/json; charset=utf-8";
	emu_buf_reset(&r->body);
	rc = emu_buf_puts(&r->body, "{\"ok\":true,\"members\":[");
	for (i = start; rc == 0 && i < end; i++) {
		const char *t = emu_user_json_text(c->ws, &c->ws->users[i],
						   c->st->public_url, email, &len);

		if (!t)
			return -ENOMEM;
		rc = i > start ? emu_buf_append(&r->body, ",", 1) : 0;
		if (rc == 0)
			rc = emu_buf_append(&r->body, t, len);
	}
	/* The cursor is base64: nothing in it needs escaping. */
	if (rc == 0)
		rc = emu_buf_printf(&r->body, "],\"cache_ts\":%lld,\"response_metadata\":"
				    "{\"next_cursor\":\"%s\"}}", emu_now_ms() / 1000, next);
	return rc;
}

static int users_list(struct emu_call *c)
{
	const struct emu_workspace *ws = c->ws;
	const char *cursor = emu_req_arg(c->req, "cursor");
	const char *limit_arg = emu_req_arg(c->req, "limit");
	json_object *body = NULL, *members = NULL, *meta = NULL;
	struct emu_buf next;
	long long limit = EMU_USERS_LIST_MAX;
	bool locale = include_locale(c);
	size_t start = 0, end, i;
	int rc;

	emu_buf_init(&next, 256);
	if (limit_arg && *limit_arg && emu_parse_long(limit_arg, &limit) < 0) {
		rc = emu_resp_slack_error(c->resp, "invalid_arguments");
		goto out;
	}
	/* 0 or negative means "no limit", which Slack caps like any other. */
	if (limit <= 0 || limit > EMU_USERS_LIST_MAX)
		limit = EMU_USERS_LIST_MAX;
	if (cursor && *cursor && cursor_decode(ws, cursor, &start) < 0) {
		rc = emu_resp_slack_error(c->resp, "invalid_cursor");
		goto out;
	}
	end = start + (size_t)limit < ws->n_users ? start + (size_t)limit : ws->n_users;
	rc = end < ws->n_users ? cursor_encode(ws->users[end].id, &next) : 0;
	if (rc < 0)
		goto out;
	if (!locale) {
		rc = users_page_text(c, start, end, emu_buf_str(&next));
		goto out;
	}

	rc = -ENOMEM;
	body = emu_slack_ok();
	members = json_object_new_array();
	meta = json_object_new_object();
	if (!body || !members || !meta)
		goto out;
	for (i = start; i < end; i++) {
		rc = emu_json_push(members, user_json(c, &ws->users[i], locale));
		if (rc < 0)
			goto out;
	}
	rc = emu_json_add(body, "members", members);
	members = NULL;
	if (rc == 0) rc = emu_json_add_int(body, "cache_ts", emu_now_ms() / 1000);
	/* The last page says "" (SLACK-API.md §2). */
	if (rc == 0) rc = emu_json_add_str(meta, "next_cursor", emu_buf_str(&next));
	if (rc == 0) {
		rc = emu_json_add(body, "response_metadata", meta);
		meta = NULL;
	}
	if (rc == 0)
		rc = emu_resp_json(c->resp, 200, body);
out:
	json_object_put(meta);
	json_object_put(members);
	json_object_put(body);
	emu_buf_free(&next);
	return rc;
}

static int users_info(struct emu_call *c)
{
	const char *id = emu_req_arg(c->req, "user");
	json_object *body = NULL;
	long pos;
	int rc;

	if (!id || !*id)
		return emu_resp_slack_error(c->resp, "missing_argument");
	pos = emu_workspace_find_user(c->ws, id);
	if (pos < 0)
		return emu_resp_slack_error(c->resp, "user_not_found");
	body = emu_slack_ok();
	rc = body ? emu_json_add(body, "user",
					 user_json(c, &c->ws->users[pos], include_locale(c))) : -ENOMEM;
	if (rc == 0)
		rc = emu_resp_json(c->resp, 200, body);
	json_object_put(body);
	return rc;
}

/* ---- usergroups.* (§4) ----------------------------------------------- */

static bool group_disabled(const struct emu_group *g)
{
	return g->date_delete != 0;
}

/*
 * Groups are rendered by json-c without their members, whose id list (up
 * to millions in a large workspace) is spliced in as text.
 */
static int usergroups_list(struct emu_call *c)
{
	bool users = emu_parse_bool(emu_req_arg(c->req, "include_users"));
	bool disabled = emu_parse_bool(emu_req_arg(c->req, "include_disabled"));
	bool count = emu_parse_bool(emu_req_arg(c->req, "include_count"));
	struct emu_resp *r = c->resp;
	size_t i, n = 0;
	int rc;

	if (emu_workspace_is_free_plan(c->ws))
		return emu_resp_slack_error(r, "plan_upgrade_required");
	r->status = 200;
	r->content_type = "application/json; charset=utf-8";
	emu_buf_reset(&r->body);
	rc = emu_buf_puts(&r->body, "{\"ok\":true,\"usergroups\":[");
	for (i = 0; rc == 0 && i < c->ws->n_groups; i++) {
		const struct emu_group *g = &c->ws->groups[i];
		json_object *o;
		const char *t;
		size_t len;

		if (group_disabled(g) && !disabled)
			continue;
		o = emu_group_json(c->ws, g, false, count);
		t = o ? emu_json_text(o) : NULL;
		if (!t) {
			json_object_put(o);
			return -ENOMEM;
		}
		len = strlen(t);
		rc = n++ ? emu_buf_append(&r->body, ",", 1) : 0;
		/* The object without its closing brace, then the members. */
		if (rc == 0)
			rc = emu_buf_append(&r->body, t, users ? len - 1 : len);
		json_object_put(o);
		if (rc == 0 && users)
			rc = emu_buf_puts(&r->body, ",\"users\":");
		if (rc == 0 && users)
			rc = emu_group_members_text(c->ws, g, &r->body);
		if (rc == 0 && users)
			rc = emu_buf_append(&r->body, "}", 1);
	}
	return rc == 0 ? emu_buf_puts(&r->body, "]}") : rc;
}

static int usergroups_users_list(struct emu_call *c)
{
	const char *id = emu_req_arg(c->req, "usergroup");
	bool disabled = emu_parse_bool(emu_req_arg(c->req, "include_disabled"));
	const struct emu_group *g;
	int rc;

	if (emu_workspace_is_free_plan(c->ws))
		return emu_resp_slack_error(c->resp, "plan_upgrade_required");
	if (!id || !*id)
		return emu_resp_slack_error(c->resp, "missing_argument");
	g = emu_workspace_find_group(c->ws, id);
	if (!g || (group_disabled(g) && !disabled))
		return emu_resp_slack_error(c->resp, "no_such_subteam");
	c->resp->status = 200;
	c->resp->content_type = "application/json; charset=utf-8";
	emu_buf_reset(&c->resp->body);
	rc = emu_buf_puts(&c->resp->body, "{\"ok\":true,\"users\":");
	if (rc == 0)
		rc = emu_group_members_text(c->ws, g, &c->resp->body);
	return rc == 0 ? emu_buf_append(&c->resp->body, "}", 1) : rc;
}

/* ---- team.info (§5), auth.test, auth.revoke (§1.4) ------------------- */

static int team_info(struct emu_call *c)
{
	const char *team = emu_req_arg(c->req, "team");
	json_object *body;
	int rc;

	if (team && *team && strcmp(team, c->ws->team_id) != 0)
		return emu_resp_slack_error(c->resp, "team_not_found");
	body = emu_slack_ok();
	rc = body ? emu_json_add(body, "team", json_object_get(c->ws->team)) : -ENOMEM;
	if (rc == 0)
		rc = emu_resp_json(c->resp, 200, body);
	json_object_put(body);
	return rc;
}

static int auth_test(struct emu_call *c)
{
	const struct emu_workspace *ws = c->ws;
	long bot = emu_workspace_find_user(ws, ws->bot_user_id);
	const struct emu_app *app = emu_world_app_by_id(&c->st->world, c->token->g.app_id);
	json_object *body = emu_slack_ok();
	char url[512];
	int rc = body ? 0 : -ENOMEM;

	snprintf(url, sizeof(url), "https://%s.slack.com/", emu_workspace_domain(ws));
	if (rc == 0) rc = emu_json_add_str(body, "url", url);
	if (rc == 0) rc = emu_json_add_str(body, "team", emu_workspace_name(ws));
	if (rc == 0)
		rc = emu_json_add_str(body, "user", bot >= 0 ? ws->users[bot].name : "bot");
	if (rc == 0) rc = emu_json_add_str(body, "team_id", ws->team_id);
	if (rc == 0) rc = emu_json_add_str(body, "user_id", ws->bot_user_id);
	if (rc == 0) rc = emu_json_add_str(body, "bot_id", ws->bot_id);
	if (rc == 0) rc = emu_json_add_bool(body, "is_enterprise_install", false);
	if (rc == 0) rc = emu_json_add_str(body, "app_id", c->token->g.app_id);
	if (rc == 0 && app) rc = emu_json_add_str(body, "app_name", app->name);
	if (rc == 0 && c->token->expires_ms)
		rc = emu_json_add_int(body, "expires_in",
				      (c->token->expires_ms - emu_now_ms()) / 1000);
	if (rc == 0)
		rc = emu_resp_json(c->resp, 200, body);
	json_object_put(body);
	return rc;
}

static int auth_revoke(struct emu_call *c)
{
	json_object *body = emu_slack_ok();
	int rc = body ? 0 : -ENOMEM;

	/* test=1 is a dry run: the answer is the same, nothing is revoked. */
	if (!emu_parse_bool(emu_req_arg(c->req, "test")))
		c->token->revoked = true;
	if (rc == 0) rc = emu_json_add_bool(body, "revoked", true);
	if (rc == 0) rc = emu_resp_json(c->resp, 200, body);
	json_object_put(body);
	return rc;
}

/* ---- dispatcher ------------------------------------------------------ */

static const struct method methods[] = {
	{ "users.list", "users:read", true, users_list },
	{ "users.info", "users:read", true, users_info },
	{ "usergroups.list", "usergroups:read", true, usergroups_list },
	{ "usergroups.users.list", "usergroups:read", true, usergroups_users_list },
	{ "team.info", "team:read", true, team_info },
	{ "auth.test", NULL, true, auth_test },
	{ "auth.revoke", NULL, true, auth_revoke },
	{ "oauth.v2.access", NULL, false, emu_oauth_access },
};

static const struct method *method_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

/* The caller's token: "Authorization: Bearer", else a `token` body arg. */
static const char *call_token(const struct emu_req *req)
{
	const char *auth = req->authorization;

	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		auth += 7;
		while (*auth == ' ')
			auth++;
		return *auth ? auth : NULL;
	}
	return emu_req_body_arg(req, "token");
}

/*
 * Checks the token and the method's scope.  On success sets c->token and
 * c->ws; on rejection answers the Slack error and leaves c->token NULL.
 */
static int authenticate(struct emu_call *c, const struct method *m,
			const char *token)
{
	struct emu_token *t;
	struct emu_workspace *ws;
	int rc;

	/* Tokens in the query string are refused (SLACK-API.md §9). */
	if (emu_req_query_arg(c->req, "token"))
		return emu_resp_slack_error(c->resp, "invalid_auth");
	if (!token)
		return emu_resp_slack_error(c->resp, "not_authed");
	t = emu_tokens_find(&c->st->tokens, token);
	ws = t ? emu_world_workspace(&c->st->world, t->g.team_id) : NULL;
	if (!t || !ws)
		return emu_resp_slack_error(c->resp, "invalid_auth");
	if (t->revoked)
		return emu_resp_slack_error(c->resp, "token_revoked");
	if (t->expires_ms && t->expires_ms <= emu_now_ms())
		return emu_resp_slack_error(c->resp, "token_expired");
	rc = emu_resp_header(c->resp, "x-oauth-scopes", "%s", t->g.scopes);
	if (rc == 0)
		rc = emu_resp_header(c->resp, "x-accepted-oauth-scopes", "%s",
				     m->scope ? m->scope : "");
	if (rc < 0)
		return rc;
	if (m->scope && !emu_scopes_have(t->g.scopes, m->scope))
		return emu_resp_missing_scope(c->resp, m->scope, t->g.scopes);
	c->token = t;
	c->ws = ws;
	return 0;
}

/* Scopes of a token for a fault's missing_scope answer ("" if unknown). */
static const char *token_scopes(struct emu_state *st, const char *token)
{
	const struct emu_token *t = emu_tokens_find(&st->tokens, token);

	return t ? t->g.scopes : "";
}

/* The 429 of a method's tier (SLACK-API.md §6.2): whole seconds as Slack
 * sends them, or a decimal when the tiers' speed factor shrank them. */
static int rate_limited(struct emu_resp *resp, long long retry_after_ms)
{
	int rc = emu_resp_slack_error(resp, "ratelimited");

	resp->status = 429;
	if (rc < 0)
		return rc;
	if (retry_after_ms % 1000 == 0)
		return emu_resp_header(resp, "Retry-After", "%lld", retry_after_ms / 1000);
	return emu_resp_header(resp, "Retry-After", "%lld.%03lld", retry_after_ms / 1000,
			       retry_after_ms % 1000);
}

int emu_api_handle(struct emu_state *st, struct emu_req *req,
		   struct emu_resp *resp)
{
	const char *name = req->path + strlen("/api/");
	const char *token = call_token(req);
	const struct method *m = method_find(name);
	struct emu_call c = { .st = st, .req = req, .resp = resp };
	struct emu_record_entry e;
	struct emu_fault_hit hit = { 0, NULL };
	long long tier_wait = 0;	/* ms of Retry-After, 0: admitted */
	int rc, rc2;

	memset(&e, 0, sizeof(e));
	e.t_ms = emu_now_ms();
	snprintf(e.method, sizeof(e.method), "%s", name);
	snprintf(e.token, sizeof(e.token), "%s", token ? token : "");
	rc = emu_record_arrival(&st->record, e.method, token, e.t_ms);
	if (rc < 0)
		goto out;
	if (!m) {
		rc = emu_resp_slack_error(resp, "unknown_method");
		goto out;
	}

	emu_faults_match(&st->faults, m->name, &hit);
	if (hit.delay_ms)
		emu_sleep_ms((long)hit.delay_ms);
	if (hit.answer && hit.answer->kind != EMU_FAULT_TRUNCATE) {
		rc = emu_fault_respond(hit.answer, resp, m->scope ? m->scope : "",
				       token_scopes(st, token));
		goto out;
	}

	if (m->needs_token) {
		rc = authenticate(&c, m, token);
		if (rc < 0 || !c.token)
			goto out;
		/* Tiers count per workspace and app, like Slack (§6.1). */
		rc = emu_tiers_admit(&st->tiers, c.token->g.team_id, c.token->g.app_id,
				     m->name, e.t_ms, &tier_wait);
		if (rc == 0 && tier_wait)
			rc = rate_limited(resp, tier_wait);
		if (rc < 0 || tier_wait)
			goto out;
	}
	rc = m->run(&c);
	if (rc == 0 && hit.answer)
		resp->truncate = hit.answer->declared_length ? EMU_TRUNC_DECLARED
							     : EMU_TRUNC_BODY;
out:
	if (rc == 0 && resp->status == 429 && (hit.answer || tier_wait))
		rc = emu_record_retry_after(&st->record, e.method, token, e.t_ms,
					    hit.answer ? hit.answer->retry_after * 1000 : tier_wait);
	e.status = rc < 0 ? 500 : resp->status;
	e.duration_ms = emu_now_ms() - e.t_ms;
	snprintf(e.error, sizeof(e.error), "%s", rc < 0 ? "internal_error" : resp->error);
	rc2 = emu_record_add(&st->record, &e, emu_req_arg(req, "cursor"),
			     emu_req_arg(req, "limit"));
	return rc < 0 ? rc : rc2;
}
