#include "report/report.h"
#include "core/buf.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "db/row_json.h"
#include "mail/mail.h"
#include "report/report_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The values each filter takes, in bit order (report.h).  They are also
 * the only strings bound into the filter conditions. */
static const char *const outcome_names[] = { "succeeded", "failed", "skipped", "planned" };
static const char *const changed_names[] = { "name", "email", "picture", "job_title",
					     "status", "team_membership" };
#define N_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))
#define N_CHANGED (sizeof(changed_names) / sizeof(changed_names[0]))

#define ISO_TIME(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

#define SYNC_COLUMNS \
	"s.id, s.`trigger`, s.dry_run, s.status, " ISO_TIME("s.queued_at") ", " \
	ISO_TIME("s.started_at") ", " ISO_TIME("s.finished_at") ", s.n_created, s.n_updated," \
	" s.n_deactivated, s.n_reactivated, s.n_added_to_team, s.n_removed_from_team," \
	" s.n_skipped, s.n_failed, s.error, s.workspace_id, s.workspace_name," \
	" s.progress_phase, s.progress_done, s.progress_total, " ISO_TIME("s.progress_at")

/* Columns in the order of struct report_action's reading in action_read. */
#define ACTION_COLUMNS \
	"a.id, " ISO_TIME("a.created_at") ", a.action, a.outcome, a.reason, a.changed," \
	" a.user_id, a.user_email, a.user_name, a.slack_user_id, a.team_id, a.team_name," \
	" a.changes_json, a.details"
/* The invitation of a created user (invitation_outbox_user, one probe a
 * row); only the JSON page reads it, not the export. */
#define INVITE_COLUMNS \
	", CASE WHEN o.id IS NULL THEN NULL WHEN o.sent_at IS NOT NULL THEN 'sent'" \
	" WHEN o.attempts >= " MAIL_MAX_ATTEMPTS_SQL " THEN 'failed' ELSE 'queued' END," \
	" " ISO_TIME("o.sent_at") ", o.last_error"
#define INVITE_JOIN \
	" LEFT JOIN invitation_outbox o ON a.action = 'create' AND a.outcome = 'succeeded'" \
	" AND o.user_id = a.user_id AND o.organization_id = a.organization_id"
/* The outbox's own limit (mail.h), as SQL text. */
#define SQL_NUMBER_(n) #n
#define SQL_NUMBER(n) SQL_NUMBER_(n)
#define MAIL_MAX_ATTEMPTS_SQL SQL_NUMBER(MAIL_MAX_ATTEMPTS)

/* Parses one comma-separated list against names; *mask gets the bits. */
static int parse_list(const char *s, const char *const *names, size_t n, unsigned *mask)
{
	*mask = 0;
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *v = s;
		size_t i;

		while (len && *v == ' ') {
			v++;
			len--;
		}
		while (len && v[len - 1] == ' ')
			len--;
		if (len) {
			for (i = 0; i < n; i++)
				if (strlen(names[i]) == len && memcmp(names[i], v, len) == 0)
					break;
			if (i == n)
				return PV_EINVAL;
			*mask |= 1u << i;
		}
		s = end ? end + 1 : NULL;
	}
	return 0;
}

int report_filter_parse(struct report_filter *f, const char *outcome, const char *changed,
			const char **field, const char **why)
{
	*field = NULL;
	*why = NULL;
	if (parse_list(outcome, outcome_names, N_OUTCOMES, &f->outcomes) < 0) {
		*field = "outcome";
		*why = "outcome takes succeeded, failed, skipped or planned (several "
		       "comma-separated).";
		return PV_EINVAL;
	}
	if (parse_list(changed, changed_names, N_CHANGED, &f->changed) < 0) {
		*field = "changed";
		*why = "changed takes name, email, picture, job_title, status or team_membership "
		       "(several comma-separated).";
		return PV_EINVAL;
	}
	return 0;
}

