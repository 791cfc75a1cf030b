#include "sync/sync_apply.h"
#include "core/buf.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "sync/sync_details.h"

#include <pthread.h>
#include <stdatomic.h>
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
		out->user_name = a->slack->full_name ? a->slack->full_name : a->slack->handle;
	}
	out->team_id = a->team ? a->team->id : 0;
	out->team_name = a->team ? a->team->name : NULL;
	out->link = a->link;
	out->profile = a->profile;
	out->changes = a->changes;
	out->n_changes = a->n_changes;
	out->avatar_hash = a->picture_key;
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
		/* "name" stands once for the three name fields. */
		if (filter && !strstr(buf_cstr(&t->changed), filter))
			rc = buf_printf(&t->changed, "%s%s", t->changed.len ? "," : "", filter);
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

/* What applying needs later, for planned rows (held syncs).  Kinds,
 * reasons and fields are stored by name, never by enum ordinal: a value
 * added in the middle of an enum must not re-label stored syncs (sql/005
 * rewrote the ones stored before).  Every add hands its value over, even
 * when it fails (pjson.h), so one put of p frees everything. */
static json_object *payload_of(const struct sync_act *a)
{
	json_object *p = json_object_new_object(), *ch = json_object_new_array(), *pr;

	if (!p || !ch) {
		json_object_put(ch);
		goto fail;
	}
	if (pjson_add(p, "changes", ch))
		goto fail;
	for (size_t i = 0; i < a->n_changes; i++) {
		json_object *o = json_object_new_object();

		if (!o || pjson_push(ch, o) ||
		    pjson_add_str(o, "f", sync_plan_field_name(a->changes[i].field)) ||
		    pjson_add_str(o, "from", a->changes[i].from) ||
		    pjson_add_str(o, "to", a->changes[i].to))
			goto fail;
	}
	if (pjson_add_str(p, "kind", sync_plan_kind_name(a->kind)) ||
	    pjson_add_str(p, "reason", sync_plan_reason_name(a->reason)) ||
	    pjson_add_int(p, "user_id", a->user_id) || pjson_add_str(p, "email", a->user_email) ||
	    pjson_add_str(p, "name", a->user_name) || pjson_add_str(p, "slack", a->slack_user_id) ||
	    pjson_add_int(p, "team_id", a->team_id) || pjson_add_str(p, "team", a->team_name) ||
	    pjson_add_bool(p, "link", a->link) || pjson_add_str(p, "avatar_hash", a->avatar_hash) ||
	    pjson_add_str(p, "rival", a->rival))
		goto fail;
	if (a->kind == PLAN_CREATE) {
		pr = json_object_new_object();
		if (!pr || pjson_add(p, "profile", pr) ||
		    pjson_add_str(pr, "first_name", a->profile.first_name) ||
		    pjson_add_str(pr, "last_name", a->profile.last_name) ||
		    pjson_add_str(pr, "display_name", a->profile.display_name) ||
		    pjson_add_str(pr, "email", a->profile.email) ||
		    pjson_add_str(pr, "job_title", a->profile.job_title) ||
		    pjson_add_str(pr, "picture_url", a->profile.picture_url) ||
		    pjson_add_str(pr, "avatar_hash", a->profile.picture_key) ||
		    pjson_add_bool(pr, "is_guest", a->profile.is_guest))
			goto fail;
	}
	return p;
fail:
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
	if (sync_plan_kind_of(jstr(p, "kind"), &out->kind) < 0 ||
	    sync_plan_reason_of(jstr(p, "reason"), &out->reason) < 0)
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
		size_t n = json_object_array_length(ch);

		/* One change per field at most: more is not a payload we wrote. */
		if (n > max_changes)
			return PV_EINVAL;
		for (size_t i = 0; i < n; i++) {
			json_object *c = json_object_array_get_idx(ch, i);
			enum plan_field f;

			if (sync_plan_field_of(jstr(c, "f"), &f) < 0)
				return PV_EINVAL;
			changes[i] = (struct plan_change){ f, jstr(c, "from"), jstr(c, "to") };
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
		out->profile.picture_key = jstr(pr, "avatar_hash");
		pjson_get_bool(pr, "is_guest", &guest);
		out->profile.is_guest = guest;
	}
	return 0;
}

