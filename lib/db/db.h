/*
 * db.h - MariaDB access through prepared statements only.
 *
 * One struct db is one connection, used by one thread at a time.  It connects
 * lazily and never relies on the client library's auto-reconnect.
 *
 * Reconnecting: a connection can die while the handle idles (a MariaDB
 * restart, wait_timeout).  A statement that finds it dead outside a
 * transaction connects again, re-prepares and runs once more when that is
 * safe: always for a SELECT, and for a write only when it cannot have
 * reached the server (it failed before or while being sent; "lost
 * connection during query" may come after the server ran it).  db_begin
 * likewise starts its transaction on a new connection.  A second failure,
 * or a server that refuses connections, gives PV_EDBDOWN: the database is
 * really down.  Inside a transaction a lost connection is never hidden: the
 * caller gets PV_EDBDOWN, and every statement fails the same way until
 * db_rollback (or db_commit) ends the transaction, so nothing of it runs
 * autocommitted on a new connection.
 *
 * Prepared statements are cached per connection, keyed by their SQL text
 * (least recently used evicted), for db_exec and db_query: a repeated
 * statement costs one round trip instead of three.  A lost connection
 * empties the cache; the next use prepares again.  A cursor from db_query
 * holds its cached statement until db_rows_free; the same SQL run while
 * that cursor is open gets a statement of its own.  SQL text built from
 * values would fill the cache with one-off entries: use parameters.
 *
 * Counting writes: with db.changes_file set, every db_exec outside a
 * transaction, every COMMIT of a transaction that ran a db_exec and every
 * script adds one to a counter shared by the programs (db_changes.h), so
 * that the API knows when an answer it keeps is out of date.  So a write
 * must go through db_exec, never db_query.
 *
 * Deadlocks: a statement outside a transaction (autocommitted, so its own
 * transaction) that loses a deadlock or a lock wait runs again, like a
 * transaction under db_tx_run; inside a transaction the caller gets
 * PV_EDEADLOCK, and db_tx_run, the one helper for transactions that may
 * lose one, runs the whole transaction again.
 *
 * Parameters are passed as an array of struct db_param built with DB_INT(),
 * DB_STR(), DB_NULL() and DB_ARGS(), so no caller writes MYSQL_BIND code:
 *
 *     rc = db_exec(db, "UPDATE teams SET name = ? WHERE organization_id = ? AND id = ?",
 *                  DB_ARGS(DB_STR(name), DB_INT(org), DB_INT(id)), &changed);
 *
 * Results are read as text (NULL for SQL NULL) or as integers, one row at a
 * time.  Errors: PV_EDBDOWN (unreachable), PV_ECONFLICT (duplicate key),
 * PV_EINVAL (foreign key or value refused), PV_EDEADLOCK (deadlock or lock
 * wait timeout: retry the whole transaction, see db_tx_run), PV_EDB (other).
 */
#ifndef PV_DB_H
#define PV_DB_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct db_rows;

enum db_param_type { DB_P_NULL, DB_P_INT, DB_P_STR };

struct db_param {
	enum db_param_type type;
	long long i;
	const char *s;  /* borrowed; NULL string means SQL NULL */
};

#define DB_INT(x) ((struct db_param){ .type = DB_P_INT, .i = (long long)(x) })
#define DB_STR(x) ((struct db_param){ .type = DB_P_STR, .s = (x) })
#define DB_NULL() ((struct db_param){ .type = DB_P_NULL })
#define DB_ARGS(...) (const struct db_param[]){ __VA_ARGS__ }, \
	(sizeof((const struct db_param[]){ __VA_ARGS__ }) / sizeof(struct db_param))
#define DB_NOARGS NULL, 0

/* Creates a handle from db.* configuration (copied).  Does not connect. */
int db_new(struct db **out, const struct config *cfg);
void db_free(struct db *db);
/* Connects if not connected; PV_EDBDOWN when the server is unreachable. */
int db_ensure(struct db *db);
/* Whether the last failure lost the connection (for 503 decisions). */
int db_is_down(const struct db *db);
/* The server's message for the last failure on this handle (borrowed). */
const char *db_last_error(const struct db *db);

/* Runs one statement.  *affected (optional) gets the row count: for an
 * UPDATE the rows matched, changed or not (CLIENT_FOUND_ROWS). */
