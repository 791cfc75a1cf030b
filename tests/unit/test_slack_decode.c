/*
 * test_slack_decode.c - Slack answer decoding, table-driven, no sockets:
 * the envelope and its error kinds, user, user group and team objects with
 * Slack's type drift (SLACK-API.md §2, §4, §5, §7, §11.17), the release
 * functions, and the authorize URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "provider/slack/slack.h"
#include "provider/slack/slack_install.h"

/* Compares two strings where NULL is a value of its own. */
static void assert_str_or_null(const char *want, const char *got, const char *what,
			       const char *row)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0) {
		print_error("%s: %s: want %s%s%s, got %s%s%s\n", row, what,
			    want ? "\"" : "", want ? want : "NULL", want ? "\"" : "",
			    got ? "\"" : "", got ? got : "NULL", got ? "\"" : "");
		fail();
	}
}

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

/* --- envelopes ---------------------------------------------------------- */

struct envelope_case {
	const char *name;
	const char *body;
	int rc;
	enum slack_error_kind kind;
	const char *code;
	const char *needed;
};

static const struct envelope_case envelope_cases[] = {
	{ "ok", "{\"ok\":true,\"team\":{\"id\":\"T1\"}}", 0, SLACK_ERR_NONE, "", "" },
	{ "ok with warning", "{\"ok\":true,\"warning\":\"superfluous_charset\"}", 0,
	  SLACK_ERR_NONE, "", "" },
	{ "invalid_auth", "{\"ok\":false,\"error\":\"invalid_auth\"}", PV_EREMOTE,
	  SLACK_ERR_AUTH, "invalid_auth", "" },
	{ "not_authed", "{\"ok\":false,\"error\":\"not_authed\"}", PV_EREMOTE,
	  SLACK_ERR_AUTH, "not_authed", "" },
	{ "account_inactive", "{\"ok\":false,\"error\":\"account_inactive\"}", PV_EREMOTE,
	  SLACK_ERR_AUTH, "account_inactive", "" },
	{ "token_revoked", "{\"ok\":false,\"error\":\"token_revoked\"}", PV_EREMOTE,
	  SLACK_ERR_AUTH, "token_revoked", "" },
	{ "token_expired", "{\"ok\":false,\"error\":\"token_expired\"}", PV_EREMOTE,
	  SLACK_ERR_EXPIRED, "token_expired", "" },
	{ "missing_scope", "{\"ok\":false,\"error\":\"missing_scope\",\"needed\":"
	  "\"users:read.email\",\"provided\":\"users:read\"}", PV_EREMOTE, SLACK_ERR_SCOPE,
	  "missing_scope", "users:read.email" },
	{ "missing_scope without needed", "{\"ok\":false,\"error\":\"missing_scope\"}",
	  PV_EREMOTE, SLACK_ERR_SCOPE, "missing_scope", "" },
	{ "ratelimited", "{\"ok\":false,\"error\":\"ratelimited\"}", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "ratelimited", "" },
	{ "internal_error", "{\"ok\":false,\"error\":\"internal_error\"}", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "internal_error", "" },
	{ "fatal_error", "{\"ok\":false,\"error\":\"fatal_error\"}", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "fatal_error", "" },
	{ "service_unavailable", "{\"ok\":false,\"error\":\"service_unavailable\"}",
	  PV_EREMOTE, SLACK_ERR_RETRYABLE, "service_unavailable", "" },
	{ "request_timeout", "{\"ok\":false,\"error\":\"request_timeout\"}", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "request_timeout", "" },
	{ "plan_upgrade_required", "{\"ok\":false,\"error\":\"plan_upgrade_required\"}",
	  PV_EREMOTE, SLACK_ERR_PLAN, "plan_upgrade_required", "" },
	{ "user_not_found", "{\"ok\":false,\"error\":\"user_not_found\"}", PV_EREMOTE,
	  SLACK_ERR_NOT_FOUND, "user_not_found", "" },
	{ "no_such_subteam", "{\"ok\":false,\"error\":\"no_such_subteam\"}", PV_EREMOTE,
	  SLACK_ERR_NOT_FOUND, "no_such_subteam", "" },
	{ "team_not_found", "{\"ok\":false,\"error\":\"team_not_found\"}", PV_EREMOTE,
	  SLACK_ERR_NOT_FOUND, "team_not_found", "" },
	{ "invalid_cursor", "{\"ok\":false,\"error\":\"invalid_cursor\"}", PV_EREMOTE,
	  SLACK_ERR_FATAL, "invalid_cursor", "" },
	{ "unknown code", "{\"ok\":false,\"error\":\"something_new\"}", PV_EREMOTE,
	  SLACK_ERR_FATAL, "something_new", "" },
	{ "ok false without error", "{\"ok\":false}", PV_EREMOTE, SLACK_ERR_FATAL, "unknown_error", "" },
	{ "error not a string", "{\"ok\":false,\"error\":{}}", PV_EREMOTE, SLACK_ERR_FATAL,
	  "unknown_error", "" },
	{ "html garbage", "<html><body>502 Bad Gateway</body></html>", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "bad_json", "" },
	{ "truncated", "{\"ok\":true,\"members\":[{\"id\":\"U1\",\"name\":\"a", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "bad_json", "" },
	{ "truncated after value", "{\"ok\":true,\"members\":[]", PV_EREMOTE,
	  SLACK_ERR_RETRYABLE, "bad_json", "" },
	{ "empty body", "", PV_EREMOTE, SLACK_ERR_RETRYABLE, "bad_json", "" },
	{ "trailing text", "{\"ok\":true} {\"ok\":true}", PV_EREMOTE, SLACK_ERR_RETRYABLE,
	  "bad_json", "" },
	{ "too deep", "{\"ok\":true,\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]"
	  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", PV_EREMOTE, SLACK_ERR_RETRYABLE, "bad_json", "" },
	{ "array", "[{\"ok\":true}]", PV_EREMOTE, SLACK_ERR_FATAL, "bad_envelope", "" },
	{ "string", "\"ok\"", PV_EREMOTE, SLACK_ERR_FATAL, "bad_envelope", "" },
	{ "number", "42", PV_EREMOTE, SLACK_ERR_FATAL, "bad_envelope", "" },
	{ "no ok", "{\"error\":\"invalid_auth\"}", PV_EREMOTE, SLACK_ERR_FATAL,
	  "bad_envelope", "" },
	{ "ok as string", "{\"ok\":\"true\"}", PV_EREMOTE, SLACK_ERR_FATAL, "bad_envelope",
	  "" },
};

static void test_envelopes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(envelope_cases) / sizeof(envelope_cases[0]); i++) {
		const struct envelope_case *c = &envelope_cases[i];
		struct slack_error err;
		json_object *out = (json_object *)&err; /* must be reset */
		int rc;

		memset(&err, 0x55, sizeof(err));
		err.http_status = 200;
		snprintf(err.method, sizeof(err.method), "users.list");
		rc = slack_decode_envelope(c->body, strlen(c->body), &out, &err);
		if (rc != c->rc || err.kind != c->kind) {
			print_error("%s: rc %d kind %s, want rc %d kind %s\n", c->name, rc,
				    slack_error_kind_name(err.kind), c->rc,
				    slack_error_kind_name(c->kind));
			fail();
		}
		assert_str_or_null(c->code, err.code, "code", c->name);
		assert_str_or_null(c->needed, err.needed, "needed", c->name);
		assert_int_equal(err.http_status, 200);
		assert_string_equal(err.method, "users.list");
		if (rc == 0) {
			assert_non_null(out);
			assert_string_equal(err.message, "");
			json_object_put(out);
		} else {
			assert_null(out);
			assert_true(strlen(err.message) > 10);
			assert_null(strchr(err.message, '\n'));
		}
	}
}

