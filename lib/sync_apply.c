#include "sync_apply.h"
#include "buf.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "pjson.h"
#include "sync_details.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Directory columns of the planner's fields: the only column names that
 * ever enter an UPDATE, whatever the input. */
static const char *const field_column[PLAN_FIELD_COUNT] = {
	[PLAN_F_FIRST_NAME] = "first_name",
	[PLAN_F_LAST_NAME] = "last_name",
	[PLAN_F_DISPLAY_NAME] = "display_name",
	[PLAN_F_EMAIL] = "email",
	[PLAN_F_PICTURE] = "picture_url",
	[PLAN_F_JOB_TITLE] = "job_title",
	[PLAN_F_IS_GUEST] = "is_guest",
	[PLAN_F_STATUS] = "status",
};

/* The report filter's name for a field (SPEC §1.10). */
static const char *field_filter(enum plan_field f)
{
	switch (f) {
	case PLAN_F_FIRST_NAME:
	case PLAN_F_LAST_NAME:
	case PLAN_F_DISPLAY_NAME:
		return "name";
	case PLAN_F_EMAIL:
		return "email";
	case PLAN_F_PICTURE:
		return "picture";
	case PLAN_F_JOB_TITLE:
		return "job_title";
	case PLAN_F_STATUS:
		return "status";
	default:
		return NULL;
	}
}

void sync_act_from_plan(const struct plan_action *a, struct sync_act *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = a->kind;
	out->reason = a->reason;
	out->user_id = a->user ? a->user->id : 0;
	out->slack_user_id = a->slack ? a->slack->id : a->user ? a->user->slack_user_id : NULL;
	if (a->kind == PLAN_CREATE) {
		out->user_email = a->profile.email;
		out->user_name = a->profile.display_name;
	} else if (a->user) {
		out->user_email = a->user->email;
		out->user_name = a->user->display_name;
	} else if (a->slack) {
		out->user_email = a->slack->email;
		out->user_name = a->slack->real_name ? a->slack->real_name : a->slack->name;
	}
	out->team_id = a->team ? a->team->id : 0;
	out->team_name = a->team ? a->team->name : NULL;
	out->link = a->link;
	out->profile = a->profile;
	out->changes = a->changes;
	out->n_changes = a->n_changes;
	out->avatar_hash = a->avatar_hash;
	out->rival = a->rival ? a->rival->id : NULL;
}

/* The create's values as changes from nothing, for the report. */
static size_t create_changes(const struct sync_act *a, struct plan_change *c)
{
	size_t n = 0;

	c[n++] = (struct plan_change){ PLAN_F_FIRST_NAME, NULL, a->profile.first_name };
	c[n++] = (struct plan_change){ PLAN_F_LAST_NAME, NULL, a->profile.last_name };
	c[n++] = (struct plan_change){ PLAN_F_DISPLAY_NAME, NULL, a->profile.display_name };
	c[n++] = (struct plan_change){ PLAN_F_EMAIL, NULL, a->profile.email };
	if (a->profile.job_title && *a->profile.job_title)
		c[n++] = (struct plan_change){ PLAN_F_JOB_TITLE, NULL, a->profile.job_title };
	if (a->profile.picture_url)
		c[n++] = (struct plan_change){ PLAN_F_PICTURE, NULL, a->profile.picture_url };
	if (a->profile.is_guest)
		c[n++] = (struct plan_change){ PLAN_F_IS_GUEST, "false", "true" };
	return n;
}

struct row_text {
	struct buf changed;   /* SET value */
	struct buf fields;    /* "job title, picture" for the Details */
	json_object *changes; /* [{field, from, to}] */
};

