/*
 * provisioning-sync - the cron-invoked sync pass (SPEC §2.9).
 *
 * One pass: forget syncs older than each organization's retention, queue the
 * scheduled syncs that are due, then claim and run queued syncs one after
 * the other until none is left, send the invitation e-mails that are due,
 * and exit.  Claims use row locks with SKIP
 * LOCKED and a lease renewed between batches, so several passes on several
 * hosts may run at once: each sync runs once, and a sync whose worker died
 * is taken over when its lease expires.
 *
 *   provisioning-sync              one pass over every organization
 *   provisioning-sync --poll[=S]   the same, then "Sync now" within seconds
 *   provisioning-sync --org ID     run the organization's queued sync now
 *
 * --poll (cron/crontab): once the pass has nothing left to do, it keeps
 * looking for queued syncs every POLL_INTERVAL_MS until POLL_END_SECOND of
 * the minute it started in (or for S seconds), so that a sync an
 * administrator queues starts within a second or two while cron stays the
 * only launcher.  Only one pass waits at a time: the waiting pass holds the
 * server's named lock POLL_LOCK (GET_LOCK, released with its connection,
 * even when the process is killed); a pass that cannot take it exits as
 * before.  The next minute's pass starts after the waiting one has ended.
 *
 * Exit codes: 0 pass done (a failed sync is an outcome, not an exit code),
 * 1 configuration or database failure, 2 usage.
 */
#include "core/config.h"
#include "core/crypto.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "mail/mail.h"
#include "provider/slack/slack.h"
#include "sync/sync_queue.h"
#include "sync/sync_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SYNCS_PER_PASS 1000
#define POLL_INTERVAL_MS 1000
#define POLL_END_SECOND 55
#define POLL_LOCK "provisioning-sync.poll"

static const char usage[] =
	"usage: provisioning-sync [--poll[=SECONDS]] [--org ID] [--help]\n"
	"\n"
	"Runs one pass: queues the daily syncs that are due, then claims and runs\n"
	"queued syncs (scheduled, manual, approved) across all organizations, and\n"
	"exits.  Meant to run every minute from cron (see cron/crontab); several\n"
	"hosts may run it at once.  --org ID runs only that organization's queued\n"
	"sync.  --poll then keeps starting queued syncs within a second until 5 s\n"
	"before the next minute (or for SECONDS); one pass waits at a time.\n"
	"Configuration: PROVISIONING_CONFIG and environment overrides (README).\n";

/* Claims and runs queued syncs until none is left (or the pass's cap);
 * *ran counts them.  A failed sync is an outcome, not an error. */
static int run_queued(struct db *db, struct sync_run_opts *opts, const char *owner, long long org,
		      int *ran)
{
	int rc = 0;

	while (*ran < MAX_SYNCS_PER_PASS) {
		struct syncq_job job;

		rc = syncq_claim(db, owner, opts->lease_seconds, org, &job);
		if (rc <= 0)
			break;
		log_info("sync %lld: claimed (organization %lld, attempt %d)", (long long)job.id,
			 (long long)job.org, job.attempts);
		rc = sync_run(db, opts, &job);
		syncq_job_release(&job);
		(*ran)++;
		if (rc < 0)
			break;
	}
	return rc;
}

/* The --poll wait: claims what is queued every POLL_INTERVAL_MS until
 * until (a time()), under POLL_LOCK.  Returns 0 at the end of the wait
 * (or at once when another pass holds the lock). */
