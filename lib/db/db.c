#include "db/db.h"
#include "db/db_changes.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Prepared statements are kept per connection, keyed by their SQL text,
 * and reused by db_exec and db_query alike: a sync runs the same few
 * INSERTs and UPDATEs hundreds of thousands of times, and an API request
 * runs the same few SELECTs each time; a prepare is a round trip and a
 * close one more message, so an uncached query costs three exchanges
 * where a cached one costs one.  64 slots hold every statement of the API's
 * common paths; the least recently used is evicted past that. */
#define DB_STMT_CACHE 64

struct db_cached {
	char *sql;
	MYSQL_STMT *stmt;
	unsigned long used;       /* tick of the last use, for eviction */
	struct db_rows *holder;   /* the open cursor reading it, if any */
};

struct db {
	struct db_cached cache[DB_STMT_CACHE];
	unsigned long tick;
	MYSQL *conn;
	char *host, *user, *password, *name, *socket;
	unsigned int port;
	/* Set by db_begin, cleared only by db_commit and db_rollback: a
	 * connection lost inside a transaction leaves it set, so nothing runs
	 * (autocommitted, on a new connection) until the caller gives up. */
	int in_tx;
	int down;          /* the last failure was a lost or refused connection */
	/* The counter of committed writes shared with the other programs
	 * (db_changes.h), NULL without db.changes_file; tx_wrote says that
	 * the open transaction ran a db_exec, so its COMMIT counts. */
	struct db_changes *changes;
	int tx_wrote;
	unsigned long reconnects;  /* statements repeated on a new connection */
	unsigned long tx_retries;  /* transactions restarted by db_tx_run */
	unsigned long prepares;    /* statements prepared (cache misses) */
	unsigned int last_errno;   /* of the last failure */
	uint64_t insert_id;
	char err[512];
};

struct db_rows {
	struct db *db;
	MYSQL_STMT *stmt;
	struct db_cached *slot;  /* the cache slot of stmt, NULL when owned */
	unsigned int ncols;
	MYSQL_BIND *bind;
	char **bufs;
	unsigned long *caps;
	unsigned long *lengths;
	my_bool *nulls;
	my_bool *errors;
};

#define DB_COL_INITIAL 256

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

int db_new(struct db **out, const struct config *cfg)
{
	struct db *db = calloc(1, sizeof(*db));
	const char *path;

	*out = NULL;
	if (!db)
		return PV_ENOMEM;
	db->host = dup_or_null(config_get(cfg, "db.host"));
	db->user = dup_or_null(config_get(cfg, "db.user"));
	db->password = dup_or_null(config_get(cfg, "db.password"));
	db->name = dup_or_null(config_get(cfg, "db.name"));
	db->socket = dup_or_null(config_get(cfg, "db.socket"));
	db->port = (unsigned int)config_get_long(cfg, "db.port");
	path = config_get(cfg, "db.changes_file");
	if (path && *path) {
		char err[256];
		int rc = db_changes_open(&db->changes, path, err, sizeof(err));

		if (rc == PV_ENOMEM) {
			db_free(db);
			return rc;
		}
		/* Writes still work; only the API's reuse of answers is off
		 * (it asks db_changes_of), so this is a warning, not an exit. */
		if (rc < 0)
			log_warn("db: %s; the API reuses no answer until this is fixed", err);
	}
	*out = db;
	return 0;
}

/* Empties the cache.  A statement an open cursor still reads is handed
 * to that cursor, which closes it when freed, so a cursor never reads a
 * closed statement whatever happens to the connection meanwhile. */
static void db_cache_clear(struct db *db)
{
	for (int i = 0; i < DB_STMT_CACHE; i++) {
		struct db_cached *c = &db->cache[i];

		if (c->holder)
			c->holder->slot = NULL;
		else if (c->stmt)
			mysql_stmt_close(c->stmt);
		free(c->sql);
		memset(c, 0, sizeof(*c));
	}
}

static void db_disconnect(struct db *db)
{
	db_cache_clear(db);
	if (db->conn) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
}

void db_free(struct db *db)
{
	if (!db)
		return;
	db_disconnect(db);
	free(db->host);
	free(db->user);
	free(db->password);
	free(db->name);
	free(db->socket);
	db_changes_close(db->changes);
	free(db);
}

