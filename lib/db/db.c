#include "db/db.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prepared statements of db_exec are kept per connection and reused: a
 * sync runs the same few INSERTs and UPDATEs hundreds of thousands of
 * times, and a prepare is a round trip to the server. */
#define DB_STMT_CACHE 32

struct db_cached {
	char *sql;
	MYSQL_STMT *stmt;
	unsigned long used;  /* tick of the last use, for eviction */
};

struct db {
	struct db_cached cache[DB_STMT_CACHE];
	unsigned long tick;
	MYSQL *conn;
	char *host, *user, *password, *name, *socket;
	unsigned int port;
	int in_tx;
	int down;          /* the last failure was a lost or refused connection */
	uint64_t insert_id;
	char err[512];
};

struct db_rows {
	struct db *db;
	MYSQL_STMT *stmt;
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

	*out = NULL;
	if (!db)
		return PV_ENOMEM;
	db->host = dup_or_null(config_get(cfg, "db.host"));
	db->user = dup_or_null(config_get(cfg, "db.user"));
	db->password = dup_or_null(config_get(cfg, "db.password"));
	db->name = dup_or_null(config_get(cfg, "db.name"));
	db->socket = dup_or_null(config_get(cfg, "db.socket"));
	db->port = (unsigned int)config_get_long(cfg, "db.port");
	*out = db;
	return 0;
}

static void db_cache_clear(struct db *db)
{
	for (int i = 0; i < DB_STMT_CACHE; i++) {
		if (db->cache[i].stmt)
			mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
		db->cache[i].stmt = NULL;
		db->cache[i].sql = NULL;
	}
}

static void db_disconnect(struct db *db)
{
	db_cache_clear(db);
	if (db->conn) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
	db->in_tx = 0;
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
 * with *rc set.  The cache owns the statement. */
static MYSQL_STMT *db_cached_stmt(struct db *db, const char *sql, int *rc)
{
	struct db_cached *slot = &db->cache[0];
	MYSQL_STMT *stmt;

	db->tick++;
	for (int i = 0; i < DB_STMT_CACHE; i++) {
		if (db->cache[i].sql && strcmp(db->cache[i].sql, sql) == 0) {
			db->cache[i].used = db->tick;
			return db->cache[i].stmt;
		}
		if (db->cache[i].used < slot->used)
			slot = &db->cache[i];
	}
	stmt = mysql_stmt_init(db->conn);
	if (!stmt) {
		*rc = PV_ENOMEM;
		return NULL;
	}
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
	return stmt;
}

/* Prepares (or, cached, reuses) and executes sql with its parameters;
 * *out gets the statement, which the caller closes unless cached. */
static int db_run(struct db *db, MYSQL_STMT **out, const char *sql,
		  const struct db_param *p, size_t np, int cached)
{
	MYSQL_BIND *bind = NULL;
	unsigned long *lens = NULL;
	MYSQL_STMT *stmt = NULL;
	int rc;

	*out = NULL;
	rc = db_ensure(db);
	if (rc < 0)
		return rc;
	if (cached) {
		stmt = db_cached_stmt(db, sql, &rc);
		if (!stmt)
			return rc;
	} else {
		stmt = mysql_stmt_init(db->conn);
		if (!stmt)
			return PV_ENOMEM;
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
		bind = calloc(np, sizeof(*bind));
		lens = calloc(np, sizeof(*lens));
		if (!bind || !lens) {
			rc = PV_ENOMEM;
			goto out;
		}
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
		if (mysql_stmt_bind_param(stmt, bind)) {
			rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "bind");
			goto out;
		}
	}
	if (mysql_stmt_execute(stmt)) {
		rc = db_fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), "execute");
		goto out;
	}
	db->insert_id = mysql_stmt_insert_id(stmt);
	*out = stmt;
	stmt = NULL;
	rc = 0;
out:
	/* A cached statement stays with the cache (which a lost connection
	 * has already emptied). */
	if (stmt && !cached)
		mysql_stmt_close(stmt);
	free(bind);
	free(lens);
	return rc;
}

int db_exec(struct db *db, const char *sql, const struct db_param *p, size_t np,
	    uint64_t *affected)
{
	MYSQL_STMT *stmt;
	int rc = db_run(db, &stmt, sql, p, np, 1);

	if (rc < 0)
		return rc;
	if (affected)
		*affected = mysql_stmt_affected_rows(stmt);
	return 0;
}

void db_rows_free(struct db_rows *r)
{
	if (!r)
		return;
	if (r->stmt) {
		mysql_stmt_free_result(r->stmt);
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

static int db_query_mode(struct db *db, struct db_rows **out, const char *sql,
			 const struct db_param *p, size_t np, int buffered)
{
	struct db_rows *r = NULL;
	MYSQL_RES *meta = NULL;
	MYSQL_STMT *stmt = NULL;
	int rc;

	*out = NULL;
	rc = db_run(db, &stmt, sql, p, np, 0);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		mysql_stmt_close(stmt);
		return PV_ENOMEM;
	}
	r->db = db;
	r->stmt = stmt;
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
	int rc = db_ensure(db);

	if (rc < 0)
		return rc;
	rc = db_command(db, "START TRANSACTION");
	if (rc == 0)
		db->in_tx = 1;
	return rc;
}

int db_commit(struct db *db)
{
	int rc;

	if (!db->conn)
		return PV_EDBDOWN;
	rc = db_command(db, "COMMIT");
	db->in_tx = 0;
	return rc;
}

void db_rollback(struct db *db)
{
	if (db->conn && db->in_tx)
		db_command(db, "ROLLBACK");
	db->in_tx = 0;
}

int db_tx_run(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
	int rc = PV_EDEADLOCK;

	for (int attempt = 0; attempt < 3 && rc == PV_EDEADLOCK; attempt++) {
		rc = db_begin(db);
		if (rc < 0)
			return rc;
		rc = fn(db, arg);
		if (rc == 0)
			rc = db_commit(db);
		if (rc < 0)
			db_rollback(db);
	}
	return rc;
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
	return rc;
}
