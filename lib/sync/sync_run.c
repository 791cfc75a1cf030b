#include "sync/sync_run.h"
#include "core/config.h"
#include "provider/slack/connection.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "core/pool.h"
#include "provider/slack/slack.h"
#include "sync/sync_apply.h"
#include "sync/sync_config.h"
#include "sync/sync_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	struct db *db;
	const struct sync_run_opts *o;
	const struct syncq_job *job;
	struct conn_info conn;
	struct slack *slack;
	struct sync_config_snapshot cfg;
	struct slack_user *users;
	size_t n_users, cap_users;
	struct slack_group *groups;
	size_t n_groups;
	struct pool *pool;             /* Slack and directory strings */
	struct plan_dir_user *dir;
	size_t n_dir;
	struct plan_team *teams;
	size_t n_teams;
	struct plan_membership *ms;
	size_t n_ms;
	int invites;
	char error[1000];
};

static int renew(void *arg)
{
	struct run *r = arg;

	return syncq_renew(r->db, r->job->id, r->o->owner, r->o->lease_seconds);
}

/* A Slack failure in words for administrators. */
static void slack_failure(struct run *r, const char *what)
{
	const struct slack_error *e = slack_last_error(r->slack);

	switch (e->kind) {
	case SLACK_ERR_AUTH:
		conn_mark_broken(r->db, r->job->org, e->code);
		snprintf(r->error, sizeof(r->error), "Slack no longer accepts this connection (%s) while"
			 " %s. Reconnect Slack from the settings page; nothing was changed.", e->code, what);
		break;
	case SLACK_ERR_SCOPE:
		snprintf(r->error, sizeof(r->error), "Slack refused to let us %s: the permission %s is"
			 " missing. Reconnect Slack and approve every permission; nothing was changed.",
			 what, e->needed[0] ? e->needed : "(unnamed)");
		break;
	case SLACK_ERR_PLAN:
		snprintf(r->error, sizeof(r->error), "This Slack workspace's plan has no user groups, but"
			 " the configuration uses them. Import everyone or turn team mapping off;"
			 " nothing was changed.");
		break;
	case SLACK_ERR_RETRYABLE:
		snprintf(r->error, sizeof(r->error), "Slack could not be reached while %s, even after"
			 " several retries (%s). Nothing was changed; the next sync will try again.",
			 what, e->code);
		break;
	default:
		snprintf(r->error, sizeof(r->error), "Slack answered with an error while %s (%s)."
			 " Nothing was changed.", what, e->code[0] ? e->code : "unknown");
	}
}

/* Moves a Slack user's strings into the run's pool.  The decoder's copies
 * sit between the freed JSON of their page; kept there, 100,000 members
 * would pin that fragmented memory.  In 64 KiB chunks they do not. */
static int pool_user(struct run *r, struct slack_user *u)
{
	char **fields[] = { &u->id, &u->team_id, &u->name, &u->real_name, &u->display_name,
			    &u->first_name, &u->last_name, &u->email, &u->title, &u->avatar_hash,
			    &u->image_url };
	int rc = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *copy = NULL;

		if (*fields[i] && rc == 0) {
			copy = pool_strdup(r->pool, *fields[i]);
			if (!copy)
				rc = PV_ENOMEM;
		}
		free(*fields[i]);
		*fields[i] = copy;
	}
	return rc;
}