static int row_text_build(const struct sync_act *a, struct row_text *t)
{
	struct plan_change created[8];
	const struct plan_change *c = a->changes;
	size_t n = a->n_changes;
	int seen[8] = { 0 };
	int rc = 0;

	buf_init(&t->changed, 128);
	buf_init(&t->fields, 256);
	t->changes = json_object_new_array();
	if (!t->changes)
		return PV_ENOMEM;
	if (a->kind == PLAN_CREATE) {
		n = create_changes(a, created);
		c = created;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *filter = field_filter(c[i].field);
		json_object *o = json_object_new_object();

		if (!o || pjson_add_str(o, "field", sync_plan_field_name(c[i].field)) ||
		    pjson_add_str(o, "from", c[i].from) || pjson_add_str(o, "to", c[i].to) ||
		    pjson_push(t->changes, o)) {
			rc = PV_ENOMEM;
			break;
		}
		if (filter && !seen[c[i].field % 8]) {
			/* name appears once for three name fields */
			if (!strstr(buf_cstr(&t->changed), filter))
				rc = buf_printf(&t->changed, "%s%s", t->changed.len ? "," : "", filter);
		}
		if (rc == 0)
			rc = buf_printf(&t->fields, "%s%s", t->fields.len ? ", " : "",
					sync_plan_field_name(c[i].field));
	}
	if (rc == 0 && (a->kind == PLAN_DEACTIVATE || a->kind == PLAN_REACTIVATE) &&
	    !strstr(buf_cstr(&t->changed), "status"))
		rc = buf_printf(&t->changed, "%sstatus", t->changed.len ? "," : "");
	if (rc == 0 && (a->kind == PLAN_ADD_TO_TEAM || a->kind == PLAN_REMOVE_FROM_TEAM))
		rc = buf_puts(&t->changed, "team_membership");
	return rc;
}

static void row_text_release(struct row_text *t)
{
	buf_release(&t->changed);
	buf_release(&t->fields);
	json_object_put(t->changes);
	t->changes = NULL;
}

/* What applying needs later, for planned rows (held syncs). */
static json_object *payload_of(const struct sync_act *a)
{
	json_object *p = json_object_new_object(), *ch = json_object_new_array(), *pr;

	if (!p || !ch)
		goto fail;
	for (size_t i = 0; i < a->n_changes; i++) {
		json_object *o = json_object_new_object();

		if (!o || pjson_add_int(o, "f", a->changes[i].field) ||
		    pjson_add_str(o, "from", a->changes[i].from) ||
		    pjson_add_str(o, "to", a->changes[i].to) || pjson_push(ch, o))
			goto fail;
	}
	if (pjson_add_int(p, "kind", a->kind) || pjson_add_int(p, "reason", a->reason) ||
	    pjson_add_int(p, "user_id", a->user_id) || pjson_add_str(p, "email", a->user_email) ||
	    pjson_add_str(p, "name", a->user_name) || pjson_add_str(p, "slack", a->slack_user_id) ||
	    pjson_add_int(p, "team_id", a->team_id) || pjson_add_str(p, "team", a->team_name) ||
	    pjson_add_bool(p, "link", a->link) || pjson_add_str(p, "avatar_hash", a->avatar_hash) ||
	    pjson_add_str(p, "rival", a->rival) || pjson_add(p, "changes", ch))
		goto fail_p;
	if (a->kind == PLAN_CREATE) {
		pr = json_object_new_object();
		if (!pr || pjson_add_str(pr, "first_name", a->profile.first_name) ||
		    pjson_add_str(pr, "last_name", a->profile.last_name) ||
		    pjson_add_str(pr, "display_name", a->profile.display_name) ||
		    pjson_add_str(pr, "email", a->profile.email) ||
		    pjson_add_str(pr, "job_title", a->profile.job_title) ||
		    pjson_add_str(pr, "picture_url", a->profile.picture_url) ||
		    pjson_add_str(pr, "avatar_hash", a->profile.avatar_hash) ||
		    pjson_add_bool(pr, "is_guest", a->profile.is_guest) || pjson_add(p, "profile", pr))
			goto fail_p;
	}
	return p;
fail:
	json_object_put(ch);
fail_p:
	json_object_put(p);
	return NULL;
}

