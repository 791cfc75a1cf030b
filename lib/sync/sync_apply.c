#include "sync/sync_apply.h"
#include "core/buf.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "sync/sync_queue.h"
#include "sync/sync_report_rows.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sync_act_from_plan(const struct plan_action *a, struct sync_act *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = a->kind;
	out->reason = a->reason;
	out->user_id = a->user ? a->user->id : 0;
	out->slack_user_id = a->slack ? a->slack->id : a->user ? a->user->slack_user_id : NULL;
	if (a->kind == PLAN_CREATE && a->profile) {
		out->user_email = a->profile->email;
		out->user_name = a->profile->display_name;
	} else if (a->user) {
		out->user_email = a->user->email;
		out->user_name = a->user->display_name;
	} else if (a->slack) {
		out->user_email = a->slack->email;
		/* The planner's display rule (sync_plan.h, Profile), so a new
		 * user's team rows carry the name of their create row. */
		const struct snap_person *p = a->slack;

		out->user_name = p->display_name && *p->display_name ? p->display_name
			       : p->full_name && *p->full_name ? p->full_name : p->handle;
	}
	out->team_id = a->team ? a->team->id : 0;
	out->team_name = a->team ? a->team->name : NULL;
	out->link = a->link;
	if (a->profile)
		out->profile = *a->profile;
	out->changes = a->changes;
	out->n_changes = a->n_changes;
	out->shortened = a->shortened;
	out->avatar_hash = a->picture_key;
	out->picture = NULL;
	out->rival = a->rival ? a->rival->id : NULL;
}

/* head, then n copies of row joined by ", " (the rows of a multi-row
 * INSERT, the ids of an IN list); the text depends on n only, so the
 * statement cache serves every full batch. */
static int sql_repeat(struct buf *sql, const char *head, const char *row, size_t n)
{
	int rc = buf_puts(sql, head);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = buf_printf(sql, "%s%s", i ? ", " : "", row);
	return rc;
}

/* head (which ends in "IN ("), n copies of item and the closing ")". */
static int sql_in_list(struct buf *sql, const char *head, const char *item, size_t n)
{
	int rc = sql_repeat(sql, head, item, n);

	return rc < 0 ? rc : buf_puts(sql, ")");
}

/* Writes rows in one multi-row INSERT (rows of an approved held sync are
 * updated one by one instead: they exist already). */
static int rows_write(struct sync_apply_ctx *ctx, struct sync_report_row *rows, size_t n)
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
	p = calloc(ins * SYNC_REPORT_ROW_PARAMS, sizeof(*p));
	if (!p)
		rc = PV_ENOMEM;
	if (rc == 0)
		rc = sql_repeat(&sql, "INSERT INTO " SYNC_REPORT_ROW_COLUMNS " VALUES ",
				      SYNC_REPORT_ROW_VALUES, ins);
	for (size_t i = 0, k = 0; rc == 0 && i < n; i++)
		if (!rows[i].a->row_id)
			sync_report_row_params(&rows[i], ctx->sync_id, ctx->org, p + SYNC_REPORT_ROW_PARAMS * k++);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, ins * SYNC_REPORT_ROW_PARAMS, NULL);
	free(p);
	buf_release(&sql);
	return rc;
}