int db_exec(struct db *db, const char *sql, const struct db_param *p, size_t np,
	    uint64_t *affected);
/* The AUTO_INCREMENT id of the last successful INSERT on this handle. */
uint64_t db_insert_id(const struct db *db);

/* Runs a query; *out is a cursor the caller frees with db_rows_free.
 * db_query buffers the result on the client so other statements may run
 * while it is read; db_query_stream reads rows from the server as they are
 * fetched (constant memory, but no other statement until freed). */
int db_query(struct db *db, struct db_rows **out, const char *sql,
	     const struct db_param *p, size_t np);
int db_query_stream(struct db *db, struct db_rows **out, const char *sql,
		    const struct db_param *p, size_t np);
/* 1 when a row is ready, 0 at the end, negative on failure. */
int db_rows_next(struct db_rows *r);
/* Column text of the current row, NULL for SQL NULL; valid until the next
 * db_rows_next or db_rows_free. */
const char *db_rows_str(const struct db_rows *r, int col);
size_t db_rows_len(const struct db_rows *r, int col);
long long db_rows_int(const struct db_rows *r, int col);
int db_rows_is_null(const struct db_rows *r, int col);
void db_rows_free(struct db_rows *r);

/* Single-value helper: first column of the first row as an integer.
 * PV_ENOTFOUND when there is no row. */
int db_query_int(struct db *db, long long *out, const char *sql,
		 const struct db_param *p, size_t np);

/* Runs a query expected to give one row and hands that row to fn (whose
 * return is returned).  PV_ENOTFOUND when there is no row. */
int db_query_one(struct db *db, int (*fn)(const struct db_rows *r, void *arg), void *arg,
		 const char *sql, const struct db_param *p, size_t np);

int db_begin(struct db *db);
int db_commit(struct db *db);
/* Safe to call after any failure, even with no transaction open. */
void db_rollback(struct db *db);

/* Attempts of db_tx_run before a deadlock is handed to the caller. */
#define DB_TX_ATTEMPTS 4

/* The one way to run a transaction that may lose a deadlock: begins, runs
 * fn(db, arg), commits when it returns 0 and rolls back otherwise.  When a
 * statement or the COMMIT fails with PV_EDEADLOCK (InnoDB's 1213 deadlock or
 * 1205 lock wait timeout, after which the server has rolled the transaction
 * back or the statement left it unusable), the whole transaction runs again
 * after a short jittered pause, up to DB_TX_ATTEMPTS times in all; a
 * connection lost before COMMIT runs it again once on a new connection (a
 * lost COMMIT may have committed and is never repeated).  Returns fn's or
 * the commit's code; PV_EDEADLOCK only when every attempt lost.
 *
 * So fn must be repeatable: it starts from nothing but arg's inputs, writes
 * its results to arg only (resetting them first), keeps no database cursor
 * past its return, and neither sends anything nor changes the world outside
 * the database.  For instance the sync applier's batch becomes:
 *
 *     struct batch_tx bt = { .ctx = ctx, .actions = a, .n = n };
 *     rc = db_tx_run(ctx->db, apply_batch_tx, &bt);
 *
 * where apply_batch_tx(db, arg) clears bt's per-batch counts and report
 * rows, checks the lease, writes the batch and its report rows, and returns
 * 0 or the failure; one person's failure replayed action by action stays
 * inside fn.  Call it outside any transaction. */
int db_tx_run(struct db *db, int (*fn)(struct db *db, void *arg), void *arg);

/* Counters of this handle since db_new, for tests and benchmarks. */
struct db_stats {
	unsigned long reconnects;  /* statements or begins repeated on a new connection */
	unsigned long tx_retries;  /* transactions run again by db_tx_run */
	unsigned long prepares;    /* statements prepared (statement cache misses) */
};
void db_get_stats(const struct db *db, struct db_stats *out);

/* The counter of committed writes this handle adds to (db_changes.h), or
 * NULL when db.changes_file is unset or could not be opened.  Borrowed. */
struct db_changes;
const struct db_changes *db_changes_of(const struct db *db);
/* Counts a change made outside this handle's statements (an operator's
 * SQL); PV_ENOTFOUND without a counter. */
int db_count_change(struct db *db);

/* Runs trusted SQL text with several statements (migrations only). */
int db_exec_script(struct db *db, const char *sql);

#endif