static const char *jstr(json_object *o, const char *key)
{
	const char *s = NULL;

	pjson_get_str(o, key, &s);
	return s;
}

static int64_t jint(json_object *o, const char *key)
{
	int64_t v = 0;

	pjson_get_int(o, key, &v);
	return v;
}

int sync_act_from_payload(json_object *p, int64_t row_id, struct sync_act *out,
			  struct plan_change *changes, size_t max_changes)
{
	json_object *ch = NULL, *pr = NULL;
	int link = 0, guest = 0;

	memset(out, 0, sizeof(*out));
	out->kind = (enum plan_kind)jint(p, "kind");
	out->reason = (enum plan_reason)jint(p, "reason");
	if (out->kind >= PLAN_KIND_COUNT || out->reason >= PLAN_REASON_COUNT)
		return PV_EINVAL;
	out->row_id = row_id;
	out->user_id = jint(p, "user_id");
	out->user_email = jstr(p, "email");
	out->user_name = jstr(p, "name");
	out->slack_user_id = jstr(p, "slack");
	out->team_id = jint(p, "team_id");
	out->team_name = jstr(p, "team");
	pjson_get_bool(p, "link", &link);
	out->link = link;
	out->avatar_hash = jstr(p, "avatar_hash");
	out->rival = jstr(p, "rival");
	if (pjson_get_array(p, "changes", &ch) == 0) {
		for (size_t i = 0; i < json_object_array_length(ch) && i < max_changes; i++) {
			json_object *c = json_object_array_get_idx(ch, i);
			int64_t f = jint(c, "f");

			if (f < 0 || f >= PLAN_FIELD_COUNT)
				return PV_EINVAL;
			changes[i] = (struct plan_change){ (enum plan_field)f, jstr(c, "from"), jstr(c, "to") };
			out->n_changes = i + 1;
		}
		out->changes = changes;
	}
	if (pjson_get_obj(p, "profile", &pr) == 0) {
		out->profile.first_name = jstr(pr, "first_name");
		out->profile.last_name = jstr(pr, "last_name");
		out->profile.display_name = jstr(pr, "display_name");
		out->profile.email = jstr(pr, "email");
		out->profile.job_title = jstr(pr, "job_title");
		out->profile.picture_url = jstr(pr, "picture_url");
		out->profile.avatar_hash = jstr(pr, "avatar_hash");
		pjson_get_bool(pr, "is_guest", &guest);
		out->profile.is_guest = guest;
	}
	return 0;
}

/* Writes (or, for a held sync's row, updates) the report row of a. */
static int row_write(struct sync_apply_ctx *ctx, const struct sync_act *a, const char *outcome,
		     int64_t user_id, int planned, const char *failure)
{
	struct sync_details_ctx dctx = { 0 };
	struct row_text t;
	struct buf details;
	json_object *payload = NULL;
	int rc;

	buf_init(&details, 1000);
	rc = row_text_build(a, &t);
	dctx.team_name = a->team_name;
	dctx.rival = a->rival;
	dctx.fields = buf_cstr(&t.fields);
	dctx.invited = ctx->invites && !planned;
	dctx.planned = planned;
	dctx.failure = failure;
	if (rc == 0)
		rc = sync_details(a->kind, a->reason, &dctx, &details);
	if (rc == PV_ETOOBIG)
		rc = 0;  /* a long sentence is cut, not fatal */
	if (rc == 0 && planned) {
		payload = payload_of(a);
		if (!payload)
			rc = PV_ENOMEM;
	}
	if (rc == 0 && a->row_id)
		rc = db_exec(ctx->db, "UPDATE provisioning_sync_actions SET outcome = ?, user_id = ?,"
			     " details = ? WHERE id = ? AND sync_id = ?",
			     DB_ARGS(DB_STR(outcome), user_id ? DB_INT(user_id) : DB_NULL(),
				     DB_STR(buf_cstr(&details)), DB_INT(a->row_id), DB_INT(ctx->sync_id)), NULL);
	else if (rc == 0)
		rc = db_exec(ctx->db, "INSERT INTO provisioning_sync_actions (sync_id, organization_id,"
			     " action, reason, outcome, changed, user_id, user_email, user_name, slack_user_id,"
			     " team_id, team_name, changes_json, payload_json, details)"
			     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			     DB_ARGS(DB_INT(ctx->sync_id), DB_INT(ctx->org),
				     DB_STR(sync_plan_kind_name(a->kind)),
				     DB_STR(sync_plan_reason_name(a->reason)), DB_STR(outcome),
				     DB_STR(buf_cstr(&t.changed)),
				     user_id ? DB_INT(user_id) : DB_NULL(), DB_STR(a->user_email),
				     DB_STR(a->user_name), DB_STR(a->slack_user_id),
				     a->team_id ? DB_INT(a->team_id) : DB_NULL(), DB_STR(a->team_name),
				     DB_STR(pjson_text(t.changes, NULL)),
				     DB_STR(payload ? pjson_text(payload, NULL) : NULL),
				     DB_STR(buf_cstr(&details))), NULL);
	json_object_put(payload);
	row_text_release(&t);
	buf_release(&details);
	return rc;
}