static void test_envelope_messages(void **state)
{
	static const char revoked[] = "{\"ok\":false,\"error\":\"token_revoked\"}";
	static const char scope[] = "{\"ok\":false,\"error\":\"missing_scope\","
				    "\"needed\":\"usergroups:read\"}";
	struct slack_error err;
	json_object *out;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(slack_decode_envelope(revoked, sizeof(revoked) - 1, &out, &err),
			 PV_EREMOTE);
	assert_string_equal(err.message, "Slack says the token was revoked; reconnect Slack "
			    "from the settings page.");
	memset(&err, 0, sizeof(err));
	assert_int_equal(slack_decode_envelope(scope, sizeof(scope) - 1, &out, &err),
			 PV_EREMOTE);
	assert_non_null(strstr(err.message, "usergroups:read"));
	/* a NULL body is an empty one */
	memset(&err, 0, sizeof(err));
	assert_int_equal(slack_decode_envelope(NULL, 0, &out, &err), PV_EREMOTE);
	assert_string_equal(err.code, "bad_json");
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(slack_error_kind_of("token_revoked"), SLACK_ERR_AUTH);
	assert_int_equal(slack_error_kind_of("invalid_refresh_token"), SLACK_ERR_AUTH);
	assert_int_equal(slack_error_kind_of("token_expired"), SLACK_ERR_EXPIRED);
	assert_int_equal(slack_error_kind_of("nope"), SLACK_ERR_FATAL);
	assert_int_equal(slack_error_kind_of(NULL), SLACK_ERR_FATAL);
	assert_string_equal(slack_error_kind_name(SLACK_ERR_AUTH), "auth");
	assert_string_equal(slack_error_kind_name(SLACK_ERR_RETRYABLE), "retryable");
	assert_string_equal(slack_error_kind_name((enum slack_error_kind)99), "unknown");
}