/* Maps a server or client error number to our codes. */
static int db_classify(unsigned int no)
{
	switch (no) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
		return PV_EDBDOWN;
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
		return PV_ECONFLICT;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		return PV_EDEADLOCK;
	case ER_ROW_IS_REFERENCED_2:
	case ER_NO_REFERENCED_ROW_2:
	case ER_BAD_NULL_ERROR:
	case ER_DATA_TOO_LONG:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case ER_CONSTRAINT_FAILED:
		return PV_EINVAL;
	}
	return PV_EDB;
}

/* Records a failure; drops the connection when it is gone. */
static int db_fail(struct db *db, unsigned int no, const char *msg, const char *what)
{
	int rc = db_classify(no);

	snprintf(db->err, sizeof(db->err), "%s", msg ? msg : "unknown");
	db->last_errno = no;
	db->down = rc == PV_EDBDOWN;
	if (rc == PV_EDBDOWN) {
		log_warn("db: %s: connection lost: %s", what, db->err);
		db_disconnect(db);
	} else if (rc == PV_EDB) {
		log_error("db: %s: %u %s", what, no, db->err);
	}
	return rc;
}

int db_ensure(struct db *db)
{
	unsigned int timeout = 3, rw_timeout = 60;
	my_bool reconnect = 0;

	if (db->conn)
		return 0;
	/* The transaction died with its connection: a new connection would
	 * run the rest of it autocommitted, piece by piece. */
	if (db->in_tx)
		return PV_EDBDOWN;
	db->conn = mysql_init(NULL);
	if (!db->conn)
		return PV_ENOMEM;
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	/* Reconnection is ours to decide, at statement boundaries. */
	mysql_options(db->conn, MYSQL_OPT_RECONNECT, &reconnect);
	mysql_options(db->conn, MYSQL_INIT_COMMAND,
		      "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
		      "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
		      "NO_ENGINE_SUBSTITUTION'");
	/* CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, not only
	 * those whose values changed, so "0 rows" always means "no such row"
	 * (a lease renewed twice in one millisecond is still ours). */
	if (!mysql_real_connect(db->conn, db->host, db->user, db->password, db->name,
				db->port, db->socket, CLIENT_FOUND_ROWS)) {
		unsigned int no = mysql_errno(db->conn);
		int rc;

		snprintf(db->err, sizeof(db->err), "%s", mysql_error(db->conn));
		mysql_close(db->conn);
		db->conn = NULL;
		rc = db_classify(no);
		/* Refused credentials or a missing database are an operator's
		 * problem, but to a caller the database is just as unusable. */
		db->down = 1;
		log_warn("db: connect: %s", db->err);
		return rc == PV_EDBDOWN ? rc : PV_EDBDOWN;
	}
	db->down = 0;
	return 0;
}

int db_is_down(const struct db *db)
{
	return db->down;
}

const char *db_last_error(const struct db *db)
{
	return db->err;
}

uint64_t db_insert_id(const struct db *db)
{
	return db->insert_id;
}

/* The cached statement of sql, prepared now if needed; NULL on failure
 * with *rc set, or with *rc 0 when every slot that could take it is read
 * by an open cursor (the caller then prepares its own).  The cache owns the
 * statement; *slot_out (optional) gets its slot. */
static MYSQL_STMT *db_cached_stmt(struct db *db, const char *sql, int *rc,
				  struct db_cached **slot_out)
{
	struct db_cached *slot = NULL;
	MYSQL_STMT *stmt;

	*rc = 0;
	db->tick++;
	for (int i = 0; i < DB_STMT_CACHE; i++) {
		struct db_cached *c = &db->cache[i];

		if (c->sql && strcmp(c->sql, sql) == 0) {
			/* The same query nested inside its own loop: the outer
			 * cursor keeps the cached statement. */
			if (c->holder)
				return NULL;
			c->used = db->tick;
			if (slot_out)
				*slot_out = c;
			return c->stmt;
		}
		if (!c->holder && (!slot || c->used < slot->used))
			slot = c;
	}
	if (!slot)
		return NULL;
	stmt = mysql_stmt_init(db->conn);
	if (!stmt) {
		*rc = PV_ENOMEM;
		return NULL;
	}
	db->prepares++;
	if (mysql_stmt_prepare(stmt, sql, strlen(sql))) {
		*rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "prepare");
		mysql_stmt_close(stmt);
		return NULL;
	}
	if (slot->stmt)
		mysql_stmt_close(slot->stmt);
	free(slot->sql);
	slot->sql = strdup(sql);
	slot->stmt = slot->sql ? stmt : NULL;
	slot->used = db->tick;
	if (!slot->sql) {
		mysql_stmt_close(stmt);
		*rc = PV_ENOMEM;
		return NULL;
	}
	if (slot_out)
		*slot_out = slot;
	return stmt;
}

