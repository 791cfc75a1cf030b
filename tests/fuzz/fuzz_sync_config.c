/*
 * fuzz_sync_config.c - libFuzzer target: what an administrator saves as
 * the sync configuration, through the same path as PUT /api/v1/... config:
 * pjson_parse, then sync_config_validate (lib/sync/sync_config.c), then the
 * snapshot a sync plans with (sync_config_snapshot).  The raw input is also
 * given to sync_config_snapshot directly, as a stored row would be.
 *
 * The workspace has groups S1 and S2 (enabled) and S3 (disabled); the
 * organization has teams 1 to 3.  The validator asks the database whether a
 * team exists: db_query_int and db_exec are defined here, so this binary
 * links no database code (sync_config.o needs only those two).
 *
 * Checks, beyond the sanitizers: a refusal names a field and a reason and
 * returns nothing; an accepted configuration is a fixed point (validating
 * the normalized form gives the same text) and snapshots without error.
 */
#include "core/err.h"
#include "core/pjson.h"
#include "db/db.h"
#include "sync/sync_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The stand-in for the teams table: ids 1, 2 and 3 of the organization. */
int db_query_int(struct db *db, long long *out, const char *sql,
		 const struct db_param *p, size_t np)
{
	(void)db;
	(void)sql;
	if (np != 2 || p[1].type != DB_P_INT)
		abort();  /* the validator's only query: org and team id */
	*out = p[1].i >= 1 && p[1].i <= 3;
	return 0;
}

int db_exec(struct db *db, const char *sql, const struct db_param *p, size_t np,
	    uint64_t *affected)
{
	(void)db;
	(void)sql;
	(void)p;
	(void)np;
	(void)affected;
	abort();  /* validation never writes */
}

static char *group_ids[] = { "U1", "U2" };
static struct slack_group groups[] = {
	{ .id = "S1", .name = "Engineering", .handle = "eng", .user_count = 2,
	  .user_ids = group_ids, .n_user_ids = 2 },
	{ .id = "S2", .name = "Sales", .handle = "sales", .user_count = 0 },
	{ .id = "S3", .name = "Old", .handle = "old", .disabled = 1 },
};

static json_object *validate(json_object *body, const char **text, size_t *len)
{
	json_object *norm = NULL;
	const char *field = NULL;
	char why[256];
	int rc;

	why[0] = '\0';
	rc = sync_config_validate((struct db *)&groups, 7, body, groups, 3, &norm,
				  &field, why, sizeof(why));
	if (rc < 0) {
		/* Every refusal names a field.  The name is "" only for a key
		 * that is itself "" ({"":1}: found by this target, and true);
		 * pjson refuses NUL in keys, so a name is never cut to "". */
		if (norm || (rc == PV_EINVAL && (!field || !why[0])))
			abort();
		return NULL;
	}
	if (!norm)
		abort();
	*text = pjson_text(norm, len);
	if (!*text)
		abort();
	return norm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sync_config_snapshot snap;
	json_object *body = NULL, *norm = NULL, *body2 = NULL, *norm2 = NULL;
	const char *why = NULL, *t1, *t2;
	size_t l1, l2;
	char *copy;

	/* A stored row: arbitrary text must never crash the snapshot. */
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&snap, 0, sizeof(snap));
	if (sync_config_snapshot(copy, &snap) == 0)
		(void)sync_config_needs_groups(&snap);
	sync_config_release(&snap);
	free(copy);

	/* Any JSON value reaches the validator here, objects or not: it
	 * refuses a non-object itself (it once walked a NULL json-c table,
	 * found by this target; see tests/RELIABILITY.md). */
	if (pjson_parse((const char *)data, size, PJSON_MAX_DEPTH, &body, &why) < 0 || !body)
		goto out;
	norm = validate(body, &t1, &l1);
	if (!norm)
		goto out;
	if (pjson_parse(t1, l1, PJSON_MAX_DEPTH, &body2, &why) < 0)
		abort();
	norm2 = validate(body2, &t2, &l2);
	if (!norm2 || l1 != l2 || memcmp(t1, t2, l1) != 0)
		abort();
	memset(&snap, 0, sizeof(snap));
	if (sync_config_snapshot(t1, &snap) != 0)
		abort();
	sync_config_release(&snap);
out:
	json_object_put(norm2);
	json_object_put(body2);
	json_object_put(norm);
	json_object_put(body);
	return 0;
}
