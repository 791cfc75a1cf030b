/*
 * Unit tests of lib/core/email_fold: LOWER() of utf8mb4_unicode_520_ci.
 *
 * Golden tables: {input, expected fold} rows whose expected side was read
 * from MariaDB 10.11 (SELECT LOWER(x COLLATE utf8mb4_unicode_520_ci)), and
 * {a, b, same address?} rows for the equality the unique key implies.  The
 * integration test test_email_fold.py checks thousands more code points
 * against the running database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/email_fold.h"
#include "core/err.h"

static const struct {
	const char *in, *want;
} folds[] = {
	{ "", "" },
	{ "Admin@Example.TEST", "admin@example.test" },
	{ "ÉLODIE.TEST@acme.example", "élodie.test@acme.example" },     /* É U+00C9 */
	{ "ÀÂÄÇÈÊËÎÏÔÖÙÛÜŸ@x", "àâäçèêëîïôöùûüÿ@x" },
	{ "ŁUKASZ.ŻÓŁW@x.pl", "łukasz.żółw@x.pl" },
	{ "ИВАН.ПЕТРОВ@пример.рф", "иван.петров@пример.рф" },         /* Cyrillic */
	{ "ЁЖИК@x", "ёжик@x" },
	{ "ΣΟΦΙΑ@x.gr", "σοφια@x.gr" },                                 /* Σ -> σ */
	{ "ΟΔΥΣΣΕΑΣ@x", "οδυσσεασ@x" },        /* a final capital Σ lowers to σ, not ς */
	{ "οδυσσεας@x", "οδυσσεας@x" },        /* ς is not folded to σ by MariaDB */
	{ "ΆΈΉΊΌΎΏ@x", "άέήίόύώ@x" },
	{ "İSTANBUL@x.tr", "istanbul@x.tr" },  /* İ U+0130 -> plain i (one code point) */
	{ "ISPARTA@x.tr", "isparta@x.tr" },
	{ "ıRMAK@x.tr", "ırmak@x.tr" },        /* dotless ı U+0131 has no other case */
	{ "STRAßE@x.de", "straße@x.de" },      /* ß stays ß: no expansion to ss */
	{ "STRAẞE@x.de", "straße@x.de" },      /* capital ẞ U+1E9E -> ß */
	{ "\xe2\x84\xaa" "elvin@x", "kelvin@x" },       /* Kelvin sign U+212A -> k */
	{ "\xe2\x84\xa6" "@x", "ω@x" },                 /* Ohm sign U+2126 -> ω (3 -> 2 bytes) */
	{ "\xc8\xba" "@x", "\xe2\xb1\xa5" "@x" },        /* Ⱥ U+023A -> ⱥ U+2C65 (2 -> 3 bytes) */
	{ "\xf0\x90\x90\x80" "@x", "\xf0\x90\x90\xa8" "@x" }, /* Deseret U+10400 -> U+10428 */
	{ "ＡＢＣ@x", "ａｂｃ@x" },            /* fullwidth letters */
	{ "山田😀@例え.jp", "山田😀@例え.jp" },   /* no case: unchanged */
	{ "E\xcc\x81" "LODIE@x", "e\xcc\x81" "lodie@x" }, /* decomposed É: no normalization */
};

static void test_fold_matches_mariadb_lower(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
		char out[128];
		int n = email_fold(folds[i].in, out, sizeof(out));

		if (n < 0 || strcmp(out, folds[i].want) != 0)
			fail_msg("row %zu: fold(\"%s\") = %d \"%s\", want \"%s\"", i, folds[i].in, n,
				 out, folds[i].want);
		assert_int_equal((size_t)n, strlen(folds[i].want));
		/* A fold is already folded. */
		assert_true(email_fold_equal(folds[i].in, folds[i].want));
		assert_int_equal(email_fold_hash(folds[i].in), email_fold_hash(folds[i].want));
	}
}

static const struct {
	const char *in;
	const char *why;
} invalid[] = {
	{ "\x80" "abc@x", "a stray continuation byte" },
	{ "ab\xc3", "a truncated 2-byte sequence" },
	{ "a\xe2\x82@x", "a truncated 3-byte sequence" },
	{ "\xc0\xaf@x", "an overlong '/'" },
	{ "\xe0\x80\xaf@x", "an overlong 3-byte form" },
	{ "\xed\xa0\x80@x", "a UTF-16 surrogate U+D800" },
	{ "\xf4\x90\x80\x80@x", "past U+10FFFF" },
	{ "\xff@x", "a byte UTF-8 never uses" },
	{ "ok\xc3(@x", "a lead byte followed by ASCII" },
};

