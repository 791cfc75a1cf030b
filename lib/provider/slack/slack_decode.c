/*
 * slack_decode.c - Slack's answers into the product's structs: the error
 * codes table, the envelope (§7), drift-tolerant reading of values (§11.17)
 * and the user, group and team decoders.  Pure: no socket; unit tested by
 * tests/unit/test_slack_decode.c.  Contract in slack.h and slack_int.h.
 */
#include "provider/slack/slack_int.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Error codes as data                                                       */
/* ------------------------------------------------------------------------ */


/* Slack's codes that mean something to the product (§7, §11.15, §11.16).
 * Codes not listed are SLACK_ERR_FATAL. */
static const struct slack_code slack_codes[] = {
	{ "invalid_auth", SLACK_ERR_AUTH, 0,
	  "Slack did not accept the token; reconnect Slack from the settings page." },
	{ "not_authed", SLACK_ERR_AUTH, 0,
	  "no Slack token was sent; reconnect Slack from the settings page." },
	{ "account_inactive", SLACK_ERR_AUTH, 0,
	  "Slack says the account behind the token is inactive; reconnect Slack from the settings page." },
	{ "token_revoked", SLACK_ERR_AUTH, 0,
	  "Slack says the token was revoked; reconnect Slack from the settings page." },
	{ "invalid_refresh_token", SLACK_ERR_AUTH, 0,
	  "Slack refused the refresh token; reconnect Slack from the settings page." },
	{ "token_expired", SLACK_ERR_EXPIRED, 0,
	  "the Slack token has expired and must be refreshed; if this persists, reconnect Slack." },
	{ "missing_scope", SLACK_ERR_SCOPE, 0,
	  "the Slack app lacks a permission; reconnect Slack from the settings page to grant it." },
	{ "plan_upgrade_required", SLACK_ERR_PLAN, 0,
	  "Slack user groups need a paid Slack plan; this workspace is on the free plan." },
	{ "user_not_found", SLACK_ERR_NOT_FOUND, 0, "Slack does not know this user." },
	{ "users_not_found", SLACK_ERR_NOT_FOUND, 0, "Slack does not know this user." },
	{ "no_such_subteam", SLACK_ERR_NOT_FOUND, 0, "Slack does not know this user group." },
	{ "team_not_found", SLACK_ERR_NOT_FOUND, 0, "Slack does not know this workspace." },
	{ "ratelimited", SLACK_ERR_RETRYABLE, 1,
	  "Slack is rate-limiting the requests; the sync will try again later." },
	{ "internal_error", SLACK_ERR_RETRYABLE, 1,
	  "Slack had an internal error; the sync will try again later." },
	{ "fatal_error", SLACK_ERR_RETRYABLE, 1,
	  "Slack had a serious internal error; the sync will try again later." },
	{ "service_unavailable", SLACK_ERR_RETRYABLE, 1,
	  "Slack is temporarily unavailable; the sync will try again later." },
	{ "request_timeout", SLACK_ERR_RETRYABLE, 1,
	  "Slack timed out reading the request; the sync will try again later." },
	{ "accesslimited", SLACK_ERR_RETRYABLE, 0,
	  "Slack limits access from this network for now; the sync will try again later." },
	{ "org_login_required", SLACK_ERR_RETRYABLE, 0,
	  "the workspace is migrating into an Enterprise organization; the sync will try again later." },
	{ "team_added_to_org", SLACK_ERR_RETRYABLE, 0,
	  "the workspace is migrating into an Enterprise organization; the sync will try again later." },
};

#define SLACK_NCODES (sizeof(slack_codes) / sizeof(slack_codes[0]))

const struct slack_code *slack_code_find(const char *code)
{
	for (size_t i = 0; code && i < SLACK_NCODES; i++)
		if (strcmp(slack_codes[i].code, code) == 0)
			return &slack_codes[i];
	return NULL;
}

enum slack_error_kind slack_error_kind_of(const char *code)
{
	const struct slack_code *c = slack_code_find(code);

	return c ? c->kind : SLACK_ERR_FATAL;
}

const char *slack_error_kind_name(enum slack_error_kind kind)
{
	switch (kind) {
	case SLACK_ERR_NONE: return "none";
	case SLACK_ERR_AUTH: return "auth";
	case SLACK_ERR_EXPIRED: return "expired";
	case SLACK_ERR_SCOPE: return "scope";
	case SLACK_ERR_RETRYABLE: return "retryable";
	case SLACK_ERR_PLAN: return "plan";
	case SLACK_ERR_NOT_FOUND: return "not_found";
	case SLACK_ERR_FATAL: return "fatal";
	}
	return "unknown";
}

