#include "sync/sync_run.h"
#include "core/clock.h"
#include "core/config.h"
#include "provider/slack/connection.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "provider/slack/slack.h"
#include "provider/slack/slack_snapshot.h"
#include "directory/directory.h"
#include "snapshot/snapshot.h"
#include "sync/sync_apply.h"
#include "sync/sync_config.h"
#include "sync/sync_pictures.h"
#include "sync/sync_plan.h"
#include "sync/sync_report_rows.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
	struct db *db;
	const struct sync_run_opts *o;
	const struct syncq_job *job;
	struct conn_info conn;
	struct slack *slack;
	struct slack_error slack_err;  /* the failed Slack read's error (read_slack) */
	struct sync_config_snapshot cfg;
	struct snapshot snap;          /* the planner's whole input, with cfg */
	/* The directory side, read on its own thread and connection while
	 * Slack is read (dir_start), then moved into snap (read_directory). */
	struct db *dir_db;
	struct snapshot dir_snap;
	pthread_t dir_thread;
	int dir_started, dir_rc;
	int invites;
	long long renewed_ms;          /* when the lease was last renewed (monotonic) */
	long long progress_ms;         /* when progress was last written */
	size_t progress_people;        /* people read when progress was last written */
	int lost;                      /* the lease went to another worker */
	/* Where the run's time went, for its last log line (ms). */
	long long read_ms, dir_wait_ms, plan_ms, apply_ms;
	long long teams_beside_ms;     /* the team changes, planned beside the writes */
	char error[1000];
};

/* A lost lease, said once and plainly; PV_ELEASE passes through. */
static int lease_lost(struct run *r, int rc)
{
	if (rc == PV_ELEASE && !r->lost) {
		r->lost = 1;
		log_warn("sync %lld: this worker lost its lease (it was paused or waited longer than"
			 " %d s) and another worker took the sync over; stopping without writing"
			 " anything more", (long long)r->job->id, r->o->lease_seconds);
	}
	return rc;
}

/* Renews the lease when a third of it has gone by: often enough that a
 * paused clock or a slow answer leaves two thirds in hand, rarely enough
 * that the renewal (an UPDATE of the sync's row) does not queue behind the
 * writers' fences batch after batch.  Only a lost lease is returned: a
 * failed renewal for another reason is tried again at the next call, and
 * the fence keeps the writes safe meanwhile. */
static int keep_lease(struct run *r)
{
	long long now = clock_mono_ms();
	int rc;

	if (now - r->renewed_ms < (long long)r->o->lease_seconds * 1000 / 3)
		return 0;
	rc = syncq_renew(r->db, r->job->id, r->o->owner, r->o->lease_seconds);
	if (rc == 0)
		r->renewed_ms = now;
	else if (rc != PV_ELEASE)
		log_warn("sync %lld: the lease could not be renewed (%s); trying again",
			 (long long)r->job->id, pv_strerror(rc));
	return rc == PV_ELEASE ? lease_lost(r, rc) : 0;
}

/* Live progress for the page (fenced: PV_ELEASE when the lease is lost).
 * A failure to write it for another reason only costs the display. */
static int progress(struct run *r, const char *phase, long long done, long long total)
{
	int rc = syncq_set_progress(r->db, r->job->id, r->o->owner, phase, done, total);

	r->progress_ms = clock_mono_ms();
	if (rc == PV_ELEASE)
		return lease_lost(r, rc);
	if (rc < 0)
		log_warn("sync %lld: progress not recorded (%s)", (long long)r->job->id,
			 pv_strerror(rc));
	return 0;
}

/* The Slack client's tick (slack_set_tick): while Slack is read or a
 * Retry-After waited out, the lease is kept, and the people read so far are
 * shown ("reading", the total is not known) at most once a second, like
 * "applying": a write per page was 500 commits in a 100,000-person read,
 * each one making every answer the API keeps out of date. */
