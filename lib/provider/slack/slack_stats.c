#include "provider/slack/slack_stats.h"
#include "core/err.h"
#include "db/db.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct entry {
	char method[48];
	long status;
	long long calls;
	double wait;
};

static struct entry entries[SLACK_STATS_MAX];
static int nentries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct entry *find(const char *method, long status)
{
	for (int i = 0; i < nentries; i++)
		if (entries[i].status == status && strcmp(entries[i].method, method) == 0)
			return &entries[i];
	if (nentries == SLACK_STATS_MAX - 1 && strcmp(method, "other") != 0)
		return find("other", status);
	if (nentries == SLACK_STATS_MAX)
		return &entries[SLACK_STATS_MAX - 1];   /* "other", whatever status */
	snprintf(entries[nentries].method, sizeof(entries[0].method), "%s", method);
	entries[nentries].status = status;
	return &entries[nentries++];
}

void slack_stats_note_call(const char *method, long http_status)
{
	if (http_status < 0 || http_status > 999)
		http_status = 0;
	pthread_mutex_lock(&lock);
	find(method && *method ? method : "unknown", http_status)->calls++;
	pthread_mutex_unlock(&lock);
}

void slack_stats_note_wait(const char *method, double seconds)
{
	if (seconds <= 0)
		return;
	pthread_mutex_lock(&lock);
	find(method && *method ? method : "unknown", 429)->wait += seconds;
	pthread_mutex_unlock(&lock);
}

int slack_stats_pending(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = nentries;
	pthread_mutex_unlock(&lock);
	return n;
}

static int flush_tx(struct db *db, void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; rc == 0 && i < nentries; i++) {
		char wait[32];

		snprintf(wait, sizeof(wait), "%.3f", entries[i].wait);
		/* Counters of the whole service, not of an organization: the
		 * table has no organization column by design. */
		rc = db_exec(db, "INSERT INTO slack_call_counts (method, http_status, calls, wait_seconds)"
			     " VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE calls = calls + VALUES(calls),"
			     " wait_seconds = wait_seconds + VALUES(wait_seconds)",
			     DB_ARGS(DB_STR(entries[i].method), DB_INT(entries[i].status),
				     DB_INT(entries[i].calls), DB_STR(wait)), NULL);
	}
	return rc;
}

int slack_stats_flush(struct db *db)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = nentries ? db_tx_run(db, flush_tx, NULL) : 0;
	if (rc == 0)
		nentries = 0;
	pthread_mutex_unlock(&lock);
	return rc;
}