void slack_err_clear(struct slack_error *err)
{
	long status = err->http_status;
	char method[sizeof(err->method)];

	memcpy(method, err->method, sizeof(method));
	memset(err, 0, sizeof(*err));
	err->http_status = status;
	memcpy(err->method, method, sizeof(method));
}

void slack_err_set(struct slack_error *err, enum slack_error_kind kind,
		    const char *code, const char *fmt, ...)
{
	va_list ap;

	err->kind = kind;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Drift-tolerant JSON reading (§11.17)                                      */
/* ------------------------------------------------------------------------ */

/* The member `key` of obj, or NULL when obj is no object, the key is absent
 * or its value is null.  Borrowed. */
json_object *slack_member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* A string value (or a number's text); NULL for "", null, booleans,
 * objects and arrays.  Borrowed from v. */
const char *slack_text_of(json_object *v)
{
	const char *t;

	if (!v)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
	case json_type_int:
	case json_type_double:
		t = json_object_get_string(v);
		return t && *t ? t : NULL;
	default:
		return NULL;
	}
}

int slack_dup_text(const char *t, char **out)
{
	*out = NULL;
	if (!t)
		return 0;
	*out = strdup(t);
	return *out ? 0 : PV_ENOMEM;
}

int slack_copy_text(json_object *obj, const char *key, char **out)
{
	return slack_dup_text(slack_text_of(slack_member(obj, key)), out);
}

/* A flag: true/false, numbers (non-zero = true), "true"/"1" strings.
 * Anything else, absent included, is false. */
int slack_flag_of(json_object *obj, const char *key)
{
	json_object *v = slack_member(obj, key);
	const char *t;

	if (!v)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return json_object_get_boolean(v) ? 1 : 0;
	case json_type_int:
		return json_object_get_int64(v) != 0;
	case json_type_double:
		return json_object_get_double(v) != 0.0;
	case json_type_string:
		t = json_object_get_string(v);
		return strcasecmp(t, "true") == 0 || strcmp(t, "1") == 0;
	default:
		return 0;
	}
}

/* A count: numbers, or strings holding a decimal integer ("2").  Anything
 * else is 0. */
long long slack_count_of(json_object *obj, const char *key)
{
	json_object *v = slack_member(obj, key);
	const char *t;
	char *end;
	long long n;
	double d;

	if (!v)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_int:
		return (long long)json_object_get_int64(v);
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d > 9.0e18 || d < -9.0e18)
			return 0;
		return (long long)d;
	case json_type_string:
		t = json_object_get_string(v);
		errno = 0;
		n = strtoll(t, &end, 10);
		if (errno || end == t || *end)
			return 0;
		return n;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------------ */
/* Decoders                                                                  */
/* ------------------------------------------------------------------------ */

int slack_decode_user(json_object *obj, struct slack_user *out)
{
	json_object *p;
	const char *t;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !slack_text_of(slack_member(obj, "id")))
		return PV_EINVAL;
	p = slack_member(obj, "profile");
	if (p && !json_object_is_type(p, json_type_object))
		p = NULL;

	rc = slack_copy_text(obj, "id", &out->id);
	if (rc == 0)
		rc = slack_copy_text(obj, "team_id", &out->team_id);
	if (rc == 0)
		rc = slack_copy_text(obj, "name", &out->name);
	if (rc == 0) {
		t = slack_text_of(slack_member(p, "real_name"));
		if (!t)
			t = slack_text_of(slack_member(obj, "real_name"));
		rc = slack_dup_text(t, &out->real_name);
	}
	if (rc == 0)
		rc = slack_copy_text(p, "display_name", &out->display_name);
	if (rc == 0)
		rc = slack_copy_text(p, "first_name", &out->first_name);
	if (rc == 0)
		rc = slack_copy_text(p, "last_name", &out->last_name);
	if (rc == 0)
		rc = slack_copy_text(p, "email", &out->email);
	if (rc == 0)
		rc = slack_copy_text(p, "title", &out->title);
	if (rc == 0)
		rc = slack_copy_text(p, "avatar_hash", &out->avatar_hash);
	if (rc == 0 && slack_flag_of(p, "is_custom_image")) {
		t = slack_text_of(slack_member(p, "image_512"));
		if (!t)
			t = slack_text_of(slack_member(p, "image_192"));
		if (!t)
			t = slack_text_of(slack_member(p, "image_original"));
		rc = slack_dup_text(t, &out->image_url);
	}
	if (rc < 0)
		goto out;
	out->deleted = slack_flag_of(obj, "deleted");
	out->is_bot = slack_flag_of(obj, "is_bot");
	out->is_app_user = slack_flag_of(obj, "is_app_user");
	out->is_restricted = slack_flag_of(obj, "is_restricted");
	out->is_ultra_restricted = slack_flag_of(obj, "is_ultra_restricted");
	out->is_admin = slack_flag_of(obj, "is_admin");
	out->is_owner = slack_flag_of(obj, "is_owner");
	out->is_primary_owner = slack_flag_of(obj, "is_primary_owner");
	out->is_invited_user = slack_flag_of(obj, "is_invited_user");
