/* Unit tests of lib/pjson: strict parsing, depth limit, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/pjson.h"

struct parse_case {
	const char *text;
	int rc;
};

static const struct parse_case parse_cases[] = {
	{ "{}", 0 },
	{ " {\"a\": [1, 2, {\"b\": null}]} \n", 0 },
	{ "\"\xf0\x9f\x8e\x89\"", 0 },   /* 4-byte UTF-8 */
	{ "12", 0 },
	{ "", PV_EINVAL },
	{ "{", PV_EINVAL },
	{ "{\"a\":1} x", PV_EINVAL },   /* trailing text */
	{ "{\"a\":1}{}", PV_EINVAL },
	{ "{'a':1}", PV_EINVAL },       /* strict: no single quotes */
	{ "{\"a\":1,}", PV_EINVAL },    /* strict: no trailing comma */
	{ "/* c */ {}", PV_EINVAL },    /* strict: no comments */
	{ "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]", PV_ETOOBIG }, /* 20 > 16 */
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		json_object *o = NULL;
		const char *why = NULL;
		int rc = pjson_parse(c->text, strlen(c->text), PJSON_MAX_DEPTH, &o, &why);

		if (rc != c->rc)
			fail_msg("case %zu (%s): got %d, want %d", i, c->text, rc, c->rc);
		if (rc == 0)
			assert_non_null(o);
		else
			assert_true(o == NULL && why && *why);
		json_object_put(o);
	}
}

static void test_getters_check_types(void **state)
{
	const char *text = "{\"s\":\"x\",\"b\":true,\"i\":42,\"o\":{},\"a\":[],\"n\":null}";
	json_object *o = NULL, *sub;
	const char *why, *s;
	int64_t i;
	int b;

	(void)state;
	assert_int_equal(pjson_parse(text, strlen(text), 4, &o, &why), 0);
	assert_int_equal(pjson_get_str(o, "s", &s), 0);
	assert_string_equal(s, "x");
	assert_int_equal(pjson_get_bool(o, "b", &b), 0);
	assert_true(b);
	assert_int_equal(pjson_get_int(o, "i", &i), 0);
	assert_int_equal(i, 42);
	assert_int_equal(pjson_get_obj(o, "o", &sub), 0);
	assert_int_equal(pjson_get_array(o, "a", &sub), 0);
	assert_int_equal(pjson_get_str(o, "i", &s), PV_EINVAL);
	assert_int_equal(pjson_get_int(o, "s", &i), PV_EINVAL);
	assert_int_equal(pjson_get_bool(o, "missing", &b), PV_ENOTFOUND);
	assert_int_equal(pjson_get_str(o, "n", &s), PV_ENOTFOUND);  /* null is absent */
	json_object_put(o);
}

static void test_builders_and_text(void **state)
{
	json_object *o = json_object_new_object();
	size_t len;

	(void)state;
	assert_int_equal(pjson_add_str(o, "name", "a/b \"q\""), 0);
	assert_int_equal(pjson_add_str(o, "none", NULL), 0);
	assert_int_equal(pjson_add_int(o, "n", -7), 0);
	assert_int_equal(pjson_add_bool(o, "t", 1), 0);
	assert_string_equal(pjson_text(o, &len),
			    "{\"name\":\"a/b \\\"q\\\"\",\"none\":null,\"n\":-7,\"t\":true}");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_getters_check_types),
		cmocka_unit_test(test_builders_and_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
