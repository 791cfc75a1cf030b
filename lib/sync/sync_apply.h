/*
 * sync_apply.h - applies a sync's actions to the directory, each in the
 * same transaction as its report row (SPEC §2.7, §2.8).
 *
 * Actions go in batches: one transaction per batch of actions and their
 * rows (creates, deactivations, team additions, team removals and report
 * rows each as one multi-row statement).  When a batch fails, or one of
 * those statements changes other than exactly one row per action (a person
 * deactivated by hand since the plan, a membership that exists already),
 * it is rolled back and replayed one action per transaction, so that the
 * odd action is isolated, recorded with its outcome (failed with its
 * reason, or skipped), and the others are applied.  A lost database connection
 * or a lost lease stops the run (PV_EDBDOWN / PV_ELEASE): what was
 * committed is consistent, and the next worker finishes the sync.
 *
 * Every transaction (a batch, one replayed action, a failed row, a batch of
 * planned rows) starts with syncq_fence on its own connection, so a worker
 * that lost its lease commits nothing, and runs under db_tx_run, so a lost
 * deadlock or lock wait runs the transaction again instead of becoming a
 * person's failed row.
 *
 * An action (struct sync_act) borrows every string it holds.
 */
#ifndef PV_SYNC_APPLY_H
#define PV_SYNC_APPLY_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/sync_plan.h"

struct db;

/* A person's picture as the product stored it (SPEC §2.5), resolved before
 * the transaction of the batch that writes the person: fetching it is an
 * HTTP call, and no transaction waits on one. */
#define SYNC_PICTURE_URL_MAX 1024
struct sync_picture {
	int stored;                          /* 1: url and large_url are the product's copy */
	char url[SYNC_PICTURE_URL_MAX];      /* the size the page shows (users.picture_url) */
	char large_url[SYNC_PICTURE_URL_MAX]; /* users.picture_large_url */
	char why[256];                       /* not stored: why, in words for the Details */
};

/* The picture step, in two calls so that a writer's next batch of
 * pictures downloads while its current batch's transaction runs.
 * sync_picture_begin_fn starts fetching and storing the n pictures at
 * source_urls (the provider's URLs) into out[0..n) (zeroed by the caller)
 * and returns at once; sync_picture_wait_fn returns when all of them are
 * done.  Both borrow urls and out until the wait returns; one batch at a
 * time per arg (begin, wait, begin...).  A failure sets out[i].stored = 0
 * and out[i].why, and never fails the person.  arg is
 * sync_apply_ctx.picture_arg on the caller's thread (or picture_arg_helper
 * on the second writer's); the wait runs on that thread, the downloads on
 * their own, which never touch the database. */
typedef void (*sync_picture_begin_fn)(void *arg, const char *const *source_urls, size_t n,
				      struct sync_picture *out);
typedef void (*sync_picture_wait_fn)(void *arg);

struct sync_act {
	enum plan_kind kind;
	enum plan_reason reason;
	int64_t user_id;            /* 0: none (create; team change of a new user) */
	const char *user_email;     /* for the report */
	const char *user_name;
	const char *slack_user_id;
	int64_t team_id;
	const char *team_name;
	int link;                   /* update: link to slack_user_id */
	struct plan_profile profile; /* create */
	const struct plan_change *changes;
	size_t n_changes;
	const char *avatar_hash;    /* with a picture change */
	/* The stored picture of a create with a picture or of an update to a
	 * new one, set by the applier for the batch (NULL before, and for a
	 * planned row, which stores nothing): a picture that was not stored
	 * is left out of the write, so the old one and its key stay and the
	 * next sync, seeing the key still differ, tries again. */
	const struct sync_picture *picture;
	unsigned shortened;         /* PLAN_SHORTENED bits (sync_plan.h) */
	const char *rival;          /* skips over an e-mail */
	int64_t row_id;             /* approved held sync: its planned row */
};

struct sync_apply_ctx {
	struct db *db;
	int64_t sync_id;
	int64_t org;
	const char *workspace_id;
	int invites;                /* organization setting automatic_invites */
	size_t batch;               /* actions per transaction */
	const char *owner;          /* the worker's lease name: every transaction is fenced */
	/* Called between batches with the actions written so far (by both
	 * writers) and in all; a negative return stops the run. */
	int (*between)(void *arg, size_t done, size_t total);
	void *arg;
	size_t failed;              /* out: actions that failed */
	/* Optional second connection (owned by the caller).  With it, the
	 * leading run of person actions (all of a first sync's people) and
	 * the trailing run of team changes (once everything before it is
	 * committed) are each written by two transactions at a time,
	 * alternate batches on each connection: those batches do not depend
	 * on one another (one action per Slack member, e-mails made unique by
	 * the planner; one per team and person), and the server has more
	 * than one core to insert with. */
	struct db *helper_db;
	/* Pictures (SPEC §2.5): NULL stores none (a create gets no picture,
	 * a new picture is not written).  picture_arg is passed on the
	 * caller's thread, picture_arg_helper on the second writer's. */
	sync_picture_begin_fn picture_begin;
	sync_picture_wait_fn picture_wait;
	void *picture_arg;
	void *picture_arg_helper;
};

/* Converts a plan action (borrowing from the plan and its input). */
void sync_act_from_plan(const struct plan_action *a, struct sync_act *out);

/* Applies acts in order, writing a report row for each (or, for an
 * approved held sync, updating its planned row). */
int sync_apply(struct sync_apply_ctx *ctx, struct sync_act *acts, size_t n);

/* The same for a plan's actions in its order (sync_plan_at), converted
 * one batch at a time (no copy of the whole plan is made); the plan and
 * its input must outlive the call. */
int sync_apply_plan(struct sync_apply_ctx *ctx, const struct sync_plan *plan);

/* The same for the plan's actions [from, to) only: the person actions
 * [0, n_actions) while sync_plan_teams is still making the team changes
 * (reading only them), then the team changes [n_actions, size). */
int sync_apply_plan_part(struct sync_apply_ctx *ctx, const struct sync_plan *plan, size_t from,
			 size_t to);

/* Writes a plan's actions as planned rows, changing nothing else (dry
 * run, held), converting them one batch at a time. */
int sync_apply_plan_only(struct sync_apply_ctx *ctx, const struct sync_plan *plan);

/* The report rows and held syncs' payloads: sync_report_rows.h
 * (sync_act_from_payload reads a payload back). */

#endif