/* Writes (or, for a held sync's row, updates) the report row of a. */
static int row_write(struct sync_apply_ctx *ctx, const struct sync_act *a, const char *outcome,
		     int64_t user_id, int planned, const char *failure)
{
	struct sync_report_row r;
	int rc = sync_report_row_build(&r, a, outcome, user_id, planned, ctx->invites, failure);

	if (rc == 0)
		rc = rows_write(ctx, &r, 1);
	sync_report_row_release(&r);
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

/* The picture of a create, or the new picture of an update (NULL: none,
 * or the update goes to no picture): what the applier stores first. */
static const char *picture_source(const struct sync_act *a)
{
	if (a->kind == PLAN_CREATE)
		return a->profile.picture_url;
	for (size_t i = 0; i < a->n_changes; i++)
		if (a->changes[i].field == PLAN_F_PICTURE)
			return a->changes[i].to;
	return NULL;
}

/* Whether a's picture is to be written: none asked, or stored. */
static int picture_written(const struct sync_act *a)
{
	return !picture_source(a) || (a->picture && a->picture->stored);
}

/* The columns an update may set: the only column names that ever enter an
 * UPDATE, whatever the input (a held sync's payload is data). */
enum update_column {
	UC_FIRST_NAME, UC_LAST_NAME, UC_DISPLAY_NAME, UC_EMAIL, UC_JOB_TITLE, UC_IS_GUEST,
	UC_PICTURE_URL, UC_PICTURE_LARGE_URL, UC_AVATAR_HASH,
	UC_WORKSPACE, UC_SLACK_USER, UC_PROVISIONED,
	UC_COUNT
};

static const char *const update_column_name[UC_COUNT] = {
	[UC_FIRST_NAME] = "first_name", [UC_LAST_NAME] = "last_name",
	[UC_DISPLAY_NAME] = "display_name", [UC_EMAIL] = "email", [UC_JOB_TITLE] = "job_title",
	[UC_IS_GUEST] = "is_guest", [UC_PICTURE_URL] = "picture_url",
	[UC_PICTURE_LARGE_URL] = "picture_large_url", [UC_AVATAR_HASH] = "avatar_hash",
	[UC_WORKSPACE] = "slack_workspace_id", [UC_SLACK_USER] = "slack_user_id",
	[UC_PROVISIONED] = "provisioned",
};

/* The column of each planner field (the status and the picture: below). */
static const int field_update_column[PLAN_FIELD_COUNT] = {
	[PLAN_F_FIRST_NAME] = UC_FIRST_NAME, [PLAN_F_LAST_NAME] = UC_LAST_NAME,
	[PLAN_F_DISPLAY_NAME] = UC_DISPLAY_NAME, [PLAN_F_EMAIL] = UC_EMAIL,
	[PLAN_F_JOB_TITLE] = UC_JOB_TITLE, [PLAN_F_IS_GUEST] = UC_IS_GUEST,
	[PLAN_F_PICTURE] = -1, [PLAN_F_STATUS] = -1,
};

/* What the update (or reactivation) a writes: v[c] for each column c in
 * *set.  The picture columns are the stored copy with its key, or none
 * (Slack's default avatar), and nothing when the new picture was not
 * stored, so the old one and its key stay; the status is the kind's
 * (apply_update).  PV_EINVAL for a field out of range or given twice. */
static int update_values(const struct sync_apply_ctx *ctx, const struct sync_act *a,
			 struct db_param v[UC_COUNT], unsigned *set)
{
	static const char *const guest[2] = { "0", "1" };
	unsigned seen = 0;

	*set = 0;
	for (size_t i = 0; i < a->n_changes; i++) {
		const struct plan_change *c = &a->changes[i];

		if ((unsigned)c->field >= PLAN_FIELD_COUNT || (seen & (1u << c->field)))
			return PV_EINVAL;
		seen |= 1u << c->field;
		if (c->field == PLAN_F_STATUS)
			continue;
		if (c->field == PLAN_F_PICTURE) {
			if (c->to && !picture_written(a))
				continue;
			v[UC_PICTURE_URL] = c->to ? DB_STR(a->picture->url) : DB_NULL();
			v[UC_PICTURE_LARGE_URL] = c->to ? DB_STR(a->picture->large_url) : DB_NULL();
			v[UC_AVATAR_HASH] = c->to ? DB_STR(a->avatar_hash) : DB_NULL();
			*set |= 1u << UC_PICTURE_URL | 1u << UC_PICTURE_LARGE_URL | 1u << UC_AVATAR_HASH;
			continue;
		}
		v[field_update_column[c->field]] = c->field == PLAN_F_IS_GUEST
			? DB_STR(guest[c->to && strcmp(c->to, "true") == 0]) : DB_STR(c->to);
		*set |= 1u << field_update_column[c->field];
	}
	if (a->link) {
		v[UC_WORKSPACE] = DB_STR(ctx->workspace_id);
		v[UC_SLACK_USER] = DB_STR(a->slack_user_id);
		v[UC_PROVISIONED] = DB_INT(1);
		*set |= 1u << UC_WORKSPACE | 1u << UC_SLACK_USER | 1u << UC_PROVISIONED;
	}
	return 0;
}

/* An update left with nothing to write: its only change was a new picture
 * that could not be stored. */
static int update_is_empty(const struct sync_act *a)
{
	return a->kind == PLAN_UPDATE && !a->link && a->n_changes == 1 &&
	       a->changes[0].field == PLAN_F_PICTURE && !picture_written(a);
}

/* Sets the changed columns (and the link, and the status of a
 * (re)activation) of one user. */
static int apply_update(struct sync_apply_ctx *ctx, const struct sync_act *a, uint64_t *changed)
{
	struct db_param v[UC_COUNT], p[UC_COUNT + 2];
	unsigned set;
	struct buf sql;
	size_t np = 0;
	int rc = update_values(ctx, a, v, &set);

	if (rc < 0)
		return rc;
	buf_init(&sql, 2048);
	rc = buf_puts(&sql, "UPDATE users SET updated_at = NOW()");
	for (int c = 0; rc == 0 && c < UC_COUNT; c++)
		if (set & (1u << c)) {
			rc = buf_printf(&sql, ", %s = ?", update_column_name[c]);
			p[np++] = v[c];
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

/* Names and titles are cut to fit (the planner): what is left is an
 * e-mail address over 254 characters, or a value a constraint refuses. */
#define TOO_LONG "a value from Slack is longer than the directory accepts (an e-mail address" \
	" over 254 characters) or is refused by it; correct it in the Slack profile."

/* A created user's row and its invitation: one text each for the single
 * and the multi-row INSERT, so the two cannot drift apart. */
#define USERS_INSERT "INSERT INTO users (organization_id, email, first_name, last_name," \
	" display_name, job_title, picture_url, picture_large_url, avatar_hash, is_guest, source," \
	" provisioned, slack_workspace_id, slack_user_id) VALUES "
#define USERS_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'slack', 1, ?, ?)"
#define USER_PARAMS 12
#define OUTBOX_INSERT "INSERT INTO invitation_outbox (organization_id, user_id, email) VALUES "
#define OUTBOX_ROW "(?, ?, ?)"
#define OUTBOX_PARAMS 3

/* The USER_PARAMS parameters of USERS_ROW for the create a: the picture
 * only as the product stored it (a picture not stored leaves the key NULL,
 * so the next sync tries again). */
static void user_params(const struct sync_apply_ctx *ctx, const struct sync_act *a,
			struct db_param *q)
{
	const struct plan_profile *pr = &a->profile;
	int pic = pr->picture_url && picture_written(a);

	q[0] = DB_INT(ctx->org);
	q[1] = DB_STR(pr->email);
	q[2] = DB_STR(pr->first_name);
	q[3] = DB_STR(pr->last_name);
	q[4] = DB_STR(pr->display_name);
	q[5] = DB_STR(pr->job_title);
	q[6] = DB_STR(pic ? a->picture->url : NULL);
	q[7] = DB_STR(pic ? a->picture->large_url : NULL);
	q[8] = DB_STR(pic ? pr->picture_key : NULL);
	q[9] = DB_INT(pr->is_guest ? 1 : 0);
	q[10] = DB_STR(ctx->workspace_id);
	q[11] = DB_STR(a->slack_user_id);
}

/* The OUTBOX_PARAMS parameters of OUTBOX_ROW. */
static void outbox_params(const struct sync_apply_ctx *ctx, int64_t user_id, const char *email,
			  struct db_param *q)
{
	q[0] = DB_INT(ctx->org);
	q[1] = DB_INT(user_id);
	q[2] = DB_STR(email);
}

/* Ends the sessions of the people in p[1..np) (p[0]: the organization):
 * the ones there are, found by a plain read, then deleted by their keys.
 * A DELETE by user id took next-key locks on the sessions index (between
 * the sessions of others, often the only ones there are), so the other
 * writer's batch, and anyone signing in, waited for this transaction.  A
 * session opened between the read and the commit stays in the table but
 * opens nothing: a session counts only for an active person
 * (session_lookup), and it expires. */
static int end_sessions(struct sync_apply_ctx *ctx, const struct db_param *p, size_t np)
{
	struct db_rows *r = NULL;
	struct db_param *keys = NULL;
	char (*digest)[65] = NULL;
	struct buf sql;
	size_t n = 0, cap = 0;
	int rc;

	buf_init(&sql, 4096);
	rc = sql_in_list(&sql, "SELECT id_digest FROM sessions WHERE organization_id = ?"
			 " AND user_id IN (", "?", np - 1);
	if (rc == 0)
		rc = db_query(ctx->db, &r, buf_cstr(&sql), p, np);
	while (rc == 0 && (rc = db_rows_next(r)) == 1) {
		const char *d = db_rows_str(r, 0);

		rc = 0;
		if (!d || strlen(d) >= sizeof(*digest))
			continue;  /* a key the product never writes */
		if (n == cap) {
			void *more = realloc(digest, (cap ? 2 * cap : 16) * sizeof(*digest));

			if (!more) {
				rc = PV_ENOMEM;
				break;
			}
			digest = more;
			cap = cap ? 2 * cap : 16;
		}
		snprintf(digest[n++], sizeof(*digest), "%s", d);
	}
	db_rows_free(r);
	if (rc < 0 || n == 0)
		goto out;
	keys = calloc(n + 1, sizeof(*keys));
	if (!keys) {
		rc = PV_ENOMEM;
		goto out;
	}
	keys[0] = p[0];
	for (size_t i = 0; i < n; i++)
		keys[i + 1] = DB_STR(digest[i]);
	buf_reset(&sql);
	rc = sql_in_list(&sql, "DELETE FROM sessions WHERE organization_id = ? AND id_digest IN (",
			 "?", n);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), keys, n + 1, NULL);
out:
	free(keys);
	free(digest);
	buf_release(&sql);
	return rc;
}

/* Deactivates the people in p[1..np) (p[0]: the organization) who are
 * still active and provisioned, ending their sessions; *changed gets how
 * many were.  One statement for a batch (apply_deactivations) and for one
 * action replayed alone (apply_one). */
static int deactivate(struct sync_apply_ctx *ctx, const struct db_param *p, size_t np,
		      uint64_t *changed)
{
	struct buf sql;
	int rc;

	buf_init(&sql, 4096);
	rc = sql_in_list(&sql, "UPDATE users SET status = 'deactivated', deactivated_at = NOW(),"
			 " deactivated_by = 'sync' WHERE organization_id = ? AND status = 'active'"
			 " AND provisioned = 1 AND id IN (", "?", np - 1);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, np, changed);
	buf_release(&sql);
	if (rc == 0 && *changed)
		rc = end_sessions(ctx, p, np);
	return rc;
}

