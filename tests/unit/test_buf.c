/* Unit tests of lib/buf (bounded string buffer) and lib/pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

static void test_buf_appends_and_stops_at_its_maximum(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 10);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	assert_string_equal(buf_cstr(&b), "hello1234");
	assert_int_equal(buf_puts(&b, "ab"), PV_ETOOBIG);   /* 11 > 10 */
	assert_string_equal(buf_cstr(&b), "hello1234");     /* unchanged */
	assert_int_equal(buf_putc(&b, '!'), 0);              /* exactly 10 */
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_printf(&b, "x"), PV_ETOOBIG);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);      /* binary safe */
	assert_int_equal(b.len, 3);
	s = buf_detach(&b);
	assert_memory_equal(s, "a\0b", 4);
	assert_null(b.data);
	free(s);
	buf_release(&b);
}

static void test_buf_grows_through_many_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[99999], 'a' + 99999 % 26);
	assert_int_equal(b.data[100000], '\0');
	buf_release(&b);
}

static int cleanups_run;
static char order[4];

static void note(void *arg)
{
	order[cleanups_run++] = *(char *)arg;
}

static void test_pool_frees_everything_and_runs_cleanups_in_reverse(void **state)
{
	static char a = 'a', b = 'b', c = 'c';
	struct pool *p = pool_new();
	char *s;

	(void)state;
	assert_non_null(p);
	s = pool_strdup(p, "copy");
	assert_string_equal(s, "copy");
	assert_null(pool_strdup(p, NULL));
	assert_string_equal(pool_strndup(p, "abcdef", 3), "abc");
	assert_non_null(pool_alloc(p, 1000));
	pool_on_free(p, note, &a);
	pool_on_free(p, note, &b);
	pool_on_free(p, note, &c);
	pool_free(p);    /* ASan reports a leak if a block were kept */
	assert_int_equal(cleanups_run, 3);
	assert_memory_equal(order, "cba", 3);
	pool_free(NULL);
}

static void test_pool_small_and_large_blocks_are_zeroed_and_aligned(void **state)
{
	struct pool *p = pool_new();

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(i % 97) + (i % 50 == 0 ? 5000 : 0);
		unsigned char *m = pool_alloc(p, n);

		assert_non_null(m);
		assert_int_equal((uintptr_t)m % _Alignof(max_align_t), 0);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(m[k], 0);
		memset(m, 0xAB, n);  /* ASan: each block is really n bytes long */
	}
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_appends_and_stops_at_its_maximum),
		cmocka_unit_test(test_buf_grows_through_many_appends),
		cmocka_unit_test(test_pool_frees_everything_and_runs_cleanups_in_reverse),
		cmocka_unit_test(test_pool_small_and_large_blocks_are_zeroed_and_aligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
