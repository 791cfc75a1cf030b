/*
 * db-probe - drives lib/db/db.c against the test stack's MariaDB for
 * tests/integration/test_database_retry.py: real deadlocks and lock waits
 * between two connections, to see db_tx_run run the losing transaction
 * again.  Works on its own scratch table (probe_locks), dropped at the end.
 *
 *   db-probe deadlock   two threads lock rows 1,2 and 2,1 inside db_tx_run
 *   db-probe lockwait   one connection holds row 1 for 1.5 s while another,
 *                       with innodb_lock_wait_timeout = 1, updates it
 *   db-probe plain      the deadlock without db_tx_run (the control)
 *   db-probe cache      the statement cache: one query run 50 times, the
 *                       same query nested in its own open cursor, and a
 *                       connection killed under it; prints
 *                       "prepares=<n> nested=<n> reconnects=<n> value=<n>"
 *
 * Configuration from PROVISIONING_CONFIG.  Prints one line
 *   rc1=<n> rc2=<n> calls=<n> retries=<n> v1=<n> v2=<n>
 * (rc of each transaction, calls of the transaction functions, db_tx_run's
 * retries, the rows' final values); exit 0 unless the set-up failed.
 */
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct worker {
	struct db *db;
	int first, second;      /* rows locked, in this order */
	int calls;
	int use_helper;
	int rc;
	pthread_barrier_t *both_locked;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int lock_two(struct db *db, void *arg)
{
	struct worker *w = arg;
	int rc;

	w->calls++;
	rc = db_exec(db, "UPDATE probe_locks SET v = v + 1 WHERE id = ?",
		     DB_ARGS(DB_INT(w->first)), NULL);
	if (rc < 0)
		return rc;
	/* Only the first attempts meet: each holds one row and asks for the
	 * other's, which InnoDB ends by killing one of them. */
	if (w->calls == 1)
		pthread_barrier_wait(w->both_locked);
	return db_exec(db, "UPDATE probe_locks SET v = v + 1 WHERE id = ?",
		       DB_ARGS(DB_INT(w->second)), NULL);
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;

	if (w->use_helper) {
		w->rc = db_tx_run(w->db, lock_two, w);
		return NULL;
	}
	w->rc = db_begin(w->db);
	if (w->rc == 0)
		w->rc = lock_two(w->db, w);
	if (w->rc == 0)
		w->rc = db_commit(w->db);
	if (w->rc < 0)
		db_rollback(w->db);
	return NULL;
}

static int wait_one(struct db *db, void *arg)
{
	struct worker *w = arg;
	int rc;

	w->calls++;
	rc = db_exec(db, "SET SESSION innodb_lock_wait_timeout = 1", DB_NOARGS, NULL);
	if (rc == 0 && w->calls == 1)
		pthread_barrier_wait(w->both_locked);
	if (rc == 0)
		rc = db_exec(db, "UPDATE probe_locks SET v = v + 1 WHERE id = 1", DB_NOARGS, NULL);
	return rc;
}

static void *run_waiter(void *arg)
{
	struct worker *w = arg;

	w->rc = db_tx_run(w->db, wait_one, w);
	return NULL;
}

/* The statement cache, seen through db_get_stats. */
static int probe_cache(struct db *db, struct db *killer)
{
	const char *q = "SELECT COUNT(*) FROM probe_locks WHERE id >= ?";
	struct db_rows *outer = NULL, *inner = NULL;
	struct db_stats st;
	long long v = 0, id = 0, nested = 0, sum = 0;
	unsigned long before;
	int rc = 0;

	for (int i = 0; i < 50 && rc == 0; i++)
		rc = db_query_int(db, &v, q, DB_ARGS(DB_INT(1)));
	db_get_stats(db, &st);
	before = st.prepares;
	/* The same SQL while its cached statement is held by an open cursor:
	 * the inner one gets a statement of its own, the outer keeps reading. */
	if (rc == 0)
		rc = db_query(db, &outer, "SELECT id FROM probe_locks WHERE id >= ? ORDER BY id",
			      DB_ARGS(DB_INT(1)));
	while (rc == 0 && db_rows_next(outer) == 1) {
		long long row = db_rows_int(outer, 0);

		rc = db_query(db, &inner, "SELECT id FROM probe_locks WHERE id >= ? ORDER BY id",
			      DB_ARGS(DB_INT(row)));
		while (rc == 0 && db_rows_next(inner) == 1)
			nested++;
		db_rows_free(inner);
		inner = NULL;
		sum += row;
	}
	db_rows_free(outer);
	/* The server kills the connection between two uses: the next query
	 * reconnects, prepares again and answers. */
	if (rc == 0)
		rc = db_query_int(db, &id, "SELECT CONNECTION_ID()", DB_NOARGS);
	if (rc == 0) {
		char kill[64];

		snprintf(kill, sizeof(kill), "KILL CONNECTION %lld", id);
		rc = db_exec_script(killer, kill);
	}
	if (rc == 0)
		rc = db_query_int(db, &v, q, DB_ARGS(DB_INT(1)));
	db_get_stats(db, &st);
	printf("prepares=%lu nested=%lld reconnects=%lu value=%lld sum=%lld\n",
	       before, nested, st.reconnects, v, sum);
	return rc;
}

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct db *db[2] = { NULL, NULL };
	struct worker w[2];
	pthread_barrier_t barrier;
	pthread_t th[2];
	struct db_stats st[2];
	long long v1 = -1, v2 = -1;
	const char *mode = argc > 1 ? argv[1] : "";
	char err[256];
	int rc;

	log_init("db-probe");
	if (strcmp(mode, "deadlock") && strcmp(mode, "lockwait") && strcmp(mode, "plain") &&
	    strcmp(mode, "cache")) {
		fprintf(stderr, "usage: db-probe deadlock|lockwait|plain|cache\n");
		return 2;
	}
	if (config_load(&cfg, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "db-probe: %s\n", err);
		return 1;
	}
	if (db_new(&db[0], cfg) < 0 || db_new(&db[1], cfg) < 0)
		return 1;
	rc = db_exec_script(db[0], "DROP TABLE IF EXISTS probe_locks;"
			    " CREATE TABLE probe_locks (id INT PRIMARY KEY, v INT NOT NULL)"
			    " ENGINE=InnoDB; INSERT INTO probe_locks VALUES (1, 0), (2, 0)");
	if (rc < 0) {
		fprintf(stderr, "db-probe: set-up: %s\n", db_last_error(db[0]));
		return 1;
	}
	if (strcmp(mode, "cache") == 0) {
		rc = probe_cache(db[0], db[1]);
		db_exec(db[0], "DROP TABLE probe_locks", DB_NOARGS, NULL);
		db_free(db[0]);
		db_free(db[1]);
		config_free(cfg);
		return rc < 0 ? 1 : 0;
	}
	pthread_barrier_init(&barrier, NULL, 2);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].db = db[i];
		w[i].first = i == 0 ? 1 : 2;
		w[i].second = i == 0 ? 2 : 1;
		w[i].use_helper = strcmp(mode, "plain") != 0;
		w[i].both_locked = &barrier;
	}
	if (strcmp(mode, "lockwait") == 0) {
		/* db[0] holds row 1 past the other's 1 s lock wait, then commits. */
		pthread_create(&th[1], NULL, run_waiter, &w[1]);
		rc = db_begin(db[0]);
		if (rc == 0)
			rc = db_exec(db[0], "UPDATE probe_locks SET v = v + 1 WHERE id = 1",
				     DB_NOARGS, NULL);
		pthread_barrier_wait(&barrier);
		sleep_ms(1500);
		if (rc == 0)
			rc = db_commit(db[0]);
		w[0].rc = rc;
		w[0].calls = 1;
		pthread_join(th[1], NULL);
	} else {
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, run_worker, &w[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
	}
	db_query_int(db[0], &v1, "SELECT v FROM probe_locks WHERE id = 1", DB_NOARGS);
	db_query_int(db[0], &v2, "SELECT v FROM probe_locks WHERE id = 2", DB_NOARGS);
	db_exec(db[0], "DROP TABLE probe_locks", DB_NOARGS, NULL);
	db_get_stats(db[0], &st[0]);
	db_get_stats(db[1], &st[1]);
	printf("rc1=%d rc2=%d calls=%d retries=%lu v1=%lld v2=%lld\n", w[0].rc, w[1].rc,
	       w[0].calls + w[1].calls, st[0].tx_retries + st[1].tx_retries, v1, v2);
	pthread_barrier_destroy(&barrier);
	db_free(db[0]);
	db_free(db[1]);
	config_free(cfg);
	return 0;
}