/* Counts UTF-8 characters of s[0..len); -1 when it is not UTF-8. */
static long utf8_chars(const unsigned char *s, size_t len)
{
	long n = 0;

	for (size_t i = 0; i < len; n++) {
		size_t k = s[i] < 0x80 ? 1 : (s[i] >> 5) == 6 ? 2 : (s[i] >> 4) == 14 ? 3
			 : (s[i] >> 3) == 30 ? 4 : 0;

		if (k == 0 || i + k > len)
			return -1;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return -1;
		i += k;
	}
	return n;
}

int report_filter_set_query(struct report_filter *f, const char *q, const char **why)
{
	size_t len, o = 0;
	long chars;

	*why = NULL;
	f->q_like[0] = '\0';
	if (!q)
		return 0;
	while (*q == ' ')
		q++;
	len = strlen(q);
	while (len && q[len - 1] == ' ')
		len--;
	if (!len)
		return 0;
	chars = utf8_chars((const unsigned char *)q, len);
	if (chars < 0) {
		*why = "q must be text (UTF-8).";
		return PV_EINVAL;
	}
	if (chars > REPORT_Q_MAX) {
		*why = "q is at most 100 characters: part of a name, an e-mail address or a "
		       "Slack user id.";
		return PV_EINVAL;
	}
	/* At most 4 bytes a character, each escaped to two: it fits. */
	f->q_like[o++] = '%';
	for (size_t i = 0; i < len; i++) {
		if (q[i] == '\\' || q[i] == '%' || q[i] == '_')
			f->q_like[o++] = '\\';
		f->q_like[o++] = q[i];
	}
	f->q_like[o++] = '%';
	f->q_like[o] = '\0';
	return 0;
}

/* ---- syncs ---- */

static json_object *sync_from_row(const struct db_rows *r)
{
	static const char *const counts[] = { "created", "updated", "deactivated", "reactivated",
					      "added_to_team", "removed_from_team", "skipped",
					      "failed" };
	json_object *s = json_object_new_object(), *c = json_object_new_object();

	if (!s || !c)
		goto fail;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (pjson_add_int(c, counts[i], db_rows_int(r, 7 + (int)i)) < 0)
			goto fail;
	if (pjson_add_int(s, "id", db_rows_int(r, 0)) ||
	    pjson_add_str(s, "trigger", db_rows_str(r, 1)) ||
	    pjson_add_bool(s, "dry_run", db_rows_int(r, 2) != 0) ||
	    pjson_add_str(s, "status", db_rows_str(r, 3)) ||
	    pjson_add_str(s, "queued_at", db_rows_str(r, 4)) ||
	    pjson_add_str(s, "started_at", db_rows_str(r, 5)) ||
	    pjson_add_str(s, "finished_at", db_rows_str(r, 6))) {
		goto fail;
	}
	if (pjson_add(s, "counts", c) < 0) {
		c = NULL;
		goto fail;
	}
	c = NULL;
	if (pjson_add_str(s, "error", db_rows_str(r, 15)) < 0)
		goto fail;
	/* The workspace the sync read (null for syncs queued before 008). */
	if (!db_rows_is_null(r, 16) || !db_rows_is_null(r, 17)) {
		c = json_object_new_object();
		if (!c || pjson_add_str(c, "id", db_rows_str(r, 16)) ||
		    pjson_add_str(c, "name", db_rows_str(r, 17)))
			goto fail;
	}
	if (pjson_add(s, "workspace", c) < 0) {
		c = NULL;
		goto fail;
	}
	c = NULL;
	/* Live progress while it runs; null before the first report and once
	 * it has finished (the counts say the rest). */
	if (!db_rows_is_null(r, 18) && strcmp(db_rows_str(r, 3), "running") == 0) {
		c = json_object_new_object();
		if (!c || pjson_add_str(c, "phase", db_rows_str(r, 18)) ||
		    pjson_add_int(c, "done", db_rows_int(r, 19)) ||
		    (db_rows_is_null(r, 20) ? pjson_add(c, "total", NULL)
					    : pjson_add_int(c, "total", db_rows_int(r, 20))) ||
		    pjson_add_str(c, "at", db_rows_str(r, 21)))
			goto fail;
	}
	if (pjson_add(s, "progress", c) < 0) {
		c = NULL;
		goto fail;
	}
	return s;
fail:
	json_object_put(c);
	json_object_put(s);
	return NULL;
}