/* Applies one action; *outcome and *user_id say what happened. */
static int apply_one(struct sync_apply_ctx *ctx, const struct sync_act *a, const char **outcome,
		     int64_t *user_id, const char **failure)
{
	struct db_param q[USER_PARAMS];
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
		user_params(ctx, a, q);
		rc = db_exec(ctx->db, USERS_INSERT USERS_ROW, q, USER_PARAMS, NULL);
		if (rc == PV_ECONFLICT)
			*failure = "another account already has this e-mail address or this Slack member.";
		else if (rc == PV_EINVAL)
			*failure = TOO_LONG;
		if (rc < 0)
			return rc;
		*user_id = (int64_t)db_insert_id(ctx->db);
		if (ctx->invites) {
			outbox_params(ctx, *user_id, a->profile.email, q);
			rc = db_exec(ctx->db, OUTBOX_INSERT OUTBOX_ROW, q, OUTBOX_PARAMS, NULL);
		}
		return rc;
	case PLAN_UPDATE:
	case PLAN_REACTIVATE:
		if (update_is_empty(a)) {
			*outcome = "skipped";  /* the Details say why the picture stays */
			return 0;
		}
		rc = apply_update(ctx, a, &n);
		if (rc == PV_ECONFLICT)
			*failure = "the new e-mail address is already used by another account.";
		else if (rc == PV_EINVAL)
			*failure = TOO_LONG;
		if (rc == 0 && n == 0 && a->kind == PLAN_REACTIVATE)
			*outcome = "skipped";  /* reactivated meanwhile by someone */
		return rc;
	case PLAN_DEACTIVATE:
		rc = deactivate(ctx, DB_ARGS(DB_INT(ctx->org), DB_INT(a->user_id)), &n);
		if (rc == 0 && n == 0)
			*outcome = "skipped";  /* already deactivated, or no longer ours */
		return rc;
	case PLAN_ADD_TO_TEAM:
		/* No account: its create failed (apply_alone records it so). */
		if (!*user_id && (rc = find_linked(ctx, a->slack_user_id, user_id)) < 0) {
			if (rc == PV_ENOTFOUND)
				*failure = "the account of this person could not be created, so it"
					   " cannot join the team.";
			return rc;
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
	return rc == PV_EDBDOWN || rc == PV_ENOMEM || rc == PV_ELEASE;
}

/* ---- The batch transaction: fenced, and run again after a deadlock ---- */

/* The first statement of each transaction of the run: does this worker
 * still hold the sync?  A worker frozen past its lease (or waiting on
 * Slack too long) finds out here and commits nothing. */
static int batch_fence(struct sync_apply_ctx *ctx)
{
	int rc = syncq_fence(ctx->db, ctx->sync_id, ctx->owner);

	if (rc == PV_ELEASE)
		log_warn("sync %lld: another worker took this sync over; this one stops without"
			 " writing", (long long)ctx->sync_id);
	return rc;
}

/* Runs fn(ctx, arg) as one transaction of the run through db_tx_run: fenced
 * first, committed when fn returns 0, rolled back otherwise, and run again
 * whole when it loses a deadlock or a lock wait (fn starts afresh). */
struct batch_tx {
	struct sync_apply_ctx *ctx;
	int (*fn)(struct sync_apply_ctx *ctx, void *arg);
	void *arg;
};

static int batch_tx_body(struct db *db, void *arg)
{
	struct batch_tx *t = arg;
	int rc;

	(void)db;  /* t->ctx->db: the same connection */
	rc = batch_fence(t->ctx);
	return rc < 0 ? rc : t->fn(t->ctx, t->arg);
}

static int batch_tx(struct sync_apply_ctx *ctx, int (*fn)(struct sync_apply_ctx *ctx, void *arg),
		    void *arg)
{
	struct batch_tx t = { .ctx = ctx, .fn = fn, .arg = arg };

	return db_tx_run(ctx->db, batch_tx_body, &t);
}

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
	for (size_t i = from; i < to; i++)
		if (acts[i].kind == PLAN_CREATE)
			user_params(ctx, &acts[i], p + USER_PARAMS * k++);
	rc = sql_repeat(&sql, USERS_INSERT, USERS_ROW, n);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, n * USER_PARAMS, NULL);
	if (rc < 0)
		goto out;
	/* The ids are read back rather than assumed consecutive, which
	 * depends on innodb_autoinc_lock_mode.  Rows of this workspace with
	 * an id from the first one on are this batch's or, with two writers,
	 * the other writer's batch of the same sync (the lease keeps anyone
	 * else out): each is matched by Slack id among this batch's creates
	 * and the others' rows are passed over. */
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
	/* p holds USER_PARAMS per create: room for OUTBOX_PARAMS each. */
	for (size_t i = from; i < to; i++)
		if (acts[i].kind == PLAN_CREATE)
			outbox_params(ctx, ids[i - from], acts[i].profile.email, p + OUTBOX_PARAMS * k++);
	rc = sql_repeat(&sql, OUTBOX_INSERT, OUTBOX_ROW, n);
	if (rc == 0)
		rc = db_exec(ctx->db, buf_cstr(&sql), p, OUTBOX_PARAMS * n, NULL);
