/*
 * fuzz_pjson.c - libFuzzer target: the request-body JSON parser
 * (lib/core/pjson.c) on arbitrary bytes, as every API handler calls it.
 *
 * Checks, beyond the sanitizers: a refusal always comes with a plain reason
 * (*why set, nothing returned); an accepted document serializes and parses
 * back to the same text (what the API stores is what it read); the getters
 * never fail with anything but their documented codes.  Any broken rule
 * aborts, which libFuzzer reports as a crash.
 */
#include "core/err.h"
#include "core/pjson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_getter(int rc)
{
	if (rc != 0 && rc != PV_ENOTFOUND && rc != PV_EINVAL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL, *again = NULL, *sub;
	const char *why = NULL, *s, *text;
	size_t len;
	int64_t i;
	int b, rc;

	rc = pjson_parse((const char *)data, size, PJSON_MAX_DEPTH, &o, &why);
	if (rc < 0) {
		if (o || !why || !*why || (rc != PV_EINVAL && rc != PV_ETOOBIG && rc != PV_ENOMEM))
			abort();
		return 0;
	}
	if (!o && rc == 0 && size > 0) {
		/* "null" is a valid document and parses to NULL in json-c. */
	}
	static const char *const keys[] = { "email", "password", "first_name", "name",
					    "members", "mode", "enabled", "team_id", "" };
	for (size_t k = 0; o && k < sizeof(keys) / sizeof(keys[0]); k++) {
		check_getter(pjson_get_str(o, keys[k], &s));
		check_getter(pjson_get_bool(o, keys[k], &b));
		check_getter(pjson_get_int(o, keys[k], &i));
		check_getter(pjson_get_obj(o, keys[k], &sub));
		check_getter(pjson_get_array(o, keys[k], &sub));
	}
	if (o) {
		text = pjson_text(o, &len);
		if (!text)
			abort();
		/* What we serialize we must accept again, identically. */
		why = NULL;
		if (pjson_parse(text, len, PJSON_MAX_DEPTH + 1, &again, &why) < 0)
			abort();
		if (again) {
			size_t len2;
			const char *text2 = pjson_text(again, &len2);

			if (!text2 || len2 != len || memcmp(text, text2, len) != 0)
				abort();
		}
	}
	json_object_put(again);
	json_object_put(o);
	return 0;
}