static int find_linked(struct sync_apply_ctx *ctx, const char *slack_id, int64_t *id)
{
	long long v = 0;
	int rc;

	if (!slack_id)
		return PV_ENOTFOUND;
	rc = db_query_int(ctx->db, &v, "SELECT id FROM users WHERE organization_id = ?"
			  " AND slack_workspace_id = ? AND slack_user_id = ?",
			  DB_ARGS(DB_INT(ctx->org), DB_STR(ctx->workspace_id), DB_STR(slack_id)));
	*id = v;
	return rc;
}

/* Sets the changed columns (and the link, and the status of a
 * (re)activation) of one user. */
static int apply_update(struct sync_apply_ctx *ctx, const struct sync_act *a, uint64_t *changed)
{
	struct db_param p[PLAN_FIELD_COUNT + 8];
	char guest[2][2] = { "0", "1" };
	struct buf sql;
	size_t np = 0;
	int rc;

	buf_init(&sql, 2048);
	rc = buf_puts(&sql, "UPDATE users SET updated_at = NOW()");
	for (size_t i = 0; rc == 0 && i < a->n_changes; i++) {
		const struct plan_change *c = &a->changes[i];

		if (c->field == PLAN_F_STATUS)
			continue;  /* the kind decides the status below */
		rc = buf_printf(&sql, ", %s = ?", field_column[c->field]);
		if (c->field == PLAN_F_IS_GUEST)
			p[np++] = DB_STR(guest[c->to && strcmp(c->to, "true") == 0]);
		else
			p[np++] = DB_STR(c->to);
		if (rc == 0 && c->field == PLAN_F_PICTURE) {
			rc = buf_puts(&sql, ", avatar_hash = ?");
			p[np++] = DB_STR(a->avatar_hash);
		}
	}
	if (rc == 0 && a->link) {
		rc = buf_puts(&sql, ", slack_workspace_id = ?, slack_user_id = ?, provisioned = 1");
		p[np++] = DB_STR(ctx->workspace_id);
		p[np++] = DB_STR(a->slack_user_id);
	}
	if (rc == 0 && a->kind == PLAN_REACTIVATE)
		rc = buf_puts(&sql, ", status = 'active', deactivated_at = NULL, deactivated_by = NULL");
	if (rc == 0)
		rc = buf_puts(&sql, " WHERE organization_id = ? AND id = ?");
	p[np++] = DB_INT(ctx->org);
	p[np++] = DB_INT(a->user_id);
	/* Re-checked against the directory as it is now (an approved held
	 * plan may be hours old): a reactivation needs a deactivated user. */
	if (rc == 0 && a->kind == PLAN_REACTIVATE)
		rc = buf_puts(&sql, " AND status = 'deactivated'");
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, np, changed);
	buf_release(&sql);
	return rc;
}

