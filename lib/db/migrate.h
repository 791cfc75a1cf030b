/*
 * migrate.h - applies numbered schema migrations in order, once each.
 *
 * Applied migrations are recorded in schema_migrations; running twice
 * changes nothing.  A server-side named lock serializes concurrent runs
 * (two hosts deploying at once).  MariaDB cannot roll DDL back, so every
 * migration is written to be re-runnable (IF NOT EXISTS and the like).
 */
#ifndef PV_MIGRATE_H
#define PV_MIGRATE_H

struct db;

struct migration {
	const char *name;  /* "001_directory": sorts in application order */
	const char *sql;   /* trusted SQL text, several statements */
};

/* The table generated from sql/ by scripts/embed-sql.sh. */
extern const struct migration migrations[];
extern const unsigned int migrations_count;

/* Applies what is missing; *applied gets how many were applied now. */
int migrate_apply(struct db *db, const struct migration *list, unsigned int n,
		  int *applied);

#endif
