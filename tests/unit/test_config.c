/* Unit tests of lib/config: parsing, defaults, environment, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/err.h"

static void test_defaults_and_values(void **state)
{
	struct config *c = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(config_parse(&c, "# comment\n\n db.user = app \ndb.port=3307\n", err,
				      sizeof(err)), 0);
	assert_string_equal(config_get(c, "db.user"), "app");
	assert_int_equal(config_get_long(c, "db.port"), 3307);
	assert_string_equal(config_get(c, "slack.api_base"), "https://slack.com/api/");
	assert_string_equal(config_get(c, "slack.authorize_url"), "https://slack.com/oauth/v2/authorize");
	assert_null(config_get(c, "db.password"));
	assert_null(config_get(c, "no.such.key"));
	assert_int_equal(config_require(c, "db.user", err, sizeof(err)), 0);
	assert_int_equal(config_require(c, "slack.client_id", err, sizeof(err)), PV_EINVAL);
	assert_string_equal(err, "config: slack.client_id: required but not set");
	config_free(c);
}

static void test_environment_overrides_file(void **state)
{
	struct config *c = NULL;
	char err[256] = "";

	(void)state;
	setenv("SLACK_API_BASE", "http://127.0.0.1:9/api/", 1);
	setenv("DB_NAME", "fromenv", 1);
	assert_int_equal(config_parse(&c, "db.name = fromfile\n", err, sizeof(err)), 0);
	assert_string_equal(config_get(c, "slack.api_base"), "http://127.0.0.1:9/api/");
	assert_string_equal(config_get(c, "db.name"), "fromenv");
	config_free(c);
	unsetenv("SLACK_API_BASE");
	unsetenv("DB_NAME");
}

struct bad_case {
	const char *text;
	const char *env_name, *env_value;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	{ "db.nmae = x\n", NULL, NULL, "config: db.nmae: unknown key (line 1)" },
	{ "db.port = 0\n", NULL, NULL, "config: db.port: not a port number (1-65535)" },
	{ "db.port = 80x\n", NULL, NULL, "config: db.port: not a whole number" },
	{ "smtp.tls = maybe\n", NULL, NULL, "config: smtp.tls: must be try or required" },
	{ "log.format = xml\n", NULL, NULL, "config: log.format: must be plain or json" },
	{ "\n\njust words\n", NULL, NULL, "config: line 3: expected 'key = value'" },
	{ "slack.api_base = ftp://x/\n", NULL, NULL,
	  "config: slack.api_base: not an http(s) or smtp(s) URL" },
	{ "", "LOG_LEVEL", "chatty", "config: log.level: must be error, warn, info or debug" },
	{ "", "SESSION_TTL_HOURS", "0", "config: session.ttl_hours: must be between 1 and 2160" },
};

static void test_bad_values_name_the_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct config *c = (struct config *)1;
		char err[256] = "";

		if (b->env_name)
			setenv(b->env_name, b->env_value, 1);
		assert_int_equal(config_parse(&c, b->text, err, sizeof(err)), PV_EINVAL);
		assert_null(c);
		assert_string_equal(err, b->message);
		if (b->env_name)
			unsetenv(b->env_name);
	}
}

static void test_missing_file_uses_defaults(void **state)
{
	struct config *c = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(config_load(&c, "/nonexistent/provisioning.conf", err, sizeof(err)), 0);
	assert_string_equal(config_get(c, "db.name"), "provisioning");
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_environment_overrides_file),
		cmocka_unit_test(test_bad_values_name_the_key),
		cmocka_unit_test(test_missing_file_uses_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
