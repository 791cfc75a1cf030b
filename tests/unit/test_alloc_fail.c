/*
 * Allocation-failure torture (curl's habit, issue 12 and 13): the Nth
 * allocation made by the library fails, for N = 1, 2, ... until a run makes
 * fewer than N, over the pure parts (configuration parser, CSV writer, sync
 * configuration snapshot).  Each run must return 0 or PV_ENOMEM with its
 * documented state, and ASan/LSan (this binary is built with them) must find
 * no leak, double free or bad access on any failure path.
 *
 * The library's calls to malloc, calloc, realloc, strdup and strndup are
 * redirected here by the linker (-Wl,--wrap, Makefile); json-c's own
 * allocations (a shared library) are not, so JSON building is not covered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "report/report_csv.h"
#include "sync/sync_config.h"

static long calls, fail_at;  /* fail_at 0: never fail */

static int should_fail(void)
{
	return fail_at > 0 && ++calls == fail_at;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return should_fail() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return should_fail() ? NULL : __real_strndup(s, n); }

/* Arms the Nth allocation; returns whether it was reached by the last run. */
static void arm(long n)
{
	calls = 0;
	fail_at = n;
}

static int reached(void)
{
	int r = calls >= fail_at;

	fail_at = 0;
	return r;
}

static void test_config_parse_under_failing_allocations(void **state)
{
	static const char text[] =
		"# a full file\n"
		"db.socket = /tmp/x.sock\ndb.user = provisioning\ndb.password = secret\n"
		"app.base_url = https://example.test\nsession.ttl_hours = 8\nlog.level = debug\n"
		"slack.api_base = http://127.0.0.1:9/api/\nsync.batch_size = 100\n";
	long n, failures = 0;

	(void)state;
	for (n = 1;; n++) {
		struct config *c = NULL;
		char err[256] = "";
		int rc;

		arm(n);
		rc = config_parse(&c, text, err, sizeof(err));
		if (!reached()) {
			assert_int_equal(rc, 0);
			config_free(c);
			break;
		}
		failures++;
		if (rc == 0) {
			/* A failed copy of an optional value may be tolerated only
			 * if the result is still whole: every key reads back. */
			assert_string_equal(config_get(c, "db.user"), "provisioning");
			config_free(c);
		} else {
			assert_int_equal(rc, PV_ENOMEM);
			assert_null(c);
			assert_true(err[0] != '\0');
		}
	}
	assert_true(failures > 5);
	print_message("config_parse: %ld allocations failed in turn\n", failures);
}

static void test_csv_row_under_failing_allocations(void **state)
{
	static const char *const cells[] = { "Ada", "=1+1", "a,b", "say \"hi\"", NULL, "",
					     "line\nbreak", "@SUM(A1)" };
	long n, failures = 0;

	(void)state;
	for (n = 1;; n++) {
		struct buf b;
		int rc;

		buf_init(&b, 1 << 16);
		arm(n);
		for (int row = 0, r0 = 0; row < 50 && r0 == 0; row++)
			r0 = rc = report_csv_row(&b, cells, sizeof(cells) / sizeof(cells[0]));
		if (!reached()) {
			assert_int_equal(rc, 0);
			buf_release(&b);
			break;
		}
		failures++;
		assert_int_equal(rc, PV_ENOMEM);
		buf_release(&b);
	}
	assert_true(failures >= 1);
	print_message("report_csv_row: %ld allocations failed in turn\n", failures);
}

static void test_config_snapshot_under_failing_allocations(void **state)
{
	static const char text[] =
		"{\"members\":{\"mode\":\"groups\",\"group_ids\":[\"S1\",\"S2\",\"S3\"]},"
		"\"team_mapping\":{\"enabled\":true,\"mappings\":[{\"slack_group_id\":\"S1\",\"team_id\":1},"
		"{\"slack_group_id\":\"S2\",\"team_id\":2}]},"
		"\"deactivation_threshold\":{\"percent\":20,\"minimum\":5}}";
	long n, failures = 0;

	(void)state;
	for (n = 1;; n++) {
		struct sync_config_snapshot snap;
		int rc;

		memset(&snap, 0, sizeof(snap));
		arm(n);
		rc = sync_config_snapshot(text, &snap);
		if (!reached()) {
			assert_int_equal(rc, 0);
			sync_config_release(&snap);
			break;
		}
		failures++;
		assert_int_equal(rc, PV_ENOMEM);
		sync_config_release(&snap);
	}
	assert_true(failures >= 3);
	print_message("sync_config_snapshot: %ld allocations failed in turn\n", failures);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_parse_under_failing_allocations),
		cmocka_unit_test(test_csv_row_under_failing_allocations),
		cmocka_unit_test(test_config_snapshot_under_failing_allocations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