out:
	db_rows_free(r);
	free(p);
	buf_release(&sql);
	return rc;
}

/* A membership change of a batch, for the statements below. */
struct team_change {
	const char *slack_user_id;
	size_t i;                   /* index in the batch */
};

static int team_change_cmp(const void *x, const void *y)
{
	const struct team_change *a = x, *b = y;

	return strcmp(a->slack_user_id, b->slack_user_id);
}

/* The directory ids of the people created by earlier batches whose team
 * additions are in acts[from..to) (user_id 0: the plan knew no id), in
 * ids[i - from], with one query for the batch where one per addition used
 * to dominate a first sync.  PV_ENOTFOUND when one has no account (its
 * create failed): the batch is then replayed, and that addition alone
 * says why. */
static int resolve_new_members(struct sync_apply_ctx *ctx, const struct sync_act *acts,
			       size_t from, size_t to, int64_t *ids)
{
	struct team_change *tc = NULL, key, *hit;
	struct db_param *p = NULL;
	struct db_rows *r = NULL;
	struct buf sql;
	size_t n = 0, found = 0;
	int rc = 0;

	for (size_t i = from; i < to; i++)
		n += acts[i].kind == PLAN_ADD_TO_TEAM && !acts[i].user_id;
	if (n == 0)
		return 0;
	buf_init(&sql, 1 << 20);
	tc = calloc(n, sizeof(*tc));
	p = calloc(n + 2, sizeof(*p));
	if (!tc || !p) {
		rc = PV_ENOMEM;
		goto out;
	}
	n = 0;
	p[0] = DB_INT(ctx->org);
	p[1] = DB_STR(ctx->workspace_id);
	rc = buf_puts(&sql, "SELECT id, slack_user_id FROM users WHERE organization_id = ?"
		      " AND slack_workspace_id = ? AND slack_user_id IN (");
	for (size_t i = from; rc == 0 && i < to; i++) {
		if (acts[i].kind != PLAN_ADD_TO_TEAM || acts[i].user_id)
			continue;
		if (!acts[i].slack_user_id) {
			rc = PV_ENOTFOUND;
			goto out;
		}
		tc[n] = (struct team_change){ acts[i].slack_user_id, i };
		p[2 + n] = DB_STR(acts[i].slack_user_id);
		rc = buf_puts(&sql, n ? ", ?" : "?");
		n++;
	}
	if (rc == 0)
		rc = buf_puts(&sql, ")");
	if (rc == 0)
		rc = db_query(ctx->db, &r, buf_cstr(&sql), p, n + 2);
	if (rc < 0)
		goto out;
	/* One person may join several teams in a batch: every addition with
	 * the id gets it, found counts additions. */
	qsort(tc, n, sizeof(*tc), team_change_cmp);
	while ((rc = db_rows_next(r)) == 1) {
		key.slack_user_id = db_rows_str(r, 1);
		if (!key.slack_user_id ||
		    !(hit = bsearch(&key, tc, n, sizeof(*tc), team_change_cmp)))
			continue;
		while (hit > tc && team_change_cmp(hit - 1, &key) == 0)
			hit--;
		for (; hit < tc + n && team_change_cmp(hit, &key) == 0; hit++)
			if (!ids[hit->i - from]) {
				ids[hit->i - from] = db_rows_int(r, 0);
				found++;
			}
	}
	if (rc == 0 && found != n)
		rc = PV_ENOTFOUND;
out:
	db_rows_free(r);
	free(p);
	free(tc);
	buf_release(&sql);
	return rc;
}

/* A batch statement must touch exactly want rows (one per action):
 * otherwise PV_ECONFLICT, and the batch is replayed one action at a time,
 * where each outcome is known.  what names the actions in the log. */
static int as_planned(struct sync_apply_ctx *ctx, uint64_t changed, uint64_t want,
		      const char *what)
{
	if (changed == want)
		return 0;
	log_info("sync %lld: %s of this batch was not as planned; replaying it one action at a"
		 " time", (long long)ctx->sync_id, what);
	return PV_ECONFLICT;
}

static int exec_batch(struct sync_apply_ctx *ctx, const struct buf *sql, const struct db_param *p,
		      size_t np, uint64_t want, const char *what)
{
	uint64_t changed = 0;
	int rc = db_exec(ctx->db, buf_cstr(sql), p, np, &changed);

	return rc < 0 ? rc : as_planned(ctx, changed, want, what);
}

/* The team additions and removals of acts[from..to) as one INSERT and one
 * DELETE; ids[i - from] gets each one's user id.  The composite foreign
 * keys (organization_id, team_id) and (organization_id, user_id) keep a
 * row inside the organization, and IGNORE turns a membership that exists
 * already, a team deleted since the plan or a user gone into a row not
 * written.  Each statement must change exactly one row per action:
 * otherwise PV_ECONFLICT, and the batch is replayed one action at a time,
 * where each outcome is known (skipped, failed) and the others land. */