static void test_invalid_utf8_is_refused_and_leaves_an_empty_key(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char out[64] = "junk";

		if (email_fold(invalid[i].in, out, sizeof(out)) != PV_EINVAL)
			fail_msg("row %zu (%s) was accepted", i, invalid[i].why);
		assert_string_equal(out, "");
		/* cmp never fails: the raw bytes compare as themselves. */
		assert_int_equal(email_fold_cmp(invalid[i].in, invalid[i].in), 0);
	}
	/* Raw bytes still fold the ASCII around them for comparison. */
	assert_true(email_fold_equal("AB\xff" "C", "ab\xff" "c"));
	assert_false(email_fold_equal("ab\xfe" "c", "ab\xff" "c"));
}

static const struct {
	const char *a, *b;
	int same;
} pairs[] = {
	{ "ÉLODIE.TEST@acme.example", "élodie.test@acme.example", 1 },
	{ "élodie.test@acme.example", "elodie.test@acme.example", 0 },  /* accents count */
	{ "ИВАН@x", "иван@x", 1 },
	{ "ΣΟΦΙΑΣ@x", "σοφιας@x", 0 },       /* final ς differs from σ in the key */
	{ "ΣΟΦΙΑΣ@x", "σοφιασ@x", 1 },
	{ "İ@x", "i@x", 1 },
	{ "I@x", "ı@x", 0 },                   /* dotless ı is its own letter */
	{ "İ@x", "ı@x", 0 },
	{ "STRASSE@x", "straße@x", 0 },        /* no ß -> ss */
	{ "ẞ@x", "ß@x", 1 },
	{ "a@x", "a@x ", 0 },                  /* no trimming */
	{ "a@x", "a@x.", 0 },                  /* a prefix is not equal */
	{ NULL, "", 1 },
	{ "", "A", 0 },
};

static void test_equality_is_the_unique_keys(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		int same = email_fold_equal(pairs[i].a, pairs[i].b);
		int c1 = email_fold_cmp(pairs[i].a, pairs[i].b);
		int c2 = email_fold_cmp(pairs[i].b, pairs[i].a);

		if (same != pairs[i].same)
			fail_msg("row %zu: equal(\"%s\", \"%s\") = %d", i, pairs[i].a ? pairs[i].a : "(null)",
				 pairs[i].b, same);
		/* An order: antisymmetric, zero exactly when equal. */
		assert_true((c1 < 0 && c2 > 0) || (c1 > 0 && c2 < 0) || (c1 == 0 && c2 == 0));
		assert_int_equal(c1 == 0, pairs[i].same);
		if (pairs[i].same)
			assert_int_equal(email_fold_hash(pairs[i].a), email_fold_hash(pairs[i].b));
	}
	/* The order is the folded text's byte order (utf8mb4_bin). */
	assert_true(email_fold_cmp("B@x", "a@x") > 0);
	assert_true(email_fold_cmp("Z@x", "é@x") < 0);
	assert_true(email_fold_cmp("a", "ab") < 0);
}

static void test_buffer_limits(void **state)
{
	char out[8];
	char big[EMAIL_FOLD_MAX(6)];

	(void)state;
	assert_int_equal(email_fold("ABCDEFG", out, sizeof(out)), 7);      /* 7 + NUL fits */
	assert_int_equal(email_fold("ABCDEFGH", out, sizeof(out)), PV_ETOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(email_fold("A", out, 0), PV_ETOOBIG);
	/* Ⱥ grows from 2 to 3 bytes: EMAIL_FOLD_MAX covers the worst case. */
	assert_int_equal(email_fold("\xc8\xba\xc8\xba\xc8\xba", big, sizeof(big)), 9);
	assert_int_equal(email_fold("\xc8\xba\xc8\xba\xc8\xba", out, sizeof(out)), PV_ETOOBIG);
	/* One code point at a time. */
	assert_int_equal(email_fold_cp(0x130), 'i');
	assert_int_equal(email_fold_cp(0x131), 0x131);
	assert_int_equal(email_fold_cp(0x3a3), 0x3c3);
	assert_int_equal(email_fold_cp(0x3c2), 0x3c2);
	assert_int_equal(email_fold_cp(0x10ffff), 0x10ffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_matches_mariadb_lower),
		cmocka_unit_test(test_invalid_utf8_is_refused_and_leaves_an_empty_key),
		cmocka_unit_test(test_equality_is_the_unique_keys),
		cmocka_unit_test(test_buffer_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