static int read_users(struct run *r)
{
	struct slack_users_iter *it = NULL;
	struct slack_user *page;
	size_t n;
	int rc;

	rc = slack_users_begin(r->slack, SLACK_USERS_LIMIT, &it);
	while (rc == 0 && (rc = slack_users_next(it, &page, &n)) == 1) {
		if (slack_users_restarts(it) && r->n_users) {
			/* The listing restarted (invalid_cursor): start over (the
			 * strings of the first attempt stay in the pool). */
			r->n_users = 0;
		}
		if (r->n_users + n > r->cap_users) {
			size_t cap = r->cap_users ? r->cap_users * 2 : 1024;
			struct slack_user *nu;

			while (cap < r->n_users + n)
				cap *= 2;
			nu = realloc(r->users, cap * sizeof(*nu));
			if (!nu) {
				rc = PV_ENOMEM;
				break;
			}
			r->users = nu;
			r->cap_users = cap;
		}
		/* Steal the page's users: zeroed, the iterator frees nothing. */
		memcpy(r->users + r->n_users, page, n * sizeof(*page));
		memset(page, 0, n * sizeof(*page));
		rc = 0;
		for (size_t i = 0; i < n; i++) {
			if (rc == 0)
				rc = pool_user(r, &r->users[r->n_users + i]);
			else
				slack_user_release(&r->users[r->n_users + i]);
		}
		r->n_users += n;
		if (rc < 0)
			break;
	}
	slack_users_end(it);
	if (rc < 0) {
		slack_failure(r, "listing the workspace's members");
		return rc;
	}
	if (r->n_users == 0) {
		snprintf(r->error, sizeof(r->error), "Slack returned no members at all, which cannot be a"
			 " complete workspace. Nothing was changed; no one was deactivated.");
		return PV_EREMOTE;
	}
	return 0;
}

static int group_wanted(const struct run *r, const char *id)
{
	for (size_t i = 0; i < r->cfg.plan.n_group_ids; i++)
		if (strcmp(r->cfg.plan.group_ids[i], id) == 0)
			return 1;
	for (size_t i = 0; r->cfg.plan.team_mapping_enabled && i < r->cfg.plan.n_mappings; i++)
		if (strcmp(r->cfg.plan.mappings[i].slack_group_id, id) == 0)
			return 1;
	return 0;
}

static int read_groups(struct run *r)
{
	int rc;

	if (!sync_config_needs_groups(&r->cfg))
		return 0;
	rc = slack_groups_list(r->slack, 0, 1, &r->groups, &r->n_groups);
	if (rc < 0) {
		slack_failure(r, "listing the workspace's user groups");
		return rc;
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		struct slack_group *g = &r->groups[i];

		if (g->disabled || !group_wanted(r, g->id))
			continue;
		rc = slack_group_members(r->slack, g->id, &g->user_ids, &g->n_user_ids);
		if (rc < 0) {
			slack_failure(r, "listing the members of a user group");
			return rc;
		}
	}
	return 0;
}

static const char *keep(struct run *r, const struct db_rows *rows, int col)
{
	const char *s = db_rows_str(rows, col);

	return s ? pool_strndup(r->pool, s, db_rows_len(rows, col)) : NULL;
}