static int poll_queue(struct db *db, struct sync_run_opts *opts, const char *owner,
		      time_t until, int *ran)
{
	long long got = 0;
	int rc = db_query_int(db, &got, "SELECT GET_LOCK(?, 0)", DB_ARGS(DB_STR(POLL_LOCK)));

	if (rc < 0 || got != 1) {
		log_debug("sync: another pass is waiting for queued syncs; not waiting");
		return rc < 0 ? rc : 0;
	}
	while (rc >= 0 && time(NULL) < until && *ran < MAX_SYNCS_PER_PASS) {
		struct timespec pause = { POLL_INTERVAL_MS / 1000, (POLL_INTERVAL_MS % 1000) * 1000000L };

		nanosleep(&pause, NULL);
		rc = run_queued(db, opts, owner, 0, ran);
	}
	/* Released with the connection anyway; said here for the reader. */
	if (rc >= 0)
		rc = db_query_int(db, &got, "SELECT RELEASE_LOCK(?)", DB_ARGS(DB_STR(POLL_LOCK)));
	return rc;
}

int main(int argc, char **argv)
{
	struct sync_run_opts opts = { 0 };
	struct crypto_key *key = NULL;
	struct config *cfg = NULL;
	struct db *db = NULL;
	enum log_level level;
	char err[256], host[128], owner[200];
	long long org = 0, poll_seconds = -1;
	time_t started = time(NULL), until = 0;
	int rc, ran = 0;

	log_init("provisioning-sync");
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && strncmp(argv[1], "--poll", 6) == 0 &&
	    (argv[1][6] == '\0' || argv[1][6] == '=')) {
		char *end;

		poll_seconds = 0;
		if (argv[1][6] == '=') {
			errno = 0;
			poll_seconds = strtoll(argv[1] + 7, &end, 10);
			if (errno || *end || end == argv[1] + 7 || poll_seconds < 1 ||
			    poll_seconds > 3600) {
				fputs(usage, stderr);
				return 2;
			}
		}
	} else if (argc == 3 && strcmp(argv[1], "--org") == 0) {
		char *end;

		errno = 0;
		org = strtoll(argv[2], &end, 10);
		if (errno || *end || org < 1) {
			fputs(usage, stderr);
			return 2;
		}
	} else if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	rc = config_load(&cfg, NULL, err, sizeof(err));
	if (rc == 0)
		rc = config_require(cfg, "crypto.key_file", err, sizeof(err));
	if (rc == 0 && crypto_key_load(config_get(cfg, "crypto.key_file"), &key) < 0) {
		snprintf(err, sizeof(err), "config: crypto.key_file: not a readable 32-byte key file");
		rc = PV_EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "provisioning-sync: %s\n", err);
		config_free(cfg);
		return 1;
	}
	if (log_parse_level(config_get(cfg, "log.level"), &level) == 0)
		log_set_level(level);
	slack_global_init();
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
	opts.cfg = cfg;
	opts.key = key;
	opts.owner = owner;
	opts.lease_seconds = (int)config_get_long(cfg, "sync.lease_seconds");
	opts.batch = (size_t)config_get_long(cfg, "sync.batch_size");
	opts.writers = (int)config_get_long(cfg, "sync.writers");
	rc = db_new(&db, cfg);
	if (rc == 0)
		rc = db_ensure(db);
	if (rc == 0)
		rc = syncq_apply_retention(db);
	if (rc == 0 && !org)
		rc = syncq_schedule_due(db);
	if (rc >= 0)
		rc = run_queued(db, &opts, owner, org, &ran);
	/* Invitations of the users just created (and of earlier failures). */
	if (rc >= 0)
		rc = mail_deliver_invitations(db, cfg, 10000);
	if (rc >= 0 && poll_seconds >= 0) {
		/* Until 5 s before the next minute's pass, counted from the
		 * minute this one started in. */
		until = poll_seconds > 0 ? time(NULL) + (time_t)poll_seconds
					 : started - started % 60 + POLL_END_SECOND;
		rc = poll_queue(db, &opts, owner, until, &ran);
		if (rc >= 0)
			rc = mail_deliver_invitations(db, cfg, 10000);
	}
	if (rc < 0)
		log_error("sync: pass stopped: %s%s%s", pv_strerror(rc), db ? ": " : "",
			  db ? db_last_error(db) : "");
	db_free(db);
	crypto_key_free(key);
	config_free(cfg);
	return rc < 0 ? 1 : 0;
}
