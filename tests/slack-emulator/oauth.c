/*
 * oauth.c - Slack's OAuth v2: the authorize page (an already-approved
 * consent screen) and oauth.v2.access (code exchange and token refresh),
 * following SLACK-API.md §1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "util.h"

/* ---- GET /oauth/v2/authorize ----------------------------------------- */

/* Slack shows an error page instead of redirecting to an unchecked URL. */
static int error_page(struct emu_resp *resp, const char *message)
{
	struct emu_buf *b = &resp->body;
	int rc;

	resp->status = 400;
	resp->content_type = "text/html; charset=utf-8";
	snprintf(resp->error, sizeof(resp->error), "oauth_error_page");
	emu_buf_reset(b);
	rc = emu_buf_puts(b, "<!DOCTYPE html>\n<html><head><title>Slack</title></head>"
			     "<body><h1>Oops, something went wrong.</h1><p>");
	/* Messages are our own constants: no user text is echoed unescaped. */
	if (rc == 0) rc = emu_buf_puts(b, message);
	if (rc == 0) rc = emu_buf_puts(b, "</p></body></html>\n");
	return rc;
}

/* Appends "key=<encoded value>" to a URL being built. */
static int url_param(struct emu_buf *url, const char *key, const char *value)
{
	int rc = emu_buf_printf(url, "%c%s=", strchr(emu_buf_str(url), '?') ? '&' : '?',
				key);

	return rc == 0 ? emu_url_encode(value, url) : rc;
}

/* The installing user: the one chosen by the control API, else the primary owner. */
static const char *installer(const struct emu_state *st,
			     const struct emu_workspace *ws)
{
	size_t i;

	if (st->install_user[0])
		return st->install_user;
	for (i = 0; i < ws->n_users; i++)
		if (ws->users[i].is_primary_owner)
			return ws->users[i].id;
	return ws->n_users ? ws->users[0].id : "U0EMUNONE";
}

/* The first registered redirect URL that is a real URL (not a pattern). */
static const char *default_redirect(const struct emu_app *app)
{
	size_t i;

	for (i = 0; i < app->n_redirect_uris; i++)
		if (!strchr(app->redirect_uris[i], '*'))
			return app->redirect_uris[i];
	return NULL;
}

int emu_oauth_authorize(struct emu_state *st, struct emu_req *req,
			struct emu_resp *resp)
{
	const char *client_id = emu_req_query_arg(req, "client_id");
	const char *scope = emu_req_query_arg(req, "scope");
	const char *redirect = emu_req_query_arg(req, "redirect_uri");
	const char *state = emu_req_query_arg(req, "state");
	const struct emu_app *app = emu_world_app_by_client(&st->world, client_id);
	const char *target;
	const struct emu_workspace *ws;
	const struct emu_code *code;
	struct emu_record_entry e;
	struct emu_grant g;
	struct emu_buf url;
	int rc, rc2;

	memset(&e, 0, sizeof(e));
	e.t_ms = emu_now_ms();
	snprintf(e.method, sizeof(e.method), "oauth/v2/authorize");
	emu_buf_init(&url, 8192);
	if (!app) {
		rc = error_page(resp, "Invalid client_id parameter.");
		goto out;
	}
	if (redirect && *redirect && !emu_app_redirect_ok(app, redirect)) {
		rc = error_page(resp, "redirect_uri did not match any configured URIs.");
		goto out;
	}
	if (!redirect || !*redirect) {
		/* Without one, Slack uses the app's configured URL. */
		target = default_redirect(app);
		if (!target) {
			rc = error_page(resp, "No redirect_uri given and none configured.");
			goto out;
		}
		redirect = NULL;
	} else {
		target = redirect;
	}
	if ((!scope || !*scope) && !emu_req_query_arg(req, "user_scope")) {
		rc = error_page(resp, "Invalid permissions requested.");
		goto out;
	}
	ws = st->install_team[0] ? emu_world_workspace(&st->world, st->install_team)
				 : st->world.ws[0];
	if (!ws) {
		rc = error_page(resp, "The workspace chosen by /_emulator/install is gone.");
		goto out;
	}