/* row_json_page's builder: a sync from a row of SYNC_COLUMNS. */
static json_object *sync_at(const struct db_rows *r, int col)
{
	(void)col;
	return sync_from_row(r);
}

int report_syncs_list(struct db *db, int64_t org, int64_t before, int limit,
		      json_object **syncs, int64_t *next_before)
{
	struct db_rows *r = NULL;
	int rc;

	*syncs = NULL;
	*next_before = 0;
	/* provisioning_syncs_org (organization_id, id): a backward range scan. */
	if (before > 0)
		rc = db_query(db, &r, "SELECT " SYNC_COLUMNS " FROM provisioning_syncs s"
			      " WHERE s.organization_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT ?",
			      DB_ARGS(DB_INT(org), DB_INT(before), DB_INT(limit + 1)));
	else
		rc = db_query(db, &r, "SELECT " SYNC_COLUMNS " FROM provisioning_syncs s"
			      " WHERE s.organization_id = ? ORDER BY s.id DESC LIMIT ?",
			      DB_ARGS(DB_INT(org), DB_INT(limit + 1)));
	if (rc == 0)
		rc = row_json_page(r, sync_at, limit, syncs, next_before);
	db_rows_free(r);
	return rc;
}

static int sync_to(const struct db_rows *r, void *arg)
{
	json_object **out = arg;

	*out = sync_from_row(r);
	return *out ? 0 : PV_ENOMEM;
}

int report_sync_json(struct db *db, int64_t org, int64_t sync, json_object **out)
{
	*out = NULL;
	return db_query_one(db, sync_to, out, "SELECT " SYNC_COLUMNS " FROM provisioning_syncs s"
			    " WHERE s.organization_id = ? AND s.id = ?", DB_ARGS(DB_INT(org), DB_INT(sync)));
}

