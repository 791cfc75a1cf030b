/* Unit tests of lib/pjson: strict parsing, depth limit, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pjson.h"

struct parse_case {
	const char *text;
	int rc;
	size_t len;          /* 0: strlen(text); set for texts holding NUL */
	const char *why;     /* a words the reason must contain, or NULL */
};

static const struct parse_case parse_cases[] = {
	{ "{}", 0, 0, NULL },
	{ " {\"a\": [1, 2, {\"b\": null}]} \n", 0, 0, NULL },
	{ "\"\xf0\x9f\x8e\x89\"", 0, 0, NULL },   /* 4-byte UTF-8 */
	{ "12", 0, 0, NULL },
	{ "", PV_EINVAL, 0, NULL },
	{ "{", PV_EINVAL, 0, NULL },
	{ "{\"a\":1} x", PV_EINVAL, 0, NULL },   /* trailing text */
	{ "{\"a\":1}{}", PV_EINVAL, 0, NULL },
	{ "{'a':1}", PV_EINVAL, 0, NULL },       /* strict: no single quotes */
	{ "{\"a\":1,}", PV_EINVAL, 0, NULL },    /* strict: no trailing comma */
	{ "/* c */ {}", PV_EINVAL, 0, NULL },    /* strict: no comments */
	{ "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]", PV_ETOOBIG, 0, NULL }, /* 20 > 16 */
	/* Strict input (issue 12 item 7): every case names its problem. */
	{ "{\"a\":\"x\xff\"}", PV_EINVAL, 0, "not valid UTF-8" },
	{ "{\"a\":\"\xc0\xaf\"}", PV_EINVAL, 0, "not valid UTF-8" },       /* overlong '/' */
	{ "{\"a\":\"\xe2\x82\"}", PV_EINVAL, 0, "not valid UTF-8" },       /* cut short */
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", PV_EINVAL, 0, "not valid UTF-8" }, /* > U+10FFFF */
	{ "{\"a\":\"\xed\xa0\x80\"}", PV_EINVAL, 0, "surrogate" },        /* U+D800 encoded */
	{ "{\"a\":\"\xed\xbf\xbf\"}", PV_EINVAL, 0, "surrogate" },        /* U+DFFF encoded */
	{ "{\"a\":\"\\ud800\"}", PV_EINVAL, 0, "unpaired" },
	{ "{\"a\":\"\\udc00x\"}", PV_EINVAL, 0, "unpaired" },
	{ "{\"a\":\"\\ud800\\u0041\"}", PV_EINVAL, 0, "unpaired" },
	{ "{\"a\":\"\\ud83c\\udf89\"}", 0, 0, NULL },                             /* a pair: fine */
	{ "{\"a\":\"\xef\xbf\xbf\xf0\x90\x80\x80\"}", 0, 0, NULL },            /* U+FFFF, U+10000 */
	{ "{\"email\":\"nulmail@x.com\\u0000evil\"}", PV_EINVAL, 0, "\\u0000" },
	{ "{\"a\":\"tab\there\"}", PV_EINVAL, 0, "control character" },
	{ "{\"a\":\"line\nbreak\"}", PV_EINVAL, 0, "control character" },
	{ "{\"a\":\"\x1f\"}", PV_EINVAL, 0, "control character" },
	{ "{\"a\":\"\\t\\n\\u001f\"}", 0, 0, NULL },                            /* escaped: fine */
	{ "{\"a\":1}\0", PV_EINVAL, 8, "NUL byte" },                         /* trailing NUL */
	{ "{\"a\":1}\0\0\0", PV_EINVAL, 10, "NUL byte" },
	{ "{\"a\":\"x\0y\"}", PV_EINVAL, 11, "NUL byte" },
	{ "{\"a\":NaN}", PV_EINVAL, 0, "NaN" },
	{ "{\"a\":-Infinity}", PV_EINVAL, 0, "NaN and Infinity" },
	{ "{\"a\":Infinity}", PV_EINVAL, 0, "NaN and Infinity" },
	{ "NaN", PV_EINVAL, 0, "NaN" },
	{ "{\"a\":1,\"a\":2}", PV_EINVAL, 0, "same key twice" },
	{ "{\"b\":{\"x\":1,\"y\":2,\"x\":3}}", PV_EINVAL, 0, "same key twice" },
	{ "{\"a\":1,\"\\u0061\":2}", PV_EINVAL, 0, "same key twice" },    /* equal once decoded */
	{ "{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}", 0, 0, NULL },          /* same key, other objects */
	{ "{\"ab\":1,\"a\":2,\"abc\":3}", 0, 0, NULL },                               /* prefixes differ */
	{ "{\"a\":01}", PV_EINVAL, 0, "number" },
	{ "{\"a\":1.}", PV_EINVAL, 0, "number" },
	{ "{\"a\":-}", PV_EINVAL, 0, "number" },
	{ "{\"a\":1e}", PV_EINVAL, 0, "number" },
	{ "{\"a\":-0.5e+3}", 0, 0, NULL },
	{ "{\"a\":\"\\x41\"}", PV_EINVAL, 0, "escape" },
	{ "{\"a\":\"\\u12\"}", PV_EINVAL, 0, "four hex digits" },
	{ "{\"a\":\"open}", PV_EINVAL, 0, "not closed" },
	{ "{\"a\":1} \r\n\t", 0, 0, NULL },
	{ "{\"a\":1} x", PV_EINVAL, 0, "text after" },
	{ "   ", PV_EINVAL, 0, "empty" },
	{ "{a:1}", PV_EINVAL, 0, "double quotes" },
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		json_object *o = NULL;
		const char *why = NULL;
		size_t len = c->len ? c->len : strlen(c->text);
		int rc = pjson_parse(c->text, len, PJSON_MAX_DEPTH, &o, &why);

		if (rc != c->rc)
			fail_msg("case %zu (%s): got %d (%s), want %d", i, c->text, rc,
				 why ? why : "-", c->rc);
		if (rc == 0)
			assert_non_null(o);
		else
			assert_true(o == NULL && why && *why);
		if (c->why && !strstr(why, c->why))
			fail_msg("case %zu (%s): reason \"%s\" does not say \"%s\"", i, c->text,
				 why, c->why);
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

/* The writers give json-c's bytes for every byte value a string may hold
 * (each alone and amid text) and for UTF-8, so an answer written straight
 * into a buffer reads the same as one printed from a tree. */
static void test_writers_match_json_c(void **state)
{
	static const char *const texts[] = {
		"", "plain", "a/b \"q\" \\ end", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89 e\xcc\x81",
		"tab\there\nline\r\f\b\x01\x1f\x7f", "\"", "\\\\", "x\x01",
	};
	struct buf b;
	char one[4];

	(void)state;
	buf_init(&b, 1 << 16);
	for (int c = 1; c < 256; c++) {
		for (int shape = 0; shape < 2; shape++) {
			json_object *s;

			if (shape == 0) {
				one[0] = (char)c;
				one[1] = '\0';
			} else {
				one[0] = 'a';
				one[1] = (char)c;
				one[2] = 'z';
				one[3] = '\0';
			}
			s = json_object_new_string(one);
			buf_reset(&b);
			assert_int_equal(pjson_buf_str(&b, one), 0);
			assert_string_equal(buf_cstr(&b), pjson_text(s, NULL));
			json_object_put(s);
		}
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_object *o = json_object_new_object();

		assert_int_equal(pjson_add_str(o, "k", texts[i]), 0);
		assert_int_equal(pjson_add_str(o, "n", NULL), 0);
		assert_int_equal(pjson_add_int(o, "i", 12), 0);
		buf_reset(&b);
		assert_int_equal(buf_putc(&b, '{'), 0);
		assert_int_equal(pjson_buf_kv_str(&b, 1, "k", texts[i]), 0);
		assert_int_equal(pjson_buf_kv_str(&b, 0, "n", NULL), 0);
		assert_int_equal(buf_puts(&b, ",\"i\":12}"), 0);
		assert_string_equal(buf_cstr(&b), pjson_text(o, NULL));
		buf_reset(&b);
		assert_int_equal(pjson_buf_value(&b, o), 0);
		assert_string_equal(buf_cstr(&b), pjson_text(o, NULL));
		json_object_put(o);
	}
	buf_reset(&b);
	assert_int_equal(pjson_buf_value(&b, NULL), 0);
	assert_string_equal(buf_cstr(&b), "null");
	/* The buffer's maximum holds. */
	buf_release(&b);
	buf_init(&b, 4);
	assert_int_equal(pjson_buf_str(&b, "longer"), PV_ETOOBIG);
	buf_release(&b);
}

/* A raw value prints its text where it stands, and is freed with its
 * parent (the sanitizer build's leak check sees it). */
static void test_raw_prints_its_text(void **state)
{
	const char *text = "{\"members\":{\"mode\":\"everyone\",\"group_ids\":[]}}";
	json_object *o = json_object_new_object();

	(void)state;
	assert_int_equal(pjson_add(o, "config", pjson_raw(text, strlen(text))), 0);
	assert_int_equal(pjson_add_bool(o, "saved", 1), 0);
	assert_string_equal(pjson_text(o, NULL),
			    "{\"config\":{\"members\":{\"mode\":\"everyone\",\"group_ids\":[]}},"
			    "\"saved\":true}");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_getters_check_types),
		cmocka_unit_test(test_builders_and_text),
		cmocka_unit_test(test_writers_match_json_c),
		cmocka_unit_test(test_raw_prints_its_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