/* --- users -------------------------------------------------------------- */

enum {
	F_DELETED = 1 << 0, F_BOT = 1 << 1, F_APP = 1 << 2, F_RESTRICTED = 1 << 3,
	F_ULTRA = 1 << 4, F_ADMIN = 1 << 5, F_OWNER = 1 << 6, F_PRIMARY = 1 << 7,
	F_INVITED = 1 << 8,
};

struct user_case {
	const char *name;
	const char *json;
	int rc;
	const char *id, *team_id, *handle, *real_name, *display_name, *first_name,
		   *last_name, *email, *title, *avatar_hash, *image_url;
	unsigned flags;
};

static const struct user_case user_cases[] = {
	{ "full member",
	  "{\"id\":\"U01ADA\",\"team_id\":\"T0DEMO0001\",\"name\":\"ada\",\"deleted\":false,"
	  "\"real_name\":\"Top Level\",\"tz\":\"Europe/London\",\"is_admin\":false,"
	  "\"is_owner\":false,\"is_primary_owner\":false,\"is_restricted\":false,"
	  "\"is_ultra_restricted\":false,\"is_bot\":false,\"is_app_user\":false,"
	  "\"updated\":1700000000,\"profile\":{\"real_name\":\"Ada Lovelace\","
	  "\"display_name\":\"ada\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
	  "\"email\":\"ada@acme.example\",\"title\":\"Engineer\",\"avatar_hash\":\"abc123\","
	  "\"is_custom_image\":true,\"image_192\":\"https://a/192.png\","
	  "\"image_512\":\"https://a/512.png\",\"image_original\":\"https://a/o.png\","
	  "\"fields\":{},\"status_emoji_display_info\":[]}}",
	  0, "U01ADA", "T0DEMO0001", "ada", "Ada Lovelace", "ada", "Ada", "Lovelace",
	  "ada@acme.example", "Engineer", "abc123", "https://a/512.png", 0 },
	{ "primary owner admin",
	  "{\"id\":\"U01OWNER01\",\"is_admin\":true,\"is_owner\":true,"
	  "\"is_primary_owner\":true,\"profile\":{\"email\":\"O@ACME.example\"}}",
	  0, "U01OWNER01", NULL, NULL, NULL, NULL, NULL, NULL, "O@ACME.example", NULL, NULL,
	  NULL, F_ADMIN | F_OWNER | F_PRIMARY },
	{ "multi-channel guest",
	  "{\"id\":\"U02GUEST\",\"is_restricted\":true,\"is_ultra_restricted\":false,"
	  "\"profile\":{\"guest_expiration_ts\":1900000000}}",
	  0, "U02GUEST", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  F_RESTRICTED },
	{ "single-channel guest",
	  "{\"id\":\"U03SCG\",\"is_restricted\":true,\"is_ultra_restricted\":true}",
	  0, "U03SCG", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  F_RESTRICTED | F_ULTRA },
	{ "invited", "{\"id\":\"U04INV\",\"is_invited_user\":true}",
	  0, "U04INV", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, F_INVITED },
	{ "deleted reduced object (§2.3)",
	  "{\"id\":\"U05GONE\",\"name\":\"gone\",\"is_bot\":false,\"updated\":1700000000,"
	  "\"is_app_user\":false,\"team_id\":\"T0DEMO0001\",\"deleted\":true,"
	  "\"is_forgotten\":false,\"profile\":{\"real_name\":\"Gone Person\","
	  "\"avatar_hash\":\"g0123\",\"image_192\":\"https://gravatar/x\"}}",
	  0, "U05GONE", "T0DEMO0001", "gone", "Gone Person", NULL, NULL, NULL, NULL, NULL,
	  "g0123", NULL, F_DELETED },
	{ "deleted with no profile at all", "{\"id\":\"U05BARE\",\"deleted\":true}",
	  0, "U05BARE", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  F_DELETED },
	{ "bot",
	  "{\"id\":\"U0DEMOBOT1\",\"name\":\"provisioning\",\"is_bot\":true,"
	  "\"profile\":{\"bot_id\":\"B0DEMOBOT1\",\"real_name\":\"Provisioning\","
	  "\"always_active\":true,\"email\":null}}",
	  0, "U0DEMOBOT1", NULL, "provisioning", "Provisioning", NULL, NULL, NULL, NULL, NULL,
	  NULL, NULL, F_BOT },
	{ "app user", "{\"id\":\"U06APP\",\"is_app_user\":true,\"is_bot\":false}",
	  0, "U06APP", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, F_APP },
	{ "slackbot is not a bot (§2.2)",
	  "{\"id\":\"USLACKBOT\",\"name\":\"slackbot\",\"is_bot\":false}",
	  0, "USLACKBOT", NULL, "slackbot", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "no email key",
	  "{\"id\":\"U07NOMAIL\",\"profile\":{\"real_name\":\"No Mail\"}}",
	  0, "U07NOMAIL", NULL, NULL, "No Mail", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "empty strings are NULL",
	  "{\"id\":\"U08EMPTY\",\"name\":\"\",\"real_name\":\"\",\"profile\":{"
	  "\"display_name\":\"\",\"real_name\":\"\",\"title\":\"\",\"email\":\"\","
	  "\"first_name\":null,\"last_name\":\"\"}}",
	  0, "U08EMPTY", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "real_name falls back to top level",
	  "{\"id\":\"U09TOP\",\"real_name\":\"Top Name\",\"profile\":{\"real_name\":\"\"}}",
	  0, "U09TOP", NULL, NULL, "Top Name", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "default avatar: no image_url",
	  "{\"id\":\"U10DEF\",\"profile\":{\"avatar_hash\":\"g9f8e7\",\"is_custom_image\":false,"
	  "\"image_192\":\"https://secure.gravatar.com/avatar/x?d=ava\","
	  "\"image_512\":\"https://secure.gravatar.com/avatar/y?d=ava\"}}",
	  0, "U10DEF", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "g9f8e7", NULL, 0 },
	{ "default avatar: is_custom_image absent",
	  "{\"id\":\"U10ABS\",\"profile\":{\"image_512\":\"https://x/512\"}}",
	  0, "U10ABS", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "custom avatar without image_512",
	  "{\"id\":\"U11C192\",\"profile\":{\"is_custom_image\":true,"
	  "\"image_192\":\"https://x/192\",\"image_original\":\"https://x/o\"}}",
	  0, "U11C192", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "https://x/192",
	  0 },
	{ "custom avatar with only image_original",
	  "{\"id\":\"U11CORIG\",\"profile\":{\"is_custom_image\":\"true\","
	  "\"image_512\":\"\",\"image_original\":\"https://x/o\"}}",
	  0, "U11CORIG", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "https://x/o",
	  0 },
	{ "numbers and strings drift",
	  "{\"id\":\"U12DRIFT\",\"team_id\":12345,\"deleted\":\"false\",\"is_admin\":1,"
	  "\"is_owner\":\"1\",\"is_bot\":0,\"is_restricted\":\"no\",\"is_app_user\":null,"
	  "\"is_ultra_restricted\":\"TRUE\",\"name\":{\"odd\":true},"
	  "\"profile\":{\"title\":42,\"display_name\":[],\"email\":false,"
	  "\"avatar_hash\":1.5}}",
	  0, "U12DRIFT", "12345", NULL, NULL, NULL, NULL, NULL, NULL, "42", "1.5", NULL,
	  F_ADMIN | F_OWNER | F_ULTRA },
	{ "profile not an object",
	  "{\"id\":\"U13P\",\"real_name\":\"R\",\"profile\":\"oops\"}",
	  0, "U13P", NULL, NULL, "R", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "non-ASCII names",
	  "{\"id\":\"U14UTF\",\"profile\":{\"real_name\":\"Анна Ш\\u00e9\","
	  "\"display_name\":\"山田\"}}",
	  0, "U14UTF", NULL, NULL, "Анна Шé", "山田", NULL,
	  NULL, NULL, NULL, NULL, NULL, 0 },
	{ "missing id", "{\"name\":\"x\"}", PV_EINVAL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "empty id", "{\"id\":\"\"}", PV_EINVAL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "null id", "{\"id\":null}", PV_EINVAL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "not an object", "[\"U1\"]", PV_EINVAL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 },
};