out:
	if (rc < 0)
		slack_user_release(out);
	return rc;
}

/* Copies the string entries of a JSON array of ids (others skipped). */
int slack_decode_ids(json_object *arr, char ***ids, size_t *n)
{
	size_t len, i, k = 0;
	char **v = NULL;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	if (!arr || !json_object_is_type(arr, json_type_array))
		return 0;
	len = json_object_array_length(arr);
	if (len == 0)
		return 0;
	v = calloc(len, sizeof(*v));
	if (!v)
		return PV_ENOMEM;
	for (i = 0; i < len; i++) {
		const char *t = slack_text_of(json_object_array_get_idx(arr, i));

		if (!t)
			continue;
		rc = slack_dup_text(t, &v[k]);
		if (rc < 0)
			goto out;
		k++;
	}
out:
	if (rc < 0 || k == 0) {
		for (i = 0; i < k; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	*ids = v;
	*n = k;
	return 0;
}

int slack_decode_group(json_object *obj, struct slack_group *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !slack_text_of(slack_member(obj, "id")))
		return PV_EINVAL;
	rc = slack_copy_text(obj, "id", &out->id);
	if (rc == 0)
		rc = slack_copy_text(obj, "name", &out->name);
	if (rc == 0)
		rc = slack_copy_text(obj, "handle", &out->handle);
	if (rc == 0)
		rc = slack_decode_ids(slack_member(obj, "users"), &out->user_ids, &out->n_user_ids);
	if (rc < 0) {
		slack_group_release(out);
		return rc;
	}
	out->user_count = (long)slack_count_of(obj, "user_count");
	out->disabled = slack_count_of(obj, "date_delete") != 0;
	return 0;
}

int slack_decode_team(json_object *obj, struct slack_team *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !slack_text_of(slack_member(obj, "id")))
		return PV_EINVAL;
	rc = slack_copy_text(obj, "id", &out->id);
	if (rc == 0)
		rc = slack_copy_text(obj, "name", &out->name);
	if (rc == 0)
		rc = slack_copy_text(obj, "domain", &out->domain);
	if (rc == 0)
		rc = slack_copy_text(obj, "email_domain", &out->email_domain);
	if (rc < 0)
		slack_team_release(out);
	return rc;
}

int slack_decode_envelope(const char *body, size_t len, json_object **out,
			  struct slack_error *err)
{
	const struct slack_code *c;
	json_object *root = NULL, *ok;
	const char *why, *code, *where;
	int rc;

	*out = NULL;
	slack_err_clear(err);
	where = err->method[0] ? err->method : "the request";
	rc = pjson_parse(body ? body : "", body ? len : 0, SLACK_JSON_DEPTH, &root, &why);
	if (rc == PV_ENOMEM)
		return rc;
	if (rc < 0) {
		slack_err_set(err, SLACK_ERR_RETRYABLE, "bad_json",
			"Slack's answer to %s was cut short or is not JSON (%s).", where, why);
		return PV_EREMOTE;
	}
	ok = slack_member(root, "ok");
	if (!json_object_is_type(root, json_type_object) || !ok ||
	    !json_object_is_type(ok, json_type_boolean)) {
		slack_err_set(err, SLACK_ERR_FATAL, "bad_envelope",
			"Slack's answer to %s is not a Slack API answer.", where);
		rc = PV_EREMOTE;
		goto out;
	}
	if (json_object_get_boolean(ok)) {
		*out = root;
		return 0;
	}
	rc = PV_EREMOTE;
	code = slack_text_of(slack_member(root, "error"));
	if (!code) {
		/* A code the administrator can quote to Slack's support, never "". */
		slack_err_set(err, SLACK_ERR_FATAL, "unknown_error", "Slack refused %s without saying why.",
			      where);
		goto out;
	}
	c = slack_code_find(code);
	if (c)
		slack_err_set(err, c->kind, code, "%s", c->message);
	else
		slack_err_set(err, SLACK_ERR_FATAL, code, "Slack refused %s: %s.", where, code);
	if (c && c->kind == SLACK_ERR_SCOPE) {
		const char *needed = slack_text_of(slack_member(root, "needed"));

		snprintf(err->needed, sizeof(err->needed), "%s", needed ? needed : "");
		if (needed)
			snprintf(err->message, sizeof(err->message),
				 "the Slack app lacks the permission %s; reconnect Slack from "
				 "the settings page to grant it.", needed);
	}
out:
	json_object_put(root);
	return rc;
}