/* Whether a statement that failed because its connection was lost may run
 * once more on a new connection.  Never inside a transaction: its earlier
 * statements died with the connection.  Never when there was no connection
 * to begin with (the server is down: connecting again would only double
 * the wait).  A read always may; a write only when it cannot have reached
 * the server: it failed before being sent, or the client found the
 * connection closed when sending (2006, a killed connection, a server
 * shutting down), whereas 2013 "lost connection during query" may come
 * after the server ran it. */
static int db_may_repeat(const struct db *db, int had_conn, const char *sql, int sent)
{
	const char *s = sql;

	if (db->in_tx || !had_conn)
		return 0;
	while (*s == ' ' || *s == '(' || *s == '\n')
		s++;
	if (strncasecmp(s, "SELECT", 6) == 0)
		return 1;
	return !sent || (db->last_errno != CR_SERVER_LOST &&
			 db->last_errno != CR_SERVER_LOST_EXTENDED);
}

/* A few milliseconds, growing with the attempt and jittered, so that the
 * two losers of a deadlock do not meet again at once. */
static void db_backoff(int attempt)
{
	struct timespec ts = { 0, 0 };
	long ms = (5L << attempt) + (long)(random() % (10L << attempt));

	ts.tv_nsec = ms * 1000000L;
	nanosleep(&ts, NULL);
}

/* Whether a statement run outside a transaction goes again after rc:
 * once on a new connection when db_may_repeat says so, and, like
 * db_tx_run, after a lost deadlock or lock wait (an autocommitted statement
 * is its own transaction, rolled back whole).  *lost and *deadlocks count
 * what was already spent. */
static int db_again(struct db *db, int rc, int had_conn, const char *sql, int sent,
		    int *lost, int *deadlocks)
{
	if (rc == PV_EDBDOWN && !*lost && db_may_repeat(db, had_conn, sql, sent)) {
		*lost = 1;
		db->reconnects++;
		log_info("db: connection found closed; statement repeated on a new connection");
		return 1;
	}
	if (rc == PV_EDEADLOCK && !db->in_tx && *deadlocks < DB_TX_ATTEMPTS - 1) {
		db_backoff((*deadlocks)++);
		db->tx_retries++;
		return 1;
	}
	return 0;
}

/* Binds p to stmt; the arrays are the caller's, freed after execute. */
static int db_bind(struct db *db, MYSQL_STMT *stmt, const struct db_param *p, size_t np,
		   MYSQL_BIND **bind_out, unsigned long **lens_out)
{
	MYSQL_BIND *bind;
	unsigned long *lens;

	*bind_out = bind = calloc(np, sizeof(*bind));
	*lens_out = lens = calloc(np, sizeof(*lens));
	if (!bind || !lens)
		return PV_ENOMEM;
	for (size_t i = 0; i < np; i++) {
		if (p[i].type == DB_P_INT) {
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = (void *)&p[i].i;
		} else if (p[i].type == DB_P_STR && p[i].s) {
			lens[i] = strlen(p[i].s);
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)p[i].s;
			bind[i].buffer_length = lens[i];
			bind[i].length = &lens[i];
		} else {
			bind[i].buffer_type = MYSQL_TYPE_NULL;
		}
	}
	if (mysql_stmt_bind_param(stmt, bind))
		return db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "bind");
	return 0;
}

/* One try at preparing (or reusing the cached statement of sql) and
 * executing it.  *out gets the statement; *slot_out its cache slot, or NULL
 * when the caller owns it and must close it.  *sent says whether execution
 * was asked of the server. */