/* Applies one action; *outcome and *user_id say what happened. */
static int apply_one(struct sync_apply_ctx *ctx, const struct sync_act *a, const char **outcome,
		     int64_t *user_id, const char **failure)
{
	uint64_t n = 1;
	int rc = 0;

	*outcome = "succeeded";
	*user_id = a->user_id;
	*failure = NULL;
	switch (a->kind) {
	case PLAN_SKIP:
		*outcome = "skipped";
		return 0;
	case PLAN_CREATE:
		rc = db_exec(ctx->db, "INSERT INTO users (organization_id, email, first_name, last_name,"
			     " display_name, job_title, picture_url, avatar_hash, is_guest, source,"
			     " provisioned, slack_workspace_id, slack_user_id)"
			     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'slack', 1, ?, ?)",
			     DB_ARGS(DB_INT(ctx->org), DB_STR(a->profile.email),
				     DB_STR(a->profile.first_name), DB_STR(a->profile.last_name),
				     DB_STR(a->profile.display_name), DB_STR(a->profile.job_title),
				     DB_STR(a->profile.picture_url), DB_STR(a->profile.avatar_hash),
				     DB_INT(a->profile.is_guest ? 1 : 0), DB_STR(ctx->workspace_id),
				     DB_STR(a->slack_user_id)), NULL);
		if (rc == PV_ECONFLICT)
			*failure = "another account already has this e-mail address or this Slack member.";
		if (rc < 0)
			return rc;
		*user_id = (int64_t)db_insert_id(ctx->db);
		if (ctx->invites)
			rc = db_exec(ctx->db, "INSERT INTO invitation_outbox (organization_id, user_id, email)"
				     " VALUES (?, ?, ?)", DB_ARGS(DB_INT(ctx->org), DB_INT(*user_id),
				     DB_STR(a->profile.email)), NULL);
		return rc;
	case PLAN_UPDATE:
	case PLAN_REACTIVATE:
		rc = apply_update(ctx, a, &n);
		if (rc == PV_ECONFLICT)
			*failure = "the new e-mail address is already used by another account.";
		if (rc == 0 && n == 0 && a->kind == PLAN_REACTIVATE)
			*outcome = "skipped";  /* reactivated meanwhile by someone */
		return rc;
	case PLAN_DEACTIVATE:
		rc = db_exec(ctx->db, "UPDATE users SET status = 'deactivated', deactivated_at = NOW(),"
			     " deactivated_by = 'sync' WHERE organization_id = ? AND id = ?"
			     " AND status = 'active' AND provisioned = 1",
			     DB_ARGS(DB_INT(ctx->org), DB_INT(a->user_id)), &n);
		if (rc == 0 && n == 0)
			*outcome = "skipped";  /* already deactivated, or no longer ours */
		if (rc == 0 && n)
			rc = db_exec(ctx->db, "DELETE FROM sessions WHERE organization_id = ? AND user_id = ?",
				     DB_ARGS(DB_INT(ctx->org), DB_INT(a->user_id)), NULL);
		return rc;
	case PLAN_ADD_TO_TEAM:
		if (!*user_id && find_linked(ctx, a->slack_user_id, user_id) < 0) {
			*failure = "the account of this person could not be created, so it cannot join the team.";
			return PV_ENOTFOUND;
		}
		rc = db_exec(ctx->db, "INSERT IGNORE INTO team_memberships (organization_id, team_id,"
			     " user_id, source) SELECT ?, t.id, ?, 'provisioning' FROM teams t"
			     " WHERE t.organization_id = ? AND t.id = ?",
			     DB_ARGS(DB_INT(ctx->org), DB_INT(*user_id), DB_INT(ctx->org),
				     DB_INT(a->team_id)), &n);
		if (rc == 0 && n == 0)
			*outcome = "skipped";  /* a member already, or the team is gone */
		return rc;
	case PLAN_REMOVE_FROM_TEAM:
		rc = db_exec(ctx->db, "DELETE FROM team_memberships WHERE organization_id = ?"
			     " AND team_id = ? AND user_id = ? AND source = 'provisioning'",
			     DB_ARGS(DB_INT(ctx->org), DB_INT(a->team_id), DB_INT(a->user_id)), &n);
		if (rc == 0 && n == 0)
			*outcome = "skipped";
		return rc;
	case PLAN_KIND_COUNT:
		break;
	}
	return PV_EINVAL;
}

