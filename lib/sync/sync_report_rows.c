/*
 * sync_report_rows.c - planned and applied actions into report rows
 * (contract in sync_report_rows.h).
 */
#include "sync/sync_report_rows.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/pjson.h"
#include "db/db.h"
#include "sync/sync_details.h"

#include <stdlib.h>
#include <string.h>

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

/* A field in the words of the Details sentence ("Updated from Slack: job
 * title."): the administrator reads these, never the field keys. */
static const char *field_words(enum plan_field f)
{
	switch (f) {
	case PLAN_F_FIRST_NAME:
		return "first name";
	case PLAN_F_LAST_NAME:
		return "last name";
	case PLAN_F_DISPLAY_NAME:
		return "display name";
	case PLAN_F_EMAIL:
		return "e-mail address";
	case PLAN_F_PICTURE:
		return "picture";
	case PLAN_F_JOB_TITLE:
		return "job title";
	case PLAN_F_IS_GUEST:
		return "guest status";
	case PLAN_F_STATUS:
		return "status";
	default:
		return "profile";
	}
}

/* A new picture the applier could not store: left out of the row's
 * changes (nothing changed), said in the Details.  A planned row has no
 * picture yet (nothing is fetched before it is applied). */
static int picture_failed(const struct sync_act *a)
{
	return a->picture && !a->picture->stored;
}

/* The value a row shows for a new picture: the product's copy once stored,
 * the provider's URL in a planned row. */
static const char *picture_to(const struct sync_act *a, const char *source)
{
	return a->picture && a->picture->stored ? a->picture->url : source;
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
	if (a->profile.picture_url && !picture_failed(a))
		c[n++] = (struct plan_change){ PLAN_F_PICTURE, NULL, picture_to(a, a->profile.picture_url) };
	if (a->profile.is_guest)
		c[n++] = (struct plan_change){ PLAN_F_IS_GUEST, "false", "true" };
	return n;
}

static int row_text_build(const struct sync_act *a, struct sync_report_text *t)
{
	struct plan_change created[PLAN_FIELD_COUNT];  /* at most 7 */
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
		int pic = c[i].field == PLAN_F_PICTURE && c[i].to && a->kind != PLAN_CREATE;
		json_object *o;

		if (pic && picture_failed(a))
			continue;
		/* Pushed first: t->changes owns it, even if filling it fails. */
		o = json_object_new_object();
		if (!o || pjson_push(t->changes, o) ||
		    pjson_add_str(o, "field", sync_plan_field_name(c[i].field)) ||
		    pjson_add_str(o, "from", c[i].from) ||
		    pjson_add_str(o, "to", pic ? picture_to(a, c[i].to) : c[i].to)) {
			rc = PV_ENOMEM;
			break;
		}
		/* "name" stands once for the three name fields. */
		if (filter && !strstr(buf_cstr(&t->changed), filter))
			rc = buf_printf(&t->changed, "%s%s", t->changed.len ? "," : "", filter);
		if (rc == 0)
			rc = buf_printf(&t->fields, "%s%s", t->fields.len ? ", " : "",
					field_words(c[i].field));
	}
	/* A team change is the change of one field, the team (SPEC §4.2):
	 * from nothing to the team, or from the team to nothing.  A team
	 * addition skipped for want of an account changed nothing. */
	if (a->reason == PLAN_R_ACCOUNT_NOT_CREATED)
		return rc;
	if (rc == 0 && (a->kind == PLAN_ADD_TO_TEAM || a->kind == PLAN_REMOVE_FROM_TEAM)) {
		json_object *o = json_object_new_object();
		int add = a->kind == PLAN_ADD_TO_TEAM;

		if (!o || pjson_push(t->changes, o) || pjson_add_str(o, "field", "team") ||
		    pjson_add_str(o, "from", add ? NULL : a->team_name) ||
		    pjson_add_str(o, "to", add ? a->team_name : NULL))
			rc = PV_ENOMEM;
	}
	if (rc == 0 && (a->kind == PLAN_DEACTIVATE || a->kind == PLAN_REACTIVATE) &&
	    !strstr(buf_cstr(&t->changed), "status"))
		rc = buf_printf(&t->changed, "%sstatus", t->changed.len ? "," : "");
	if (rc == 0 && (a->kind == PLAN_ADD_TO_TEAM || a->kind == PLAN_REMOVE_FROM_TEAM))
		rc = buf_puts(&t->changed, "team_membership");
	return rc;
}