static int read_directory(struct run *r)
{
	struct db_rows *rows = NULL;
	long long n = 0;
	size_t i;
	int rc;

	rc = db_query_int(r->db, &n, "SELECT COUNT(*) FROM users WHERE organization_id = ?",
			  DB_ARGS(DB_INT(r->job->org)));
	if (rc < 0)
		return rc;
	r->dir = pool_alloc(r->pool, ((size_t)n + 1) * sizeof(*r->dir));
	if (!r->dir)
		return PV_ENOMEM;
	/* A link to another workspace (before a replace) is no link here. */
	/* Streamed: the rows are copied into the pool as they come, so they are
	 * not also held in the client library's buffer. */
	rc = db_query_stream(r->db, &rows, "SELECT id, email, first_name, last_name, display_name, job_title,"
		      " picture_url, avatar_hash, IF(slack_workspace_id = ?, slack_user_id, NULL),"
		      " status = 'active', source = 'slack', is_guest, role = 'administrator',"
		      " provisioned AND slack_workspace_id = ?, deactivated_by <=> 'person'"
		      " FROM users WHERE organization_id = ? ORDER BY id",
		      DB_ARGS(DB_STR(r->conn.workspace_id), DB_STR(r->conn.workspace_id),
			      DB_INT(r->job->org)));
	for (i = 0; rc == 0 && i < (size_t)n && (rc = db_rows_next(rows)) == 1; i++) {
		struct plan_dir_user *u = &r->dir[i];

		u->id = db_rows_int(rows, 0);
		u->email = keep(r, rows, 1);
		u->first_name = keep(r, rows, 2);
		u->last_name = keep(r, rows, 3);
		u->display_name = keep(r, rows, 4);
		u->job_title = keep(r, rows, 5);
		u->picture_url = keep(r, rows, 6);
		u->avatar_hash = keep(r, rows, 7);
		u->slack_user_id = keep(r, rows, 8);
		u->status = db_rows_int(rows, 9) ? PLAN_USER_ACTIVE : PLAN_USER_DEACTIVATED;
		u->source = db_rows_int(rows, 10) ? PLAN_SOURCE_SLACK : PLAN_SOURCE_MANUAL;
		u->is_guest = db_rows_int(rows, 11) != 0;
		u->is_admin = db_rows_int(rows, 12) != 0;
		u->provisioned = db_rows_int(rows, 13) != 0;
		u->deactivated_by_hand = db_rows_int(rows, 14) != 0;
		rc = 0;
	}
	r->n_dir = i;
	db_rows_free(rows);
	rows = NULL;
	if (rc < 0)
		return rc;
	rc = db_query_int(r->db, &n, "SELECT COUNT(*) FROM teams WHERE organization_id = ?",
			  DB_ARGS(DB_INT(r->job->org)));
	if (rc == 0)
		r->teams = pool_alloc(r->pool, ((size_t)n + 1) * sizeof(*r->teams));
	if (rc == 0 && !r->teams)
		rc = PV_ENOMEM;
	if (rc == 0)
		rc = db_query(r->db, &rows, "SELECT id, name FROM teams WHERE organization_id = ?"
			      " ORDER BY id", DB_ARGS(DB_INT(r->job->org)));
	for (i = 0; rc == 0 && i < (size_t)n && (rc = db_rows_next(rows)) == 1; i++) {
		r->teams[i].id = db_rows_int(rows, 0);
		r->teams[i].name = keep(r, rows, 1);
		rc = 0;
	}
	r->n_teams = i;
	db_rows_free(rows);
	rows = NULL;
	if (rc < 0)
		return rc;
	rc = db_query_int(r->db, &n, "SELECT COUNT(*) FROM team_memberships WHERE organization_id = ?",
			  DB_ARGS(DB_INT(r->job->org)));
	if (rc == 0)
		r->ms = pool_alloc(r->pool, ((size_t)n + 1) * sizeof(*r->ms));
	if (rc == 0 && !r->ms)
		rc = PV_ENOMEM;
	if (rc == 0)
		rc = db_query_stream(r->db, &rows, "SELECT team_id, user_id, source = 'provisioning'"
			      " FROM team_memberships WHERE organization_id = ?", DB_ARGS(DB_INT(r->job->org)));
	for (i = 0; rc == 0 && i < (size_t)n && (rc = db_rows_next(rows)) == 1; i++) {
		r->ms[i].team_id = db_rows_int(rows, 0);
		r->ms[i].user_id = db_rows_int(rows, 1);
		r->ms[i].source = db_rows_int(rows, 2) ? PLAN_MS_PROVISIONING : PLAN_MS_MANUAL;
		rc = 0;
	}
	r->n_ms = i;
	db_rows_free(rows);
	if (rc < 0)
		return rc;
	n = 0;
	rc = db_query_int(r->db, &n, "SELECT automatic_invites FROM organization_settings"
			  " WHERE organization_id = ?", DB_ARGS(DB_INT(r->job->org)));
	r->invites = n != 0;
	return rc == PV_ENOTFOUND ? 0 : rc;
}