int report_sync_readable(struct db *db, int64_t org, int64_t sync, char queued_date[11])
{
	struct db_rows *r = NULL;
	const char *status;
	int rc;

	rc = db_query(db, &r, "SELECT s.status, DATE_FORMAT(s.queued_at, '%Y-%m-%d')"
		      " FROM provisioning_syncs s WHERE s.organization_id = ? AND s.id = ?",
		      DB_ARGS(DB_INT(org), DB_INT(sync)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 0)
		rc = PV_ENOTFOUND;
	if (rc < 0)
		goto out;
	status = db_rows_str(r, 0);
	if (!status || strcmp(status, "pending") == 0 || strcmp(status, "running") == 0) {
		rc = PV_ECONFLICT;
		goto out;
	}
	if (queued_date)
		snprintf(queued_date, 11, "%s", db_rows_str(r, 1) ? db_rows_str(r, 1) : "");
	rc = 0;
out:
	db_rows_free(r);
	return rc;
}

/* ---- actions ---- */

/* Builds the actions statement: fixed fragments, every value bound.  p has
 * room for ACTIONS_MAX_PARAMS parameters. */
static int actions_sql(struct buf *sql, struct db_param *p, size_t *np, int64_t org,
		       int64_t sync, const struct report_filter *f, int64_t after, int limit,
		       int invites)
{
	int rc, first;

	*np = 0;
	/* Both indexes read one range of this sync in id order (no sort, so
	 * the export streams from its first row).  One outcome alone seeks
	 * straight to its rows with provisioning_sync_actions_outcome
	 * (sync_id, outcome, id), 003.  Anything else uses
	 * provisioning_sync_actions_report (sync_id, id, outcome, changed), 004,
	 * where both filters are checked on the index entry (index condition
	 * pushdown) before a row is read: at worst one pass over the sync's
	 * index entries.  The optimizer left alone picks the (sync_id, id) index
	 * for several outcomes and reads every row, hence the hint. */
	rc = buf_puts(sql, invites ? "SELECT " ACTION_COLUMNS INVITE_COLUMNS
				   " FROM provisioning_sync_actions a"
				 : "SELECT " ACTION_COLUMNS " FROM provisioning_sync_actions a");
	if (rc == 0)
		rc = buf_puts(sql, !f->changed && f->outcomes && !(f->outcomes & (f->outcomes - 1))
			      ? " FORCE INDEX (provisioning_sync_actions_outcome)"
			      : " FORCE INDEX (provisioning_sync_actions_report)");
	if (rc == 0 && invites)
		rc = buf_puts(sql, INVITE_JOIN);
	if (rc == 0)
		rc = buf_puts(sql, " WHERE a.sync_id = ? AND a.organization_id = ? AND a.id > ?");
	p[(*np)++] = DB_INT(sync);
	p[(*np)++] = DB_INT(org);
	p[(*np)++] = DB_INT(after);
	if (rc == 0 && f->outcomes) {
		rc = buf_puts(sql, " AND a.outcome IN (");
		first = 1;
		for (size_t i = 0; rc == 0 && i < N_OUTCOMES; i++) {
			if (!(f->outcomes & (1u << i)))
				continue;
			rc = buf_puts(sql, first ? "?" : ", ?");
			p[(*np)++] = DB_STR(outcome_names[i]);
			first = 0;
		}
		if (rc == 0)
			rc = buf_putc(sql, ')');
	}
	if (rc == 0 && f->changed) {
		rc = buf_puts(sql, " AND (");
		first = 1;
		for (size_t i = 0; rc == 0 && i < N_CHANGED; i++) {
			if (!(f->changed & (1u << i)))
				continue;
			rc = buf_puts(sql, first ? "FIND_IN_SET(?, a.changed) > 0"
					       : " OR FIND_IN_SET(?, a.changed) > 0");
			p[(*np)++] = DB_STR(changed_names[i]);
			first = 0;
		}
		if (rc == 0)
			rc = buf_putc(sql, ')');
	}
	if (rc == 0 && f->q_like[0]) {
		/* The ascii Slack id is converted so that a non-ASCII search
		 * compares in one character set instead of failing. */
		rc = buf_puts(sql, " AND (a.user_name LIKE ? OR a.user_email LIKE ?"
			      " OR CONVERT(a.slack_user_id USING utf8mb4) LIKE ?)");
		for (int i = 0; i < 3; i++)
			p[(*np)++] = DB_STR(f->q_like);
	}
	if (rc == 0)
		rc = buf_puts(sql, " ORDER BY a.id");
	if (rc == 0 && limit > 0) {
		rc = buf_puts(sql, " LIMIT ?");
		p[(*np)++] = DB_INT(limit);
	}
	return rc;
}

#define ACTIONS_MAX_PARAMS (3 + N_OUTCOMES + N_CHANGED + 3 + 1)

static void action_read(const struct db_rows *r, struct report_action *a)
{
	memset(a, 0, sizeof(*a));
	a->id = db_rows_int(r, 0);
	a->created_at = db_rows_str(r, 1);
	a->action = db_rows_str(r, 2);
	a->outcome = db_rows_str(r, 3);
	a->reason = db_rows_str(r, 4);
	a->changed = db_rows_str(r, 5);
	a->user_id = db_rows_str(r, 6);
	a->user_email = db_rows_str(r, 7);
	a->user_name = db_rows_str(r, 8);
	a->slack_user_id = db_rows_str(r, 9);
	a->team_id = db_rows_str(r, 10);
	a->team_name = db_rows_str(r, 11);
	a->changes_json = db_rows_str(r, 12);
	a->details = db_rows_str(r, 13);
}

/* A new array of {field, from, to} from the engine's changes_json; [] when
 * it is NULL or not an array of objects.  NULL only when out of memory. */
static json_object *changes_parse(int64_t action_id, const char *text)
{
	json_object *in = NULL, *out = json_object_new_array();
	const char *why;
	size_t n;
	int rc;

	if (!out || !text || !*text)
		return out;
	rc = pjson_parse(text, strlen(text), PJSON_MAX_DEPTH, &in, &why);
	if (rc == PV_ENOMEM) {
		/* Not the stored text's fault: no [] that would hide the changes. */
		json_object_put(out);
		return NULL;
	}
	if (rc < 0 || !json_object_is_type(in, json_type_array)) {
		log_warn("report: action %lld: changes_json is not a JSON array",
			 (long long)action_id);
		json_object_put(in);
		return out;
	}
	n = json_object_array_length(in);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(in, i), *o, *v;
		static const char *const keys[] = { "field", "from", "to" };

		if (!json_object_is_type(c, json_type_object))
			continue;
		o = json_object_new_object();
		if (!o)
			goto nomem;
		for (size_t k = 0; k < 3; k++) {
			v = NULL;
			json_object_object_get_ex(c, keys[k], &v);
			if (json_object_object_add(o, keys[k], json_object_get(v)) < 0) {
				json_object_put(v);
				json_object_put(o);
				goto nomem;
			}
		}
		if (pjson_push(out, o) < 0)
			goto nomem;
	}
	json_object_put(in);
	return out;
nomem:
	json_object_put(in);
	json_object_put(out);
	return NULL;
}

