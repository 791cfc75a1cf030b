#include "db/row_json.h"
#include "db/db.h"
#include "core/err.h"
#include "core/pjson.h"

int row_json_page(struct db_rows *r, row_json_fn fn, int limit, json_object **out,
		  int64_t *next_after)
{
	json_object *arr = json_object_new_array();
	int64_t last = 0;
	int n = 0, rc;

	*out = NULL;
	if (next_after)
		*next_after = 0;
	if (!arr)
		return PV_ENOMEM;
	while ((rc = db_rows_next(r)) == 1) {
		json_object *o;

		if (limit > 0 && n == limit) {
			if (next_after)
				*next_after = last;
			rc = 0;
			break;
		}
		o = fn(r, 0);
		if (!o || pjson_push(arr, o) < 0) {
			rc = PV_ENOMEM;
			break;
		}
		last = db_rows_int(r, 0);
		n++;
	}
	if (rc < 0) {
		json_object_put(arr);
		return rc;
	}
	*out = arr;
	return 0;
}
