/*
 * control.c - the emulator's own API under /_emulator/ (not part of Slack):
 * reset, workspace edits, install choice, faults, record, tokens, the
 * load-test generator.  JSON in and out; answers are {"ok":true,...} or
 * {"ok":false,"error":"<code>","message":"<plain words>"} with a 4xx status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "company.h"
#include "generate.h"
#include "state.h"
#include "util.h"

#define EMU_CTL_ARGS 2
#define EMU_CTL_ARG_MAX 64

struct ctl {
	struct emu_state *st;
	struct emu_req *req;
	struct emu_resp *resp;
	char arg[EMU_CTL_ARGS][EMU_CTL_ARG_MAX];	/* the '*' segments */
	char err[256];
};

static int ctl_error(struct ctl *c, int status, const char *code,
		     const char *message)
{
	json_object *body = json_object_new_object();
	int rc = body ? 0 : -ENOMEM;

	if (rc == 0) rc = emu_json_add_bool(body, "ok", false);
	if (rc == 0) rc = emu_json_add_str(body, "error", code);
	if (rc == 0) rc = emu_json_add_str(body, "message", message);
	if (rc == 0) rc = emu_resp_json(c->resp, status, body);
	json_object_put(body);
	return rc;
}

/* Answers {"ok":true} plus the members of `extra` (taken over, may be NULL). */
static int ctl_ok(struct ctl *c, json_object *extra)
{
	json_object *body = emu_slack_ok();
	int rc = body ? 0 : -ENOMEM;

	if (rc == 0 && extra) {
		json_object_object_foreach(extra, key, val) {
			rc = emu_json_add(body, key, json_object_get(val));
			if (rc < 0)
				break;
		}
	}
	if (rc == 0)
		rc = emu_resp_json(c->resp, 200, body);
	json_object_put(extra);
	json_object_put(body);
	return rc;
}

/* Answers {"ok":true,"<key>":value} (value taken over; NULL = ENOMEM). */
static int ctl_ok_with(struct ctl *c, const char *key, json_object *value)
{
	json_object *extra;

	if (!value)
		return -ENOMEM;
	extra = json_object_new_object();
	if (!extra || emu_json_add(extra, key, value) < 0) {
		json_object_put(extra);
		return -ENOMEM;
	}
	return ctl_ok(c, extra);
}

/* Maps a model error to an answer: -EINVAL is the client's fault. */
static int ctl_model_result(struct ctl *c, int rc)
{
	if (rc == -EINVAL)
		return ctl_error(c, 422, "invalid_fixture", c->err);
	return rc < 0 ? rc : ctl_ok(c, NULL);
}

static json_object *body_object(struct ctl *c)
{
	return json_object_is_type(c->req->json, json_type_object) ? c->req->json : NULL;
}

static int need_body(struct ctl *c)
{
	return ctl_error(c, 400, "invalid_body",
			 "expected a JSON object with Content-Type: application/json");
}

static struct emu_workspace *ctl_workspace(struct ctl *c)
{
	return emu_world_workspace(&c->st->world, c->arg[0]);
}

static int no_workspace(struct ctl *c)
{
	return ctl_error(c, 404, "team_not_found", "no workspace with this team id");
}

/* ---- handlers ---------------------------------------------------------- */