static int apply_team_changes(struct sync_apply_ctx *ctx, const struct sync_act *acts,
			      size_t from, size_t to, int64_t *ids)
{
	struct db_param *p = NULL;
	struct buf sql;
	size_t n_add = 0, n_rm = 0, k;
	int rc;

	for (size_t i = from; i < to; i++) {
		n_add += acts[i].kind == PLAN_ADD_TO_TEAM;
		n_rm += acts[i].kind == PLAN_REMOVE_FROM_TEAM;
	}
	if (n_add + n_rm == 0)
		return 0;
	rc = resolve_new_members(ctx, acts, from, to, ids);
	if (rc < 0)
		return rc;
	buf_init(&sql, 1 << 20);
	p = calloc(3 * (n_add > n_rm ? n_add : n_rm) + 1, sizeof(*p));
	if (!p) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = from; i < to; i++)
		if (acts[i].kind == PLAN_REMOVE_FROM_TEAM ||
		    (acts[i].kind == PLAN_ADD_TO_TEAM && acts[i].user_id))
			ids[i - from] = acts[i].user_id;
	if (n_add) {
		k = 0;
		for (size_t i = from; i < to; i++)
			if (acts[i].kind == PLAN_ADD_TO_TEAM) {
				p[k++] = DB_INT(ctx->org);
				p[k++] = DB_INT(acts[i].team_id);
				p[k++] = DB_INT(ids[i - from]);
			}
		rc = sql_repeat(&sql, "INSERT IGNORE INTO team_memberships (organization_id,"
				      " team_id, user_id, source) VALUES ", "(?, ?, ?, 'provisioning')",
				      n_add);
		if (rc == 0)
			rc = exec_batch(ctx, &sql, p, k, n_add, "a team addition");
	}
	if (rc == 0 && n_rm) {
		buf_reset(&sql);
		k = 0;
		p[k++] = DB_INT(ctx->org);
		for (size_t i = from; i < to; i++)
			if (acts[i].kind == PLAN_REMOVE_FROM_TEAM) {
				p[k++] = DB_INT(acts[i].team_id);
				p[k++] = DB_INT(acts[i].user_id);
			}
		rc = sql_in_list(&sql, "DELETE FROM team_memberships WHERE organization_id = ?"
				 " AND source = 'provisioning' AND (team_id, user_id) IN (", "(?, ?)",
				 n_rm);
		if (rc == 0)
			rc = exec_batch(ctx, &sql, p, k, n_rm, "a team removal");
	}
out:
	free(p);
	buf_release(&sql);
	return rc;
}

/* The deactivations of acts[from..to) as one UPDATE, and their sessions
 * ended, where an UPDATE and a DELETE per person took a round trip each.
 * Each must change its person: one already deactivated (by hand since the
 * plan) or no longer provisioned makes it PV_ECONFLICT, and the batch is
 * replayed one action at a time, where that one is skipped. */
static int apply_deactivations(struct sync_apply_ctx *ctx, const struct sync_act *acts,
			       size_t from, size_t to)
{
	struct db_param *p = NULL;
	size_t n = 0, k = 1;
	uint64_t changed = 0;
	int rc;

	for (size_t i = from; i < to; i++)
		n += acts[i].kind == PLAN_DEACTIVATE;
	if (n == 0)
		return 0;
	p = calloc(n + 1, sizeof(*p));
	if (!p)
		return PV_ENOMEM;
	p[0] = DB_INT(ctx->org);
	for (size_t i = from; i < to; i++)
		if (acts[i].kind == PLAN_DEACTIVATE)
			p[k++] = DB_INT(acts[i].user_id);
	rc = deactivate(ctx, p, k, &changed);
	if (rc == 0)
		rc = as_planned(ctx, changed, n, "a deactivation");
	free(p);
	return rc;
}

/* Whether an update of a batch is written by apply_updates: one that
 * writes something and needs no status check (a reactivation does). */
static int update_batched(const struct sync_act *a)
{
	return a->kind == PLAN_UPDATE && !update_is_empty(a);
}

/* The updates of acts[from..to) as one UPDATE, where one statement per
 * person (572 for a 1 % change of 100,000 people) took a round trip
 * each: each column any of them changes is set by a CASE on the user id
 * ("first_name = CASE id WHEN ? THEN ? ... ELSE first_name END"), so a
 * person's other columns stay as they are.  The statement must find every
 * person (rows matched, CLIENT_FOUND_ROWS); a person gone, or a value the
 * directory refuses (a duplicate e-mail address, a trigger), fails the
 * batch, which is then replayed one action at a time, where that one
 * update is recorded as failed and the others land. */
static int apply_updates(struct sync_apply_ctx *ctx, const struct sync_act *acts, size_t from,
			 size_t to)
{
	const struct sync_act **u = NULL;  /* the batch's batched updates */
	struct db_param *v = NULL, *p = NULL;
	unsigned *set = NULL, any = 0;
	struct buf sql;
	size_t n = 0, np = 0;
	int rc = 0;

	for (size_t i = from; i < to; i++)
		n += update_batched(&acts[i]);
	if (n == 0)
		return 0;
	buf_init(&sql, 1 << 16);
	u = calloc(n, sizeof(*u));
	v = calloc(n * UC_COUNT, sizeof(*v));
	p = calloc(n * (2 * UC_COUNT + 1) + 1, sizeof(*p));
	set = calloc(n, sizeof(*set));
	if (!u || !v || !p || !set) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = from, k = 0; rc == 0 && i < to; i++)
		if (update_batched(&acts[i])) {
			u[k] = &acts[i];
			rc = update_values(ctx, u[k], v + UC_COUNT * k, &set[k]);
			any |= set[k++];
		}
	if (rc == 0)
		rc = buf_puts(&sql, "UPDATE users SET updated_at = NOW()");
	for (int c = 0; rc == 0 && c < UC_COUNT; c++) {
		if (!(any & (1u << c)))
			continue;
		rc = buf_printf(&sql, ", %s = CASE id", update_column_name[c]);
		for (size_t k = 0; rc == 0 && k < n; k++)
			if (set[k] & (1u << c)) {
				rc = buf_puts(&sql, " WHEN ? THEN ?");
				p[np++] = DB_INT(u[k]->user_id);
				p[np++] = v[UC_COUNT * k + c];
			}
		if (rc == 0)
			rc = buf_printf(&sql, " ELSE %s END", update_column_name[c]);
	}
	p[np++] = DB_INT(ctx->org);
	for (size_t k = 0; k < n; k++)
		p[np++] = DB_INT(u[k]->user_id);
	if (rc == 0)
		rc = sql_in_list(&sql, " WHERE organization_id = ? AND id IN (", "?", n);
	if (rc == 0)
		rc = exec_batch(ctx, &sql, p, np, n, "an update");
