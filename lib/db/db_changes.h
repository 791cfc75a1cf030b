/*
 * db_changes.h - one counter of committed writes, shared by every program
 * of the product on this machine through a small mapped file.
 *
 * Why: the API's processes keep answers they gave (core/answer_cache.h)
 * and must know, without asking MariaDB, whether anything changed since.
 * Every write the product makes goes through lib/db, which adds one to the
 * counter after each autocommitted write and after each COMMIT of a
 * transaction that wrote (db.c); a reader notes the counter before it reads
 * the database and keeps its answer under that value, so an answer is
 * reused only while no write has committed since it was read.
 *
 * What it cannot see: a write made outside these programs (an operator's
 * SQL, another machine sharing the database), or one whose program died
 * between its COMMIT and the count.  The cache bounds those by its age
 * limit (api.cache_ms), and an operator who edits the database by hand can
 * make them visible at once with `provisioning-admin changed`.
 *
 * The file holds one 64-bit counter, changed with atomic adds (processes
 * opening it together agree: a short file is zero-extended, never reset).
 * A file created by root is given the owner of its folder, so that the
 * service's user can still open it after an administrator's command.
 *
 * Ownership: db_changes_open returns a handle freed with db_changes_close.
 * Errors: PV_EIO (file: err gets one line), PV_ENOMEM.
 */
#ifndef PV_DB_CHANGES_H
#define PV_DB_CHANGES_H

#include <stddef.h>
#include <stdint.h>

struct db_changes;

int db_changes_open(struct db_changes **out, const char *path, char *err, size_t errlen);
void db_changes_close(struct db_changes *c);

/* The counter now (acquire: reads after it see what was committed before
 * the count it returns). */
uint64_t db_changes_read(const struct db_changes *c);
/* Counts one committed write. */
void db_changes_bump(struct db_changes *c);

#endif