static int db_run_once(struct db *db, MYSQL_STMT **out, struct db_cached **slot_out,
		       const char *sql, const struct db_param *p, size_t np, int use_cache,
		       int *sent)
{
	MYSQL_BIND *bind = NULL;
	unsigned long *lens = NULL;
	struct db_cached *slot = NULL;
	MYSQL_STMT *stmt = NULL;
	int rc;

	*out = NULL;
	*slot_out = NULL;
	*sent = 0;
	rc = db_ensure(db);
	if (rc < 0)
		return rc;
	if (use_cache) {
		stmt = db_cached_stmt(db, sql, &rc, &slot);
		if (rc < 0)
			return rc;
	}
	if (!stmt) {
		stmt = mysql_stmt_init(db->conn);
		if (!stmt)
			return PV_ENOMEM;
		db->prepares++;
		if (mysql_stmt_prepare(stmt, sql, strlen(sql))) {
			rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "prepare");
			goto out;
		}
	}
	if (mysql_stmt_param_count(stmt) != np) {
		log_error("db: statement expects %lu parameters, got %zu: %.80s",
			  mysql_stmt_param_count(stmt), np, sql);
		rc = PV_EINVAL;
		goto out;
	}
	if (np) {
		rc = db_bind(db, stmt, p, np, &bind, &lens);
		if (rc < 0)
			goto out;
	}
	*sent = 1;
	if (mysql_stmt_execute(stmt)) {
		rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "execute");
		goto out;
	}
	db->insert_id = mysql_stmt_insert_id(stmt);
	*out = stmt;
	*slot_out = slot;
	stmt = NULL;
	rc = 0;
out:
	/* A cached statement stays with the cache (which a lost connection
	 * has already emptied). */
	if (stmt && !slot)
		mysql_stmt_close(stmt);
	free(bind);
	free(lens);
	return rc;
}

/* A db_exec ran: counted now when autocommitted, at COMMIT otherwise. */
static void db_wrote(struct db *db)
{
	if (db->in_tx)
		db->tx_wrote = 1;
	else if (db->changes)
		db_changes_bump(db->changes);
}

const struct db_changes *db_changes_of(const struct db *db)
{
	return db->changes;
}

int db_count_change(struct db *db)
{
	if (!db->changes)
		return PV_ENOTFOUND;
	db_changes_bump(db->changes);
	return 0;
}

int db_exec(struct db *db, const char *sql, const struct db_param *p, size_t np,
	    uint64_t *affected)
{
	struct db_cached *slot;
	MYSQL_STMT *stmt;
	int rc, sent, had_conn, lost = 0, deadlocks = 0;

	do {
		had_conn = db->conn != NULL;
		rc = db_run_once(db, &stmt, &slot, sql, p, np, 1, &sent);
	} while (rc < 0 && db_again(db, rc, had_conn, sql, sent, &lost, &deadlocks));
	/* Counted even when it failed: a statement whose answer was lost may
	 * have committed, and a count too many only costs a cache miss. */
	db_wrote(db);
	if (rc < 0)
		return rc;
	if (affected)
		*affected = mysql_stmt_affected_rows(stmt);
	if (!slot)
		mysql_stmt_close(stmt);
	return 0;
}

void db_rows_free(struct db_rows *r)
{
	if (!r)
		return;
	if (r->stmt) {
		mysql_stmt_free_result(r->stmt);
		if (r->slot)
			r->slot->holder = NULL;
		else
			mysql_stmt_close(r->stmt);
	}
	for (unsigned int i = 0; r->bufs && i < r->ncols; i++)
		free(r->bufs[i]);
	free(r->bufs);
	free(r->bind);
	free(r->caps);
	free(r->lengths);
	free(r->nulls);
	free(r->errors);
	free(r);
}

/* One try at a query: executes, binds the result columns and, when
 * buffered, reads the whole result. */
static int db_query_once(struct db *db, struct db_rows **out, const char *sql,
			 const struct db_param *p, size_t np, int buffered, int *sent)
{
	struct db_rows *r = NULL;
	struct db_cached *slot = NULL;
	MYSQL_RES *meta = NULL;
	MYSQL_STMT *stmt = NULL;
	int rc;

	*out = NULL;
	/* A streamed cursor leaves unread rows on the connection; a cached
	 * statement would have to drain them when reused, so it gets its
	 * own (streams are few and long). */
	rc = db_run_once(db, &stmt, &slot, sql, p, np, buffered, sent);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		if (slot)
			mysql_stmt_free_result(stmt);
		else
			mysql_stmt_close(stmt);
		return PV_ENOMEM;
	}
	r->db = db;
	r->stmt = stmt;
	r->slot = slot;
	if (slot)
		slot->holder = r;
	meta = mysql_stmt_result_metadata(stmt);
	r->ncols = meta ? mysql_num_fields(meta) : 0;
	if (meta)
		mysql_free_result(meta);
	if (r->ncols) {
		r->bind = calloc(r->ncols, sizeof(*r->bind));
		r->bufs = calloc(r->ncols, sizeof(*r->bufs));
		r->caps = calloc(r->ncols, sizeof(*r->caps));
		r->lengths = calloc(r->ncols, sizeof(*r->lengths));
		r->nulls = calloc(r->ncols, sizeof(*r->nulls));
		r->errors = calloc(r->ncols, sizeof(*r->errors));
		if (!r->bind || !r->bufs || !r->caps || !r->lengths || !r->nulls || !r->errors) {
			rc = PV_ENOMEM;
			goto out;
		}
		for (unsigned int i = 0; i < r->ncols; i++) {
			r->bufs[i] = malloc(DB_COL_INITIAL);
			if (!r->bufs[i]) {
				rc = PV_ENOMEM;
				goto out;
			}
			r->caps[i] = DB_COL_INITIAL;
			r->bind[i].buffer_type = MYSQL_TYPE_STRING;
			r->bind[i].buffer = r->bufs[i];
			/* One byte kept back for the terminating NUL. */
			r->bind[i].buffer_length = DB_COL_INITIAL - 1;
			r->bind[i].length = &r->lengths[i];
			r->bind[i].is_null = &r->nulls[i];
			r->bind[i].error = &r->errors[i];
		}
		if (mysql_stmt_bind_result(stmt, r->bind)) {
			rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "bind result");
			goto out;
		}
	}
	if (buffered && mysql_stmt_store_result(stmt)) {
		rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "store result");
		goto out;
	}
	*out = r;
	return 0;