	rc = emu_buf_puts(&url, target);
	if (rc < 0)
		goto out;
	if (st->install_deny) {
		/* The user pressed Cancel; this choice applies to one authorize. */
		st->install_deny = false;
		snprintf(resp->error, sizeof(resp->error), "access_denied");
		rc = url_param(&url, "error", "access_denied");
	} else {
		g = (struct emu_grant){ .team_id = ws->team_id,
					.user_id = (char *)installer(st, ws),
					.scopes = (char *)(scope ? scope : ""),
					.app_id = app->app_id };
		rc = emu_tokens_issue_code(&st->tokens, &g, redirect, &code);
		if (rc == 0)
			rc = url_param(&url, "code", code->code);
	}
	if (rc == 0 && state)
		rc = url_param(&url, "state", state);
	if (rc == 0)
		rc = emu_resp_redirect(resp, emu_buf_str(&url));
out:
	e.status = rc < 0 ? 500 : resp->status;
	e.duration_ms = emu_now_ms() - e.t_ms;
	if (rc == 0)
		snprintf(e.error, sizeof(e.error), "%s", resp->error);
	emu_buf_free(&url);
	rc2 = emu_record_add(&st->record, &e, NULL, NULL);
	return rc < 0 ? rc : rc2;
}

/* ---- oauth.v2.access -------------------------------------------------- */

/*
 * Client credentials: HTTP Basic auth (Slack's preference) or the
 * client_id/client_secret arguments.  Copies them into id/secret.
 */
static void client_credentials(const struct emu_req *req, char *id, size_t idlen,
			       char *secret, size_t secretlen)
{
	const char *auth = req->authorization;
	struct emu_buf plain;
	char *colon;

	id[0] = secret[0] = '\0';
	if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
		emu_buf_init(&plain, 1024);
		/* Undecodable credentials simply match no app. */
		if (emu_b64_decode(auth + 6, &plain) == 0 && plain.len &&
		    (colon = memchr(plain.data, ':', plain.len)) != NULL) {
			*colon = '\0';
			snprintf(id, idlen, "%s", plain.data);
			snprintf(secret, secretlen, "%s", colon + 1);
		}
		emu_buf_free(&plain);
		return;
	}
	if (emu_req_arg(req, "client_id"))
		snprintf(id, idlen, "%s", emu_req_arg(req, "client_id"));
	if (emu_req_arg(req, "client_secret"))
		snprintf(secret, secretlen, "%s", emu_req_arg(req, "client_secret"));
}

/* Issues an access token (and a refresh token when the app rotates). */
static int grant_answer(struct emu_call *c, const struct emu_app *app,
			const struct emu_grant *g, bool with_authed_user)
{
	struct emu_workspace *ws = emu_world_workspace(&c->st->world, g->team_id);
	const struct emu_token *t;
	const struct emu_refresh *r = NULL;
	json_object *body = NULL, *team = NULL, *user = NULL;
	int rc;

	rc = emu_tokens_issue(&c->st->tokens, g,
			      app->token_rotation ? c->st->expires_in : 0, &t);
	if (rc == 0 && app->token_rotation)
		rc = emu_tokens_issue_refresh(&c->st->tokens, g, &r);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	body = emu_slack_ok();
	team = json_object_new_object();
	user = json_object_new_object();
	if (!body || !team || !user)
		goto out;
	rc = emu_json_add_str(body, "app_id", app->app_id);
	if (rc == 0 && with_authed_user) {
		rc = emu_json_add_str(user, "id", g->user_id);
		if (rc == 0) rc = emu_json_add(body, "authed_user", user);
		user = NULL;
	}
	if (rc == 0) rc = emu_json_add_str(body, "scope", g->scopes);
	if (rc == 0) rc = emu_json_add_str(body, "token_type", "bot");
	if (rc == 0) rc = emu_json_add_str(body, "access_token", t->token);
	if (rc == 0) rc = emu_json_add_str(body, "bot_user_id", ws->bot_user_id);
	if (rc == 0 && r) {
		rc = emu_json_add_int(body, "expires_in", c->st->expires_in);
		if (rc == 0) rc = emu_json_add_str(body, "refresh_token", r->token);
	}
	if (rc == 0) rc = emu_json_add_str(team, "id", ws->team_id);
	if (rc == 0) rc = emu_json_add_str(team, "name", emu_workspace_name(ws));
	if (rc == 0) rc = emu_json_add(body, "team", team);
	team = NULL;
	if (rc == 0) rc = emu_json_add(body, "enterprise", NULL);
	if (rc == 0) rc = emu_json_add_bool(body, "is_enterprise_install", false);
	if (rc == 0) rc = emu_resp_json(c->resp, 200, body);
out:
	json_object_put(user);
	json_object_put(team);
	json_object_put(body);
	return rc;
}

