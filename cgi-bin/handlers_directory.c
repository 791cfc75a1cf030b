/* Directory: users, teams, memberships and settings (SPEC §4.3). */
#include "handlers.h"
#include "http.h"
#include "directory/directory.h"
#include "core/config.h"
#include "core/err.h"
#include "core/pjson.h"

#include <stdio.h>
#include <string.h>

/* {key: items, next_cursor: "N"|null}; takes over items. */
/* A page of DIR_PAGE_MAX users whose every column is at its longest and
 * escaped, with room to spare; past it the answer is a 500, not a cut. */
#define USERS_PAGE_MAX_BYTES (64u << 20)

static void answer_page(struct req *req, const char *key, json_object *items, int64_t next)
{
	json_object *out = json_object_new_object();
	char cursor[24];

	snprintf(cursor, sizeof(cursor), "%lld", (long long)next);
	if (!out || pjson_add(out, key, items) < 0 ||
	    pjson_add_str(out, "next_cursor", next ? cursor : NULL) < 0) {
		if (!out)
			json_object_put(items);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}

/* {key: obj}; takes over obj. */
static void answer_one(struct req *req, int status, const char *key, json_object *obj)
{
	json_object *out = json_object_new_object();

	if (!out || pjson_add(out, key, obj) < 0) {
		if (!out)
			json_object_put(obj);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, status, out);
}

/* Reads an optional string field; answers 422 on a wrong type. */
static int body_str(struct req *req, const char *key, const char **out)
{
	int rc = pjson_get_str(req->body, key, out);

	if (rc == PV_ENOTFOUND) {
		*out = NULL;
		return 0;
	}
	if (rc < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s must be a string.", key);
		http_error(req, 422, "validation_failed", msg, key);
	}
	return rc;
}

/* Checks a query parameter against a list of allowed values. */
static int query_enum(struct req *req, const char *name, const char *a, const char *b,
		      const char **out)
{
	*out = http_query(req, name);
	if (!*out || !**out) {
		*out = NULL;
		return 0;
	}
	if (strcmp(*out, a) == 0 || strcmp(*out, b) == 0)
		return 0;
	char msg[120];

	snprintf(msg, sizeof(msg), "%s must be %s or %s.", name, a, b);
	http_error(req, 400, "invalid_parameter", msg, name);
	return PV_EINVAL;
}

void handle_users_list(struct req *req)
{
	struct dir_user_filter f = { 0 };
	struct buf out;
	int64_t next = 0;
	int rc;

	if (query_enum(req, "status", "active", "deactivated", &f.status) < 0 ||
	    query_enum(req, "source", "slack", "manual", &f.source) < 0 ||
	    http_query_limit(req, DIR_PAGE_DEFAULT, DIR_PAGE_MAX, &f.limit) < 0 ||
	    http_query_cursor(req, "cursor", &f.after_id) < 0)
		return;
	if (http_query_cursor(req, "team", &f.team_id) < 0)
		return;
	f.q = http_query(req, "q");
	if (f.q && strlen(f.q) > 200) {
		http_error(req, 400, "invalid_parameter", "q is limited to 200 characters.", "q");
		return;
	}
	/* Written as text, as answer_page would print it: {"users":[...],
	 * "next_cursor":"id" or null}.  A page is at most DIR_PAGE_MAX users. */
	buf_init(&out, USERS_PAGE_MAX_BYTES);
	rc = buf_puts(&out, "{\"users\":");
	if (rc == 0)
		rc = dir_users_list(req->app->db, req->who.org_id, &f, &out, &next);
	if (rc == 0 && next)
		rc = buf_printf(&out, ",\"next_cursor\":\"%lld\"}", (long long)next);
	else if (rc == 0)
		rc = buf_puts(&out, ",\"next_cursor\":null}");
	if (rc < 0)
		http_fail(req, rc == PV_ETOOBIG ? PV_ENOMEM : rc);
	else
		http_json_text(req, 200, &out);
	buf_release(&out);
}

void handle_users_create(struct req *req)
{
	static const char *const keys[] = { "email", "first_name", "last_name", "display_name",
					    "job_title", "role", NULL };
	struct dir_user_new u = { 0 };
	const char *role = NULL, *field, *why;
	json_object *user = NULL;
	int64_t id;
	int rc;

	if (http_body_keys(req, keys) < 0 || body_str(req, "email", &u.email) < 0 ||
	    body_str(req, "first_name", &u.first_name) < 0 ||
	    body_str(req, "last_name", &u.last_name) < 0 ||
	    body_str(req, "display_name", &u.display_name) < 0 ||
	    body_str(req, "job_title", &u.job_title) < 0 || body_str(req, "role", &role) < 0)
		return;
	if (role && strcmp(role, "administrator") && strcmp(role, "member")) {
		http_error(req, 422, "validation_failed", "role must be administrator or member.",
			   "role");
		return;
	}
	u.is_admin = role && strcmp(role, "administrator") == 0;
	rc = dir_user_create(req->app->db, req->who.org_id, &u, &id, &field, &why);
	if (rc == PV_EINVAL || rc == PV_ECONFLICT) {
		http_error(req, rc == PV_ECONFLICT ? 409 : 422,
			   rc == PV_ECONFLICT ? "email_taken" : "validation_failed", why, field);
		return;
	}
	if (rc == 0)
		rc = dir_user_json(req->app->db, req->who.org_id, id, &user);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_one(req, 201, "user", user);
}

/* {user: {..., provisioning: {...}}}: the user with their provisioning
 * facts (directory.h), as GET and PATCH answer it. */
static void answer_user_with_facts(struct req *req, int64_t id)
{
	json_object *user = NULL, *facts = NULL;
	int rc = dir_user_json(req->app->db, req->who.org_id, id, &user);

	if (rc == 0)
		rc = dir_user_facts_json(req->app->db, req->who.org_id, id, &facts);
	if (rc == 0 && pjson_add(user, "provisioning", facts) < 0) {
		facts = NULL;
		rc = PV_ENOMEM;
	}
	if (rc < 0) {
		json_object_put(facts);
		json_object_put(user);
		http_fail(req, rc);
		return;
	}
	answer_one(req, 200, "user", user);
}

void handle_user_get(struct req *req)
{
	answer_user_with_facts(req, req->ids[0]);
}

/* PATCH /api/v1/users/{id} {status}: a deactivation or reactivation made by
 * hand, which a sync never undoes (SPEC §4.3, §7.7). */
void handle_user_patch(struct req *req)
{
	static const char *const keys[] = { "status", NULL };
	const char *status = NULL, *why = NULL;
	int rc;

	if (http_body_keys(req, keys) < 0 || body_str(req, "status", &status) < 0)
		return;
	if (!status) {
		http_error(req, 422, "validation_failed", "status is required: active or deactivated.",
			   "status");
		return;
	}
	rc = dir_user_set_status(req->app->db, req->who.org_id, req->ids[0], status,
				 req->who.user_id, &why);
	if (rc == PV_EINVAL) {
		http_error(req, 422, "validation_failed", why, "status");
		return;
	}
	if (rc == PV_ECONFLICT) {
		http_error(req, 409, "status_refused", why, "status");
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_user_with_facts(req, req->ids[0]);
}

void handle_teams_list(struct req *req)
{
	json_object *teams = NULL;
	int rc = dir_teams_list(req->app->db, req->who.org_id, &teams);

	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_one(req, 200, "teams", teams);
}

void handle_teams_create(struct req *req)
{
	static const char *const keys[] = { "name", NULL };
	const char *name = NULL, *why = NULL;
	json_object *team = NULL;
	int rc;

	if (http_body_keys(req, keys) < 0 || body_str(req, "name", &name) < 0)
		return;
	rc = dir_team_create(req->app->db, req->who.org_id, name, &team, &why);
	if (rc == PV_EINVAL || rc == PV_ECONFLICT) {
		http_error(req, rc == PV_ECONFLICT ? 409 : 422,
			   rc == PV_ECONFLICT ? "team_exists" : "validation_failed", why, "name");
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_one(req, 201, "team", team);
}

void handle_team_members_list(struct req *req)
{
	json_object *members = NULL;
	int64_t after = 0, next = 0;
	int limit, rc;

	if (http_query_limit(req, DIR_PAGE_DEFAULT, DIR_PAGE_MAX, &limit) < 0 ||
	    http_query_cursor(req, "cursor", &after) < 0)
		return;
	rc = dir_team_members(req->app->db, req->who.org_id, req->ids[0], after, limit,
			      &members, &next);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_page(req, "members", members, next);
}

void handle_team_members_add(struct req *req)
{
	static const char *const keys[] = { "user_id", NULL };
	json_object *user = NULL;
	int64_t user_id = 0;
	int rc;

	if (http_body_keys(req, keys) < 0)
		return;
	if (pjson_get_int(req->body, "user_id", &user_id) < 0 || user_id < 1) {
		http_error(req, 422, "validation_failed", "user_id must be a user's id (a number).",
			   "user_id");
		return;
	}
	rc = dir_team_add_member_by_hand(req->app->db, req->who.org_id, req->ids[0], user_id);
	if (rc == PV_ECONFLICT) {
		http_error(req, 409, "already_member", "This user is already a member of the team.",
			   "user_id");
		return;
	}
	if (rc == 0)
		rc = dir_user_json(req->app->db, req->who.org_id, user_id, &user);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_one(req, 201, "member", user);
}

/* A membership the sync made, removed by an administrator, leaves a
 * tombstone so that the sync never adds it back (SPEC §7.7). */
void handle_team_members_remove(struct req *req)
{
	int rc = dir_team_remove_member_by_hand(req->app->db, req->who.org_id, req->ids[0],
						req->ids[1], req->who.user_id);

	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	http_no_content(req);
}

void handle_team_removed_list(struct req *req)
{
	json_object *removed = NULL;
	int64_t after = 0, next = 0;
	int limit, rc;

	if (http_query_limit(req, DIR_PAGE_DEFAULT, DIR_PAGE_MAX, &limit) < 0 ||
	    http_query_cursor(req, "cursor", &after) < 0)
		return;
	rc = dir_team_removals(req->app->db, req->who.org_id, req->ids[0], after, limit,
			       &removed, &next);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_page(req, "removed", removed, next);
}

void handle_settings_get(struct req *req)
{
	json_object *settings = NULL;
	int rc = dir_settings_json(req->app->db, req->who.org_id, &settings);

	/* Whether invitations can go out at all: without a mail server they
	 * wait (and are never sent once older than a week, mail.h). */
	if (rc == 0 && pjson_add_bool(settings, "mail_configured",
				      config_get(req->app->cfg, "smtp.url") &&
				      config_get(req->app->cfg, "smtp.from")) < 0)
		rc = PV_ENOMEM;
	if (rc < 0) {
		json_object_put(settings);
		http_fail(req, rc);
		return;
	}
	answer_one(req, 200, "settings", settings);
}

void handle_settings_patch(struct req *req)
{
	static const char *const keys[] = { "automatic_invites", "sync_retention_days", NULL };
	int64_t days = 0;
	int on = 0, rc, rc_days;

	if (http_body_keys(req, keys) < 0)
		return;
	rc = pjson_get_bool(req->body, "automatic_invites", &on);
	if (rc == PV_EINVAL) {
		http_error(req, 422, "validation_failed", "automatic_invites must be true or false.",
			   "automatic_invites");
		return;
	}
	rc_days = pjson_get_int(req->body, "sync_retention_days", &days);
	if (rc_days == PV_EINVAL || (rc_days == 0 && (days < DIR_RETENTION_MIN ||
						      days > DIR_RETENTION_MAX))) {
		http_error(req, 422, "validation_failed",
			   "sync_retention_days must be a whole number of days from 7 to 3650.",
			   "sync_retention_days");
		return;
	}
	if (rc == 0)
		rc = dir_settings_set_invites(req->app->db, req->who.org_id, on);
	if ((rc == 0 || rc == PV_ENOTFOUND) && rc_days == 0)
		rc = dir_settings_set_retention(req->app->db, req->who.org_id, days);
	if (rc < 0 && rc != PV_ENOTFOUND) {
		http_fail(req, rc);
		return;
	}
	handle_settings_get(req);
}