/* "name,email" -> ["name", "email"]. */
static json_object *changed_array(const char *set)
{
	json_object *arr = json_object_new_array();

	for (const char *s = set; arr && s && *s;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		json_object *v = json_object_new_string_len(s, (int)len);

		if (!v || pjson_push(arr, v) < 0) {
			json_object_put(arr);
			return NULL;
		}
		s = end ? end + 1 : NULL;
	}
	return arr;
}

static json_object *action_json(const struct report_action *a)
{
	json_object *o = json_object_new_object(), *v = NULL;

	if (!o)
		return NULL;
	if (pjson_add_int(o, "id", a->id) || pjson_add_str(o, "created_at", a->created_at) ||
	    pjson_add_str(o, "action", a->action) || pjson_add_str(o, "outcome", a->outcome) ||
	    pjson_add_str(o, "reason", a->reason))
		goto fail;
	v = changed_array(a->changed);
	if (!v || pjson_add(o, "changed", v) < 0) {
		v = NULL;
		goto fail;
	}
	v = NULL;
	if (a->user_id || a->user_email || a->user_name) {
		v = json_object_new_object();
		if (!v || (a->user_id ? pjson_add_int(v, "id", strtoll(a->user_id, NULL, 10))
				      : pjson_add_str(v, "id", NULL)) ||
		    pjson_add_str(v, "email", a->user_email) ||
		    pjson_add_str(v, "name", a->user_name))
			goto fail;
	}
	if (pjson_add(o, "user", v) < 0) {
		v = NULL;
		goto fail;
	}
	v = NULL;
	if (pjson_add_str(o, "slack_user_id", a->slack_user_id) < 0)
		goto fail;
	if (a->team_id || a->team_name) {
		v = json_object_new_object();
		if (!v || (a->team_id ? pjson_add_int(v, "id", strtoll(a->team_id, NULL, 10))
				      : pjson_add_str(v, "id", NULL)) ||
		    pjson_add_str(v, "name", a->team_name))
			goto fail;
	}
	if (pjson_add(o, "team", v) < 0) {
		v = NULL;
		goto fail;
	}
	v = NULL;
	v = changes_parse(a->id, a->changes_json);
	if (!v || pjson_add(o, "changes", v) < 0) {
		v = NULL;
		goto fail;
	}
	v = NULL;
	if (pjson_add_str(o, "details", a->details) < 0)
		goto fail;
	if (a->invite_state) {
		v = json_object_new_object();
		if (!v || pjson_add_str(v, "state", a->invite_state) ||
		    pjson_add_str(v, "sent_at", a->invite_sent_at) ||
		    pjson_add_str(v, "error", a->invite_error))
			goto fail;
	}
	if (pjson_add(o, "invitation", v) < 0) {
		v = NULL;
		goto fail;
	}
	return o;
fail:
	json_object_put(v);
	json_object_put(o);
	return NULL;
}