static unsigned user_flags(const struct slack_user *u)
{
	return (u->deleted ? F_DELETED : 0) | (u->is_bot ? F_BOT : 0) |
	       (u->is_app_user ? F_APP : 0) | (u->is_restricted ? F_RESTRICTED : 0) |
	       (u->is_ultra_restricted ? F_ULTRA : 0) | (u->is_admin ? F_ADMIN : 0) |
	       (u->is_owner ? F_OWNER : 0) | (u->is_primary_owner ? F_PRIMARY : 0) |
	       (u->is_invited_user ? F_INVITED : 0);
}

static void test_users(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
		const struct user_case *c = &user_cases[i];
		json_object *o = parse(c->json);
		struct slack_user u;
		int rc;

		memset(&u, 0x5a, sizeof(u));
		rc = slack_decode_user(o, &u);
		if (rc != c->rc) {
			print_error("%s: rc %d, want %d\n", c->name, rc, c->rc);
			fail();
		}
		assert_str_or_null(c->id, u.id, "id", c->name);
		assert_str_or_null(c->team_id, u.team_id, "team_id", c->name);
		assert_str_or_null(c->handle, u.name, "name", c->name);
		assert_str_or_null(c->real_name, u.real_name, "real_name", c->name);
		assert_str_or_null(c->display_name, u.display_name, "display_name", c->name);
		assert_str_or_null(c->first_name, u.first_name, "first_name", c->name);
		assert_str_or_null(c->last_name, u.last_name, "last_name", c->name);
		assert_str_or_null(c->email, u.email, "email", c->name);
		assert_str_or_null(c->title, u.title, "title", c->name);
		assert_str_or_null(c->avatar_hash, u.avatar_hash, "avatar_hash", c->name);
		assert_str_or_null(c->image_url, u.image_url, "image_url", c->name);
		if (user_flags(&u) != c->flags) {
			print_error("%s: flags %#x, want %#x\n", c->name, user_flags(&u),
				    c->flags);
			fail();
		}
		slack_user_release(&u);
		slack_user_release(&u);   /* twice is harmless */
		json_object_put(o);
	}
	assert_int_equal(slack_decode_user(NULL, &(struct slack_user){ 0 }), PV_EINVAL);
}

