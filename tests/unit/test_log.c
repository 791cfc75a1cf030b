/* Unit tests of lib/core/log (line formats) and lib/core/metrics (the text
 * a scrape gets), golden style: each case renders whole and compares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "provider/slack/slack_stats.h"

/* 2026-12-01T10:00:00Z */
#define WHEN 1796119200LL

struct line_case {
	enum log_format format;
	int64_t org, sync;
	const char *request_id;
	enum log_level level;
	const char *event;
	const char *text;
	const char *expected;   /* %d is the pid */
};

static const struct line_case line_cases[] = {
	{ LOG_FMT_PLAIN, 0, 0, NULL, LOG_LVL_WARN, NULL, "db: reconnecting",
	  "2026-12-01T10:00:00Z test[%d] warn: db: reconnecting\n" },
	{ LOG_FMT_PLAIN, 5, 9, "ab12", LOG_LVL_INFO, "request", "GET /x 200 1.0ms",
	  "2026-12-01T10:00:00Z test[%d] info: request GET /x 200 1.0ms org=5 sync=9 req=ab12\n" },
	/* A newline in a message cannot forge a second line. */
	{ LOG_FMT_PLAIN, 0, 0, NULL, LOG_LVL_ERROR, NULL, "a\nfake: line\r",
	  "2026-12-01T10:00:00Z test[%d] error: a fake: line \n" },
	{ LOG_FMT_JSON, 0, 0, NULL, LOG_LVL_INFO, NULL, "ready",
	  "{\"time\":\"2026-12-01T10:00:00Z\",\"level\":\"info\",\"program\":\"test\",\"pid\":%d,"
	  "\"event\":\"message\",\"message\":\"ready\"}\n" },
	{ LOG_FMT_JSON, 7, 3, "r\"1", LOG_LVL_DEBUG, "sync_finished", "say \"hi\"\\\t\x01",
	  "{\"time\":\"2026-12-01T10:00:00Z\",\"level\":\"debug\",\"program\":\"test\",\"pid\":%d,"
	  "\"organization\":7,\"sync\":3,\"request_id\":\"r\\\"1\",\"event\":\"sync_finished\","
	  "\"message\":\"say \\\"hi\\\"\\\\\\u0009\\u0001\"}\n" },
};

static void test_line_formats(void **state)
{
	char line[1024], expected[1024];

	(void)state;
	log_init("test");
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		size_t n;

		log_set_format(c->format);
		log_set_context(c->org, c->sync, c->request_id);
		n = log_format_line(line, sizeof(line), WHEN, c->level, c->event, c->text);
		snprintf(expected, sizeof(expected), c->expected, (int)getpid());
		assert_string_equal(line, expected);
		assert_int_equal(n, strlen(expected));
	}
	log_clear_context();
	log_set_format(LOG_FMT_PLAIN);
}

/* A message longer than the line is cut and the line still ends as one
 * JSON object with its newline. */