static void row_text_release(struct sync_report_text *t)
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
	/* The fields cut to fit, by name, so the approved row's Details still
	 * say so (absent when none was: older payloads read the same). */
	if (a->shortened) {
		json_object *cut = json_object_new_array();

		if (!cut || pjson_add(p, "shortened", cut))
			goto fail;
		for (unsigned f = 0; f < PLAN_FIELD_COUNT; f++) {
			json_object *name;

			if (!(a->shortened & PLAN_SHORTENED(f)))
				continue;
			name = json_object_new_string(sync_plan_field_name((enum plan_field)f));
			if (!name || pjson_push(cut, name))
				goto fail;
		}
	}
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
	json_object *ch = NULL, *pr = NULL, *cut = NULL;
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
	if (pjson_get_array(p, "shortened", &cut) == 0) {
		for (size_t i = 0; i < json_object_array_length(cut); i++) {
			json_object *f = json_object_array_get_idx(cut, i);
			enum plan_field field;

			if (!json_object_is_type(f, json_type_string) ||
			    sync_plan_field_of(json_object_get_string(f), &field) < 0)
				return PV_EINVAL;
			out->shortened |= PLAN_SHORTENED(field);
		}
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

void sync_report_row_release(struct sync_report_row *r)
{
	free(r->email);
	free(r->name);
	free(r->slack);
	free(r->team);
	row_text_release(&r->t);
	buf_release(&r->details);
	buf_release(&r->shortened);
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

int sync_report_row_build(struct sync_report_row *r, const struct sync_act *a,
			  const char *outcome, int64_t user_id, int planned, int invites,
			  const char *failure)
{
	struct sync_details_ctx dctx = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	r->a = a;
	r->outcome = outcome;
	r->user_id = user_id;
	buf_init(&r->details, 1000);
	rc = row_text_build(a, &r->t);
	buf_init(&r->shortened, 128);
	for (unsigned f = 0; rc == 0 && f < PLAN_FIELD_COUNT; f++)
		if (a->shortened & PLAN_SHORTENED(f))
			rc = buf_printf(&r->shortened, "%s%s", r->shortened.len ? ", " : "",
					field_words((enum plan_field)f));
	dctx.shortened = buf_cstr(&r->shortened);
	dctx.team_name = a->team_name;
	dctx.rival = a->rival;
	dctx.fields = buf_cstr(&r->t.fields);
	/* Promised only when a mail server is configured: otherwise the
	 * invitation waits in the outbox and no e-mail "will be sent". */
	dctx.invited = (invites & SYNC_INVITES_MAIL) && !planned;
	dctx.planned = planned;
	dctx.failure = failure;
	if (picture_failed(a)) {
		dctx.picture_why = a->picture->why;
		dctx.picture_only = strcmp(outcome, "skipped") == 0 && a->kind == PLAN_UPDATE;
	}
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
	r->name = cut(a->user_name, PLAN_TEXT_MAX, &rc);  /* sql/007 */
	r->slack = cut(a->slack_user_id, 32, &rc);
	r->team = cut(a->team_name, 200, &rc);
	return rc;
}

void sync_report_row_params(const struct sync_report_row *r, int64_t sync_id, int64_t org,
			    struct db_param *p)
{
	const struct sync_act *a = r->a;
	size_t i = 0;

	p[i++] = DB_INT(sync_id);
	p[i++] = DB_INT(org);
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