/* A report row, ready to write: text computed, values borrowed from the
 * act or owned here. */
struct row {
	const struct sync_act *a;
	const char *outcome;
	int64_t user_id;
	struct row_text t;
	struct buf details;
	json_object *payload;   /* planned rows only */
	/* Values longer than their report column, cut (owned); NULL when the
	 * act's own value fits.  A report row must never fail over the very
	 * value that made its action fail. */
	char *email, *name, *slack, *team;
};

#define ROW_PARAMS 15

static void row_release(struct row *r)
{
	free(r->email);
	free(r->name);
	free(r->slack);
	free(r->team);
	row_text_release(&r->t);
	buf_release(&r->details);
	json_object_put(r->payload);
	r->payload = NULL;
}

/* A copy of s cut to max characters (UTF-8), or NULL when s fits (or on
 * ENOMEM, *rc then set). */
static char *cut(const char *s, size_t max, int *rc)
{
	size_t chars = 0, i = 0;
	char *c;

	if (!s)
		return NULL;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && ++chars > max)
			break;
	}
	if (!s[i])
		return NULL;
	c = strndup(s, i);
	if (!c)
		*rc = PV_ENOMEM;
	return c;
}

static int row_fill(struct sync_apply_ctx *ctx, struct row *r, const struct sync_act *a,
		    const char *outcome, int64_t user_id, int planned, const char *failure)
{
	struct sync_details_ctx dctx = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	r->a = a;
	r->outcome = outcome;
	r->user_id = user_id;
	buf_init(&r->details, 1000);
	rc = row_text_build(a, &r->t);
	dctx.team_name = a->team_name;
	dctx.rival = a->rival;
	dctx.fields = buf_cstr(&r->t.fields);
	dctx.invited = ctx->invites && !planned;
	dctx.planned = planned;
	dctx.failure = failure;
	if (rc == 0)
		rc = sync_details(a->kind, a->reason, &dctx, &r->details);
	if (rc == PV_ETOOBIG)
		rc = 0;  /* a long sentence is cut, not fatal */
	if (rc == 0 && planned) {
		r->payload = payload_of(a);
		if (!r->payload)
			rc = PV_ENOMEM;
	}
	/* The widths of sql/003's report columns. */
	r->email = cut(a->user_email, 254, &rc);
	r->name = cut(a->user_name, 200, &rc);
	r->slack = cut(a->slack_user_id, 32, &rc);
	r->team = cut(a->team_name, 200, &rc);
	return rc;
}

static void row_params(struct sync_apply_ctx *ctx, const struct row *r, struct db_param *p)
{
	const struct sync_act *a = r->a;
	size_t i = 0;

	p[i++] = DB_INT(ctx->sync_id);
	p[i++] = DB_INT(ctx->org);
	p[i++] = DB_STR(sync_plan_kind_name(a->kind));
	p[i++] = DB_STR(sync_plan_reason_name(a->reason));
	p[i++] = DB_STR(r->outcome);
	p[i++] = DB_STR(buf_cstr(&r->t.changed));
	p[i++] = r->user_id ? DB_INT(r->user_id) : DB_NULL();
	p[i++] = DB_STR(r->email ? r->email : a->user_email);
	p[i++] = DB_STR(r->name ? r->name : a->user_name);
	p[i++] = DB_STR(r->slack ? r->slack : a->slack_user_id);
	p[i++] = a->team_id ? DB_INT(a->team_id) : DB_NULL();
	p[i++] = DB_STR(r->team ? r->team : a->team_name);
	p[i++] = DB_STR(pjson_text(r->t.changes, NULL));
	p[i++] = DB_STR(r->payload ? pjson_text(r->payload, NULL) : NULL);
	p[i++] = DB_STR(buf_cstr(&r->details));
}

/* "INSERT INTO table (cols) VALUES (row)" with n copies of row; the text
 * depends on n only, so the statement cache serves every full batch. */
static int multi_insert_sql(struct buf *sql, const char *head, const char *row, size_t n)
{
	int rc = buf_puts(sql, head);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = buf_printf(sql, "%s%s", i ? ", " : "", row);
	return rc;
}

/* Writes rows in one multi-row INSERT (rows of an approved held sync are
 * updated one by one instead: they exist already). */