/* An approved held sync: apply exactly its planned rows, in order. */
static int apply_approved(struct run *r, struct sync_apply_ctx *actx)
{
	struct db_rows *rows = NULL;
	struct sync_act *acts = NULL;
	struct plan_change *changes = NULL;
	json_object **payloads = NULL;
	long long n = 0;
	size_t i = 0;
	int rc;

	rc = db_query_int(r->db, &n, "SELECT COUNT(*) FROM provisioning_sync_actions"
			  " WHERE sync_id = ? AND outcome = 'planned'", DB_ARGS(DB_INT(r->job->id)));
	if (rc < 0)
		return rc;
	acts = calloc((size_t)n + 1, sizeof(*acts));
	changes = calloc(((size_t)n + 1) * PLAN_FIELD_COUNT, sizeof(*changes));
	payloads = calloc((size_t)n + 1, sizeof(*payloads));
	if (!acts || !changes || !payloads) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = db_query(r->db, &rows, "SELECT id, payload_json FROM provisioning_sync_actions"
		      " WHERE sync_id = ? AND outcome = 'planned' ORDER BY id", DB_ARGS(DB_INT(r->job->id)));
	while (rc == 0 && i < (size_t)n && (rc = db_rows_next(rows)) == 1) {
		const char *why;

		rc = pjson_parse(db_rows_str(rows, 1), db_rows_len(rows, 1), PJSON_MAX_DEPTH,
				 &payloads[i], &why);
		if (rc == 0)
			rc = sync_act_from_payload(payloads[i], db_rows_int(rows, 0), &acts[i],
						   changes + i * PLAN_FIELD_COUNT, PLAN_FIELD_COUNT);
		i++;
	}
	db_rows_free(rows);
	if (rc == 0)
		rc = sync_apply(actx, acts, i);
out:
	for (size_t k = 0; payloads && k < i; k++)
		json_object_put(payloads[k]);
	free(payloads);
	free(changes);
	free(acts);
	return rc;
}

static int plan_and_apply(struct run *r, struct sync_apply_ctx *actx, const char **status)
{
	struct plan_input in = { 0 };
	struct sync_plan plan = { 0 };
	struct sync_act *acts = NULL;
	int rc;

	in.users = r->dir;
	in.n_users = r->n_dir;
	in.teams = r->teams;
	in.n_teams = r->n_teams;
	in.memberships = r->ms;
	in.n_memberships = r->n_ms;
	in.slack_users = r->users;
	in.n_slack_users = r->n_users;
	in.slack_groups = r->groups;
	in.n_slack_groups = r->n_groups;
	in.config = &r->cfg.plan;
	rc = sync_plan_build(&in, &plan);
	if (rc == PV_EINVAL) {
		snprintf(r->error, sizeof(r->error), "The sync was stopped before changing anything: %s",
			 plan.why ? plan.why : "the plan could not be made.");
		*status = "failed";
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	acts = calloc(plan.n_actions + 1, sizeof(*acts));
	if (!acts) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < plan.n_actions; i++)
		sync_act_from_plan(&plan.actions[i], &acts[i]);
	if (r->job->dry_run) {
		rc = sync_apply_plan_only(actx, acts, plan.n_actions);
		*status = "succeeded";
	} else if (plan.held) {
		rc = sync_apply_plan_only(actx, acts, plan.n_actions);
		snprintf(r->error, sizeof(r->error), "Held for approval: this sync would deactivate %zu of"
			 " %zu provisioned users, more than the threshold (%u%% and at least %u). Review the"
			 " planned actions, then approve or discard the sync.",
			 plan.count[PLAN_DEACTIVATE], plan.active_provisioned,
			 r->cfg.plan.threshold_percent, r->cfg.plan.threshold_minimum);
		*status = "held";
	} else {
		rc = sync_apply(actx, acts, plan.n_actions);
		*status = actx->failed ? "completed_with_errors" : "succeeded";
	}
	log_info("sync %lld: organization %lld: %zu actions planned, %s%s", (long long)r->job->id,
		 (long long)r->job->org, plan.n_actions, *status, r->job->dry_run ? " (dry run)" : "");
out:
	free(acts);
	sync_plan_release(&plan);
	return rc;
}

