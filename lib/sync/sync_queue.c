#include "sync/sync_queue.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void syncq_job_release(struct syncq_job *job)
{
	free(job->config_json);
	memset(job, 0, sizeof(*job));
}

int syncq_request(struct db *db, int64_t org, int64_t user, int dry_run, int64_t *id)
{
	long long integration, saved = 0;
	int rc = db_query_int(db, &integration, "SELECT id FROM provisioning_integrations"
			      " WHERE active_organization_id = ? AND provider = 'slack'",
			      DB_ARGS(DB_INT(org)));

	if (rc == 0)
		rc = db_query_int(db, &saved, "SELECT COUNT(*) FROM provisioning_configs"
				  " WHERE organization_id = ?", DB_ARGS(DB_INT(org)));
	if (rc < 0)
		return rc;
	if (!saved)
		return PV_EINVAL;
	/* The workspace is written with the sync, so that the history says
	 * which workspace each sync read after a replace or a disconnect. */
	rc = db_exec(db, "INSERT INTO provisioning_syncs (organization_id, integration_id, `trigger`,"
		     " dry_run, requested_by_user_id, workspace_id, workspace_name)"
		     " SELECT ?, i.id, 'manual', ?, ?, i.workspace_id, i.workspace_name"
		     " FROM provisioning_integrations i WHERE i.id = ?",
		     DB_ARGS(DB_INT(org), DB_INT(dry_run ? 1 : 0), DB_INT(user), DB_INT(integration)),
		     NULL);
	if (rc == 0)
		*id = (int64_t)db_insert_id(db);
	return rc;
}

int syncq_schedule_due(struct db *db)
{
	struct db_rows *r = NULL;
	int queued = 0, rc;

	for (;;) {
		int64_t integration, org;

		rc = db_begin(db);
		if (rc < 0)
			return rc;
		/* Nothing is imported before an administrator saved a
		 * configuration: connecting alone decides nothing. */
		rc = db_query(db, &r, "SELECT i.id, i.organization_id FROM provisioning_integrations i"
			      " WHERE i.status = 'connected' AND i.next_sync_at <= NOW()"
			      " AND EXISTS (SELECT 1 FROM provisioning_configs c"
			      "  WHERE c.organization_id = i.organization_id)"
			      " ORDER BY i.next_sync_at LIMIT 1 FOR UPDATE SKIP LOCKED", DB_NOARGS);
		if (rc == 0)
			rc = db_rows_next(r);
		if (rc <= 0)
			break;
		integration = db_rows_int(r, 0);
		org = db_rows_int(r, 1);
		db_rows_free(r);
		r = NULL;
		/* A sync already pending or running for the organization makes
		 * this one unnecessary (the unique key says so). */
		rc = db_exec(db, "INSERT IGNORE INTO provisioning_syncs (organization_id, integration_id,"
			     " `trigger`, workspace_id, workspace_name)"
			     " SELECT ?, i.id, 'scheduled', i.workspace_id, i.workspace_name"
			     " FROM provisioning_integrations i WHERE i.id = ?",
			     DB_ARGS(DB_INT(org), DB_INT(integration)), NULL);
		if (rc == 0)
			rc = db_exec(db, "UPDATE provisioning_integrations SET next_sync_at ="
				     " IF(next_sync_at + INTERVAL 1 DAY > NOW(), next_sync_at + INTERVAL 1 DAY,"
				     " NOW() + INTERVAL 1 DAY) WHERE id = ?", DB_ARGS(DB_INT(integration)), NULL);
		if (rc == 0)
			rc = db_commit(db);
		if (rc < 0)
			break;
		queued++;
	}
	db_rows_free(r);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	db_rollback(db);  /* ends the transaction of the last, empty look */
	return queued;
}

int syncq_claim(struct db *db, const char *owner, int lease_seconds, int64_t org,
		struct syncq_job *job)
{
	struct db_rows *r = NULL;
	int rc;