static int health(struct ctl *c)
{
	json_object *o = json_object_new_object();

	if (!o || emu_json_add_int(o, "workspaces", (long long)c->st->world.n_ws) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	return ctl_ok(c, o);
}

static int reset(struct ctl *c)
{
	int rc = emu_state_reset(c->st, c->err, sizeof(c->err));

	if (rc == 0)
		emu_avatar_counts_reset();

	if (rc == -ENOMEM)
		return rc;
	return rc < 0 ? ctl_error(c, 500, "fixture_error", c->err) : ctl_ok(c, NULL);
}

/* GET /_emulator/avatars: how often each avatar link was fetched. */
static int avatars_get(struct ctl *c)
{
	json_object *o = emu_avatar_counts_json();

	return o ? ctl_ok(c, o) : -ENOMEM;
}

static int avatars_reset(struct ctl *c)
{
	emu_avatar_counts_reset();
	return ctl_ok(c, NULL);
}

static int workspace_get(struct ctl *c)
{
	struct emu_workspace *ws = ctl_workspace(c);
	bool full = emu_parse_bool(emu_req_query_arg(c->req, "full"));
	json_object *o, *bot, *users = NULL, *groups = NULL;
	size_t i;
	int rc;

	if (!ws)
		return no_workspace(c);
	o = json_object_new_object();
	bot = json_object_new_object();
	rc = o && bot ? 0 : -ENOMEM;
	if (rc == 0) rc = emu_json_add(o, "team", json_object_get(ws->team));
	if (rc == 0) rc = emu_json_add_str(o, "plan", ws->plan);
	if (rc == 0) rc = emu_json_add_str(bot, "user_id", ws->bot_user_id);
	if (rc == 0) rc = emu_json_add_str(bot, "bot_id", ws->bot_id);
	if (rc == 0) {
		rc = emu_json_add(o, "bot", bot);
		bot = NULL;
	}
	if (rc == 0) rc = emu_json_add_int(o, "user_count", (long long)ws->n_users);
	if (rc == 0) rc = emu_json_add_int(o, "usergroup_count", (long long)ws->n_groups);
	/* ?full=1 gives the fixture format back (users as Slack renders them). */
	if (rc == 0 && full) {
		users = json_object_new_array();
		groups = json_object_new_array();
		rc = users && groups ? 0 : -ENOMEM;
		for (i = 0; rc == 0 && i < ws->n_users; i++)
			rc = emu_json_push(users, emu_user_json(ws, &ws->users[i],
								c->st->public_url, true));
		for (i = 0; rc == 0 && i < ws->n_groups; i++)
			rc = emu_json_push(groups, emu_group_json(ws, &ws->groups[i], true, true));
		if (rc == 0) {
			rc = emu_json_add(o, "users", users);
			users = NULL;
		}
		if (rc == 0) {
			rc = emu_json_add(o, "usergroups", groups);
			groups = NULL;
		}
	}
	json_object_put(users);
	json_object_put(groups);
	json_object_put(bot);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	return ctl_ok(c, o);
}

/* PUT /_emulator/workspace/{team}: replaces (or creates) a workspace. */
static int workspace_put(struct ctl *c)
{
	json_object *body = body_object(c), *team = NULL, *bot;
	struct emu_workspace *old = ctl_workspace(c), *ws = NULL;
	int rc = 0;

	if (!body)
		return need_body(c);
	/* Members left out keep their current value (team info, plan, bot). */
	if (!json_object_object_get_ex(body, "team", &team)) {
		if (old) {
			team = json_object_get(old->team);
		} else {
			team = json_object_new_object();
			rc = team ? emu_json_add_str(team, "id", c->arg[0]) : -ENOMEM;
		}
		if (rc == 0) rc = emu_json_add(body, "team", team);
		else json_object_put(team);
	} else if (!emu_json_str(team, "id") ||
		   strcmp(emu_json_str(team, "id"), c->arg[0]) != 0) {
		return ctl_error(c, 422, "team_mismatch", "team.id must equal the path's team id");
	}
	if (rc == 0 && old && !json_object_object_get_ex(body, "plan", NULL))
		rc = emu_json_add_str(body, "plan", old->plan);
	if (rc == 0 && old && !json_object_object_get_ex(body, "bot", NULL)) {
		bot = json_object_new_object();
		rc = bot ? 0 : -ENOMEM;
		if (rc == 0) rc = emu_json_add_str(bot, "user_id", old->bot_user_id);
		if (rc == 0) rc = emu_json_add_str(bot, "bot_id", old->bot_id);
		if (rc == 0) rc = emu_json_add(body, "bot", bot);
		else json_object_put(bot);
	}
	if (rc < 0)
		return rc;
	rc = emu_workspace_from_json(body, c->st->public_url, &ws, c->err, sizeof(c->err));
	if (rc == 0)
		rc = emu_world_put_workspace(&c->st->world, ws);
	return ctl_model_result(c, rc);
}

static int user_put(struct ctl *c)
{
	struct emu_workspace *ws = ctl_workspace(c);

	if (!ws)
		return no_workspace(c);
	if (!body_object(c))
		return need_body(c);
	return ctl_model_result(c, emu_workspace_put_user(ws, body_object(c), c->err,
							 sizeof(c->err)));
}

static int user_delete(struct ctl *c)
{
	struct emu_workspace *ws = ctl_workspace(c);

	if (!ws)
		return no_workspace(c);
	if (emu_workspace_delete_user(ws, c->arg[1]) == -ENOENT)
		return ctl_error(c, 404, "user_not_found", "no user with this id");
	return ctl_ok(c, NULL);
}

static int group_put(struct ctl *c)
{
	struct emu_workspace *ws = ctl_workspace(c);

	if (!ws)
		return no_workspace(c);
	if (!body_object(c))
		return need_body(c);
	return ctl_model_result(c, emu_workspace_put_group(ws, body_object(c), c->err,
							  sizeof(c->err)));
}

static int group_delete(struct ctl *c)
{
	struct emu_workspace *ws = ctl_workspace(c);

	if (!ws)
		return no_workspace(c);
	if (emu_workspace_delete_group(ws, c->arg[1]) == -ENOENT)
		return ctl_error(c, 404, "no_such_subteam", "no user group with this id");
	return ctl_ok(c, NULL);
}

/* POST /_emulator/install {"team","user","deny"}: who the next authorize approves. */
static int install(struct ctl *c)
{
	json_object *body = body_object(c), *o;
	const char *team, *user;
	struct emu_workspace *ws;
	int rc;

	if (!body)
		return need_body(c);
	team = emu_json_str(body, "team");
	user = emu_json_str(body, "user");
	ws = team ? emu_world_workspace(&c->st->world, team) : c->st->world.ws[0];
	if (!ws)
		return ctl_error(c, 422, "team_not_found", "\"team\" is not a workspace");
	if (user && emu_workspace_find_user(ws, user) < 0)
		return ctl_error(c, 422, "user_not_found", "\"user\" is not in that workspace");
	if (strlen(ws->team_id) >= sizeof(c->st->install_team) ||
	    (user && strlen(user) >= sizeof(c->st->install_user)))
		return ctl_error(c, 422, "invalid_id", "id too long");
	snprintf(c->st->install_team, sizeof(c->st->install_team), "%s", team ? team : "");
	snprintf(c->st->install_user, sizeof(c->st->install_user), "%s", user ? user : "");
	c->st->install_deny = emu_json_bool(body, "deny", false);
	o = json_object_new_object();
	rc = o ? 0 : -ENOMEM;
	if (rc == 0) rc = emu_json_add_str(o, "team", ws->team_id);
	if (rc == 0) rc = emu_json_add_str(o, "user", user);
	if (rc == 0) rc = emu_json_add_bool(o, "deny", c->st->install_deny);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	return ctl_ok_with(c, "install", o);
}

static int faults_get(struct ctl *c)
{
	return ctl_ok_with(c, "faults", emu_faults_json(&c->st->faults));
}

static int faults_set(struct ctl *c)
{
	int rc;

	if (!c->req->json)
		return need_body(c);
	rc = emu_faults_set(&c->st->faults, c->req->json, c->err, sizeof(c->err));
	if (rc == -EINVAL)
		return ctl_error(c, 422, "invalid_fault", c->err);
	return rc < 0 ? rc : faults_get(c);
}

static int faults_clear(struct ctl *c)
{
	emu_faults_clear(&c->st->faults);
	return ctl_ok(c, NULL);
}

static int record_get(struct ctl *c)
{
	json_object *o = emu_record_json(&c->st->record);

	return o ? ctl_ok(c, o) : -ENOMEM;
}

static int record_reset(struct ctl *c)
{
	struct emu_record fresh;
	int rc = emu_record_init(&fresh);

	if (rc < 0)
		return rc;
	emu_record_free(&c->st->record);
	c->st->record = fresh;
	return ctl_ok(c, NULL);
}

static int tokens_get(struct ctl *c)
{
	return ctl_ok_with(c, "tokens", emu_tokens_json(&c->st->tokens));
}

/*
 * POST /_emulator/tokens/expire {"token"} and /tokens/revoke {"token"} or
 * {"team"} (the app was uninstalled from that workspace).
 */
static int tokens_change(struct ctl *c, bool revoke)
{
	json_object *body = body_object(c);
	const char *token = emu_json_str(body, "token");
	const char *team = emu_json_str(body, "team");
	struct emu_tokens *s = &c->st->tokens;
	long long n = 0;
	size_t i;

	if (!body || (!token && !(revoke && team)))
		return need_body(c);
	for (i = 0; i < s->n_tokens; i++) {
		struct emu_token *t = &s->tokens[i];

		if (token ? strcmp(t->token, token) != 0 : strcmp(t->g.team_id, team) != 0)
			continue;
		if (revoke)
			t->revoked = true;
		else
			t->expires_ms = emu_now_ms() - 1;
		n++;
	}
	if (n == 0)
		return ctl_error(c, 404, "token_not_found", "no such token");
	return ctl_ok_with(c, "changed", json_object_new_int64(n));
}

static int tokens_expire(struct ctl *c)
{
	return tokens_change(c, false);
}

static int tokens_revoke(struct ctl *c)
{
	return tokens_change(c, true);
}

/*
 * POST /_emulator/config {"expires_in": s, "code_ttl": s}: lifetime of
 * rotating tokens issued from now on, and of OAuth codes (10 min default).
 */
static int config(struct ctl *c)
{
	json_object *body = body_object(c), *o;
	long long expires_in, code_ttl;
	int rc;

	if (!body)
		return need_body(c);
	expires_in = emu_json_int(body, "expires_in", c->st->expires_in);
	code_ttl = emu_json_int(body, "code_ttl", c->st->code_ttl);
	if (expires_in < 1 || code_ttl < 1)
		return ctl_error(c, 422, "invalid_config",
				 "expires_in and code_ttl must be >= 1 second");
	c->st->expires_in = expires_in;
	c->st->code_ttl = code_ttl;
	o = json_object_new_object();
	rc = o ? 0 : -ENOMEM;
	if (rc == 0) rc = emu_json_add_int(o, "expires_in", expires_in);
	if (rc == 0) rc = emu_json_add_int(o, "code_ttl", code_ttl);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	return ctl_ok(c, o);
}

static int generate(struct ctl *c)
{
	struct emu_workspace *ws = NULL;
	json_object *body = body_object(c), *o;
	int rc;

	if (!body)
		return need_body(c);
	rc = emu_generate(body, &c->st->world, c->st->public_url, &ws, c->err,
			  sizeof(c->err));
	if (rc == -EINVAL)
		return ctl_error(c, 422, "invalid_generate", c->err);
	if (rc < 0)
		return rc;
	o = json_object_new_object();
	rc = o ? 0 : -ENOMEM;
	if (rc == 0) rc = emu_json_add_str(o, "team", ws->team_id);
	if (rc == 0) rc = emu_json_add_int(o, "users", (long long)ws->n_users);
	if (rc == 0) rc = emu_json_add_int(o, "usergroups", (long long)ws->n_groups);
	if (rc < 0) {
		json_object_put(o);
		emu_workspace_free(ws);
		return rc;
	}
	rc = emu_world_put_workspace(&c->st->world, ws);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	return ctl_ok(c, o);
}

/* The benchmark's "one day later": about `percent` % of changes (company.h). */
static int change(struct ctl *c)
{
	struct emu_workspace *ws = ctl_workspace(c);
	json_object *counts = NULL;
	int rc;

	if (!ws)
		return no_workspace(c);
	if (!body_object(c))
		return need_body(c);
	rc = emu_company_change(ws, body_object(c), &counts, c->err, sizeof(c->err));
	if (rc == -EINVAL)
		return ctl_error(c, 422, "invalid_change", c->err);
	if (rc < 0)
		return rc;
	return ctl_ok_with(c, "changes", counts);
}

/* Slack's tiers for a workspace: {"factor":F} (0 = off), answers the table. */
static int tiers_set(struct ctl *c)
{
	json_object *body = body_object(c), *f = NULL;
	double factor;
	int rc;

	if (!ctl_workspace(c))
		return no_workspace(c);
	if (!body)
		return need_body(c);
	if (!json_object_object_get_ex(body, "factor", &f) ||
	    !(json_object_is_type(f, json_type_int) || json_object_is_type(f, json_type_double)))
		return ctl_error(c, 422, "invalid_tiers", "\"factor\" must be a number");
	factor = json_object_get_double(f);
	if (factor < 0 || factor > 10000)
		return ctl_error(c, 422, "invalid_tiers",
				 "\"factor\" must be between 0 (off) and 10000");
	rc = emu_tiers_set(&c->st->tiers, c->arg[0], factor);
	if (rc < 0)
		return rc;
	return ctl_ok_with(c, "tiers", emu_tiers_json(&c->st->tiers, c->arg[0]));
}

static int tiers_get(struct ctl *c)
{
	if (!ctl_workspace(c))
		return no_workspace(c);
	return ctl_ok_with(c, "tiers", emu_tiers_json(&c->st->tiers, c->arg[0]));
}

/* ---- routing ------------------------------------------------------------ */

static const struct ctl_route {
	const char *method;
	const char *pattern;	/* '*' matches one path segment (an id) */
	int (*run)(struct ctl *c);
} routes[] = {
	{ "GET", "/_emulator/health", health },
	{ "POST", "/_emulator/reset", reset },
	{ "GET", "/_emulator/avatars", avatars_get },
	{ "POST", "/_emulator/avatars/reset", avatars_reset },
	{ "GET", "/_emulator/workspace/*", workspace_get },
	{ "PUT", "/_emulator/workspace/*", workspace_put },
	{ "POST", "/_emulator/workspace/*/users", user_put },
	{ "DELETE", "/_emulator/workspace/*/users/*", user_delete },
	{ "POST", "/_emulator/workspace/*/usergroups", group_put },
	{ "DELETE", "/_emulator/workspace/*/usergroups/*", group_delete },
	{ "POST", "/_emulator/workspace/*/change", change },
	{ "GET", "/_emulator/workspace/*/tiers", tiers_get },
	{ "POST", "/_emulator/workspace/*/tiers", tiers_set },
	{ "POST", "/_emulator/install", install },
	{ "GET", "/_emulator/faults", faults_get },
	{ "POST", "/_emulator/faults", faults_set },
	{ "DELETE", "/_emulator/faults", faults_clear },
	{ "GET", "/_emulator/record", record_get },
	{ "POST", "/_emulator/record/reset", record_reset },
	{ "GET", "/_emulator/tokens", tokens_get },
	{ "POST", "/_emulator/tokens/expire", tokens_expire },
	{ "POST", "/_emulator/tokens/revoke", tokens_revoke },
	{ "POST", "/_emulator/config", config },
	{ "POST", "/_emulator/generate", generate },
};

/* Ids in paths: letters, digits, '_', '-', '.'; at most EMU_CTL_ARG_MAX - 1. */
static bool id_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

static bool path_match(const char *pattern, const char *path,
		       char args[EMU_CTL_ARGS][EMU_CTL_ARG_MAX])
{
	size_t n_args = 0, len;

	while (*pattern && *path) {
		if (*pattern != '*') {
			if (*pattern++ != *path++)
				return false;
			continue;
		}
		for (len = 0; path[len] && path[len] != '/'; len++)
			if (!id_char(path[len]))
				return false;
		if (len == 0 || len >= EMU_CTL_ARG_MAX || n_args == EMU_CTL_ARGS)
			return false;
		memcpy(args[n_args], path, len);
		args[n_args++][len] = '\0';
		path += len;
		pattern++;
	}
	return *pattern == '\0' && *path == '\0';
}

int emu_control_handle(struct emu_state *st, struct emu_req *req,
		       struct emu_resp *resp)
{
	struct ctl c = { .st = st, .req = req, .resp = resp };
	bool path_known = false;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_match(routes[i].pattern, req->path, c.arg))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, req->method) == 0)
			return routes[i].run(&c);
	}
	if (path_known)
		return ctl_error(&c, 405, "method_not_allowed",
				 "this path does not take that method");
	return ctl_error(&c, 404, "not_found", "no such control endpoint");
}
