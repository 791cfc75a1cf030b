#include "db/migrate.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"

static const char create_table_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,"
	" applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

int migrate_apply(struct db *db, const struct migration *list, unsigned int n,
		  int *applied)
{
	long long locked = 0, done;
	int rc;

	*applied = 0;
	rc = db_query_int(db, &locked, "SELECT GET_LOCK('provisioning.migrate', 120)", DB_NOARGS);
	if (rc < 0)
		return rc;
	if (locked != 1) {
		log_error("migrate: another migration run holds the lock");
		return PV_ECONFLICT;
	}
	rc = db_exec(db, create_table_sql, DB_NOARGS, NULL);
	if (rc < 0)
		goto out;
	for (unsigned int i = 0; i < n; i++) {
		rc = db_query_int(db, &done,
				  "SELECT COUNT(*) FROM schema_migrations WHERE version = ?",
				  DB_ARGS(DB_STR(list[i].name)));
		if (rc < 0)
			goto out;
		if (done)
			continue;
		log_info("migrate: applying %s", list[i].name);
		rc = db_exec_script(db, list[i].sql);
		if (rc < 0) {
			log_error("migrate: %s: %s", list[i].name, db_last_error(db));
			goto out;
		}
		rc = db_exec(db, "INSERT INTO schema_migrations (version) VALUES (?)",
			     DB_ARGS(DB_STR(list[i].name)), NULL);
		if (rc < 0)
			goto out;
		(*applied)++;
	}
out:
	/* Best effort: the lock also ends with the connection. */
	db_query_int(db, &locked, "SELECT RELEASE_LOCK('provisioning.migrate')", DB_NOARGS);
	return rc;
}