	memset(job, 0, sizeof(*job));
	rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_query(db, &r, "SELECT id, organization_id, integration_id, dry_run,"
		      " approved_at IS NOT NULL, attempts + 1 FROM provisioning_syncs"
		      " WHERE (status = 'pending' OR (status = 'running' AND lease_expires_at < NOW(3)))"
		      " AND (? = 0 OR organization_id = ?)"
		      " ORDER BY queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
		      DB_ARGS(DB_INT(org), DB_INT(org)));
	if (rc == 0)
		rc = db_rows_next(r);
	if (rc <= 0)
		goto out;
	job->id = db_rows_int(r, 0);
	job->org = db_rows_int(r, 1);
	job->integration_id = db_rows_int(r, 2);
	job->dry_run = db_rows_int(r, 3) != 0;
	job->approved = db_rows_int(r, 4) != 0;
	job->attempts = (int)db_rows_int(r, 5);
	db_rows_free(r);
	r = NULL;
	/* The configuration is snapshotted when the sync first starts: a save
	 * during the run applies to the next one. */
	rc = db_exec(db, "UPDATE provisioning_syncs s SET status = 'running', lease_owner = ?,"
		     " lease_expires_at = NOW(3) + INTERVAL ? SECOND, attempts = attempts + 1,"
		     " started_at = IFNULL(started_at, NOW(3)),"
		     " config_json = IFNULL(config_json, (SELECT c.config_json FROM provisioning_configs c"
		     "  WHERE c.organization_id = s.organization_id))"
		     " WHERE id = ?", DB_ARGS(DB_STR(owner), DB_INT(lease_seconds), DB_INT(job->id)), NULL);
	if (rc == 0)
		rc = db_query(db, &r, "SELECT config_json FROM provisioning_syncs WHERE id = ?",
			      DB_ARGS(DB_INT(job->id)));
	if (rc == 0 && db_rows_next(r) == 1 && db_rows_str(r, 0)) {
		job->config_json = strdup(db_rows_str(r, 0));
		if (!job->config_json)
			rc = PV_ENOMEM;
	}
	if (rc == 0)
		rc = db_commit(db);
	if (rc == 0)
		rc = 1;
out:
	db_rows_free(r);
	if (rc <= 0) {
		db_rollback(db);
		syncq_job_release(job);
	}
	return rc;
}

int syncq_renew(struct db *db, int64_t id, const char *owner, int lease_seconds)
{
	uint64_t n = 0;
	int rc = db_exec(db, "UPDATE provisioning_syncs SET lease_expires_at = NOW(3) + INTERVAL ? SECOND"
			 " WHERE id = ? AND lease_owner = ? AND status = 'running'",
			 DB_ARGS(DB_INT(lease_seconds), DB_INT(id), DB_STR(owner)), &n);

	if (rc == 0 && n == 0) {
		log_warn("sync %lld: lease lost to another worker", (long long)id);
		return PV_ELEASE;
	}
	return rc;
}

int syncq_fence(struct db *db, int64_t id, const char *owner)
{
	long long held = 0;
	/* A shared lock, not an UPDATE: the two writers of a first sync fence
	 * their batches at the same time without waiting on each other, while
	 * a claim (FOR UPDATE SKIP LOCKED) cannot change the owner before this
	 * transaction ends, so whatever it commits was written by the owner. */
	int rc = db_query_int(db, &held, "SELECT COUNT(*) FROM provisioning_syncs WHERE id = ?"
			      " AND lease_owner = ? AND status = 'running' LOCK IN SHARE MODE",
			      DB_ARGS(DB_INT(id), DB_STR(owner)));

	if (rc == 0 && held == 0)
		return PV_ELEASE;
	return rc;
}