/* row_json_page's builder: an action from a row of ACTION_COLUMNS. */
static json_object *action_at(const struct db_rows *r, int col)
{
	struct report_action a;

	(void)col;
	action_read(r, &a);
	a.invite_state = db_rows_str(r, 14);
	a.invite_sent_at = db_rows_str(r, 15);
	a.invite_error = db_rows_str(r, 16);
	return action_json(&a);
}

int report_actions_page(struct db *db, int64_t org, int64_t sync,
			const struct report_filter *f, int64_t after, int limit,
			json_object **actions, int64_t *next_after)
{
	struct db_param p[ACTIONS_MAX_PARAMS];
	struct db_rows *r = NULL;
	struct buf sql;
	size_t np;
	int rc;

	*actions = NULL;
	*next_after = 0;
	buf_init(&sql, 4096);
	rc = actions_sql(&sql, p, &np, org, sync, f, after, limit + 1, 1);
	if (rc == 0)
		rc = db_query(db, &r, buf_cstr(&sql), p, np);
	if (rc == 0)
		rc = row_json_page(r, action_at, limit, actions, next_after);
	db_rows_free(r);
	buf_release(&sql);
	return rc;
}

int report_actions_each(struct db *db, int64_t org, int64_t sync,
			const struct report_filter *f,
			int (*fn)(const struct report_action *a, void *arg), void *arg)
{
	struct db_param p[ACTIONS_MAX_PARAMS];
	struct db_rows *r = NULL;
	struct report_action a;
	struct buf sql;
	size_t np;
	int rc;

	buf_init(&sql, 4096);
	rc = actions_sql(&sql, p, &np, org, sync, f, 0, 0, 0);
	if (rc == 0)
		rc = db_query_stream(db, &r, buf_cstr(&sql), p, np);
	if (rc < 0)
		goto out;
	while ((rc = db_rows_next(r)) == 1) {
		action_read(r, &a);
		rc = fn(&a, arg);
		if (rc < 0)
			break;
	}
out:
	/* Freeing an unfinished stream reads and drops the rest of it. */
	db_rows_free(r);
	buf_release(&sql);
	return rc < 0 ? rc : 0;
}

/* ---- CSV ---- */

/* A spreadsheet is read by people: the CSV says "Create user", not
 * "create"; the codes follow in the last three columns for machines.  The
 * words are the settings page's (web/js/labels.js). */
static const char *const csv_columns[] = {
	"ID", "Date (UTC)", "Action", "Outcome", "User name", "E-mail", "Slack user ID", "Team",
	"Changed fields", "Old values", "New values", "Details",
	"Action code", "Outcome code", "Changed field codes",
};
#define CSV_NCOLS (sizeof(csv_columns) / sizeof(csv_columns[0]))

struct word {
	const char *code, *word;
};

static const struct word action_words[] = {
	{ "create", "Create user" }, { "update", "Update user" },
	{ "deactivate", "Deactivate user" }, { "reactivate", "Reactivate user" },
	{ "add_to_team", "Add to team" }, { "remove_from_team", "Remove from team" },
	{ "skip", "Skip" },
};
static const struct word outcome_words[] = {
	{ "succeeded", "Succeeded" }, { "failed", "Failed" }, { "skipped", "Skipped" },
	{ "planned", "Planned (not applied)" },
};
static const struct word field_words[] = {
	{ "first_name", "First name" }, { "last_name", "Last name" },
	{ "display_name", "Display name" }, { "email", "E-mail" }, { "picture", "Picture" },
	{ "job_title", "Job title" }, { "is_guest", "Guest" }, { "status", "Status" },
	{ "team", "Team" },
};
#define WORDS(t) t, sizeof(t) / sizeof(t[0])

/* The word for code, or the code itself when it has none (a code added to
 * the engine later still shows, if less kindly). */
