/*
 * sync_queue.h - sync runs as rows: queued, claimed under a lease, finished
 * (SPEC §2.9).
 *
 * Claiming takes the oldest pending sync (or a running one whose lease has
 * expired: its worker died) with SELECT ... FOR UPDATE SKIP LOCKED, so many
 * workers on many hosts never claim the same row; the schema allows at most
 * one pending or running sync per organization.  A worker renews its lease
 * between batches and stops when the renewal says another worker took over.
 *
 * Errors: PV_ECONFLICT (a sync is already pending or running; the lease was
 * lost; approve/discard of a sync that is not held), PV_ENOTFOUND (no such
 * sync in the organization), database errors.
 */
#ifndef PV_SYNC_QUEUE_H
#define PV_SYNC_QUEUE_H

#include <stdint.h>

struct db;

struct syncq_job {
	int64_t id;
	int64_t org;
	int64_t integration_id;
	int dry_run;
	int approved;       /* a held sync approved: apply its planned actions */
	int attempts;       /* 1 on the first claim */
	char *config_json;  /* the snapshot taken at the first claim (owned) */
};

void syncq_job_release(struct syncq_job *job);

/* Queues a manual sync of the organization's active integration;
 * PV_EINVAL when no configuration was ever saved. */
int syncq_request(struct db *db, int64_t org, int64_t user, int dry_run, int64_t *id);
/* Queues the scheduled syncs that are due (of organizations that saved a
 * configuration) and moves their clocks a day on.
 * Returns how many were queued. */
int syncq_schedule_due(struct db *db);
/* Claims one sync (of org only, when org > 0).  1 with *job filled, 0 when
 * there is nothing to do. */
int syncq_claim(struct db *db, const char *owner, int lease_seconds, int64_t org,
		struct syncq_job *job);
int syncq_renew(struct db *db, int64_t id, const char *owner, int lease_seconds);
/* Ends a run: status "succeeded", "completed_with_errors", "failed" or
 * "held"; error is a line for administrators (NULL for none).  Counts are
 * recomputed from the action rows. */
int syncq_finish(struct db *db, int64_t id, const char *owner, const char *status,
		 const char *error);
int syncq_approve(struct db *db, int64_t org, int64_t id, int64_t user);
int syncq_discard(struct db *db, int64_t org, int64_t id);
/* What the status page shows of syncs: *pending when a sync is queued or
 * the configuration was saved after the last sync started, *running, the
 * id of the last sync that ended (0: none) and the next scheduled time
 * (ISO 8601, "" when none). */
int syncq_state(struct db *db, int64_t org, int *pending, int *running, int64_t *last,
		char next_at[32]);

/* Cancels a queued sync that no worker has started: it ends 'discarded'
 * (nothing was applied) with a line saying it was cancelled.  PV_ECONFLICT
 * when it is running or finished, PV_ENOTFOUND. */
int syncq_cancel(struct db *db, int64_t org, int64_t id, int64_t user);
/* Live progress of a running sync, for the page: phase "reading" (Slack),
 * "planning" or "applying", and the counts so far (total < 0: not known
 * yet).  Cheap (one indexed UPDATE): call it between pages and batches,
 * not per person.  PV_ECONFLICT when owner no longer holds the sync's lease;
 * PV_EINVAL for another phase. */
int syncq_set_progress(struct db *db, int64_t id, const char *owner, const char *phase,
		       long long done, long long total);

/* Deletes finished syncs older than each organization's retention. */
int syncq_apply_retention(struct db *db);

#endif