/* --- groups ------------------------------------------------------------- */

struct group_case {
	const char *name;
	const char *json;
	int rc;
	const char *id, *gname, *handle;
	long user_count;
	int disabled;
	size_t n_users;
	const char *first_user;
};

static const struct group_case group_cases[] = {
	{ "user_count as string (Slack's examples)",
	  "{\"id\":\"S0ENG\",\"team_id\":\"T1\",\"is_usergroup\":true,\"name\":\"Engineering\","
	  "\"handle\":\"eng\",\"date_delete\":0,\"auto_type\":null,\"user_count\":\"2\","
	  "\"users\":[\"U1\",\"U2\"],\"prefs\":{\"channels\":[],\"groups\":[]}}",
	  0, "S0ENG", "Engineering", "eng", 2, 0, 2, "U1" },
	{ "user_count as number",
	  "{\"id\":\"S0DES\",\"name\":\"Design\",\"handle\":\"design\",\"user_count\":17}",
	  0, "S0DES", "Design", "design", 17, 0, 0, NULL },
	{ "disabled group",
	  "{\"id\":\"S0PHX\",\"name\":\"Project Phoenix\",\"handle\":\"phoenix\","
	  "\"date_delete\":1700000000,\"user_count\":\"0\",\"users\":[]}",
	  0, "S0PHX", "Project Phoenix", "phoenix", 0, 1, 0, NULL },
	{ "date_delete as string",
	  "{\"id\":\"S0STR\",\"name\":\"x\",\"date_delete\":\"1700000000\"}",
	  0, "S0STR", "x", NULL, 0, 1, 0, NULL },
	{ "date_delete zero string",
	  "{\"id\":\"S0Z\",\"name\":\"z\",\"date_delete\":\"0\",\"user_count\":null}",
	  0, "S0Z", "z", NULL, 0, 0, 0, NULL },
	{ "bad user_count and odd users",
	  "{\"id\":\"S0ODD\",\"name\":\"Odd\",\"user_count\":\"many\","
	  "\"users\":[null,\"U9\",{},\"\",\"U10\"]}",
	  0, "S0ODD", "Odd", NULL, 0, 0, 2, "U9" },
	{ "users not an array", "{\"id\":\"S0NA\",\"users\":\"U1\"}",
	  0, "S0NA", NULL, NULL, 0, 0, 0, NULL },
	{ "no id", "{\"name\":\"x\"}", PV_EINVAL, NULL, NULL, NULL, 0, 0, 0, NULL },
};