static int rows_write(struct sync_apply_ctx *ctx, struct row *rows, size_t n)
{
	struct db_param *p = NULL;
	struct buf sql;
	size_t ins = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!rows[i].a->row_id)
			continue;
		rc = db_exec(ctx->db, "UPDATE provisioning_sync_actions SET outcome = ?, user_id = ?,"
			     " details = ? WHERE id = ? AND sync_id = ?",
			     DB_ARGS(DB_STR(rows[i].outcome),
				     rows[i].user_id ? DB_INT(rows[i].user_id) : DB_NULL(),
				     DB_STR(buf_cstr(&rows[i].details)), DB_INT(rows[i].a->row_id),
				     DB_INT(ctx->sync_id)), NULL);
	}
	for (size_t i = 0; i < n; i++)
		ins += !rows[i].a->row_id;
	if (rc < 0 || ins == 0)
		return rc;
	buf_init(&sql, 1 << 20);
	p = calloc(ins * ROW_PARAMS, sizeof(*p));
	if (!p)
		rc = PV_ENOMEM;
	if (rc == 0)
		rc = multi_insert_sql(&sql, "INSERT INTO provisioning_sync_actions (sync_id, organization_id,"
				      " action, reason, outcome, changed, user_id, user_email, user_name,"
				      " slack_user_id, team_id, team_name, changes_json, payload_json, details)"
				      " VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ins);
	for (size_t i = 0, k = 0; rc == 0 && i < n; i++)
		if (!rows[i].a->row_id)
			row_params(ctx, &rows[i], p + ROW_PARAMS * k++);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, ins * ROW_PARAMS, NULL);
	free(p);
	buf_release(&sql);
	return rc;
}

/* Writes (or, for a held sync's row, updates) the report row of a. */
static int row_write(struct sync_apply_ctx *ctx, const struct sync_act *a, const char *outcome,
		     int64_t user_id, int planned, const char *failure)
{
	struct row r;
	int rc = row_fill(ctx, &r, a, outcome, user_id, planned, failure);

	if (rc == 0)
		rc = rows_write(ctx, &r, 1);
	row_release(&r);
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

#define TOO_LONG "a value from Slack (an e-mail address, a name or a job title) is longer than" \
	" the directory accepts; shorten it in the Slack profile."

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
				     DB_STR(a->profile.picture_url), DB_STR(a->profile.picture_key),
				     DB_INT(a->profile.is_guest ? 1 : 0), DB_STR(ctx->workspace_id),
				     DB_STR(a->slack_user_id)), NULL);
		if (rc == PV_ECONFLICT)
			*failure = "another account already has this e-mail address or this Slack member.";
		else if (rc == PV_EINVAL)
			*failure = TOO_LONG;
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
		else if (rc == PV_EINVAL)
			*failure = TOO_LONG;
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

#define USER_PARAMS 11

/* Finds, among the creates of acts[from..to), the one for slack_id; start
 * is where it is expected (ids come back in the order of the INSERT). */
static size_t find_create(const struct sync_act *acts, size_t from, size_t to, size_t start,
			  const char *slack_id)
{
	for (size_t k = 0; k < to - from; k++) {
		size_t i = from + (start - from + k) % (to - from);

		if (acts[i].kind == PLAN_CREATE && acts[i].slack_user_id &&
		    strcmp(acts[i].slack_user_id, slack_id) == 0)
			return i;
	}
	return to;
}

/* The creates of a batch as one multi-row INSERT (and their invitations as
 * another); ids[i - from] gets each new user's id. */