static int slack_tick(void *arg)
{
	struct run *r = arg;
	int rc = keep_lease(r);

	if (rc == 0 && r->snap.n_people != r->progress_people &&
	    clock_mono_ms() - r->progress_ms >= 1000) {
		r->progress_people = r->snap.n_people;
		rc = progress(r, "reading", (long long)r->snap.n_people, -1);
	}
	return rc;
}

/* Between the first writer's picture downloads: the lease only. */
static int picture_tick(void *arg)
{
	return keep_lease(arg);
}

/* Between the applier's batches: the lease, and "applying" at most once
 * a second (the row it writes is the one every batch's fence shares). */
static int between_batches(void *arg, size_t done, size_t total)
{
	struct run *r = arg;
	int rc = keep_lease(r);

	if (rc == 0 && (clock_mono_ms() - r->progress_ms >= 1000 || done == total))
		rc = progress(r, "applying", (long long)done, (long long)total);
	return rc;
}

/* A Slack failure in words for administrators. */
static void slack_failure(struct run *r, const struct slack_error *e, const char *what)
{
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

/* Whether the configuration uses group id (groups mode or a mapping). */
static int group_wanted(void *arg, const char *id)
{
	const struct run *r = arg;

	for (size_t i = 0; i < r->cfg.plan.n_group_ids; i++)
		if (strcmp(r->cfg.plan.group_ids[i], id) == 0)
			return 1;
	for (size_t i = 0; r->cfg.plan.team_mapping_enabled && i < r->cfg.plan.n_mappings; i++)
		if (strcmp(r->cfg.plan.mappings[i].slack_group_id, id) == 0)
			return 1;
	return 0;
}

/* The people and, when the configuration uses groups, the groups, read
 * side by side (slack_snapshot_read: group_wanted runs on its second
 * thread and only reads r->cfg).  r->slack_err says what failed. */
static int read_slack(struct run *r)
{
	const struct slack_error *e = &r->slack_err;
	long long start = clock_mono_ms();
	int rc;

	rc = slack_snapshot_read(r->slack, SLACK_USERS_LIMIT,
				 sync_config_needs_groups(&r->cfg) ? group_wanted : NULL, r,
				 &r->snap, &r->slack_err);
	r->read_ms += clock_mono_ms() - start;
	if (rc < 0) {
		slack_failure(r, e, strcmp(e->method, "usergroups.users.list") == 0
			      ? "listing the members of a user group"
			      : strcmp(e->method, "usergroups.list") == 0
			      ? "listing the workspace's user groups"
			      : "listing the workspace's members");
		return rc;
	}
	if (r->snap.n_people == 0) {
		snprintf(r->error, sizeof(r->error), "Slack returned no members at all, which cannot be a"
			 " complete workspace. Nothing was changed; no one was deactivated.");
		return PV_EREMOTE;
	}
	return 0;
}

static void *dir_main(void *arg)
{
	struct run *r = arg;

	r->dir_rc = directory_snapshot_read(r->dir_db, r->job->org, r->conn.workspace_id,
					    &r->dir_snap);
	return NULL;
}

/* Starts the directory's read beside Slack's.  Slack's is the long one
 * (under the tiers, 500 users.list pages take 25 minutes), and it is mostly
 * waiting: the directory's seconds are hidden in it.  The directory is
 * then read as Slack's read starts rather than as it ends: a plan is made
 * of two reads some time apart either way (and a held sync's plan is
 * applied hours after both).  Without a second connection or thread the
 * directory is read after Slack, as before: slower, not wrong. */
static void dir_start(struct run *r)
{
	if (db_new(&r->dir_db, r->o->cfg) < 0) {
		r->dir_db = NULL;
		return;
	}
	if (snapshot_init(&r->dir_snap) < 0 ||
	    pthread_create(&r->dir_thread, NULL, dir_main, r) != 0) {
		snapshot_release(&r->dir_snap);
		db_free(r->dir_db);
		r->dir_db = NULL;
		return;
	}
	r->dir_started = 1;
}

/* Waits for the directory's read (if started); its result. */
static int dir_join(struct run *r)
{
	if (!r->dir_started)
		return 0;
	pthread_join(r->dir_thread, NULL);
	r->dir_started = 0;
	db_free(r->dir_db);
	r->dir_db = NULL;
	return r->dir_rc;
}

/* The directory side of the snapshot, and the organization's invitations
 * setting (read apart: it is a setting, not a part of the comparison). */
static int read_directory(struct run *r)
{
	long long n = 0, start = clock_mono_ms();
	int rc;

	if (r->dir_started) {
		rc = dir_join(r);
		if (rc == 0)
			rc = snapshot_take_directory(&r->snap, &r->dir_snap);
		snapshot_release(&r->dir_snap);
	} else {
		rc = directory_snapshot_read(r->db, r->job->org, r->conn.workspace_id, &r->snap);
	}
	r->dir_wait_ms = clock_mono_ms() - start;
	if (rc < 0)
		return rc;
	rc = db_query_int(r->db, &n, "SELECT automatic_invites FROM organization_settings"
			  " WHERE organization_id = ?", DB_ARGS(DB_INT(r->job->org)));
	r->invites = n == 0 ? 0 : SYNC_INVITES_QUEUED |
		(config_get(r->o->cfg, "smtp.url") && *config_get(r->o->cfg, "smtp.url")
		 ? SYNC_INVITES_MAIL : 0);
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

/* The team changes of a plan, made on a thread of their own. */
struct team_planner {
	struct plan_step *step;
	pthread_t thread;
	long long ms;               /* how long they took */
	int rc;
};

static void *plan_teams_run(void *arg)
{
	struct team_planner *t = arg;
	long long start = clock_mono_ms();

	t->rc = sync_plan_teams(t->step);
	t->ms = clock_mono_ms() - start;
	return NULL;
}

/* Applies a plan whose team changes are still to be made: its person
 * actions are written while another thread makes the team changes (with
 * 200 mapped teams that is most of a re-sync's planning), then the team
 * changes.  The planner thread touches no database and reads only the
 * snapshot; this thread keeps the lease and the connections.  The time
 * spent waiting for the team changes after the person actions counts as
 * planning. */
static int apply_beside_team_planning(struct run *r, struct sync_apply_ctx *actx,
				      struct sync_plan *plan, struct plan_step *step)
{
	struct team_planner t = { .step = step };
	long long start;
	int rc, rc_teams;

	if (pthread_create(&t.thread, NULL, plan_teams_run, &t) != 0) {
		plan_teams_run(&t);  /* one after the other */
		r->plan_ms += t.ms;
		if (t.rc < 0)
			return t.rc;
		start = clock_mono_ms();
		rc = sync_apply_plan(actx, plan);
		r->apply_ms += clock_mono_ms() - start;
		return rc;
	}
	start = clock_mono_ms();
	rc = sync_apply_plan_part(actx, plan, 0, plan->n_actions);
	r->apply_ms += clock_mono_ms() - start;
	start = clock_mono_ms();
	pthread_join(t.thread, NULL);
	r->plan_ms += clock_mono_ms() - start;
	r->teams_beside_ms = t.ms;
	rc_teams = t.rc;
	if (rc == 0 && rc_teams < 0)
		rc = rc_teams;
	start = clock_mono_ms();
	if (rc == 0)
		rc = sync_apply_plan_part(actx, plan, plan->n_actions, sync_plan_size(plan));
	r->apply_ms += clock_mono_ms() - start;
	return rc;
}

static int plan_and_apply(struct run *r, struct sync_apply_ctx *actx, const char **status)
{
	struct plan_input in = { 0 };
	struct sync_plan plan = { 0 };
	struct plan_step *step = NULL;
	long long start;
	int rc;

	in.snap = &r->snap;
	in.config = &r->cfg.plan;
	rc = progress(r, "planning", 0, -1);
	if (rc < 0)
		return rc;
	start = clock_mono_ms();
	rc = sync_plan_people(&in, &plan, &step);
	/* A plan that is written as it is (not held, not a dry run) gets its
	 * person actions written while its team changes are made; the others
	 * wait for the whole plan. */
	if (rc == 0 && (r->job->dry_run || plan.held)) {
		rc = sync_plan_teams(step);
		step = NULL;
	}
	r->plan_ms = clock_mono_ms() - start;
	if (rc == PV_EINVAL) {
		snprintf(r->error, sizeof(r->error), "The sync was stopped before changing anything: %s",
			 plan.why ? plan.why : "the plan could not be made.");
		*status = "failed";
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	start = clock_mono_ms();
	if (r->job->dry_run) {
		rc = sync_apply_plan_only(actx, &plan);
		*status = "succeeded";
		r->apply_ms = clock_mono_ms() - start;
	} else if (plan.held) {
		rc = sync_apply_plan_only(actx, &plan);
		r->apply_ms = clock_mono_ms() - start;
		snprintf(r->error, sizeof(r->error), "Held for approval: this sync would deactivate %zu of"
			 " %zu provisioned users, more than the threshold (%u%% and at least %u). Review the"
			 " planned actions, then approve or discard the sync.",
			 plan.count[PLAN_DEACTIVATE], plan.active_provisioned,
			 r->cfg.plan.threshold_percent, r->cfg.plan.threshold_minimum);
		*status = "held";
	} else {
		rc = apply_beside_team_planning(r, actx, &plan, step);  /* timed inside */
		*status = actx->failed ? "completed_with_errors" : "succeeded";
	}
	/* Only a run that got to its end says how it ended: a stop (database
	 * down, lease lost) is logged by sync_run, and was never a success. */
	if (rc == 0)
		log_info("sync %lld: organization %lld: %zu actions planned, %s%s",
			 (long long)r->job->id, (long long)r->job->org, sync_plan_size(&plan), *status,
			 r->job->dry_run ? " (dry run)" : "");
out:
	sync_plan_release(&plan);
	return rc;
}

/* A retry's clearing of the report rows a crashed run left unapplied:
 * fenced like every write of the run. */
static int clear_unapplied_tx(struct db *db, void *arg)
{
	const struct run *r = arg;
	int rc = syncq_fence(db, r->job->id, r->o->owner);

	if (rc == 0)
		rc = db_exec(db, "DELETE FROM provisioning_sync_actions WHERE organization_id = ?"
			     " AND sync_id = ? AND outcome IN ('skipped','failed','planned')",
			     DB_ARGS(DB_INT(r->job->org), DB_INT(r->job->id)), NULL);
	return rc;
}

/* A Slack client for the run: the lease kept and progress shown while it
 * waits on Slack. */
static void watch_slack(struct run *r)
{
	if (r->slack)
		slack_set_tick(r->slack, slack_tick, r);
}

int sync_run(struct db *db, const struct sync_run_opts *o, const struct syncq_job *job)
{
	struct run r = { .db = db, .o = o, .job = job, .renewed_ms = clock_mono_ms(),
			  .progress_people = (size_t)-1 };
	struct sync_apply_ctx actx = { 0 };
	struct sync_pictures *pics = NULL;
	struct sync_pictures_count pc;
	const char *status = "failed";
	int rc;

	sync_plan_config_init(&r.cfg.plan);
	if (snapshot_init(&r.snap) < 0)
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
		rc = db_tx_run(db, clear_unapplied_tx, &r);
		if (rc < 0)
			goto out;
	}
	actx.db = db;
	actx.sync_id = job->id;
	actx.org = job->org;
	actx.workspace_id = r.conn.workspace_id;
	actx.batch = o->batch;
	actx.owner = o->owner;
	actx.between = between_batches;
	actx.arg = &r;
	if (o->writers > 1 && !job->dry_run && db_new(&actx.helper_db, o->cfg) < 0)
		actx.helper_db = NULL;  /* one writer is slower, not wrong */
	/* A dry run or a held plan writes planned rows only: nothing to fetch. */
	rc = sync_pictures_open(&pics, o->cfg, picture_tick, &r);
	if (rc < 0)
		goto out;
	sync_pictures_attach(pics, &actx);
	if (job->approved) {
		rc = read_directory(&r);
		actx.invites = r.invites;
		if (rc == 0) {
			long long start = clock_mono_ms();

			rc = apply_approved(&r, &actx);
			r.apply_ms = clock_mono_ms() - start;
		}
		if (rc == PV_EINVAL) {
			/* Every payload is read before anything is applied. */
			snprintf(r.error, sizeof(r.error), "A planned action of this held sync could not be"
				 " read, so nothing was changed. Discard it and start a new sync.");
			rc = 0;
			goto finish;
		}
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
	watch_slack(&r);
	dir_start(&r);
	rc = read_slack(&r);
	if (rc == PV_ELEASE)
		goto out;
	if (rc < 0 && r.slack_err.kind == SLACK_ERR_EXPIRED) {
		/* token_expired: refresh once and read again from the start. */
		log_info("sync %lld: Slack says the token expired; refreshing it", (long long)job->id);
		slack_free(r.slack);
		r.slack = NULL;
		snapshot_clear_people(&r.snap);  /* a failed read adds no groups */
		r.error[0] = '\0';
		rc = conn_client_refreshed(db, o->cfg, o->key, job->org, &r.slack);
		watch_slack(&r);
		if (rc == 0)
			rc = read_slack(&r);
	}
	if (rc == PV_ELEASE)
		goto out;
	if (rc < 0) {
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
	sync_pictures_counts(pics, &pc);
	if (pc.asked)
		log_info("sync %lld: %zu new pictures stored, %zu not (the next sync tries those again),"
			 " in %.2f s of the writers' time, %.2f s of it making them durable",
			 (long long)job->id, pc.stored, pc.asked - pc.stored, pc.ms / 1000.0,
			 pc.flush_ms / 1000.0);
	/* Where the time went: what an operator asks of a slow sync first. */
	if (r.read_ms || r.apply_ms) {
		char beside[80] = "";

		if (r.teams_beside_ms)
			snprintf(beside, sizeof(beside), " (the team changes were planned in %.2f s"
				 " beside the writes)", r.teams_beside_ms / 1000.0);
		log_info("sync %lld: Slack read in %.2f s; the directory's read waited for %.2f s"
			 " after it; planned in %.2f s; applied in %.2f s%s", (long long)job->id,
			 r.read_ms / 1000.0, r.dir_wait_ms / 1000.0, r.plan_ms / 1000.0,
			 r.apply_ms / 1000.0, beside);
	}
	rc = lease_lost(&r, syncq_finish(db, job->id, o->owner, status, r.error[0] ? r.error : NULL));
	if (rc == 0)
		log_info("sync %lld: %s%s%s", (long long)job->id, status, r.error[0] ? ": " : "", r.error);
out:
	if (rc == PV_ELEASE)
		log_error("sync %lld: stopped: another worker has it now and finishes it",
			  (long long)job->id);
	else if (rc < 0)
		log_error("sync %lld: stopped (%s); the lease will expire and the sync resume",
			  (long long)job->id, pv_strerror(rc));
	dir_join(&r);  /* a run stopped while the directory was read */
	snapshot_release(&r.dir_snap);
	slack_free(r.slack);
	sync_config_release(&r.cfg);
	snapshot_release(&r.snap);
	db_free(actx.helper_db);
	sync_pictures_free(pics);
	return rc;
}
