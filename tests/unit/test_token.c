/* Unit tests of lib/token (random ids, digests) and lib/password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "directory/directory.h"
#include "core/err.h"
#include "core/password.h"
#include "core/token.h"

static void test_tokens_are_random_hex(void **state)
{
	char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];

	(void)state;
	assert_int_equal(token_new(a), 0);
	assert_int_equal(token_new(b), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
}

static void test_digest_is_sha256(void **state)
{
	char d[TOKEN_DIGEST_HEX_LEN + 1];

	(void)state;
	assert_int_equal(token_digest("abc", d), 0);
	assert_string_equal(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(token_equal("same", "same"));
	assert_false(token_equal("same", "sama"));
	assert_false(token_equal("same", "samey"));
}

static void test_password_hash_and_verify(void **state)
{
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(password_hash("correct horse", h1), 0);
	assert_int_equal(password_hash("correct horse", h2), 0);
	assert_memory_equal(h1, "$y$", 3);        /* yescrypt */
	assert_string_not_equal(h1, h2);          /* salted */
	assert_int_equal(password_verify("correct horse", h1), 1);
	assert_int_equal(password_verify("correct horsE", h1), 0);
	assert_int_equal(password_verify("anything", NULL), 0);
	assert_int_equal(password_hash("short", h1), PV_EINVAL);
}

static void test_email_shapes(void **state)
{
	static const struct {
		const char *email;
		int ok;
	} cases[] = {
		{ "a@b.co", 1 }, { "first.last+tag@example.com", 1 }, { "chloé@exemple.fr", 1 },
		{ "", 0 }, { "nobody", 0 }, { "@example.com", 0 }, { "a@", 0 }, { "a@b", 0 },
		{ "a@b.", 0 }, { "a@.b", 0 }, { "a b@c.d", 0 }, { "a@b@c.d", 0 }, { "<a@b.c>", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (dir_email_valid(cases[i].email) != cases[i].ok)
			fail_msg("%s: want %d", cases[i].email, cases[i].ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_are_random_hex),
		cmocka_unit_test(test_digest_is_sha256),
		cmocka_unit_test(test_password_hash_and_verify),
		cmocka_unit_test(test_email_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