static const char *word_of(const struct word *t, size_t n, const char *code, size_t len)
{
	for (size_t i = 0; code && i < n; i++)
		if (strlen(t[i].code) == len && memcmp(t[i].code, code, len) == 0)
			return t[i].word;
	return NULL;
}

static const char *word_or_code(const struct word *t, size_t n, const char *code)
{
	const char *w = code ? word_of(t, n, code, strlen(code)) : NULL;

	return w ? w : code;
}

/* UTF-8's byte-order mark: without it Excel on Windows reads a CSV in the
 * ANSI code page and garbles every non-ASCII name; LibreOffice and
 * Numbers take it as the sign of UTF-8, and csv readers of most languages
 * skip it (Python: encoding="utf-8-sig"). */
#define CSV_BOM "\xEF\xBB\xBF"

int report_csv_header(struct buf *b)
{
	int rc = buf_puts(b, CSV_BOM);

	return rc < 0 ? rc : report_csv_row(b, csv_columns, CSV_NCOLS);
}

/* Appends a change's value as one line of a cell: strings as they are,
 * null as nothing, true and false as yes and no, numbers as in JSON. */
static int change_value(struct buf *b, json_object *v)
{
	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return buf_append(b, json_object_get_string(v),
				  (size_t)json_object_get_string_len(v));
	if (json_object_is_type(v, json_type_boolean))
		return buf_puts(b, json_object_get_boolean(v) ? "yes" : "no");
	return buf_puts(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* Appends a change's field as one line: its word, or with codes its code. */
static int change_field(struct buf *b, json_object *v, int codes)
{
	const char *w;

	if (!v || !json_object_is_type(v, json_type_string))
		return change_value(b, v);
	w = codes ? NULL : word_of(WORDS(field_words), json_object_get_string(v),
				  (size_t)json_object_get_string_len(v));
	return w ? buf_puts(b, w) : change_value(b, v);
}

int report_action_csv(struct buf *b, const struct report_action *a)
{
	struct buf fields, codes, from, to;
	json_object *changes = NULL;
	char id[24];
	size_t n;
	int rc = 0;

	buf_init(&fields, 64 * 1024);
	buf_init(&codes, 64 * 1024);
	buf_init(&from, 256 * 1024);
	buf_init(&to, 256 * 1024);
	changes = changes_parse(a->id, a->changes_json);
	if (!changes) {
		rc = PV_ENOMEM;
		goto out;
	}
	n = json_object_array_length(changes);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_object *c = json_object_array_get_idx(changes, i), *v;

		if (i) {
			rc = buf_putc(&fields, '\n');
			if (rc == 0)
				rc = buf_putc(&codes, '\n');
			if (rc == 0)
				rc = buf_putc(&from, '\n');
			if (rc == 0)
				rc = buf_putc(&to, '\n');
		}
		if (rc == 0 && json_object_object_get_ex(c, "field", &v)) {
			rc = change_field(&fields, v, 0);
			if (rc == 0)
				rc = change_field(&codes, v, 1);
		}
		if (rc == 0 && json_object_object_get_ex(c, "from", &v))
			rc = change_value(&from, v);
		if (rc == 0 && json_object_object_get_ex(c, "to", &v))
			rc = change_value(&to, v);
	}
	if (rc < 0)
		goto out;
	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	{
		/* The same rule as the JSON's user: none without an id or e-mail. */
		int user = a->user_id || a->user_email || a->user_name;
		const char *cells[CSV_NCOLS] = {
			id, a->created_at, word_or_code(WORDS(action_words), a->action),
			word_or_code(WORDS(outcome_words), a->outcome), user ? a->user_name : NULL,
			a->user_email, a->slack_user_id, a->team_name, buf_cstr(&fields),
			buf_cstr(&from), buf_cstr(&to), a->details, a->action, a->outcome,
			buf_cstr(&codes),
		};

		rc = report_csv_row(b, cells, CSV_NCOLS);
	}
out:
	json_object_put(changes);
	buf_release(&fields);
	buf_release(&codes);
	buf_release(&from);
	buf_release(&to);
	return rc;
}
