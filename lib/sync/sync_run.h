/*
 * sync_run.h - one sync from start to end (SPEC §2): read the workspace,
 * plan against the directory, then hold, preview or apply.
 *
 * Reading Slack comes first and completely: any failure (token revoked,
 * missing scope, Slack unreachable after retries, a broken listing, an
 * empty list) fails the sync before anything is applied, with a line an
 * administrator understands, and deactivates no one (SPEC §7.1).
 *
 * Memory: the Slack members are kept as compact structs (lib/slack_types.h)
 * and the directory as rows copied into one pool; no JSON tree outlives the
 * page it came in.  Group members are fetched per configured group with
 * usergroups.users.list, not with usergroups.list?include_users (one answer
 * of every membership of the workspace, hundreds of MiB on a large one).
 */
#ifndef PV_SYNC_RUN_H
#define PV_SYNC_RUN_H

#include <stddef.h>

#include "sync/sync_queue.h"

struct config;
struct crypto_key;
struct db;

struct sync_run_opts {
	const struct config *cfg;
	const struct crypto_key *key;
	const char *owner;       /* this worker's lease name */
	int lease_seconds;
	size_t batch;            /* actions per transaction */
	int writers;             /* 2: a second connection writes too (sync_apply.h) */
};

/* Runs a claimed job to its end.  Returns 0 when the sync reached a final
 * state (even "failed": that is an outcome, recorded on the row), and a
 * negative code when the run had to stop without one (database down, lease
 * lost): the lease then expires and another pass finishes the sync. */
int sync_run(struct db *db, const struct sync_run_opts *o, const struct syncq_job *job);

#endif