out:
	db_rows_free(r);
	return rc;
}

static int db_query_mode(struct db *db, struct db_rows **out, const char *sql,
			 const struct db_param *p, size_t np, int buffered)
{
	int rc, sent, had_conn, lost = 0, deadlocks = 0;

	do {
		had_conn = db->conn != NULL;
		rc = db_query_once(db, out, sql, p, np, buffered, &sent);
	} while (rc < 0 && db_again(db, rc, had_conn, sql, sent, &lost, &deadlocks));
	return rc;
}

int db_query(struct db *db, struct db_rows **out, const char *sql,
	     const struct db_param *p, size_t np)
{
	return db_query_mode(db, out, sql, p, np, 1);
}

int db_query_stream(struct db *db, struct db_rows **out, const char *sql,
		    const struct db_param *p, size_t np)
{
	return db_query_mode(db, out, sql, p, np, 0);
}

/* Re-reads the columns that did not fit, into buffers grown to size. */
static int db_rows_refetch(struct db_rows *r)
{
	int rebind = 0;

	for (unsigned int i = 0; i < r->ncols; i++) {
		char *nb;

		if (r->nulls[i] || r->lengths[i] < r->caps[i])
			continue;
		nb = realloc(r->bufs[i], r->lengths[i] + 1);
		if (!nb)
			return PV_ENOMEM;
		r->bufs[i] = nb;
		r->caps[i] = r->lengths[i] + 1;
		r->bind[i].buffer = nb;
		r->bind[i].buffer_length = r->lengths[i];
		if (mysql_stmt_fetch_column(r->stmt, &r->bind[i], i, 0))
			return db_fail(r->db, mysql_stmt_errno(r->stmt),
				       mysql_stmt_error(r->stmt), "fetch column");
		rebind = 1;
	}
	if (rebind) {
		for (unsigned int i = 0; i < r->ncols; i++)
			r->bind[i].buffer_length = r->caps[i] - 1;
		if (mysql_stmt_bind_result(r->stmt, r->bind))
			return db_fail(r->db, mysql_stmt_errno(r->stmt),
				       mysql_stmt_error(r->stmt), "rebind result");
	}
	return 0;
}

int db_rows_next(struct db_rows *r)
{
	int frc, rc;

	if (r->ncols == 0)
		return 0;
	frc = mysql_stmt_fetch(r->stmt);
	if (frc == MYSQL_NO_DATA)
		return 0;
	if (frc == 1)
		return db_fail(r->db, mysql_stmt_errno(r->stmt), mysql_stmt_error(r->stmt), "fetch");
	if (frc == MYSQL_DATA_TRUNCATED) {
		rc = db_rows_refetch(r);
		if (rc < 0)
			return rc;
	}
	for (unsigned int i = 0; i < r->ncols; i++)
		if (!r->nulls[i])
			r->bufs[i][r->lengths[i]] = '\0';
	return 1;
}

const char *db_rows_str(const struct db_rows *r, int col)
{
	if (col < 0 || (unsigned int)col >= r->ncols || r->nulls[col])
		return NULL;
	return r->bufs[col];
}

size_t db_rows_len(const struct db_rows *r, int col)
{
	if (col < 0 || (unsigned int)col >= r->ncols || r->nulls[col])
		return 0;
	return r->lengths[col];
}