static void test_cut_json_line_stays_an_object(void **state)
{
	char text[600], line[256];
	size_t n;

	(void)state;
	memset(text, '"', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	log_set_format(LOG_FMT_JSON);
	n = log_format_line(line, sizeof(line), WHEN, LOG_LVL_INFO, NULL, text);
	log_set_format(LOG_FMT_PLAIN);
	assert_true(n < sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_string_equal(line + n - 3, "\"}\n");
	/* No escape was cut in half: the body ends with a whole \" pair. */
	assert_memory_equal(line + n - 5, "\\\"", 2);
}

static void test_parse_names(void **state)
{
	enum log_level lv;
	enum log_format fm;
	char err[128];

	(void)state;
	assert_int_equal(log_parse_format("json", &fm), 0);
	assert_int_equal(fm, LOG_FMT_JSON);
	assert_int_equal(log_parse_format("xml", &fm), PV_EINVAL);
	assert_int_equal(log_parse_level("debug", &lv), 0);
	assert_int_equal(lv, LOG_LVL_DEBUG);
	assert_int_equal(log_configure("info", "yaml", NULL, err, sizeof(err)), PV_EINVAL);
	assert_string_equal(err, "config: log.format: not one of plain, json");
	assert_int_equal(log_configure("info", "plain", "/nonexistent/dir/x.log", err, sizeof(err)),
			 PV_EIO);
	assert_string_equal(err, "config: log.file: cannot open /nonexistent/dir/x.log: "
			    "No such file or directory");
}

static void labels(size_t i, const char **method, const char **pattern, void *arg)
{
	/* The third route is for the test of a table that grew. */
	static const char *const m[] = { "GET", "POST", "PUT" };
	static const char *const p[] = { "/a/{id}", "/b\"q", "/c" };

	(void)arg;
	*method = m[i];
	*pattern = p[i];
}

static const char metrics_expected[] =
	"# HELP provisioning_http_requests_total Requests answered by the API, by route pattern, method and status.\n"
	"# TYPE provisioning_http_requests_total counter\n"
	"provisioning_http_requests_total{method=\"GET\",route=\"/a/{id}\",status=\"200\"} 2\n"
	"provisioning_http_requests_total{method=\"GET\",route=\"/a/{id}\",status=\"404\"} 1\n"
	"provisioning_http_requests_total{method=\"other\",route=\"unmatched\",status=\"599\"} 1\n"
	"# HELP provisioning_http_request_duration_seconds Time the API took to answer, by route pattern and method.\n"
	"# TYPE provisioning_http_request_duration_seconds histogram\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.005\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.01\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.025\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.05\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.1\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.25\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.5\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"1\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"2.5\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"5\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"10\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"30\"} 2\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"+Inf\"} 3\n"
	"provisioning_http_request_duration_seconds_sum{method=\"GET\",route=\"/a/{id}\"} 40.201000\n"
	"provisioning_http_request_duration_seconds_count{method=\"GET\",route=\"/a/{id}\"} 3\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.005\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.01\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.025\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.05\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.1\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.25\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"0.5\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"1\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"2.5\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"5\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"10\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"30\"} 1\n"
	"provisioning_http_request_duration_seconds_bucket{method=\"other\",route=\"unmatched\",le=\"+Inf\"} 1\n"
	"provisioning_http_request_duration_seconds_sum{method=\"other\",route=\"unmatched\"} 0.000000\n"
	"provisioning_http_request_duration_seconds_count{method=\"other\",route=\"unmatched\"} 1\n";

static void test_metrics_render_golden(void **state)
{
	struct metrics *m = NULL;
	struct buf out;
	char err[128];

	(void)state;
	assert_int_equal(metrics_open(&m, NULL, 2, err, sizeof(err)), 0);
	metrics_observe(m, 0, 200, 0.001);
	metrics_observe(m, 0, 200, 0.2);
	metrics_observe(m, 0, 404, 40.0);          /* past the last bucket */
	metrics_observe(m, 7, 42, -1.0);           /* no route, odd status */
	buf_init(&out, 64 * 1024);
	assert_int_equal(metrics_render(m, &out, labels, NULL), 0);
	assert_string_equal(buf_cstr(&out), metrics_expected);
	buf_release(&out);
	metrics_close(m);
}

/* Two handles on one file see each other's counts: the API's processes. */
static void test_metrics_file_is_shared_and_reset_on_other_layout(void **state)
{
	char path[] = "/tmp/pv-metrics-XXXXXX", err[128];
	struct metrics *a = NULL, *b = NULL, *c = NULL;
	struct buf out;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(metrics_open(&a, path, 2, err, sizeof(err)), 0);
	assert_int_equal(metrics_open(&b, path, 2, err, sizeof(err)), 0);
	metrics_observe(a, 1, 201, 0.001);
	metrics_observe(b, 1, 201, 0.001);
	buf_init(&out, 64 * 1024);
	assert_int_equal(metrics_render(a, &out, labels, NULL), 0);
	assert_non_null(strstr(buf_cstr(&out),
			       "provisioning_http_requests_total{method=\"POST\",route=\"/b\\\"q\","
			       "status=\"201\"} 2\n"));
	metrics_close(a);
	metrics_close(b);
	/* Another route table: the file starts again from zero. */
	assert_int_equal(metrics_open(&c, path, 3, err, sizeof(err)), 0);
	buf_reset(&out);
	assert_int_equal(metrics_render(c, &out, labels, NULL), 0);
	assert_null(strstr(buf_cstr(&out), "status=\"201\""));
	metrics_close(c);
	buf_release(&out);
	unlink(path);
	assert_int_equal(metrics_open(&c, "/nonexistent/dir/m", 2, err, sizeof(err)), PV_EIO);
}

/* Slack call counts stay bounded whatever methods a client calls. */
static void test_slack_stats_are_bounded(void **state)
{
	char method[32];

	(void)state;
	assert_int_equal(slack_stats_pending(), 0);
	slack_stats_note_call("users.list", 200);
	slack_stats_note_call("users.list", 200);
	assert_int_equal(slack_stats_pending(), 1);
	slack_stats_note_call("users.list", 429);
	slack_stats_note_wait("users.list", 30);
	assert_int_equal(slack_stats_pending(), 2);
	for (int i = 0; i < 3 * SLACK_STATS_MAX; i++) {
		snprintf(method, sizeof(method), "m%d", i);
		slack_stats_note_call(method, 200 + i % 3);
	}
	assert_int_equal(slack_stats_pending(), SLACK_STATS_MAX);
	slack_stats_note_call(NULL, -5);
	assert_int_equal(slack_stats_pending(), SLACK_STATS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_formats),
		cmocka_unit_test(test_cut_json_line_stays_an_object),
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_metrics_render_golden),
		cmocka_unit_test(test_metrics_file_is_shared_and_reset_on_other_layout),
		cmocka_unit_test(test_slack_stats_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
