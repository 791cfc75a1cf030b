/*
 * row_json.h - query rows as pages of JSON objects: the one loop behind
 * every keyset-paginated list of the API (users, team members, syncs,
 * report actions).
 *
 * The query must fetch limit + 1 rows ordered by its column 0, a numeric
 * id: the extra row only tells that a next page exists, and the id of the
 * last row kept is the next page's cursor.
 */
#ifndef PV_ROW_JSON_H
#define PV_ROW_JSON_H

#include <json-c/json.h>
#include <stdint.h>

struct db_rows;

/* Builds one object from the current row, its columns from col on; NULL
 * when out of memory. */
typedef json_object *(*row_json_fn)(const struct db_rows *r, int col);

/* Reads r into a new array (*out, the caller puts it) of at most limit
 * objects (limit 0: every row).  *next_after (optional) gets the column-0
 * id of the last object when more rows follow, 0 on the last page. */
int row_json_page(struct db_rows *r, row_json_fn fn, int limit, json_object **out,
		  int64_t *next_after);

#endif