long long db_rows_int(const struct db_rows *r, int col)
{
	const char *s = db_rows_str(r, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

int db_rows_is_null(const struct db_rows *r, int col)
{
	return db_rows_str(r, col) == NULL;
}

int db_query_int(struct db *db, long long *out, const char *sql,
		 const struct db_param *p, size_t np)
{
	struct db_rows *r;
	int rc = db_query(db, &r, sql, p, np);

	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		*out = db_rows_int(r, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = PV_ENOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

int db_query_one(struct db *db, int (*fn)(const struct db_rows *r, void *arg), void *arg,
		 const char *sql, const struct db_param *p, size_t np)
{
	struct db_rows *r;
	int rc = db_query(db, &r, sql, p, np);

	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1)
		rc = fn(r, arg);
	else if (rc == 0)
		rc = PV_ENOTFOUND;
	db_rows_free(r);
	return rc;
}

static int db_command(struct db *db, const char *sql)
{
	if (mysql_real_query(db->conn, sql, strlen(sql)))
		return db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
	return 0;
}

int db_begin(struct db *db)
{
	int rc;

	/* Beginning is a boundary: a transaction whose connection died and
	 * that its caller never rolled back is over all the same. */
	if (db->in_tx && !db->conn)
		db->in_tx = 0;
	for (int attempt = 0;; attempt++) {
		int had_conn = db->conn != NULL;

		rc = db_ensure(db);
		if (rc == 0)
			rc = db_command(db, "START TRANSACTION");
		if (rc == 0) {
			db->in_tx = 1;
			db->tx_wrote = 0;
			return 0;
		}
		/* Nothing of the transaction ran yet: always safe to repeat. */
		if (rc != PV_EDBDOWN || !had_conn || attempt > 0)
			return rc;
		db->reconnects++;
		log_info("db: connection found closed; transaction started on a new connection");
	}
}

int db_commit(struct db *db)
{
	int rc;

	if (!db->conn) {
		db->in_tx = 0;
		return PV_EDBDOWN;
	}
	rc = db_command(db, "COMMIT");
	db->in_tx = 0;
	/* Even a COMMIT that failed may have committed (its answer lost). */
	if (db->tx_wrote && db->changes)
		db_changes_bump(db->changes);
	db->tx_wrote = 0;
	return rc;
}

void db_rollback(struct db *db)
{
	if (db->conn && db->in_tx)
		db_command(db, "ROLLBACK");
	db->in_tx = 0;
	db->tx_wrote = 0;
}

int db_tx_run(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
	int rc = 0, lost = 0;

	for (int attempt = 0; attempt < DB_TX_ATTEMPTS; attempt++) {
		int committing = 0;

		if (attempt > 0) {
			db->tx_retries++;
			db_backoff(attempt - 1);
		}
		rc = db_begin(db);
		if (rc < 0)
			return rc;
		rc = fn(db, arg);
		if (rc == 0) {
			committing = 1;
			rc = db_commit(db);
		}
		if (rc == 0)
			return 0;
		db_rollback(db);
		if (rc == PV_EDEADLOCK) {
			log_info("db: transaction lost a deadlock or a lock wait (attempt %d of %d)",
				 attempt + 1, DB_TX_ATTEMPTS);
			continue;
		}
		/* A connection lost before COMMIT took the whole transaction
		 * with it: running it again on a new connection is safe, once.
		 * A lost COMMIT may have committed, so it is never repeated. */
		if (rc == PV_EDBDOWN && !committing && !lost) {
			lost = 1;
			continue;
		}
		return rc;
	}
	return rc;
}

void db_get_stats(const struct db *db, struct db_stats *out)
{
	out->reconnects = db->reconnects;
	out->tx_retries = db->tx_retries;
	out->prepares = db->prepares;
}
int db_exec_script(struct db *db, const char *sql)
{
	int rc = db_ensure(db);

	if (rc < 0)
		return rc;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_ON))
		return db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), "multi on");
	rc = db_command(db, sql);
	/* Drain every result so the connection is usable again; the first
	 * failing statement stops the script. */
	while (rc == 0 && db->conn) {
		MYSQL_RES *res = mysql_store_result(db->conn);
		int more;

		if (res)
			mysql_free_result(res);
		more = mysql_next_result(db->conn);
		if (more > 0)
			rc = db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), "script");
		if (more != 0)
			break;
	}
	if (db->conn)
		mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	if (db->changes)
		db_changes_bump(db->changes);
	return rc;
}