int syncq_finish(struct db *db, int64_t id, const char *owner, const char *status,
		 const char *error)
{
	uint64_t n = 0;
	/* One pass over the sync's report rows (a derived table, read once)
	 * rather than a counting subquery per kind. */
	int rc = db_exec(db,
		"UPDATE provisioning_syncs s, (SELECT"
		"  SUM(action = 'create' AND outcome IN ('succeeded','planned')) c,"
		"  SUM(action = 'update' AND outcome IN ('succeeded','planned')) u,"
		"  SUM(action = 'deactivate' AND outcome IN ('succeeded','planned')) d,"
		"  SUM(action = 'reactivate' AND outcome IN ('succeeded','planned')) r,"
		"  SUM(action = 'add_to_team' AND outcome IN ('succeeded','planned')) a,"
		"  SUM(action = 'remove_from_team' AND outcome IN ('succeeded','planned')) m,"
		"  SUM(outcome = 'skipped') k, SUM(outcome = 'failed') f"
		"  FROM provisioning_sync_actions WHERE sync_id = ?) t"
		" SET s.status = ?, s.error = ?, s.finished_at = NOW(3), s.lease_owner = NULL,"
		" s.lease_expires_at = NULL, s.n_created = IFNULL(t.c, 0), s.n_updated = IFNULL(t.u, 0),"
		" s.n_deactivated = IFNULL(t.d, 0), s.n_reactivated = IFNULL(t.r, 0),"
		" s.n_added_to_team = IFNULL(t.a, 0), s.n_removed_from_team = IFNULL(t.m, 0),"
		" s.n_skipped = IFNULL(t.k, 0), s.n_failed = IFNULL(t.f, 0)"
		" WHERE s.id = ? AND s.lease_owner = ? AND s.status = 'running'",
		DB_ARGS(DB_INT(id), DB_STR(status), DB_STR(error), DB_INT(id), DB_STR(owner)), &n);

	if (rc == 0 && n == 0)
		return PV_ELEASE;
	return rc;
}

/* After an UPDATE of a held sync that changed nothing: was the sync not
 * held (PV_ECONFLICT), or not there at all (PV_ENOTFOUND)? */
static int not_held(struct db *db, int64_t org, int64_t id)
{
	long long exists = 0;
	int rc = db_query_int(db, &exists, "SELECT COUNT(*) FROM provisioning_syncs"
			      " WHERE organization_id = ? AND id = ?", DB_ARGS(DB_INT(org), DB_INT(id)));

	return rc < 0 ? rc : exists ? PV_ECONFLICT : PV_ENOTFOUND;
}

int syncq_approve(struct db *db, int64_t org, int64_t id, int64_t user)
{
	uint64_t n = 0;
	int rc = db_exec(db, "UPDATE provisioning_syncs SET status = 'pending', approved_at = NOW(),"
			 " approved_by_user_id = ?, finished_at = NULL"
			 " WHERE organization_id = ? AND id = ? AND status = 'held'",
			 DB_ARGS(DB_INT(user), DB_INT(org), DB_INT(id)), &n);

	return rc == 0 && n == 0 ? not_held(db, org, id) : rc;
}

int syncq_discard(struct db *db, int64_t org, int64_t id)
{
	uint64_t n = 0;
	int rc = db_exec(db, "UPDATE provisioning_syncs SET status = 'discarded'"
			 " WHERE organization_id = ? AND id = ? AND status = 'held'",
			 DB_ARGS(DB_INT(org), DB_INT(id)), &n);

	return rc == 0 && n == 0 ? not_held(db, org, id) : rc;
}

int syncq_cancel(struct db *db, int64_t org, int64_t id, int64_t user)
{
	uint64_t n = 0;
	/* Only a sync no worker has started: status 'pending' under the row's
	 * lock (the claim's FOR UPDATE SKIP LOCKED and this UPDATE serialise
	 * on it), and an approved held sync is not cancelled but discarded. */
	int rc = db_exec(db, "UPDATE provisioning_syncs SET status = 'discarded', finished_at = NOW(3),"
			 " error = 'Cancelled before it started, by an administrator.'"
			 " WHERE organization_id = ? AND id = ? AND status = 'pending'"
			 " AND started_at IS NULL",
			 DB_ARGS(DB_INT(org), DB_INT(id)), &n);

	if (rc == 0 && n)
		log_info("sync %lld: cancelled by user %lld before it started", (long long)id,
			 (long long)user);
	return rc == 0 && n == 0 ? not_held(db, org, id) : rc;
}

