/*
 * Unit tests of lib/core/answer_cache (answers an API process gives again
 * while nothing changed) and lib/db/db_changes (the counter of committed
 * writes the programs share, which says whether anything did).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/answer_cache.h"
#include "core/err.h"
#include "db/db_changes.h"

static void assert_answer(struct answer_cache *c, const char *key, uint64_t changes,
			  int64_t now, const char *want)
{
	size_t len = 0;
	const char *got = answer_cache_get(c, key, changes, now, &len);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
}

/* Given again only at the same counter and within the age limit; a miss
 * drops the answer, so an older counter coming back finds nothing. */
static void test_given_again_while_nothing_changed(void **state)
{
	struct answer_cache *c = NULL;
	size_t n, bytes;

	(void)state;
	assert_int_equal(answer_cache_new(&c, 1 << 20, 1000), 0);
	assert_answer(c, "k", 7, 0, NULL);
	assert_int_equal(answer_cache_put(c, "k", 7, 100, "{\"a\":1}", 7), 0);
	assert_answer(c, "k", 7, 100, "{\"a\":1}");
	assert_answer(c, "k", 7, 1100, "{\"a\":1}");
	assert_answer(c, "other", 7, 100, NULL);
	/* A write committed: the counter moved. */
	assert_answer(c, "k", 8, 200, NULL);
	assert_answer(c, "k", 7, 200, NULL);
	answer_cache_usage(c, &n, &bytes);
	assert_int_equal(n, 0);
	assert_int_equal(bytes, 0);
	/* Older than the limit, or a clock gone back. */
	assert_int_equal(answer_cache_put(c, "k", 9, 100, "x", 1), 0);
	assert_answer(c, "k", 9, 1101, NULL);
	assert_int_equal(answer_cache_put(c, "k", 9, 100, "x", 1), 0);
	assert_answer(c, "k", 9, 99, NULL);
	/* A put replaces what the key had. */
	assert_int_equal(answer_cache_put(c, "k", 9, 100, "old", 3), 0);
	assert_int_equal(answer_cache_put(c, "k", 10, 100, "new!", 4), 0);
	assert_answer(c, "k", 10, 100, "new!");
	answer_cache_usage(c, &n, &bytes);
	assert_int_equal(n, 1);
	assert_int_equal(bytes, strlen("k") + 1 + 4);
	answer_cache_free(c);
}

/* Bounded in bytes and in answers, the least recently used going first;
 * an answer over a quarter of the bound is never kept; age 0 keeps none. */
static void test_bounded_least_recently_used_first(void **state)
{
	struct answer_cache *c = NULL;
	char key[16], big[300];
	size_t n, bytes;

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(answer_cache_new(&c, 1000, 1000), 0);
	assert_int_equal(answer_cache_put(c, "a", 1, 0, big, 240), 0);
	assert_int_equal(answer_cache_put(c, "b", 1, 0, big, 240), 0);
	assert_int_equal(answer_cache_put(c, "c", 1, 0, big, 240), 0);
	assert_non_null(answer_cache_get(c, "a", 1, 0, &n));   /* a is now the newest */
	assert_int_equal(answer_cache_put(c, "d", 1, 0, big, 240), 0);
	assert_int_equal(answer_cache_put(c, "e", 1, 0, big, 240), 0);
	/* Four answers of 242 bytes fit in 1000, a fifth does not: b, the
	 * least recently used, went. */
	assert_null(answer_cache_get(c, "b", 1, 0, &n));
	assert_non_null(answer_cache_get(c, "c", 1, 0, &n));
	assert_non_null(answer_cache_get(c, "a", 1, 0, &n));
	assert_non_null(answer_cache_get(c, "e", 1, 0, &n));
	answer_cache_usage(c, &n, &bytes);
	assert_int_equal(bytes, 4 * 242);
	assert_int_equal(n, 4);
	/* Over a quarter of the bound: not kept, and the old copy is gone. */
	assert_int_equal(answer_cache_put(c, "a", 1, 0, big, 251), 0);
	assert_null(answer_cache_get(c, "a", 1, 0, &n));
	answer_cache_free(c);

	/* More keys than slots: still bounded, the newest kept. */
	assert_int_equal(answer_cache_new(&c, 1 << 20, 1000), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(answer_cache_put(c, key, 1, 0, "v", 1), 0);
	}
	answer_cache_usage(c, &n, &bytes);
	assert_true(n > 0 && n < 100);
	assert_answer(c, "k99", 1, 0, "v");
	assert_answer(c, "k0", 1, 0, NULL);
	answer_cache_free(c);

	assert_int_equal(answer_cache_new(&c, 1 << 20, 0), 0);
	assert_int_equal(answer_cache_put(c, "k", 1, 0, "v", 1), 0);
	assert_answer(c, "k", 1, 0, NULL);
	answer_cache_free(c);
}

/* Two handles on one file, one in another process, count together; a
 * file that exists is opened as it is, never reset. */
static void test_changes_are_shared_between_processes(void **state)
{
	char dir[] = "/tmp/pv-changes-XXXXXX", path[64], err[160];
	struct db_changes *a = NULL, *b = NULL;
	pid_t pid;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db-changes", dir);
	assert_int_equal(db_changes_open(&a, path, err, sizeof(err)), 0);
	assert_int_equal(db_changes_read(a), 0);
	db_changes_bump(a);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct db_changes *child = NULL;

		/* At least the parent's first count: it goes on counting meanwhile. */
		if (db_changes_open(&child, path, err, sizeof(err)) < 0 ||
		    db_changes_read(child) < 1)
			_exit(1);
		for (int i = 0; i < 1000; i++)
			db_changes_bump(child);
		db_changes_close(child);
		_exit(0);
	}
	for (int i = 0; i < 1000; i++)
		db_changes_bump(a);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(db_changes_read(a), 2001);
	assert_int_equal(db_changes_open(&b, path, err, sizeof(err)), 0);
	assert_int_equal(db_changes_read(b), 2001);
	db_changes_close(a);
	db_changes_close(b);
	unlink(path);
	rmdir(dir);
	assert_int_equal(db_changes_open(&a, "/nonexistent/dir/c", err, sizeof(err)), PV_EIO);
	assert_non_null(strstr(err, "db.changes_file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_given_again_while_nothing_changed),
		cmocka_unit_test(test_bounded_least_recently_used_first),
		cmocka_unit_test(test_changes_are_shared_between_processes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
