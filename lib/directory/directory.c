#include "directory/directory.h"
#include "core/buf.h"
#include "db/db.h"
#include "core/email_fold.h"
#include "core/err.h"
#include "core/pjson.h"
#include "db/row_json.h"
#include "snapshot/snapshot.h"

#include <stdio.h>
#include <string.h>

#define USER_COLUMNS \
	"u.id, u.email, u.first_name, u.last_name, u.display_name, u.job_title," \
	" u.picture_url, u.is_guest, u.role, u.status, u.source," \
	" DATE_FORMAT(u.created_at, '%Y-%m-%dT%H:%i:%sZ'), u.slack_user_id," \
	" CASE u.deactivated_by WHEN 'person' THEN 'administrator' ELSE u.deactivated_by END"
#define USER_NCOLS 14

int dir_email_valid(const char *email)
{
	const char *at = strchr(email, '@');
	size_t n = strlen(email);

	if (n < 3 || n > 254 || !at || at == email || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (const char *p = email; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == ',' || *p == ';' || *p == '"')
			return 0;
	/* A domain needs a dot that is neither first nor last. */
	const char *dot = strrchr(at + 1, '.');

	return dot && dot != at + 1 && dot[1];
}

/* Builds a user object from a row laid out as USER_COLUMNS at col. */
static json_object *user_from_row(const struct db_rows *r, int col)
{
	json_object *u = json_object_new_object();
	const char *display;

	if (!u)
		return NULL;
	display = db_rows_str(r, col + 4);
	if (pjson_add_int(u, "id", db_rows_int(r, col)) ||
	    pjson_add_str(u, "email", db_rows_str(r, col + 1)) ||
	    pjson_add_str(u, "first_name", db_rows_str(r, col + 2)) ||
	    pjson_add_str(u, "last_name", db_rows_str(r, col + 3)) ||
	    pjson_add_str(u, "display_name", display) ||
	    pjson_add_str(u, "name", display) ||
	    pjson_add_str(u, "job_title", db_rows_str(r, col + 5)) ||
	    pjson_add_str(u, "picture_url", db_rows_str(r, col + 6)) ||
	    pjson_add_bool(u, "is_guest", db_rows_int(r, col + 7) != 0) ||
	    pjson_add_str(u, "role", db_rows_str(r, col + 8)) ||
	    pjson_add_str(u, "status", db_rows_str(r, col + 9)) ||
	    pjson_add_str(u, "source", db_rows_str(r, col + 10)) ||
	    pjson_add_str(u, "created_at", db_rows_str(r, col + 11)) ||
	    pjson_add_str(u, "slack_user_id", db_rows_str(r, col + 12)) ||
	    pjson_add_str(u, "deactivated_by", db_rows_str(r, col + 13))) {
		json_object_put(u);
		return NULL;
	}
	return u;
}

/* user_from_row's keys in its order, with the USER_COLUMNS column of each
 * (display_name is shown twice, also as name); is_guest is the one boolean. */
static const struct user_field {
	const char *key;
	int col;
	int is_bool;
} user_fields[] = {
	{ "email", 1, 0 }, { "first_name", 2, 0 }, { "last_name", 3, 0 },
	{ "display_name", 4, 0 }, { "name", 4, 0 }, { "job_title", 5, 0 },
	{ "picture_url", 6, 0 }, { "is_guest", 7, 1 }, { "role", 8, 0 }, { "status", 9, 0 },
	{ "source", 10, 0 }, { "created_at", 11, 0 }, { "slack_user_id", 12, 0 },
	{ "deactivated_by", 13, 0 },
};

/* user_from_row's object written as text into b: the same keys in the
 * same order, the same values. */
static int user_write_row(struct buf *b, const struct db_rows *r, int col)
{
	int rc = buf_printf(b, "{\"id\":%lld", db_rows_int(r, col));

	for (size_t i = 0; rc == 0 && i < sizeof(user_fields) / sizeof(user_fields[0]); i++) {
		const struct user_field *f = &user_fields[i];

		if (!f->is_bool) {
			rc = pjson_buf_kv_str(b, 0, f->key, db_rows_str(r, col + f->col));
			continue;
		}
		rc = buf_putc(b, ',');
		if (rc == 0)
			rc = pjson_buf_key(b, f->key);
		if (rc == 0)
			rc = buf_puts(b, db_rows_int(r, col + f->col) != 0 ? "true" : "false");
	}
	return rc ? rc : buf_putc(b, '}');
}

struct org_create {
	const char *name;
	int64_t id;
};

/* The organization and its settings row, together or not at all. */
static int org_create_tx(struct db *db, void *arg)
{
	struct org_create *oc = arg;
	int rc;

	rc = db_exec(db, "INSERT INTO organizations (name) VALUES (?)",
		     DB_ARGS(DB_STR(oc->name)), NULL);
	if (rc < 0)
		return rc;
	oc->id = (int64_t)db_insert_id(db);
	return db_exec(db, "INSERT INTO organization_settings (organization_id) VALUES (?)",
		       DB_ARGS(DB_INT(oc->id)), NULL);
}

int dir_org_create(struct db *db, const char *name, int64_t *id)
{
	struct org_create oc = { .name = name, .id = 0 };
	int rc;

	if (!name || !*name || strlen(name) > 200)
		return PV_EINVAL;
	rc = db_tx_run(db, org_create_tx, &oc);
	if (rc == 0)
		*id = oc.id;
	return rc;
}

static int org_from_row(const struct db_rows *r, void *arg)
{
	json_object **out = arg, *o = json_object_new_object();

	if (!o || pjson_add_int(o, "id", db_rows_int(r, 0)) || pjson_add_str(o, "name", db_rows_str(r, 1))) {
		json_object_put(o);
		return PV_ENOMEM;
	}
	*out = o;
	return 0;
}

int dir_org_json(struct db *db, int64_t org, json_object **out)
{
	*out = NULL;
	return db_query_one(db, org_from_row, out, "SELECT id, name FROM organizations WHERE id = ?",
			    DB_ARGS(DB_INT(org)));
}

static int text_field_ok(const char *s, size_t max)
{
	return !s || strlen(s) <= max;
}

int dir_user_create(struct db *db, int64_t org, const struct dir_user_new *u,
		    int64_t *id, const char **field, const char **why)
{
	char display[420];
	const char *first = u->first_name ? u->first_name : "";
	const char *last = u->last_name ? u->last_name : "";
	int rc;

	*field = NULL;
	*why = NULL;
	if (!u->email || !dir_email_valid(u->email)) {
		*field = "email";
		*why = "email must be an e-mail address such as name@example.com";
		return PV_EINVAL;
	}
	if (!text_field_ok(first, 200) || !text_field_ok(last, 200) ||
	    !text_field_ok(u->display_name, 200) || !text_field_ok(u->job_title, 200)) {
		*field = strlen(first) > 200 ? "first_name" : strlen(last) > 200 ? "last_name"
			 : !text_field_ok(u->display_name, 200) ? "display_name" : "job_title";
		*why = "names and job titles are limited to 200 characters";
		return PV_EINVAL;
	}
	if (u->display_name && *u->display_name)
		snprintf(display, sizeof(display), "%s", u->display_name);
	else if (*first && *last)
		snprintf(display, sizeof(display), "%s %s", first, last);
	else
		snprintf(display, sizeof(display), "%s", *first ? first : *last ? last : u->email);
	rc = db_exec(db,
		     "INSERT INTO users (organization_id, email, first_name, last_name,"
		     " display_name, job_title, role, password_hash, source)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'manual')",
		     DB_ARGS(DB_INT(org), DB_STR(u->email), DB_STR(first), DB_STR(last),
			     DB_STR(display), DB_STR(u->job_title ? u->job_title : ""),
			     DB_STR(u->is_admin ? "administrator" : "member"),
			     DB_STR(u->password_hash)),
		     NULL);
	if (rc == PV_ECONFLICT) {
		*field = "email";
		*why = "a user with this e-mail address already exists in the organization";
	} else if (rc == PV_EINVAL) {
		*field = "email";
		*why = "the user could not be stored; check the e-mail address and names";
	}
	if (rc < 0)
		return rc;
	*id = (int64_t)db_insert_id(db);
	return 0;
}

/* db_query_one's callback: *arg (json_object **) gets the user of the row. */
static int user_to(const struct db_rows *r, void *arg)
{
	json_object **out = arg;

	*out = user_from_row(r, 0);
	return *out ? 0 : PV_ENOMEM;
}

int dir_user_json(struct db *db, int64_t org, int64_t id, json_object **out)
{
	*out = NULL;
	return db_query_one(db, user_to, out, "SELECT " USER_COLUMNS " FROM users u"
			    " WHERE u.organization_id = ? AND u.id = ?", DB_ARGS(DB_INT(org), DB_INT(id)));
}

/* Escapes LIKE wildcards so that q matches as plain text, inside %...%. */
static int like_pattern(struct buf *b, const char *q)
{
	int rc = buf_putc(b, '%');

	for (const char *p = q; rc == 0 && *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			rc = buf_putc(b, '\\');
		if (rc == 0)
			rc = buf_putc(b, *p);
	}
	return rc ? rc : buf_putc(b, '%');
}

int dir_users_list(struct db *db, int64_t org, const struct dir_user_filter *f,
		   struct buf *out, int64_t *next_after)
{
	struct db_param p[12];
	struct db_rows *r = NULL;
	struct buf sql, pat;
	size_t np = 0;
	int64_t last = 0;
	int rc, n = 0;

	buf_init(&sql, 4096);
	buf_init(&pat, 1024);
	/* The statement is assembled from fixed fragments only; every value
	 * from the request is a bound parameter. */
	rc = buf_puts(&sql, "SELECT " USER_COLUMNS " FROM users u"
		      " WHERE u.organization_id = ? AND u.id > ?");
	p[np++] = DB_INT(org);
	p[np++] = DB_INT(f->after_id);
	if (rc == 0 && f->status) {
		rc = buf_puts(&sql, " AND u.status = ?");
		p[np++] = DB_STR(f->status);
	}
	if (rc == 0 && f->source) {
		rc = buf_puts(&sql, " AND u.source = ?");
		p[np++] = DB_STR(f->source);
	}
	if (rc == 0 && f->team_id > 0) {
		/* team_memberships' primary key (organization_id, team_id, user_id):
		 * one probe a user. */
		rc = buf_puts(&sql, " AND EXISTS (SELECT 1 FROM team_memberships m"
			      " WHERE m.team_id = ? AND m.user_id = u.id"
			      " AND m.organization_id = u.organization_id)");
		p[np++] = DB_INT(f->team_id);
	}
	if (rc == 0 && f->q && *f->q) {
		rc = like_pattern(&pat, f->q);
		if (rc == 0)
			rc = buf_puts(&sql, " AND (u.email LIKE ? OR u.first_name LIKE ?"
				      " OR u.last_name LIKE ? OR u.display_name LIKE ?"
				      " OR CONVERT(u.slack_user_id USING utf8mb4) LIKE ?)");
		for (int i = 0; i < 5; i++)
			p[np++] = DB_STR(buf_cstr(&pat));
	}
	if (rc == 0)
		rc = buf_puts(&sql, " ORDER BY u.id LIMIT ?");
	p[np++] = DB_INT(f->limit + 1);
	if (rc == 0)
		rc = db_query(db, &r, buf_cstr(&sql), p, np);
	/* limit + 1 rows were asked for: the extra one only says that a next
	 * page exists (row_json_page's rule). */
	*next_after = 0;
	if (rc == 0)
		rc = buf_putc(out, '[');
	while (rc == 0 && (rc = db_rows_next(r)) == 1) {
		if (n == f->limit) {
			*next_after = last;
			rc = 0;
			break;
		}
		rc = n ? buf_putc(out, ',') : 0;
		if (rc == 0)
			rc = user_write_row(out, r, 0);
		last = db_rows_int(r, 0);
		n++;
	}
	if (rc == 0)
		rc = buf_putc(out, ']');
	db_rows_free(r);
	buf_release(&sql);
	buf_release(&pat);
	return rc;
}

static json_object *team_from_row(const struct db_rows *r, int col)
{
	json_object *t = json_object_new_object();

	if (!t)
		return NULL;
	if (pjson_add_int(t, "id", db_rows_int(r, col)) ||
	    pjson_add_str(t, "name", db_rows_str(r, col + 1)) ||
	    pjson_add_int(t, "member_count", db_rows_int(r, col + 2)) ||
	    pjson_add_str(t, "created_at", db_rows_str(r, col + 3))) {
		json_object_put(t);
		return NULL;
	}
	return t;
}

#define TEAM_SELECT \
	"SELECT t.id, t.name, (SELECT COUNT(*) FROM team_memberships m" \
	" WHERE m.organization_id = t.organization_id AND m.team_id = t.id)," \
	" DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ')" \
	" FROM teams t"

int dir_teams_list(struct db *db, int64_t org, json_object **teams)
{
	struct db_rows *r = NULL;
	int rc;

	rc = db_query(db, &r, TEAM_SELECT " WHERE t.organization_id = ? ORDER BY t.name, t.id",
		      DB_ARGS(DB_INT(org)));
	if (rc == 0)
		rc = row_json_page(r, team_from_row, 0, teams, NULL);
	db_rows_free(r);
	return rc;
}

static int team_to(const struct db_rows *r, void *arg)
{
	json_object **out = arg;

	*out = team_from_row(r, 0);
	return *out ? 0 : PV_ENOMEM;
}

int dir_team_create(struct db *db, int64_t org, const char *name, json_object **team,
		    const char **why)
{
	int64_t id;
	int rc;

	*team = NULL;
	*why = NULL;
	if (!name || !*name || strlen(name) > 200 || strspn(name, " \t\r\n") == strlen(name)) {
		*why = "name must be between 1 and 200 characters and not only spaces";
		return PV_EINVAL;
	}
	rc = db_exec(db, "INSERT INTO teams (organization_id, name) VALUES (?, ?)",
		     DB_ARGS(DB_INT(org), DB_STR(name)), NULL);
	if (rc == PV_ECONFLICT)
		*why = "a team with this name already exists";
	if (rc < 0)
		return rc;
	id = (int64_t)db_insert_id(db);
	return db_query_one(db, team_to, team, TEAM_SELECT " WHERE t.organization_id = ? AND t.id = ?",
			    DB_ARGS(DB_INT(org), DB_INT(id)));
}

static int team_exists(struct db *db, int64_t org, int64_t team)
{
	long long n;
	int rc = db_query_int(db, &n, "SELECT COUNT(*) FROM teams WHERE organization_id = ? AND id = ?",
			      DB_ARGS(DB_INT(org), DB_INT(team)));

	if (rc < 0)
		return rc;
	return n ? 0 : PV_ENOTFOUND;
}

static json_object *member_from_row(const struct db_rows *r, int col)
{
	json_object *m = user_from_row(r, col);

	if (m && (pjson_add_str(m, "membership_source", db_rows_str(r, col + USER_NCOLS)) ||
		  pjson_add_str(m, "member_since", db_rows_str(r, col + USER_NCOLS + 1)))) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

int dir_team_members(struct db *db, int64_t org, int64_t team, int64_t after_id,
		     int limit, json_object **members, int64_t *next_after)
{
	struct db_rows *r = NULL;
	int rc = team_exists(db, org, team);

	if (rc < 0)
		return rc;
	rc = db_query(db, &r, "SELECT " USER_COLUMNS ", m.source,"
		      " DATE_FORMAT(m.created_at, '%Y-%m-%dT%H:%i:%sZ')"
		      " FROM team_memberships m JOIN users u"
		      " ON u.organization_id = m.organization_id AND u.id = m.user_id"
		      " WHERE m.organization_id = ? AND m.team_id = ? AND u.id > ?"
		      " ORDER BY u.id LIMIT ?",
		      DB_ARGS(DB_INT(org), DB_INT(team), DB_INT(after_id), DB_INT(limit + 1)));
	if (rc == 0)
		rc = row_json_page(r, member_from_row, limit, members, next_after);
	db_rows_free(r);
	return rc;
}

int dir_team_add_member(struct db *db, int64_t org, int64_t team, int64_t user,
			const char *source)
{
	long long n;
	int rc = team_exists(db, org, team);

	if (rc < 0)
		return rc;
	rc = db_query_int(db, &n, "SELECT COUNT(*) FROM users WHERE organization_id = ? AND id = ?",
			  DB_ARGS(DB_INT(org), DB_INT(user)));
	if (rc < 0)
		return rc;
	if (!n)
		return PV_ENOTFOUND;
	return db_exec(db, "INSERT INTO team_memberships (organization_id, team_id, user_id, source)"
		       " VALUES (?, ?, ?, ?)",
		       DB_ARGS(DB_INT(org), DB_INT(team), DB_INT(user), DB_STR(source)), NULL);
}

int dir_team_remove_member(struct db *db, int64_t org, int64_t team, int64_t user)
{
	uint64_t n = 0;
	int rc = db_exec(db, "DELETE FROM team_memberships"
			 " WHERE organization_id = ? AND team_id = ? AND user_id = ?",
			 DB_ARGS(DB_INT(org), DB_INT(team), DB_INT(user)), &n);

	if (rc < 0)
		return rc;
	return n ? 0 : PV_ENOTFOUND;
}

int dir_settings_json(struct db *db, int64_t org, json_object **out)
{
	long long invites = 0, retention = 365;
	struct db_rows *r = NULL;
	json_object *o;
	int rc;

	rc = db_query(db, &r, "SELECT automatic_invites, sync_retention_days FROM organization_settings"
		      " WHERE organization_id = ?", DB_ARGS(DB_INT(org)));
	/* An organization made before settings existed has the defaults. */
	if (rc == 0 && (rc = db_rows_next(r)) == 1) {
		invites = db_rows_int(r, 0);
		retention = db_rows_int(r, 1);
	}
	db_rows_free(r);
	if (rc < 0)
		return rc;
	o = json_object_new_object();
	if (!o || pjson_add_bool(o, "automatic_invites", invites != 0) ||
	    pjson_add_int(o, "sync_retention_days", retention)) {
		json_object_put(o);
		return PV_ENOMEM;
	}
	*out = o;
	return 0;
}

int dir_settings_set_invites(struct db *db, int64_t org, int on)
{
	return db_exec(db, "INSERT INTO organization_settings (organization_id, automatic_invites)"
		       " VALUES (?, ?) ON DUPLICATE KEY UPDATE automatic_invites = VALUES(automatic_invites)",
		       DB_ARGS(DB_INT(org), DB_INT(on ? 1 : 0)), NULL);
}

int dir_settings_set_retention(struct db *db, int64_t org, int64_t days)
{
	if (days < DIR_RETENTION_MIN || days > DIR_RETENTION_MAX)
		return PV_EINVAL;
	return db_exec(db, "INSERT INTO organization_settings (organization_id, sync_retention_days)"
		       " VALUES (?, ?) ON DUPLICATE KEY UPDATE sync_retention_days = VALUES(sync_retention_days)",
		       DB_ARGS(DB_INT(org), DB_INT(days)), NULL);
}

/* ---- The sync's snapshot ---- */

/* The column's text copied into the snapshot's pool (NULL stays NULL). */
static int snap_col(struct snapshot *s, const struct db_rows *rows, int col, const char **out)
{
	return snapshot_strndup(s, db_rows_str(rows, col), db_rows_len(rows, col), out);
}

static int snap_users(struct db *db, int64_t org, const char *ws, struct snapshot *s)
{
	struct db_rows *rows = NULL;
	int rc;

	/* Streamed: rows go into the pool as they come, so they are not also
	 * held in the client library's buffer. */
	rc = db_query_stream(db, &rows, "SELECT id, email, first_name, last_name, display_name,"
			     " job_title, picture_url, avatar_hash,"
			     " IF(slack_workspace_id = ?, slack_user_id, NULL), status = 'active',"
			     " source = 'slack', is_guest, role = 'administrator',"
			     " provisioned AND slack_workspace_id = ?, deactivated_by <=> 'person'"
			     " FROM users WHERE organization_id = ? ORDER BY id",
			     DB_ARGS(DB_STR(ws), DB_STR(ws), DB_INT(org)));
	while (rc == 0 && (rc = db_rows_next(rows)) == 1) {
		struct snap_user *u;

		if ((rc = snapshot_add_user(s, &u)) < 0)
			break;
		u->id = db_rows_int(rows, 0);
		if ((rc = snap_col(s, rows, 1, &u->email)) < 0 ||
		    (rc = snap_col(s, rows, 2, &u->first_name)) < 0 ||
		    (rc = snap_col(s, rows, 3, &u->last_name)) < 0 ||
		    (rc = snap_col(s, rows, 4, &u->display_name)) < 0 ||
		    (rc = snap_col(s, rows, 5, &u->job_title)) < 0 ||
		    (rc = snap_col(s, rows, 6, &u->picture_url)) < 0 ||
		    (rc = snap_col(s, rows, 7, &u->picture_key)) < 0 ||
		    (rc = snap_col(s, rows, 8, &u->slack_user_id)) < 0)
			break;
		u->status = db_rows_int(rows, 9) ? SNAP_USER_ACTIVE : SNAP_USER_DEACTIVATED;
		u->source = db_rows_int(rows, 10) ? SNAP_SOURCE_SLACK : SNAP_SOURCE_MANUAL;
		u->is_guest = db_rows_int(rows, 11) != 0;
		u->is_admin = db_rows_int(rows, 12) != 0;
		u->provisioned = db_rows_int(rows, 13) != 0;
		u->deactivated_by_hand = db_rows_int(rows, 14) != 0;
		rc = 0;
	}
	db_rows_free(rows);
	return rc;
}

static int snap_teams(struct db *db, int64_t org, struct snapshot *s)
{
	struct db_rows *rows = NULL;
	int rc;

	rc = db_query_stream(db, &rows, "SELECT id, name FROM teams WHERE organization_id = ?"
			     " ORDER BY id", DB_ARGS(DB_INT(org)));
	while (rc == 0 && (rc = db_rows_next(rows)) == 1) {
		struct snap_team *t;

		if ((rc = snapshot_add_team(s, &t)) < 0)
			break;
		t->id = db_rows_int(rows, 0);
		if ((rc = snap_col(s, rows, 1, &t->name)) < 0)
			break;
	}
	db_rows_free(rows);
	return rc < 0 ? rc : 0;
}

static int snap_memberships(struct db *db, int64_t org, struct snapshot *s)
{
	struct db_rows *rows = NULL;
	int rc;

	/* Memberships, then the tombstones of sync-made memberships an
	 * administrator removed (sql/008): the planner sees a pair it must
	 * never add back (SPEC §7.7).  Column 2: 1 provisioning, 0 manual,
	 * 2 removed by hand.  A tombstone and a membership of one pair cannot
	 * both exist: adding the person back by hand deletes the tombstone. */
	rc = db_query_stream(db, &rows, "SELECT team_id, user_id, source = 'provisioning'"
			     " FROM team_memberships WHERE organization_id = ?"
			     " UNION ALL SELECT team_id, user_id, 2 FROM team_membership_removals"
			     " WHERE organization_id = ?", DB_ARGS(DB_INT(org), DB_INT(org)));
	while (rc == 0 && (rc = db_rows_next(rows)) == 1) {
		struct snap_membership *m;

		if ((rc = snapshot_add_membership(s, &m)) < 0)
			break;
		m->team_id = db_rows_int(rows, 0);
		m->user_id = db_rows_int(rows, 1);
		switch (db_rows_int(rows, 2)) {
		case 1: m->source = SNAP_MS_PROVISIONING; break;
		case 2: m->source = SNAP_MS_REMOVED_BY_HAND; break;
		default: m->source = SNAP_MS_MANUAL; break;
		}
		rc = 0;
	}
	db_rows_free(rows);
	return rc;
}

int directory_snapshot_read(struct db *db, int64_t org, const char *workspace_id,
			    struct snapshot *s)
{
	int rc;

	if (!db || !s)
		return PV_EINVAL;
	/* One read view for the three lists: taken at START (not at the first
	 * SELECT), and READ ONLY so that nothing here can write by mistake. */
	rc = db_exec(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", DB_NOARGS, NULL);
	if (rc < 0)
		return rc;
	rc = snap_users(db, org, workspace_id, s);
	if (rc == 0)
		rc = snap_teams(db, org, s);
	if (rc == 0)
		rc = snap_memberships(db, org, s);
	/* Ends the read view either way; a failed COMMIT of a read-only
	 * transaction loses nothing, but it is reported. */
	if (rc == 0)
		rc = db_exec(db, "COMMIT", DB_NOARGS, NULL);
	else
		db_exec(db, "ROLLBACK", DB_NOARGS, NULL);
	return rc;
}

/* ---- changes made by hand (SPEC §4.3, §7.7) ---- */

struct status_change {
	int64_t org, id, by;
	int deactivate;
	const char **why;
};

static int status_change_tx(struct db *db, void *arg)
{
	struct status_change *c = arg;
	struct db_rows *r = NULL;
	long long others;
	int rc, admin, active;

	/* The row is locked first, so two administrators changing the same
	 * person, or the last two administrators deactivating each other,
	 * are served one after the other. */
	rc = db_query(db, &r, "SELECT role = 'administrator', status = 'active' FROM users"
		      " WHERE organization_id = ? AND id = ? FOR UPDATE",
		      DB_ARGS(DB_INT(c->org), DB_INT(c->id)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 0)
		rc = PV_ENOTFOUND;
	if (rc < 0)
		goto out;
	admin = db_rows_int(r, 0) != 0;
	active = db_rows_int(r, 1) != 0;
	rc = 0;
	if (active == !c->deactivate)
		goto out; /* already so: nothing to record */
	if (c->deactivate && c->id == c->by) {
		*c->why = "You cannot deactivate your own account. Ask another administrator.";
		rc = PV_ECONFLICT;
		goto out;
	}
	if (c->deactivate && admin) {
		rc = db_query_int(db, &others, "SELECT COUNT(*) FROM users WHERE organization_id = ?"
				  " AND role = 'administrator' AND status = 'active' AND id <> ?"
				  " FOR UPDATE", DB_ARGS(DB_INT(c->org), DB_INT(c->id)));
		if (rc < 0)
			goto out;
		if (others == 0) {
			*c->why = "This is the organization's last active administrator. Make someone "
				  "else an administrator first.";
			rc = PV_ECONFLICT;
			goto out;
		}
	}
	if (c->deactivate)
		rc = db_exec(db, "UPDATE users SET status = 'deactivated', deactivated_at = NOW(),"
			     " deactivated_by = 'person', status_changed_by_user_id = ?,"
			     " status_changed_at = NOW() WHERE organization_id = ? AND id = ?",
			     DB_ARGS(DB_INT(c->by), DB_INT(c->org), DB_INT(c->id)), NULL);
	else
		rc = db_exec(db, "UPDATE users SET status = 'active', deactivated_at = NULL,"
			     " deactivated_by = NULL, status_changed_by_user_id = ?,"
			     " status_changed_at = NOW() WHERE organization_id = ? AND id = ?",
			     DB_ARGS(DB_INT(c->by), DB_INT(c->org), DB_INT(c->id)), NULL);
	/* A deactivated person is signed out everywhere at once. */
	if (rc == 0 && c->deactivate)
		rc = db_exec(db, "DELETE FROM sessions WHERE organization_id = ? AND user_id = ?",
			     DB_ARGS(DB_INT(c->org), DB_INT(c->id)), NULL);
out:
	db_rows_free(r);
	return rc;
}

int dir_user_set_status(struct db *db, int64_t org, int64_t id, const char *status,
			int64_t by_user, const char **why)
{
	struct status_change c = { .org = org, .id = id, .by = by_user, .why = why };

	*why = NULL;
	if (!status || (strcmp(status, "active") && strcmp(status, "deactivated"))) {
		*why = "status must be active or deactivated.";
		return PV_EINVAL;
	}
	c.deactivate = strcmp(status, "deactivated") == 0;
	return db_tx_run(db, status_change_tx, &c);
}

/* The provisioning object of dir_user_facts_json from one row. */
static int facts_to(const struct db_rows *r, void *arg)
{
	json_object **out = arg, *o = json_object_new_object(), *by = NULL, *last = NULL;

	if (!o)
		return PV_ENOMEM;
	if (pjson_add_str(o, "slack_workspace_id", db_rows_str(r, 0)) ||
	    pjson_add_str(o, "slack_user_id", db_rows_str(r, 1)) ||
	    pjson_add_bool(o, "provisioned", db_rows_int(r, 2) != 0) ||
	    pjson_add_str(o, "deactivated_by", db_rows_str(r, 3)) ||
	    pjson_add_str(o, "deactivated_at", db_rows_str(r, 4)) ||
	    pjson_add_str(o, "status_changed_at", db_rows_str(r, 7)))
		goto fail;
	if (!db_rows_is_null(r, 5)) {
		by = json_object_new_object();
		if (!by || pjson_add_int(by, "id", db_rows_int(r, 5)) ||
		    pjson_add_str(by, "name", db_rows_str(r, 6)))
			goto fail;
	}
	if (pjson_add(o, "status_changed_by", by) < 0) {
		by = NULL;
		goto fail;
	}
	by = NULL;
	if (!db_rows_is_null(r, 8)) {
		last = json_object_new_object();
		if (!last || pjson_add_int(last, "sync_id", db_rows_int(r, 8)) ||
		    pjson_add_str(last, "action", db_rows_str(r, 9)) ||
		    pjson_add_str(last, "outcome", db_rows_str(r, 10)) ||
		    pjson_add_str(last, "details", db_rows_str(r, 11)) ||
		    pjson_add_str(last, "at", db_rows_str(r, 12)))
			goto fail;
	}
	if (pjson_add(o, "last_sync_action", last) < 0) {
		last = NULL;
		goto fail;
	}
	*out = o;
	return 0;
fail:
	json_object_put(last);
	json_object_put(by);
	json_object_put(o);
	return PV_ENOMEM;
}

int dir_user_facts_json(struct db *db, int64_t org, int64_t id, json_object **out)
{
	*out = NULL;
	/* The last action: provisioning_sync_actions_user (organization_id,
	 * user_id, id), 008, read backwards from this user's newest row. */
	return db_query_one(db, facts_to, out,
			    "SELECT u.slack_workspace_id, u.slack_user_id, u.provisioned,"
			    " CASE u.deactivated_by WHEN 'person' THEN 'administrator'"
			    " ELSE u.deactivated_by END,"
			    " DATE_FORMAT(u.deactivated_at, '%Y-%m-%dT%H:%i:%sZ'),"
			    " b.id, b.display_name, DATE_FORMAT(u.status_changed_at, '%Y-%m-%dT%H:%i:%sZ'),"
			    " a.sync_id, a.action, a.outcome, a.details,"
			    " DATE_FORMAT(a.created_at, '%Y-%m-%dT%H:%i:%sZ')"
			    " FROM users u"
			    " LEFT JOIN users b ON b.organization_id = u.organization_id"
			    " AND b.id = u.status_changed_by_user_id"
			    " LEFT JOIN provisioning_sync_actions a ON a.id = (SELECT MAX(x.id)"
			    " FROM provisioning_sync_actions x WHERE x.organization_id = u.organization_id"
			    " AND x.user_id = u.id AND x.outcome IN ('succeeded', 'failed'))"
			    " WHERE u.organization_id = ? AND u.id = ?",
			    DB_ARGS(DB_INT(org), DB_INT(id)));
}

struct member_change {
	int64_t org, team, user, by;
};

static int remove_by_hand_tx(struct db *db, void *arg)
{
	struct member_change *c = arg;
	struct db_rows *r = NULL;
	int rc, synced;

	rc = db_query(db, &r, "SELECT source = 'provisioning' FROM team_memberships"
		      " WHERE organization_id = ? AND team_id = ? AND user_id = ? FOR UPDATE",
		      DB_ARGS(DB_INT(c->org), DB_INT(c->team), DB_INT(c->user)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 0)
		rc = PV_ENOTFOUND;
	if (rc < 0)
		goto out;
	synced = db_rows_int(r, 0) != 0;
	rc = db_exec(db, "DELETE FROM team_memberships"
		     " WHERE organization_id = ? AND team_id = ? AND user_id = ?",
		     DB_ARGS(DB_INT(c->org), DB_INT(c->team), DB_INT(c->user)), NULL);
	/* Only a membership the sync made needs a tombstone: the sync never
	 * adds a membership that was made by hand in the first place. */
	if (rc == 0 && synced)
		rc = db_exec(db, "INSERT INTO team_membership_removals (organization_id, team_id,"
			     " user_id, removed_by_user_id) VALUES (?, ?, ?, ?)"
			     " ON DUPLICATE KEY UPDATE removed_by_user_id = VALUES(removed_by_user_id),"
			     " removed_at = NOW()",
			     DB_ARGS(DB_INT(c->org), DB_INT(c->team), DB_INT(c->user), DB_INT(c->by)),
			     NULL);
out:
	db_rows_free(r);
	return rc;
}

int dir_team_remove_member_by_hand(struct db *db, int64_t org, int64_t team, int64_t user,
				   int64_t by_user)
{
	struct member_change c = { org, team, user, by_user };

	return db_tx_run(db, remove_by_hand_tx, &c);
}

static int add_by_hand_tx(struct db *db, void *arg)
{
	struct member_change *c = arg;
	int rc = dir_team_add_member(db, c->org, c->team, c->user, "manual");

	/* Adding the person back by hand is the administrator undoing their
	 * removal: the tombstone goes. */
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM team_membership_removals"
			     " WHERE organization_id = ? AND team_id = ? AND user_id = ?",
			     DB_ARGS(DB_INT(c->org), DB_INT(c->team), DB_INT(c->user)), NULL);
	return rc;
}

int dir_team_add_member_by_hand(struct db *db, int64_t org, int64_t team, int64_t user)
{
	struct member_change c = { org, team, user, 0 };

	return db_tx_run(db, add_by_hand_tx, &c);
}

static json_object *removal_from_row(const struct db_rows *r, int col)
{
	json_object *m = user_from_row(r, col);

	if (m && (pjson_add_str(m, "membership_source", "removed_by_hand") ||
		  pjson_add_str(m, "removed_at", db_rows_str(r, col + USER_NCOLS)) ||
		  pjson_add_int(m, "removed_by_user_id", db_rows_int(r, col + USER_NCOLS + 1)))) {
		json_object_put(m);
		return NULL;
	}
	return m;
}

int dir_team_removals(struct db *db, int64_t org, int64_t team, int64_t after_id, int limit,
		      json_object **removed, int64_t *next_after)
{
	struct db_rows *r = NULL;
	int rc = team_exists(db, org, team);

	if (rc < 0)
		return rc;
	rc = db_query(db, &r, "SELECT " USER_COLUMNS ","
		      " DATE_FORMAT(x.removed_at, '%Y-%m-%dT%H:%i:%sZ'), x.removed_by_user_id"
		      " FROM team_membership_removals x JOIN users u"
		      " ON u.organization_id = x.organization_id AND u.id = x.user_id"
		      " WHERE x.organization_id = ? AND x.team_id = ? AND u.id > ?"
		      " ORDER BY u.id LIMIT ?",
		      DB_ARGS(DB_INT(org), DB_INT(team), DB_INT(after_id), DB_INT(limit + 1)));
	if (rc == 0)
		rc = row_json_page(r, removal_from_row, limit, removed, next_after);
	db_rows_free(r);
	return rc;
}

struct password_change {
	int64_t org;
	const char *email, *hash;
};

static int set_password_tx(struct db *db, void *arg)
{
	struct password_change *c = arg;
	long long id = 0;
	int rc = db_query_int(db, &id, "SELECT id FROM users WHERE organization_id = ?"
			      " AND email_key = " EMAIL_KEY_SQL " FOR UPDATE",
			      DB_ARGS(DB_INT(c->org), DB_STR(c->email)));

	if (rc == 0)
		rc = db_exec(db, "UPDATE users SET password_hash = ? WHERE organization_id = ? AND id = ?",
			     DB_ARGS(DB_STR(c->hash), DB_INT(c->org), DB_INT(id)), NULL);
	/* Whoever held the old password is signed out with it. */
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM sessions WHERE organization_id = ? AND user_id = ?",
			     DB_ARGS(DB_INT(c->org), DB_INT(id)), NULL);
	return rc;
}

int dir_user_set_password(struct db *db, int64_t org, const char *email, const char *hash)
{
	struct password_change c = { org, email, hash };

	if (!email || !hash || !*hash)
		return PV_EINVAL;
	return db_tx_run(db, set_password_tx, &c);
}