out:
	free(set);
	free(p);
	free(v);
	free(u);
	buf_release(&sql);
	return rc;
}

/* Whether the batch statements above write this action. */
static int batched(const struct sync_act *a)
{
	return a->kind == PLAN_CREATE || a->kind == PLAN_ADD_TO_TEAM ||
	       a->kind == PLAN_REMOVE_FROM_TEAM || a->kind == PLAN_DEACTIVATE || update_batched(a);
}

/* A batch in one transaction: the creates in one INSERT, the updates in one
 * UPDATE, the deactivations in another (and their sessions), the team
 * changes in one INSERT and one DELETE (after the creates, whose accounts
 * they may need; no other action of a batch changes a membership, and the
 * plan puts team changes last), the other actions (reactivations, skips)
 * one by one in plan order, then every report row in one INSERT.  Inside
 * its transaction (batch_tx); repeatable (db_tx_run): everything it fills
 * is made anew here. */
struct range {
	struct sync_act *acts;
	size_t from, to;
};

static int apply_range_tx(struct sync_apply_ctx *ctx, void *arg)
{
	const struct range *g = arg;
	struct sync_act *acts = g->acts;
	size_t from = g->from, to = g->to;
	const char *failure;
	struct sync_report_row *rows = calloc(to - from, sizeof(*rows));
	int64_t *ids = calloc(to - from, sizeof(*ids));
	size_t filled = 0;
	int rc;

	if (!rows || !ids) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = insert_creates(ctx, acts, from, to, ids);
	if (rc == 0)
		rc = apply_updates(ctx, acts, from, to);
	if (rc == 0)
		rc = apply_deactivations(ctx, acts, from, to);
	if (rc == 0)
		rc = apply_team_changes(ctx, acts, from, to, ids);
	for (size_t i = from; i < to && rc == 0; i++) {
		const char *outcome = "succeeded";
		/* A batched update or deactivation names its user already. */
		int64_t user_id = ids[i - from] ? ids[i - from] : acts[i].user_id;

		if (!batched(&acts[i]))
			rc = apply_one(ctx, &acts[i], &outcome, &user_id, &failure);
		if (rc == 0)
			rc = sync_report_row_build(&rows[i - from], &acts[i], outcome, user_id, 0,
						   ctx->invites, NULL);
		filled = i - from + 1;
	}
	if (rc == 0)
		rc = rows_write(ctx, rows, to - from);
out:
	for (size_t i = 0; i < filled; i++)
		sync_report_row_release(&rows[i]);
	free(rows);
	free(ids);
	return rc;
}

static int apply_range(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t from, size_t to)
{
	struct range g = { .acts = acts, .from = from, .to = to };

	return batch_tx(ctx, apply_range_tx, &g);
}

struct alone {
	struct sync_act *a;
	const char *failure;        /* out: why it failed, in words */
};

static int apply_alone_tx(struct sync_apply_ctx *ctx, void *arg)
{
	struct alone *x = arg;
	const char *outcome;
	int64_t user_id = 0;
	int rc;

	x->failure = NULL;
	rc = apply_one(ctx, x->a, &outcome, &user_id, &x->failure);
	if (rc == 0)
		rc = row_write(ctx, x->a, outcome, user_id, 0, NULL);
	return rc;
}

static int failed_row_tx(struct sync_apply_ctx *ctx, void *arg)
{
	const struct alone *x = arg;

	return row_write(ctx, x->a, "failed", x->a->user_id, 0,
			 x->failure ? x->failure : "the directory refused the change.");
}

static int no_account_row_tx(struct sync_apply_ctx *ctx, void *arg)
{
	const struct alone *x = arg;
	struct sync_act s = *x->a;

	s.reason = PLAN_R_ACCOUNT_NOT_CREATED;
	return row_write(ctx, &s, "skipped", 0, 0, NULL);
}

/* One action alone; its failure becomes a failed row, except a team
 * addition of a person whose create failed: that person has one failed
 * row (the create's), and each of their teams a skipped one pointing to
 * it. */
static int apply_alone(struct sync_apply_ctx *ctx, struct sync_act *a)
{
	struct alone x = { .a = a };
	int rc = batch_tx(ctx, apply_alone_tx, &x);

	if (rc == 0 || fatal(rc))
		return rc;
	if (rc == PV_ENOTFOUND && a->kind == PLAN_ADD_TO_TEAM && !a->user_id)
		return batch_tx(ctx, no_account_row_tx, &x);
	log_warn("sync %lld: action %s of %s failed: %s (%s)", (long long)ctx->sync_id,
		 sync_plan_kind_name(a->kind), a->slack_user_id ? a->slack_user_id : "-",
		 pv_strerror(rc), db_last_error(ctx->db));
	ctx->failed++;
	return batch_tx(ctx, failed_row_tx, &x);
}

/* A batch's pictures in flight: the results the acts point at, and the
 * URLs the downloads borrow until the wait. */
struct picture_job {
	struct sync_picture *pics;
	const char **urls;
	size_t n;
};

/* Starts fetching and storing the pictures of acts[0..n) (outside any
 * transaction: an HTTP call each) and points each act that has one at its
 * result.  A failed picture is a result too (not stored, with why), never a
 * failed batch; only ENOMEM stops the run. */
static int pictures_begin(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n,
			  struct picture_job *job)
{
	size_t k = 0;

	memset(job, 0, sizeof(*job));
	for (size_t i = 0; i < n; i++)
		job->n += picture_source(&acts[i]) != NULL;
	if (job->n == 0)
		return 0;
	job->pics = calloc(job->n, sizeof(*job->pics));
	job->urls = calloc(job->n, sizeof(*job->urls));
	if (!job->pics || !job->urls) {
		free(job->urls);
		free(job->pics);
		memset(job, 0, sizeof(*job));
		return PV_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *src = picture_source(&acts[i]);

		if (src) {
			job->urls[k] = src;
			acts[i].picture = &job->pics[k++];
		}
	}
	if (ctx->picture_begin)
		ctx->picture_begin(ctx->picture_arg, job->urls, job->n, job->pics);
	return 0;
}