int syncq_set_progress(struct db *db, int64_t id, const char *owner, const char *phase,
		       long long done, long long total)
{
	uint64_t n = 0;
	int rc;

	if (!phase || (strcmp(phase, "reading") && strcmp(phase, "planning") &&
		       strcmp(phase, "applying")))
		return PV_EINVAL;
	rc = db_exec(db, "UPDATE provisioning_syncs SET progress_phase = ?, progress_done = ?,"
		     " progress_total = ?, progress_at = NOW(3)"
		     " WHERE id = ? AND status = 'running' AND lease_owner = ?",
		     DB_ARGS(DB_STR(phase), DB_INT(done < 0 ? 0 : done),
			     total < 0 ? DB_NULL() : DB_INT(total), DB_INT(id), DB_STR(owner)), &n);
	return rc == 0 && n == 0 ? PV_ELEASE : rc;
}

int syncq_apply_retention(struct db *db)
{
	uint64_t n = 0;
	int rc = db_exec(db, "DELETE s FROM provisioning_syncs s JOIN organization_settings o"
			 " ON o.organization_id = s.organization_id"
			 " WHERE s.finished_at < NOW() - INTERVAL o.sync_retention_days DAY"
			 " AND s.status NOT IN ('pending','running','held')", DB_NOARGS, &n);

	if (rc == 0 && n)
		log_info("sync: retention removed %llu old syncs", (unsigned long long)n);
	return rc;
}

int syncq_state(struct db *db, int64_t org, int *pending, int *running, int64_t *last,
		char next_at[32])
{
	struct db_rows *r = NULL;
	int rc;

	*pending = *running = 0;
	*last = 0;
	next_at[0] = '\0';
	rc = db_query(db, &r,
		      /* One row of the organization joined on the unique keys of
		       * its active sync (at most one pending or running, sql/003),
		       * its configuration and its active integration: the four
		       * EXISTS subqueries this replaced were a third of MariaDB's
		       * time behind GET /api/v1/provisioning/slack. */
		      "SELECT IFNULL(a.status = 'pending', 0) OR IFNULL(c.updated_at >= IFNULL("
		      "  (SELECT MAX(started_at) FROM provisioning_syncs WHERE organization_id = o.id"
		      "   AND dry_run = 0), '1970-01-01'), 0),"
		      " IFNULL(a.status = 'running', 0),"
		      " (SELECT MAX(id) FROM provisioning_syncs WHERE organization_id = o.id"
		      "  AND status NOT IN ('pending','running')),"
		      " IF(i.status = 'connected', DATE_FORMAT(i.next_sync_at, '%Y-%m-%dT%H:%i:%sZ'), NULL)"
		      " FROM organizations o"
		      " LEFT JOIN provisioning_syncs a ON a.active_organization_id = o.id"
		      " LEFT JOIN provisioning_configs c ON c.organization_id = o.id"
		      " LEFT JOIN provisioning_integrations i ON i.active_organization_id = o.id"
		      " WHERE o.id = ?",
		      DB_ARGS(DB_INT(org)));
	if (rc == 0 && (rc = db_rows_next(r)) == 1) {
		*pending = db_rows_int(r, 0) != 0;
		*running = db_rows_int(r, 1) != 0;
		*last = db_rows_int(r, 2);
		if (db_rows_str(r, 3))
			snprintf(next_at, 32, "%s", db_rows_str(r, 3));
		rc = 0;
	}
	db_rows_free(r);
	return rc;
}