static int exchange_code(struct emu_call *c, const struct emu_app *app)
{
	struct emu_code *code = emu_tokens_find_code(&c->st->tokens,
						     emu_req_arg(c->req, "code"));
	const char *redirect = emu_req_arg(c->req, "redirect_uri");
	struct emu_grant g = { 0 };
	int rc;

	if (!code || code->used || strcmp(code->g.app_id, app->app_id) != 0 ||
	    emu_now_ms() - code->issued_ms > c->st->code_ttl * 1000 ||
	    !emu_world_workspace(&c->st->world, code->g.team_id))
		return emu_resp_slack_error(c->resp, "invalid_code");
	if (redirect && !*redirect)
		redirect = NULL;
	/* Sent to authorize => must come back identical (SLACK-API.md §1.1). */
	if ((code->redirect_uri && (!redirect || strcmp(redirect, code->redirect_uri))) ||
	    (!code->redirect_uri && redirect && !emu_app_redirect_ok(app, redirect)))
		return emu_resp_slack_error(c->resp, "bad_redirect_uri");
	code->used = true;
	/* Issuing may move the code array: answer from a copy of the grant. */
	rc = emu_grant_copy(&g, &code->g);
	if (rc == 0)
		rc = grant_answer(c, app, &g, true);
	emu_grant_clear(&g);
	return rc;
}

static int refresh(struct emu_call *c, const struct emu_app *app)
{
	struct emu_refresh *r = emu_tokens_find_refresh(&c->st->tokens,
							emu_req_arg(c->req, "refresh_token"));
	struct emu_grant g = { 0 };
	int rc;

	if (!r || r->used || strcmp(r->g.app_id, app->app_id) != 0 ||
	    !emu_world_workspace(&c->st->world, r->g.team_id))
		return emu_resp_slack_error(c->resp, "invalid_refresh_token");
	/* Each refresh token works once; the new pair replaces it. */
	r->used = true;
	rc = emu_grant_copy(&g, &r->g);
	if (rc == 0)
		rc = grant_answer(c, app, &g, false);
	emu_grant_clear(&g);
	return rc;
}

int emu_oauth_access(struct emu_call *c)
{
	const char *grant_type = emu_req_arg(c->req, "grant_type");
	const struct emu_app *app;
	char id[128], secret[256];

	client_credentials(c->req, id, sizeof(id), secret, sizeof(secret));
	app = emu_world_app_by_client(&c->st->world, id);
	if (!app)
		return emu_resp_slack_error(c->resp, "invalid_client_id");
	if (strcmp(secret, app->client_secret) != 0)
		return emu_resp_slack_error(c->resp, "bad_client_secret");
	if (!grant_type || !*grant_type || strcmp(grant_type, "authorization_code") == 0)
		return exchange_code(c, app);
	if (strcmp(grant_type, "refresh_token") == 0)
		return refresh(c, app);
	return emu_resp_slack_error(c->resp, "invalid_grant_type");
}