/* Waits for the pictures pictures_begin started; each not stored gets why. */
static void pictures_wait(struct sync_apply_ctx *ctx, struct picture_job *job)
{
	if (job->n && ctx->picture_begin)
		ctx->picture_wait(ctx->picture_arg);
	for (size_t k = 0; k < job->n; k++) {
		struct sync_picture *p = &job->pics[k];

		if (!ctx->picture_begin)
			snprintf(p->why, sizeof(p->why), "this sync stores no pictures");
		else if (!p->stored && !p->why[0])
			snprintf(p->why, sizeof(p->why), "the picture could not be stored");
	}
}

/* Frees a waited job; no act of acts[0..n) points into it any more. */
static void pictures_release(struct sync_act *acts, size_t n, struct picture_job *job)
{
	for (size_t i = 0; job->pics && i < n; i++)
		acts[i].picture = NULL;
	free(job->pics);
	free(job->urls);
	memset(job, 0, sizeof(*job));
}

/* Applies one batch (its pictures resolved), replaying it one action at a
 * time when it fails. */
static int apply_batch(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n)
{
	int rc = apply_range(ctx, acts, 0, n);

	if (rc < 0 && !fatal(rc)) {
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = apply_alone(ctx, &acts[i]);
	}
	return rc;
}

/* What a run applies: acts made already (an approved held sync, read back
 * from its rows), or a plan's actions (its compact team changes expanded
 * as they come), converted one batch at a time into a batch-sized buffer,
 * so that a first sync of 1.4 million memberships never holds a second
 * copy of its plan (176 bytes an action). */
struct act_source {
	struct sync_act *acts;
	const struct sync_plan *plan;
};

/* The acts of [from, to): the source's own, or the plan's converted into
 * buf (room for to - from). */
static struct sync_act *source_view(const struct act_source *src, size_t from, size_t to,
				    struct sync_act *buf)
{
	struct plan_action tmp;

	if (src->acts)
		return src->acts + from;
	for (size_t i = from; i < to; i++)
		sync_act_from_plan(sync_plan_at(src->plan, i, &tmp), &buf[i - from]);
	return buf;
}

static enum plan_kind source_kind(const struct act_source *src, size_t i)
{
	return src->acts ? src->acts[i].kind : sync_plan_kind_at(src->plan, i);
}

static int64_t source_row_id(const struct act_source *src, size_t i)
{
	return src->acts ? src->acts[i].row_id : 0;
}

/* One connection's share of a run: the batches first, first + step, ...
 * of [base, n).  Each batch's pictures are started before the previous
 * batch's transaction, so that they download while it runs (two buffers
 * of converted acts: the current batch's and the next one's). */
struct writer {
	struct sync_apply_ctx ctx;  /* its own connection; between only on the first */
	const struct act_source *src;
	struct sync_act *buf[2];    /* two batches of converted acts */
	size_t base, n, batch;      /* the range [base, n) */
	size_t total;               /* actions of the whole apply, for progress */
	size_t first, step;         /* batch index it starts with, and its stride */
	atomic_int *stop;           /* set by the writer that fails */
	atomic_size_t *done;        /* actions written so far (both writers) */
	int rc;
};

/* Batch b of w: [*from, *to); 0 when there is none. */
static int writer_batch(const struct writer *w, size_t b, size_t *from, size_t *to)
{
	*from = w->base + b * w->batch;
	*to = *from + w->batch < w->n ? *from + w->batch : w->n;
	return *from < w->n;
}

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	struct picture_job job[2];
	struct sync_act *view[2] = { NULL, NULL };
	size_t b = w->first, from, to, nfrom = 0, nto = 0, cur = 0;
	int more, stopped;

	memset(job, 0, sizeof(job));
	if (!writer_batch(w, b, &from, &to))
		return NULL;
	view[0] = source_view(w->src, from, to, w->buf[0]);
	w->rc = pictures_begin(&w->ctx, view[0], to - from, &job[0]);
	while (w->rc == 0) {
		pictures_wait(&w->ctx, &job[cur]);
		/* The other writer failed: nothing more is written. */
		stopped = atomic_load(w->stop);
		more = !stopped && writer_batch(w, b + w->step, &nfrom, &nto);
		if (more) {
			view[!cur] = source_view(w->src, nfrom, nto, w->buf[!cur]);
			w->rc = pictures_begin(&w->ctx, view[!cur], nto - nfrom, &job[!cur]);
		}
		if (w->rc == 0 && !stopped)
			w->rc = apply_batch(&w->ctx, view[cur], to - from);
		pictures_release(view[cur], to - from, &job[cur]);
		if (w->rc == 0 && !stopped)
			atomic_fetch_add(w->done, to - from);
		if (w->rc == 0 && !stopped && w->ctx.between)
			w->rc = w->ctx.between(w->ctx.arg, atomic_load(w->done), w->total);
		if (w->rc < 0)
			atomic_store(w->stop, 1);  /* at once: the other writer stops too */
		if (!more)
			break;
		/* The next batch's pictures may be in flight: waited for either
		 * way, so that no download outlives its results. */
		b += w->step;
		from = nfrom;
		to = nto;
		cur = !cur;
		if (w->rc < 0) {
			pictures_wait(&w->ctx, &job[cur]);
			pictures_release(view[cur], to - from, &job[cur]);
		}
	}
	if (w->rc < 0)
		atomic_store(w->stop, 1);
	return NULL;
}

/* src[base..n) are independent batches (person actions, or team changes):
 * two writers, alternate batches.  buf holds two batches of acts. */
static int apply_two_writers(struct sync_apply_ctx *ctx, const struct act_source *src,
			     size_t base, size_t n, size_t batch, size_t total, struct sync_act *buf)
{
	struct sync_act *helper_buf = src->acts ? NULL : calloc(2 * batch, sizeof(*helper_buf));
	atomic_size_t done = base;
	atomic_int stop = 0;
	struct writer w[2];
	pthread_t helper;
	int rc;

	if (!src->acts && !helper_buf)
		return PV_ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct sync_act *b = i ? helper_buf : buf;

		w[i] = (struct writer){ .ctx = *ctx, .src = src, .buf = { b, b ? b + batch : NULL },
					.base = base, .n = n, .batch = batch, .first = (size_t)i,
					.step = 2, .stop = &stop, .done = &done, .total = total };
		w[i].ctx.failed = 0;
	}
	w[1].ctx.db = ctx->helper_db;
	w[1].ctx.between = NULL;  /* the lease is renewed by the first writer */
	w[1].ctx.picture_arg = ctx->picture_arg_helper;  /* a fetcher per thread */
	if (pthread_create(&helper, NULL, writer_run, &w[1]) != 0) {
		log_warn("sync %lld: no second writer thread; writing alone", (long long)ctx->sync_id);
		free(helper_buf);
		return 1;  /* the caller writes everything itself */
	}
	writer_run(&w[0]);
	pthread_join(helper, NULL);
	free(helper_buf);
	ctx->failed += w[0].ctx.failed + w[1].ctx.failed;
	rc = w[0].rc < 0 ? w[0].rc : w[1].rc;
	return rc;
}