static void test_groups(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++) {
		const struct group_case *c = &group_cases[i];
		json_object *o = parse(c->json);
		struct slack_group g;
		int rc;

		memset(&g, 0x5a, sizeof(g));
		rc = slack_decode_group(o, &g);
		if (rc != c->rc) {
			print_error("%s: rc %d, want %d\n", c->name, rc, c->rc);
			fail();
		}
		assert_str_or_null(c->id, g.id, "id", c->name);
		assert_str_or_null(c->gname, g.name, "name", c->name);
		assert_str_or_null(c->handle, g.handle, "handle", c->name);
		assert_int_equal(g.user_count, c->user_count);
		assert_int_equal(g.disabled, c->disabled);
		assert_int_equal(g.n_user_ids, c->n_users);
		if (c->n_users)
			assert_string_equal(g.user_ids[0], c->first_user);
		else
			assert_null(g.user_ids);
		slack_group_release(&g);
		slack_group_release(&g);
		json_object_put(o);
	}
}

/* --- team --------------------------------------------------------------- */

struct team_case {
	const char *name;
	const char *json;
	int rc;
	const char *id, *tname, *domain, *email_domain;
};

static const struct team_case team_cases[] = {
	{ "team.info team",
	  "{\"id\":\"T0DEMO0001\",\"name\":\"Acme Demo\",\"domain\":\"acme-demo\","
	  "\"email_domain\":\"acme.example\",\"icon\":{\"image_default\":true}}",
	  0, "T0DEMO0001", "Acme Demo", "acme-demo", "acme.example" },
	{ "no email domain",
	  "{\"id\":\"T2\",\"name\":\"Initech\",\"domain\":\"initech\",\"email_domain\":\"\"}",
	  0, "T2", "Initech", "initech", NULL },
	{ "no id", "{\"name\":\"x\"}", PV_EINVAL, NULL, NULL, NULL, NULL },
	{ "null", "null", PV_EINVAL, NULL, NULL, NULL, NULL },
};

static void test_teams(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(team_cases) / sizeof(team_cases[0]); i++) {
		const struct team_case *c = &team_cases[i];
		json_object *o = json_tokener_parse(c->json); /* "null" gives NULL */
		struct slack_team t;
		int rc;

		memset(&t, 0x5a, sizeof(t));
		rc = slack_decode_team(o, &t);
		if (rc != c->rc) {
			print_error("%s: rc %d, want %d\n", c->name, rc, c->rc);
			fail();
		}
		assert_str_or_null(c->id, t.id, "id", c->name);
		assert_str_or_null(c->tname, t.name, "name", c->name);
		assert_str_or_null(c->domain, t.domain, "domain", c->name);
		assert_str_or_null(c->email_domain, t.email_domain, "email_domain", c->name);
		slack_team_release(&t);
		json_object_put(o);
	}
}