static int insert_creates(struct sync_apply_ctx *ctx, const struct sync_act *acts, size_t from,
			  size_t to, int64_t *ids)
{
	struct db_rows *r = NULL;
	struct db_param *p = NULL;
	struct buf sql;
	size_t n = 0, k = 0, found = 0, next;
	int64_t first;
	int rc = 0;

	for (size_t i = from; i < to; i++)
		n += acts[i].kind == PLAN_CREATE;
	if (n == 0)
		return 0;
	buf_init(&sql, 1 << 20);
	p = calloc(n * USER_PARAMS, sizeof(*p));
	if (!p) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = from; i < to; i++) {
		const struct plan_profile *pr = &acts[i].profile;
		struct db_param *q = p + USER_PARAMS * k;

		if (acts[i].kind != PLAN_CREATE)
			continue;
		q[0] = DB_INT(ctx->org);
		q[1] = DB_STR(pr->email);
		q[2] = DB_STR(pr->first_name);
		q[3] = DB_STR(pr->last_name);
		q[4] = DB_STR(pr->display_name);
		q[5] = DB_STR(pr->job_title);
		q[6] = DB_STR(pr->picture_url);
		q[7] = DB_STR(pr->picture_key);
		q[8] = DB_INT(pr->is_guest ? 1 : 0);
		q[9] = DB_STR(ctx->workspace_id);
		q[10] = DB_STR(acts[i].slack_user_id);
		k++;
	}
	rc = multi_insert_sql(&sql, "INSERT INTO users (organization_id, email, first_name, last_name,"
			      " display_name, job_title, picture_url, avatar_hash, is_guest, source,"
			      " provisioned, slack_workspace_id, slack_user_id) VALUES ",
			      "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'slack', 1, ?, ?)", n);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, n * USER_PARAMS, NULL);
	if (rc < 0)
		goto out;
	/* The ids are read back rather than assumed consecutive, which
	 * depends on innodb_autoinc_lock_mode.  Rows of this workspace with
	 * an id from the first one on can only be ours: this worker holds the
	 * organization's one sync lease. */
	first = (int64_t)db_insert_id(ctx->db);
	rc = db_query(ctx->db, &r, "SELECT id, slack_user_id FROM users WHERE organization_id = ?"
		      " AND slack_workspace_id = ? AND id >= ? ORDER BY id",
		      DB_ARGS(DB_INT(ctx->org), DB_STR(ctx->workspace_id), DB_INT(first)));
	next = from;
	while (rc == 0 && (rc = db_rows_next(r)) == 1) {
		size_t i = find_create(acts, from, to, next, db_rows_str(r, 1));

		rc = 0;
		if (i == to || ids[i - from])
			continue;
		ids[i - from] = db_rows_int(r, 0);
		found++;
		next = i + 1 < to ? i + 1 : from;
	}
	if (rc == 0 && found != n) {
		log_error("sync %lld: %zu users inserted but %zu found again", (long long)ctx->sync_id,
			  n, found);
		rc = PV_EDB;
	}
	if (rc < 0 || !ctx->invites)
		goto out;
	buf_reset(&sql);
	k = 0;
	for (size_t i = from; i < to; i++) {
		if (acts[i].kind != PLAN_CREATE)
			continue;
		p[3 * k] = DB_INT(ctx->org);
		p[3 * k + 1] = DB_INT(ids[i - from]);
		p[3 * k + 2] = DB_STR(acts[i].profile.email);
		k++;
	}
	rc = multi_insert_sql(&sql, "INSERT INTO invitation_outbox (organization_id, user_id, email)"
			      " VALUES ", "(?, ?, ?)", n);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, 3 * n, NULL);
out:
	db_rows_free(r);
	free(p);
	buf_release(&sql);
	return rc;
}

/* A batch in one transaction: the creates in one INSERT, the other actions
 * one by one in plan order, then every report row in one INSERT. */
