/*
 * Unit tests of lib/core/utf8_cut: cutting text to N characters at a
 * boundary a reader sees.  Rows are {text, limit, expected kept text,
 * expected "was cut"}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/utf8_cut.h"

#define FAMILY "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7" /* 👩‍👩‍👧 */
#define THUMB_DARK "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbf"                                   /* 👍🏿 */
#define FLAG_FR "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7"                                      /* 🇫🇷 */
#define E_ACUTE_NFD "e\xcc\x81"                                                       /* e + U+0301 */
#define HEART_VS "\xe2\x9d\xa4\xef\xb8\x8f"                                            /* ❤️ */

static const struct {
	const char *in;
	size_t max;
	const char *want;
	bool cut;
} rows[] = {
	{ "", 0, "", false },
	{ "", 5, "", false },
	{ "abc", 3, "abc", false },
	{ "abcd", 3, "abc", true },
	{ "abc", 0, "", true },
	/* CJK: 3 bytes a character, counted as one. */
	{ "山田太郎", 4, "山田太郎", false },
	{ "山田太郎", 3, "山田太", true },
	{ "営業部長（東京本社）", 5, "営業部長（", true },
	/* Emoji of 4 bytes never split. */
	{ "ok😀😀", 3, "ok😀", true },
	{ "😀", 1, "😀", false },
	{ "😀", 0, "", true },
	/* A combining mark stays with its letter: the pair goes together. */
	{ "Ren" E_ACUTE_NFD "e", 6, "Ren" E_ACUTE_NFD "e", false },
	{ "Ren" E_ACUTE_NFD "e", 5, "Ren" E_ACUTE_NFD, true },
	{ "Ren" E_ACUTE_NFD "e", 4, "Ren", true },
	{ "Ren" E_ACUTE_NFD, 4, "Ren", true },
	{ "Ren" E_ACUTE_NFD, 5, "Ren" E_ACUTE_NFD, false },
	{ "a\xcc\x81\xcc\xa3" "b", 3, "a\xcc\x81\xcc\xa3", true },  /* two marks */
	{ "a\xcc\x81\xcc\xa3" "b", 2, "", true },
	/* Emoji sequences: ZWJ families, skin tones, flags, variation selectors. */
	{ "x" FAMILY, 6, "x" FAMILY, false },
	{ "x" FAMILY, 5, "x", true },
	{ "x" FAMILY "y", 6, "x" FAMILY, true },
	{ THUMB_DARK "!", 2, THUMB_DARK, true },
	{ THUMB_DARK, 1, "", true },
	{ FLAG_FR FLAG_FR, 3, FLAG_FR, true },
	{ FLAG_FR, 1, "", true },
	{ "I " HEART_VS " NY", 3, "I ", true },
	{ "I " HEART_VS " NY", 4, "I " HEART_VS, true },
	/* Invalid bytes count one each; a cut never makes a partial sequence. */
	{ "a\xff" "b", 2, "a\xff", true },
	{ "ab\xe5\xb1", 3, "ab\xe5", true },
	{ NULL, 3, "", false },
};

static void test_cut_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool cut = !rows[i].cut;
		size_t n = utf8_cut(rows[i].in, rows[i].max, &cut);

		if (n != strlen(rows[i].want) || (n && memcmp(rows[i].in, rows[i].want, n) != 0) ||
		    cut != rows[i].cut)
			fail_msg("row %zu: kept %zu bytes (cut=%d), want \"%s\" (%zu bytes, cut=%d)", i, n,
				 cut, rows[i].want, strlen(rows[i].want), rows[i].cut);
		assert_true(utf8_chars(rows[i].want) <= rows[i].max);
	}
}

static void test_chars_count_code_points(void **state)
{
	(void)state;
	assert_int_equal(utf8_chars(""), 0);
	assert_int_equal(utf8_chars(NULL), 0);
	assert_int_equal(utf8_chars("abc"), 3);
	assert_int_equal(utf8_chars("山田"), 2);
	assert_int_equal(utf8_chars("😀"), 1);
	assert_int_equal(utf8_chars(FAMILY), 5);  /* as MariaDB's CHAR_LENGTH counts */
	assert_int_equal(utf8_chars(E_ACUTE_NFD), 2);
	assert_int_equal(utf8_chars("\xe5\xb1"), 2);
}

/* A 1,000-character limit over a long CJK title with emoji: the kept text
 * is a prefix, within the limit, and as long as the limit allows. */
static void test_long_title_is_cut_to_the_limit(void **state)
{
	char title[8192];
	size_t len = 0, n, i;
	bool cut;

	(void)state;
	for (i = 0; i < 700; i++) {
		const char *piece = i % 7 == 6 ? "😀" : "部";

		memcpy(title + len, piece, strlen(piece));
		len += strlen(piece);
	}
	title[len] = '\0';
	n = utf8_cut(title, 1000, &cut);
	assert_false(cut);
	assert_int_equal(n, len);
	n = utf8_cut(title, 500, &cut);
	assert_true(cut);
	title[n] = '\0';
	assert_int_equal(utf8_chars(title), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_rows),
		cmocka_unit_test(test_chars_count_code_points),
		cmocka_unit_test(test_long_title_is_cut_to_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