/* A failure that stops the whole run rather than one action. */
static int fatal(int rc)
{
	return rc == PV_EDBDOWN || rc == PV_ENOMEM;
}

static int apply_range(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t from, size_t to)
{
	const char *outcome, *failure;
	int64_t user_id;
	int rc;

	rc = db_begin(ctx->db);
	if (rc < 0)
		return rc;
	for (size_t i = from; i < to && rc == 0; i++) {
		rc = apply_one(ctx, &acts[i], &outcome, &user_id, &failure);
		if (rc == 0)
			rc = row_write(ctx, &acts[i], outcome, user_id, 0, NULL);
	}
	if (rc == 0)
		rc = db_commit(ctx->db);
	if (rc < 0)
		db_rollback(ctx->db);
	return rc;
}

/* One action alone; its failure becomes a failed row. */
static int apply_alone(struct sync_apply_ctx *ctx, struct sync_act *a)
{
	const char *outcome, *failure = NULL;
	int64_t user_id = 0;
	int rc;

	rc = db_begin(ctx->db);
	if (rc == 0)
		rc = apply_one(ctx, a, &outcome, &user_id, &failure);
	if (rc == 0)
		rc = row_write(ctx, a, outcome, user_id, 0, NULL);
	if (rc == 0)
		rc = db_commit(ctx->db);
	if (rc == 0)
		return 0;
	db_rollback(ctx->db);
	if (fatal(rc))
		return rc;
	log_warn("sync %lld: action %s of %s failed: %s (%s)", (long long)ctx->sync_id,
		 sync_plan_kind_name(a->kind), a->slack_user_id ? a->slack_user_id : "-",
		 pv_strerror(rc), db_last_error(ctx->db));
	ctx->failed++;
	rc = db_begin(ctx->db);
	if (rc == 0)
		rc = row_write(ctx, a, "failed", a->user_id, 0,
			       failure ? failure : "the directory refused the change.");
	if (rc == 0)
		rc = db_commit(ctx->db);
	if (rc < 0)
		db_rollback(ctx->db);
	return rc;
}

int sync_apply(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n)
{
	size_t batch = ctx->batch ? ctx->batch : 200;
	int rc = 0;

	for (size_t from = 0; from < n && rc == 0; from += batch) {
		size_t to = from + batch < n ? from + batch : n;

		rc = apply_range(ctx, acts, from, to);
		if (rc < 0 && !fatal(rc)) {
			rc = 0;
			for (size_t i = from; i < to && rc == 0; i++)
				rc = apply_alone(ctx, &acts[i]);
		}
		if (rc == 0 && ctx->between)
			rc = ctx->between(ctx->arg);
	}
	return rc;
}

int sync_apply_plan_only(struct sync_apply_ctx *ctx, const struct sync_act *acts, size_t n)
{
	size_t batch = ctx->batch ? ctx->batch : 200;
	int rc = 0;

	for (size_t from = 0; from < n && rc == 0; from += batch) {
		size_t to = from + batch < n ? from + batch : n;

		rc = db_begin(ctx->db);
		for (size_t i = from; i < to && rc == 0; i++)
			rc = row_write(ctx, &acts[i], acts[i].kind == PLAN_SKIP ? "skipped" : "planned",
				       acts[i].user_id, acts[i].kind != PLAN_SKIP, NULL);
		if (rc == 0)
			rc = db_commit(ctx->db);
		if (rc < 0)
			db_rollback(ctx->db);
		if (rc == 0 && ctx->between)
			rc = ctx->between(ctx->arg);
	}
	return rc;
}