int sync_run(struct db *db, const struct sync_run_opts *o, const struct syncq_job *job)
{
	struct run r = { .db = db, .o = o, .job = job };
	struct sync_apply_ctx actx = { 0 };
	const char *status = "failed";
	int rc;

	sync_plan_config_init(&r.cfg.plan);
	r.pool = pool_new();
	if (!r.pool)
		return PV_ENOMEM;
	rc = conn_get(db, job->org, &r.conn);
	if (rc == PV_ENOTFOUND || (rc == 0 && r.conn.id != job->integration_id)) {
		snprintf(r.error, sizeof(r.error), "Slack is not connected any more; nothing was changed.");
		rc = 0;
		goto finish;
	}
	if (rc < 0)
		goto out;
	if (strcmp(r.conn.status, "connected") != 0) {
		snprintf(r.error, sizeof(r.error), "Slack needs to be reconnected (%s); nothing was changed."
			 " Reconnect it from the settings page.", r.conn.status_reason[0] ?
			 r.conn.status_reason : "access lost");
		goto finish;
	}
	/* A retry of a crashed run keeps what it applied (succeeded rows) and
	 * plans the rest again; the rest of its report is written anew. */
	if (job->attempts > 1 && !job->approved) {
		rc = db_exec(db, "DELETE FROM provisioning_sync_actions WHERE sync_id = ?"
			     " AND outcome IN ('skipped','failed','planned')", DB_ARGS(DB_INT(job->id)), NULL);
		if (rc < 0)
			goto out;
	}
	actx.db = db;
	actx.sync_id = job->id;
	actx.org = job->org;
	actx.workspace_id = r.conn.workspace_id;
	actx.batch = o->batch;
	actx.between = renew;
	actx.arg = &r;
	if (o->writers > 1 && !job->dry_run && db_new(&actx.helper_db, o->cfg) < 0)
		actx.helper_db = NULL;  /* one writer is slower, not wrong */
	if (job->approved) {
		rc = read_directory(&r);
		actx.invites = r.invites;
		if (rc == 0)
			rc = apply_approved(&r, &actx);
		if (rc < 0)
			goto out;
		status = actx.failed ? "completed_with_errors" : "succeeded";
		goto finish;
	}
	rc = sync_config_snapshot(job->config_json ? job->config_json : "{}", &r.cfg);
	if (rc < 0) {
		snprintf(r.error, sizeof(r.error), "The saved configuration could not be read; save it again.");
		rc = 0;
		goto finish;
	}
	rc = conn_client(db, o->cfg, o->key, job->org, &r.slack);
	if (rc < 0) {
		snprintf(r.error, sizeof(r.error), "The Slack token could not be used (%s); reconnect Slack.",
			 pv_strerror(rc));
		if (rc == PV_EDBDOWN)
			goto out;
		rc = 0;
		goto finish;
	}
	rc = read_users(&r);
	if (rc < 0 && slack_last_error(r.slack)->kind == SLACK_ERR_EXPIRED) {
		/* token_expired: refresh once and read again from the start. */
		log_info("sync %lld: Slack says the token expired; refreshing it", (long long)job->id);
		slack_free(r.slack);
		r.slack = NULL;
		r.n_users = 0;
		r.error[0] = '\0';
		rc = conn_client_refreshed(db, o->cfg, o->key, job->org, &r.slack);
		if (rc == 0)
			rc = read_users(&r);
	}
	if (rc < 0 || read_groups(&r) < 0) {
		if (!r.error[0])
			snprintf(r.error, sizeof(r.error), "The Slack token could not be refreshed (%s);"
				 " reconnect Slack.", pv_strerror(rc));
		rc = 0;
		goto finish;
	}
	rc = read_directory(&r);
	actx.invites = r.invites;
	if (rc == 0)
		rc = plan_and_apply(&r, &actx, &status);
	if (rc < 0)
		goto out;
finish:
	rc = syncq_finish(db, job->id, o->owner, status, r.error[0] ? r.error : NULL);
	if (rc == 0)
		log_info("sync %lld: %s%s%s", (long long)job->id, status, r.error[0] ? ": " : "", r.error);
out:
	if (rc < 0)
		log_error("sync %lld: stopped (%s); the lease will expire and the sync resume",
			  (long long)job->id, pv_strerror(rc));
	free(r.users);  /* their strings are in the pool */
	slack_groups_free(r.groups, r.n_groups);
	slack_free(r.slack);
	sync_config_release(&r.cfg);
	pool_free(r.pool);
	db_free(actx.helper_db);
	return rc;
}