static int is_team_change(const struct act_source *src, size_t i)
{
	return !source_row_id(src, i) && (source_kind(src, i) == PLAN_ADD_TO_TEAM ||
					  source_kind(src, i) == PLAN_REMOVE_FROM_TEAM);
}

/* [from, to) in batches on ctx's connection alone (buf: two batches). */
static int apply_serial(struct sync_apply_ctx *ctx, const struct act_source *src, size_t from,
			size_t to, size_t batch, size_t total, struct sync_act *buf)
{
	atomic_size_t done = from;
	atomic_int stop = 0;
	struct writer w = { .ctx = *ctx, .src = src, .buf = { buf, buf ? buf + batch : NULL },
			    .base = from, .n = to, .batch = batch, .first = 0, .step = 1,
			    .stop = &stop, .done = &done, .total = total };

	w.ctx.failed = 0;
	writer_run(&w);
	ctx->failed += w.ctx.failed;
	return w.rc;
}

/* Two runs of a plan are written by two connections at once: its person
 * actions (all of a first sync's people; the creates, updates and
 * deactivations of a re-sync, where one connection spent a statement's
 * round trip on each update, one after another), and its trailing team
 * changes (1.4 million memberships of a first sync with 200 mapped teams,
 * where one connection kept one server thread busy and the sync waited on
 * it).  Each run's batches are independent of one another: one action per
 * person, or per (team, person) pair.  No person action needs another's
 * to be written first: the planner gives an e-mail address or a Slack id
 * only to a person when no other directory user holds it (sync_plan.h,
 * "Matching"), so no action frees a value for another one to take; two
 * batches that still meet on a lock (an e-mail changed meanwhile by hand)
 * lose a deadlock at worst, and the loser runs again (batch_tx).  The
 * trailing run starts only when everything before it is committed, so
 * every account it needs exists.  An approved held sync's rows (row ids)
 * stay on one connection, in their order. */
static int apply_source(struct sync_apply_ctx *ctx, const struct act_source *src, size_t from,
			size_t n)
{
	size_t batch = ctx->batch ? ctx->batch : 200;
	size_t start = from, lead = from, tail = n;
	struct sync_act *buf = src->acts ? NULL : calloc(2 * batch, sizeof(*buf));
	int rc = 0;

	if (!src->acts && !buf)
		return PV_ENOMEM;
	while (lead < n && !source_row_id(src, lead) && !is_team_change(src, lead))
		lead++;
	if (ctx->helper_db && lead - from >= 2 * batch) {
		rc = apply_two_writers(ctx, src, from, lead, batch, n, buf);
		if (rc < 0)
			goto out;
		start = rc == 0 ? lead : from;
		rc = 0;
	}
	while (tail > start && is_team_change(src, tail - 1))
		tail--;
	if (!ctx->helper_db || n - tail < 2 * batch)
		tail = n;
	rc = apply_serial(ctx, src, start, tail, batch, n, buf);
	if (rc == 0 && tail < n) {
		rc = apply_two_writers(ctx, src, tail, n, batch, n, buf);
		if (rc == 1)
			rc = apply_serial(ctx, src, tail, n, batch, n, buf);
	}
out:
	free(buf);
	return rc;
}

int sync_apply(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n)
{
	struct act_source src = { .acts = acts };

	return apply_source(ctx, &src, 0, n);
}

int sync_apply_plan(struct sync_apply_ctx *ctx, const struct sync_plan *plan)
{
	return sync_apply_plan_part(ctx, plan, 0, sync_plan_size(plan));
}

int sync_apply_plan_part(struct sync_apply_ctx *ctx, const struct sync_plan *plan, size_t from,
			 size_t to)
{
	struct act_source src = { .plan = plan };

	return apply_source(ctx, &src, from, to);
}

struct plan_rows {
	struct sync_report_row *rows;
	size_t n;
};

static int plan_rows_tx(struct sync_apply_ctx *ctx, void *arg)
{
	const struct plan_rows *p = arg;

	return rows_write(ctx, p->rows, p->n);
}

/* A batch of planned rows in its own fenced transaction. */
static int plan_rows_write(struct sync_apply_ctx *ctx, struct sync_report_row *rows, size_t n)
{
	struct plan_rows p = { .rows = rows, .n = n };

	return batch_tx(ctx, plan_rows_tx, &p);
}

int sync_apply_plan_only(struct sync_apply_ctx *ctx, const struct sync_plan *plan)
{
	size_t batch = ctx->batch ? ctx->batch : 200, n = sync_plan_size(plan);
	struct act_source src = { .plan = plan };
	struct sync_report_row *rows = calloc(batch, sizeof(*rows));
	struct sync_act *buf = calloc(batch, sizeof(*buf));
	int rc = rows && buf ? 0 : PV_ENOMEM;

	for (size_t from = 0; from < n && rc == 0; from += batch) {
		size_t to = from + batch < n ? from + batch : n, filled = 0;
		struct sync_act *acts = source_view(&src, from, to, buf);

		for (size_t i = 0; i < to - from && rc == 0; i++, filled++)
			rc = sync_report_row_build(&rows[i], &acts[i],
						   acts[i].kind == PLAN_SKIP ? "skipped" : "planned",
						   acts[i].user_id, acts[i].kind != PLAN_SKIP,
						   ctx->invites, NULL);
		if (rc == 0)
			rc = plan_rows_write(ctx, rows, to - from);
		for (size_t i = 0; i < filled; i++)
			sync_report_row_release(&rows[i]);
		if (rc == 0 && ctx->between)
			rc = ctx->between(ctx->arg, to, n);
	}
	free(buf);
	free(rows);
	return rc;
}