static int apply_range(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t from, size_t to)
{
	const char *failure;
	struct row *rows = calloc(to - from, sizeof(*rows));
	int64_t *ids = calloc(to - from, sizeof(*ids));
	size_t filled = 0;
	int rc;

	if (!rows || !ids) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = db_begin(ctx->db);
	if (rc == 0)
		rc = insert_creates(ctx, acts, from, to, ids);
	for (size_t i = from; i < to && rc == 0; i++) {
		const char *outcome = "succeeded";
		int64_t user_id = ids[i - from];

		if (acts[i].kind != PLAN_CREATE)
			rc = apply_one(ctx, &acts[i], &outcome, &user_id, &failure);
		if (rc == 0)
			rc = row_fill(ctx, &rows[i - from], &acts[i], outcome, user_id, 0, NULL);
		filled = i - from + 1;
	}
	if (rc == 0)
		rc = rows_write(ctx, rows, to - from);
	if (rc == 0)
		rc = db_commit(ctx->db);
	if (rc < 0)
		db_rollback(ctx->db);
out:
	for (size_t i = 0; i < filled; i++)
		row_release(&rows[i]);
	free(rows);
	free(ids);
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

/* Applies one batch, replaying it one action at a time when it fails. */
static int apply_batch(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t from, size_t to)
{
	int rc = apply_range(ctx, acts, from, to);

	if (rc < 0 && !fatal(rc)) {
		rc = 0;
		for (size_t i = from; i < to && rc == 0; i++)
			rc = apply_alone(ctx, &acts[i]);
	}
	return rc;
}

struct writer {
	struct sync_apply_ctx ctx;  /* its own connection; between only on the first */
	struct sync_act *acts;
	size_t n, batch;
	size_t first;               /* batch index it starts with; it takes every other */
	atomic_int *stop;           /* set by the writer that fails */
	int rc;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;

	for (size_t b = w->first; b * w->batch < w->n && !atomic_load(w->stop); b += 2) {
		size_t from = b * w->batch, to = from + w->batch < w->n ? from + w->batch : w->n;

		w->rc = apply_batch(&w->ctx, w->acts, from, to);
		if (w->rc == 0 && w->ctx.between)
			w->rc = w->ctx.between(w->ctx.arg);
		if (w->rc < 0) {
			atomic_store(w->stop, 1);
			break;
		}
	}
	return NULL;
}

/* acts[0..n) are creates and skips only: two writers, alternate batches. */
static int apply_two_writers(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n,
			     size_t batch)
{
	atomic_int stop = 0;
	struct writer w[2];
	pthread_t helper;
	int rc;

	for (int i = 0; i < 2; i++) {
		w[i] = (struct writer){ .ctx = *ctx, .acts = acts, .n = n, .batch = batch,
					.first = (size_t)i, .stop = &stop };
		w[i].ctx.failed = 0;
	}
	w[1].ctx.db = ctx->helper_db;
	w[1].ctx.between = NULL;  /* the lease is renewed by the first writer */
	if (pthread_create(&helper, NULL, writer_run, &w[1]) != 0) {
		log_warn("sync %lld: no second writer thread; writing alone", (long long)ctx->sync_id);
		return 1;  /* the caller writes everything itself */
	}
	writer_run(&w[0]);
	pthread_join(helper, NULL);
	ctx->failed += w[0].ctx.failed + w[1].ctx.failed;
	rc = w[0].rc < 0 ? w[0].rc : w[1].rc;
	return rc;
}

int sync_apply(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n)
{
	size_t batch = ctx->batch ? ctx->batch : 200;
	size_t start = 0, lead = 0;
	int rc = 0;

	while (lead < n && !acts[lead].row_id &&
	       (acts[lead].kind == PLAN_CREATE || acts[lead].kind == PLAN_SKIP))
		lead++;
	if (ctx->helper_db && lead >= 2 * batch) {
		rc = apply_two_writers(ctx, acts, lead, batch);
		if (rc < 0)
			return rc;
		start = rc == 0 ? lead : 0;
		rc = 0;
	}
	for (size_t from = start; from < n && rc == 0; from += batch) {
		size_t to = from + batch < n ? from + batch : n;

		rc = apply_batch(ctx, acts, from, to);
		if (rc == 0 && ctx->between)
			rc = ctx->between(ctx->arg);
	}
	return rc;
}

int sync_apply_plan_only(struct sync_apply_ctx *ctx, const struct sync_act *acts, size_t n)
{
	size_t batch = ctx->batch ? ctx->batch : 200;
	struct row *rows = calloc(batch, sizeof(*rows));
	int rc = rows ? 0 : PV_ENOMEM;

	for (size_t from = 0; from < n && rc == 0; from += batch) {
		size_t to = from + batch < n ? from + batch : n, filled = 0;

		for (size_t i = from; i < to && rc == 0; i++, filled++)
			rc = row_fill(ctx, &rows[i - from], &acts[i],
				      acts[i].kind == PLAN_SKIP ? "skipped" : "planned", acts[i].user_id,
				      acts[i].kind != PLAN_SKIP, NULL);
		if (rc == 0)
			rc = db_begin(ctx->db);
		if (rc == 0)
			rc = rows_write(ctx, rows, to - from);
		if (rc == 0)
			rc = db_commit(ctx->db);
		if (rc < 0)
			db_rollback(ctx->db);
		for (size_t i = 0; i < filled; i++)
			row_release(&rows[i]);
		if (rc == 0 && ctx->between)
			rc = ctx->between(ctx->arg);
	}
	free(rows);
	return rc;
}