/* --- releases, client set-up, authorize URL ----------------------------- */

static void test_release_zeroed(void **state)
{
	struct slack_user u = { 0 };
	struct slack_group g = { 0 };
	struct slack_team t = { 0 };
	struct slack_oauth o = { 0 };
	struct slack_auth a = { 0 };

	(void)state;
	slack_user_release(&u);
	slack_group_release(&g);
	slack_team_release(&t);
	slack_oauth_release(&o);
	slack_auth_release(&a);
	slack_user_release(NULL);
	slack_groups_free(NULL, 3);
	slack_ids_free(NULL, 2);
	o.access_token = strdup("xoxb-secret");
	o.refresh_token = strdup("xoxe-1-secret");
	o.team_id = strdup("T1");
	slack_oauth_release(&o);
	assert_null(o.access_token);
	assert_null(o.team_id);
}

static struct config *test_config(void)
{
	struct config *cfg = NULL;
	char err[200];

	assert_int_equal(config_parse(&cfg,
				      "slack.api_base = http://127.0.0.1:9/api/\n"
				      "slack.authorize_url = https://slack.example/oauth/v2/authorize\n"
				      "slack.client_id = 1111.2222\n"
				      "slack.client_secret = s3cret\n", err, sizeof(err)), 0);
	return cfg;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void test_client_setup(void **state)
{
	struct config *cfg = test_config();
	struct slack *s = NULL;
	struct slack_auth auth = { 0 };
	struct slack_user u;
	long t0;
	char **ids;
	size_t n;

	(void)state;
	assert_int_equal(slack_new(&s, cfg, ""), PV_EINVAL);
	assert_null(s);
	assert_int_equal(slack_new(&s, cfg, NULL), PV_EINVAL);
	assert_int_equal(slack_new(&s, cfg, "xoxb-a\r\nX-Evil: 1"), PV_EINVAL);
	assert_int_equal(slack_new(&s, cfg, "xoxb-test"), 0);
	assert_non_null(s);
	slack_set_retry(s, 0, -5, 1);
	slack_set_timeout(s, 0);
	assert_int_equal(slack_last_error(s)->kind, SLACK_ERR_NONE);
	/* The setters are observed: against a closed port, the retry count
	 * clamped to 1 gives one attempt and no backoff pause (a refused
	 * connection fails in a few ms); three attempts with pauses of 0.5-1 s
	 * take at least 1 s.  Both failures are retryable. */
	t0 = now_ms();
	assert_true(slack_auth_test(s, &auth) < 0);
	assert_true(now_ms() - t0 < 500);
	assert_int_equal(slack_last_error(s)->kind, SLACK_ERR_RETRYABLE);
	slack_set_retry(s, 3, 1000, 1000);
	t0 = now_ms();
	assert_true(slack_auth_test(s, &auth) < 0);
	assert_true(now_ms() - t0 >= 1000);
	assert_int_equal(slack_last_error(s)->kind, SLACK_ERR_RETRYABLE);
	slack_set_retry(s, 0, -5, 1);
	/* bad arguments fail before anything is sent */
	assert_int_equal(slack_user_info(s, "", &u), PV_EINVAL);
	assert_null(u.id);
	assert_int_equal(slack_group_members(s, NULL, &ids, &n), PV_EINVAL);
	assert_null(ids);
	assert_int_equal(n, 0);
	slack_auth_release(&auth);
	slack_free(s);
	slack_free(NULL);
	config_free(cfg);
}

static void test_authorize_url(void **state)
{
	struct config *cfg = test_config();
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(slack_authorize_url(cfg, "users:read,users:read.email",
					     "http://127.0.0.1:8080/oauth/slack/callback?a=1&b=2",
					     "st ate+/=", &b), 0);
	assert_string_equal(buf_cstr(&b),
			    "https://slack.example/oauth/v2/authorize?client_id=1111.2222"
			    "&scope=users%3Aread%2Cusers%3Aread.email"
			    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foauth%2Fslack%2F"
			    "callback%3Fa%3D1%26b%3D2"
			    "&state=st%20ate%2B%2F%3D");
	buf_reset(&b);
	assert_int_equal(slack_authorize_url(cfg, "team:read", NULL, "x", &b), 0);
	assert_string_equal(buf_cstr(&b), "https://slack.example/oauth/v2/authorize?"
			    "client_id=1111.2222&scope=team%3Aread&state=x");
	buf_reset(&b);
	assert_int_equal(slack_authorize_url(cfg, "", NULL, "x", &b), PV_EINVAL);
	assert_int_equal(slack_authorize_url(cfg, "team:read", NULL, NULL, &b), PV_EINVAL);
	buf_release(&b);
	/* a full buffer is refused */
	buf_init(&b, 16);
	assert_int_equal(slack_authorize_url(cfg, "team:read", NULL, "x", &b), PV_ENOMEM);
	buf_release(&b);
	config_free(cfg);
}

/* The scopes an install must have been granted (CONN_SCOPES), as Slack
 * lists them: comma-separated, any order, maybe more. */
static void test_install_scopes(void **state)
{
	static const struct {
		const char *granted;
		int want;
	} rows[] = {
		{ "users:read,users:read.email,usergroups:read,team:read", 1 },
		{ "team:read,usergroups:read,users:read.email,users:read", 1 },
		{ "chat:write,users:read,users:read.email,usergroups:read,team:read", 1 },
		{ "users:read,users:read.email,usergroups:read", 0 },      /* one missing */
		{ "users:read.email,usergroups:read,team:read", 0 },       /* prefix is not users:read */
		{ "users:reader,users:read.email,usergroups:read,team:read", 0 },
		{ "users:read,users:read.email,usergroups:read,team:rea", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (slack_install_has_scopes(rows[i].granted) != rows[i].want)
			fail_msg("granted \"%s\": want %d", rows[i].granted ? rows[i].granted : "NULL",
				 rows[i].want);
}

static void test_oauth_arguments(void **state)
{
	struct config *cfg = test_config();
	struct slack_oauth o;
	struct slack_error err;

	(void)state;
	assert_int_equal(slack_oauth_access_ex(cfg, "", NULL, &o, &err), PV_EINVAL);
	assert_null(o.access_token);
	assert_int_equal(slack_oauth_refresh(cfg, NULL, &o), PV_EINVAL);
	config_free(cfg);
}

/* Retry-After: Slack's whole seconds, the emulator's shrunk decimals
 * (rounded up: never earlier than asked), and what is neither. */
static void test_retry_after(void **state)
{
	static const struct { const char *v; long ms; } cases[] = {
		{ "0", 0 }, { "1", 1000 }, { "30", 30000 }, { "600", 600000 },
		{ "0.367", 367 }, { "0.5", 500 }, { "1.05", 1050 }, { "0.0167", 17 },
		{ "0.0160", 16 }, { "2.000", 2000 }, { "0.0001", 1 },
		{ "", -1 }, { "-1", -1 }, { "1.", -1 }, { ".5", -1 }, { "1s", -1 },
		{ "abc", -1 }, { "1.2.3", -1 }, { "Wed, 21 Oct 2015 07:28:00 GMT", -1 },
	};
	struct slack *s = NULL, *c = NULL;
	struct config *cfg = test_config();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = slack_parse_retry_after(cases[i].v);

		if (got != cases[i].ms)
			fail_msg("Retry-After \"%s\": %ld ms, expected %ld", cases[i].v, got, cases[i].ms);
	}
	/* Far too long stays too long (no overflow into a short wait). */
	assert_true(slack_parse_retry_after("99999999999999999999") > SLACK_MAX_RETRY_AFTER * 1000L);
	/* A clone is a client of its own; the OAuth-less NULL is refused. */
	assert_int_equal(slack_clone(NULL, &c), PV_EINVAL);
	assert_null(c);
	assert_int_equal(slack_new(&s, cfg, "xoxb-test"), 0);
	assert_int_equal(slack_clone(s, &c), 0);
	assert_non_null(c);
	assert_ptr_not_equal(c, s);
	assert_int_equal(slack_tick_now(c), 0);
	slack_free(c);
	slack_free(s);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelopes),
		cmocka_unit_test(test_envelope_messages),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_teams),
		cmocka_unit_test(test_release_zeroed),
		cmocka_unit_test(test_client_setup),
		cmocka_unit_test(test_authorize_url),
		cmocka_unit_test(test_oauth_arguments),
		cmocka_unit_test(test_install_scopes),
		cmocka_unit_test(test_retry_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
