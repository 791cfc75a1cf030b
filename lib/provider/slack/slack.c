/*
 * slack.c - Slack Web API client: transport with retries, envelope and
 * object decoding, the methods the product uses, OAuth v2.  See slack.h for
 * the contract; section numbers (§n) refer to SLACK-API.md.
 */
#include "provider/slack/slack.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "core/token.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SLACK_USER_AGENT "provisioning-slack/1.0"
#define SLACK_URL_MAX ((size_t)64 << 10)   /* method URL with its query */
#define SLACK_FORM_MAX ((size_t)16 << 10)  /* OAuth form body */
#define SLACK_HEADER_MAX ((size_t)16 << 10)

/* ------------------------------------------------------------------------ */
/* Error codes as data                                                       */
/* ------------------------------------------------------------------------ */

struct slack_code {
	const char *code;
	enum slack_error_kind kind;
	int retry_now;        /* retried inside the call with backoff */
	const char *message;  /* for administrators */
};

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

static const struct slack_code *slack_code_find(const char *code)
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

/* Clears *err but keeps what the caller set about the exchange. */
static void err_clear(struct slack_error *err)
{
	long status = err->http_status;
	char method[sizeof(err->method)];

	memcpy(method, err->method, sizeof(method));
	memset(err, 0, sizeof(*err));
	err->http_status = status;
	memcpy(err->method, method, sizeof(method));
}

static void err_set(struct slack_error *err, enum slack_error_kind kind,
		    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_set(struct slack_error *err, enum slack_error_kind kind,
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
static json_object *member(json_object *obj, const char *key)
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
static const char *text_of(json_object *v)
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

static int dup_text(const char *t, char **out)
{
	*out = NULL;
	if (!t)
		return 0;
	*out = strdup(t);
	return *out ? 0 : PV_ENOMEM;
}

static int copy_text(json_object *obj, const char *key, char **out)
{
	return dup_text(text_of(member(obj, key)), out);
}

/* A flag: true/false, numbers (non-zero = true), "true"/"1" strings.
 * Anything else, absent included, is false. */
static int flag_of(json_object *obj, const char *key)
{
	json_object *v = member(obj, key);
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
static long long count_of(json_object *obj, const char *key)
{
	json_object *v = member(obj, key);
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
	    !text_of(member(obj, "id")))
		return PV_EINVAL;
	p = member(obj, "profile");
	if (p && !json_object_is_type(p, json_type_object))
		p = NULL;

	rc = copy_text(obj, "id", &out->id);
	if (rc == 0)
		rc = copy_text(obj, "team_id", &out->team_id);
	if (rc == 0)
		rc = copy_text(obj, "name", &out->name);
	if (rc == 0) {
		t = text_of(member(p, "real_name"));
		if (!t)
			t = text_of(member(obj, "real_name"));
		rc = dup_text(t, &out->real_name);
	}
	if (rc == 0)
		rc = copy_text(p, "display_name", &out->display_name);
	if (rc == 0)
		rc = copy_text(p, "first_name", &out->first_name);
	if (rc == 0)
		rc = copy_text(p, "last_name", &out->last_name);
	if (rc == 0)
		rc = copy_text(p, "email", &out->email);
	if (rc == 0)
		rc = copy_text(p, "title", &out->title);
	if (rc == 0)
		rc = copy_text(p, "avatar_hash", &out->avatar_hash);
	if (rc == 0 && flag_of(p, "is_custom_image")) {
		t = text_of(member(p, "image_512"));
		if (!t)
			t = text_of(member(p, "image_192"));
		if (!t)
			t = text_of(member(p, "image_original"));
		rc = dup_text(t, &out->image_url);
	}
	if (rc < 0)
		goto out;
	out->deleted = flag_of(obj, "deleted");
	out->is_bot = flag_of(obj, "is_bot");
	out->is_app_user = flag_of(obj, "is_app_user");
	out->is_restricted = flag_of(obj, "is_restricted");
	out->is_ultra_restricted = flag_of(obj, "is_ultra_restricted");
	out->is_admin = flag_of(obj, "is_admin");
	out->is_owner = flag_of(obj, "is_owner");
	out->is_primary_owner = flag_of(obj, "is_primary_owner");
	out->is_invited_user = flag_of(obj, "is_invited_user");
out:
	if (rc < 0)
		slack_user_release(out);
	return rc;
}

/* Copies the string entries of a JSON array of ids (others skipped). */
static int decode_ids(json_object *arr, char ***ids, size_t *n)
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
		const char *t = text_of(json_object_array_get_idx(arr, i));

		if (!t)
			continue;
		rc = dup_text(t, &v[k]);
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
	    !text_of(member(obj, "id")))
		return PV_EINVAL;
	rc = copy_text(obj, "id", &out->id);
	if (rc == 0)
		rc = copy_text(obj, "name", &out->name);
	if (rc == 0)
		rc = copy_text(obj, "handle", &out->handle);
	if (rc == 0)
		rc = decode_ids(member(obj, "users"), &out->user_ids, &out->n_user_ids);
	if (rc < 0) {
		slack_group_release(out);
		return rc;
	}
	out->user_count = (long)count_of(obj, "user_count");
	out->disabled = count_of(obj, "date_delete") != 0;
	return 0;
}

int slack_decode_team(json_object *obj, struct slack_team *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !text_of(member(obj, "id")))
		return PV_EINVAL;
	rc = copy_text(obj, "id", &out->id);
	if (rc == 0)
		rc = copy_text(obj, "name", &out->name);
	if (rc == 0)
		rc = copy_text(obj, "domain", &out->domain);
	if (rc == 0)
		rc = copy_text(obj, "email_domain", &out->email_domain);
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
	err_clear(err);
	where = err->method[0] ? err->method : "the request";
	rc = pjson_parse(body ? body : "", body ? len : 0, SLACK_JSON_DEPTH, &root, &why);
	if (rc == PV_ENOMEM)
		return rc;
	if (rc < 0) {
		err_set(err, SLACK_ERR_RETRYABLE, "bad_json",
			"Slack's answer to %s was cut short or is not JSON (%s).", where, why);
		return PV_EREMOTE;
	}
	ok = member(root, "ok");
	if (!json_object_is_type(root, json_type_object) || !ok ||
	    !json_object_is_type(ok, json_type_boolean)) {
		err_set(err, SLACK_ERR_FATAL, "bad_envelope",
			"Slack's answer to %s is not a Slack API answer.", where);
		rc = PV_EREMOTE;
		goto out;
	}
	if (json_object_get_boolean(ok)) {
		*out = root;
		return 0;
	}
	rc = PV_EREMOTE;
	code = text_of(member(root, "error"));
	if (!code) {
		err_set(err, SLACK_ERR_FATAL, "", "Slack refused %s without saying why.", where);
		goto out;
	}
	c = slack_code_find(code);
	if (c)
		err_set(err, c->kind, code, "%s", c->message);
	else
		err_set(err, SLACK_ERR_FATAL, code, "Slack refused %s: %s.", where, code);
	if (c && c->kind == SLACK_ERR_SCOPE) {
		const char *needed = text_of(member(root, "needed"));

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

/* ------------------------------------------------------------------------ */
/* Client                                                                    */
/* ------------------------------------------------------------------------ */

struct slack {
	CURL *curl;
	struct curl_slist *headers;  /* holds the Authorization header */
	char *api_base;              /* ends with '/' */
	char *token;                 /* NULL for the OAuth client */
	long timeout_ms;
	int max_attempts, base_ms, cap_ms;
	struct slack_error err;
	char why[256];               /* last transient failure, for give-up */
	/* the exchange in progress */
	struct buf body;
	int body_too_big;
	long retry_after;            /* seconds, -1 when no header */
	char req_id[64];             /* x-slack-req-id, for logs */
	char curl_err[CURL_ERROR_SIZE];
};

static void wipe_free(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void buf_wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

int slack_global_init(void)
{
	static int done;

	if (done)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return PV_ENOMEM;
	done = 1;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct slack *s = ud;
	size_t n = size * nmemb;

	if (buf_append(&s->body, p, n) < 0) {
		s->body_too_big = 1;
		return 0;   /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

/* Whether header line p (len bytes) is "name:" (case-insensitive); sets
 * *value to the trimmed value, NUL-terminated in tmp. */
static int header_value(const char *p, size_t len, const char *name, char *tmp,
			size_t tmplen)
{
	size_t nl = strlen(name), i, j;

	if (len <= nl || p[nl] != ':' || strncasecmp(p, name, nl) != 0)
		return 0;
	for (i = nl + 1; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	for (j = len; j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' ||
				p[j - 1] == ' ' || p[j - 1] == '\t'); j--)
		;
	snprintf(tmp, tmplen, "%.*s", (int)(j - i), p + i);
	return 1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct slack *s = ud;
	size_t n = size * nmemb;
	char v[64], *end;
	long secs;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (e.g. after 100 Continue) starts afresh */
		s->retry_after = -1;
		s->req_id[0] = '\0';
	} else if (header_value(p, n, "retry-after", v, sizeof(v))) {
		errno = 0;
		secs = strtol(v, &end, 10);
		s->retry_after = (!errno && end != v && !*end && secs >= 0) ? secs : -1;
	} else if (header_value(p, n, "x-slack-req-id", v, sizeof(v))) {
		snprintf(s->req_id, sizeof(s->req_id), "%s", v);
	}
	return n;
}

/* Creates a client whose requests carry `auth_header` ("Authorization: …"). */
static int slack_open(struct slack **out, const struct config *cfg, const char *auth_header)
{
	struct slack *s = NULL;
	struct curl_slist *h;
	const char *base = cfg ? config_get(cfg, "slack.api_base") : NULL;
	size_t blen;
	int rc;

	*out = NULL;
	if (!base || !*base)
		return PV_EINVAL;
	rc = slack_global_init();
	if (rc < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return PV_ENOMEM;
	buf_init(&s->body, SLACK_MAX_BODY);
	s->timeout_ms = SLACK_DEFAULT_TIMEOUT_MS;
	s->max_attempts = SLACK_DEFAULT_ATTEMPTS;
	s->base_ms = SLACK_DEFAULT_BASE_MS;
	s->cap_ms = SLACK_DEFAULT_CAP_MS;
	s->retry_after = -1;
	rc = PV_ENOMEM;
	blen = strlen(base);
	s->api_base = malloc(blen + 2);
	if (!s->api_base)
		goto out;
	memcpy(s->api_base, base, blen + 1);
	if (base[blen - 1] != '/') {
		s->api_base[blen] = '/';
		s->api_base[blen + 1] = '\0';
	}
	h = curl_slist_append(NULL, auth_header);
	if (!h)
		goto out;
	s->headers = h;
	h = curl_slist_append(s->headers, "Accept: application/json");
	if (!h)
		goto out;
	s->curl = curl_easy_init();
	if (!s->curl)
		goto out;
	if (curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS,
			     (long)SLACK_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, SLACK_USER_AGENT) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->curl_err) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	slack_free(s);
	return rc;
}

int slack_new(struct slack **out, const struct config *cfg, const char *token)
{
	struct buf h;
	int rc;

	*out = NULL;
	if (!token || !*token || strchr(token, '\r') || strchr(token, '\n'))
		return PV_EINVAL;
	buf_init(&h, SLACK_HEADER_MAX);
	rc = buf_printf(&h, "Authorization: Bearer %s", token);
	if (rc == 0)
		rc = slack_open(out, cfg, buf_cstr(&h));
	if (rc == 0) {
		(*out)->token = strdup(token);
		if (!(*out)->token) {
			slack_free(*out);
			*out = NULL;
			rc = PV_ENOMEM;
		}
	}
	buf_wipe(&h);
	if (rc == 0)
		log_debug("slack: client for token %.5s… at %s", token, (*out)->api_base);
	return rc;
}

void slack_free(struct slack *s)
{
	struct curl_slist *h;

	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	for (h = s->headers; h; h = h->next)
		if (h->data)
			explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(s->headers);
	wipe_free(s->token);
	buf_wipe(&s->body);
	free(s->api_base);
	free(s);
}

void slack_set_timeout(struct slack *s, long ms)
{
	s->timeout_ms = ms > 0 ? ms : SLACK_DEFAULT_TIMEOUT_MS;
}

void slack_set_retry(struct slack *s, int max_attempts, int base_ms, int cap_ms)
{
	s->max_attempts = max_attempts < 1 ? 1 : max_attempts > 100 ? 100 : max_attempts;
	s->base_ms = base_ms < 0 ? 0 : base_ms > 600000 ? 600000 : base_ms;
	s->cap_ms = cap_ms < s->base_ms ? s->base_ms : cap_ms > 600000 ? 600000 : cap_ms;
}

const struct slack_error *slack_last_error(const struct slack *s)
{
	return &s->err;
}

/* ------------------------------------------------------------------------ */
/* Transport with retries                                                    */
/* ------------------------------------------------------------------------ */

/* A random number in [0, n]. */
static long jitter(long n)
{
	uint32_t r = 0;

	if (n <= 0 || token_random(&r, sizeof(r)) < 0)
		return 0;
	return (long)(r % ((uint32_t)n + 1));
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Delay before attempt `attempt`+1 (attempt counts from 1):
 * d = min(cap, base * 2^(attempt-1)), then d/2 + random(0, d/2). */
static long backoff_ms(const struct slack *s, int attempt)
{
	long d = s->base_ms;

	for (int i = 1; i < attempt && d < s->cap_ms; i++)
		d *= 2;
	if (d > s->cap_ms)
		d = s->cap_ms;
	return d / 2 + jitter(d - d / 2);
}

/* Transport failures worth another attempt. */
static int curl_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return 1;
	default:
		return 0;
	}
}

static const char *curl_code_name(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT: return "timeout";
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return "dns_failed";
	case CURLE_COULDNT_CONNECT: return "connect_failed";
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return "connection_failed";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM: return "tls_failed";
	default: return "http_failed";
	}
}

enum attempt_result { ATTEMPT_DONE, ATTEMPT_FAIL, ATTEMPT_BACKOFF, ATTEMPT_WAIT };

/* One exchange.  DONE with *out set, FAIL with s->err and *rc set, or a
 * retry verdict (BACKOFF: exponential; WAIT: Retry-After) with s->err set
 * to what happened. */
static enum attempt_result slack_attempt(struct slack *s, const char *url,
					 const char *post, size_t post_len,
					 json_object **out, int *rc)
{
	const char *method = s->err.method;
	const struct slack_code *c;
	CURLcode cc;
	long status = 0;

	buf_reset(&s->body);
	s->body_too_big = 0;
	s->retry_after = -1;
	s->req_id[0] = '\0';
	s->curl_err[0] = '\0';
	*rc = PV_EREMOTE;
	if (curl_easy_setopt(s->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->timeout_ms) != CURLE_OK) {
		*rc = PV_ENOMEM;
		err_set(&s->err, SLACK_ERR_FATAL, "http_failed",
			"the request to Slack could not be prepared.");
		return ATTEMPT_FAIL;
	}
	if (post) {
		if (curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)post_len) != CURLE_OK ||
		    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, post) != CURLE_OK) {
			*rc = PV_ENOMEM;
			err_set(&s->err, SLACK_ERR_FATAL, "http_failed",
				"the request to Slack could not be prepared.");
			return ATTEMPT_FAIL;
		}
	} else {
		curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	s->err.http_status = status;
	if (s->body_too_big) {
		*rc = PV_ETOOBIG;
		err_set(&s->err, SLACK_ERR_FATAL, "too_big",
			"Slack's answer to %s was larger than %zu MiB.", method,
			SLACK_MAX_BODY >> 20);
		return ATTEMPT_FAIL;
	}
	if (cc != CURLE_OK) {
		const char *detail = s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc);

		if (cc == CURLE_OPERATION_TIMEDOUT)
			err_set(&s->err, SLACK_ERR_RETRYABLE, "timeout",
				"Slack did not answer %s within %ld ms.", method, s->timeout_ms);
		else
			err_set(&s->err,
				curl_retryable(cc) ? SLACK_ERR_RETRYABLE : SLACK_ERR_FATAL,
				curl_code_name(cc), "Slack could not be reached for %s (%s).",
				method, detail);
		return curl_retryable(cc) ? ATTEMPT_BACKOFF : ATTEMPT_FAIL;
	}
	if (status == 429) {
		err_set(&s->err, SLACK_ERR_RETRYABLE, "ratelimited",
			"Slack rate-limited %s.", method);
		return ATTEMPT_WAIT;
	}
	if (status >= 500 || status == 408) {
		char code[32];

		snprintf(code, sizeof(code), "http_%ld", status);
		err_set(&s->err, SLACK_ERR_RETRYABLE, code, "Slack answered HTTP %ld to %s.",
			status, method);
		return ATTEMPT_BACKOFF;
	}
	*rc = slack_decode_envelope(buf_cstr(&s->body), s->body.len, out, &s->err);
	if (*rc == 0)
		return ATTEMPT_DONE;
	if (*rc != PV_EREMOTE) {
		err_set(&s->err, SLACK_ERR_FATAL, "out_of_memory",
			"out of memory reading Slack's answer to %s.", method);
		return ATTEMPT_FAIL;
	}
	if (strcmp(s->err.code, "bad_json") == 0 || strcmp(s->err.code, "bad_envelope") == 0) {
		if (status >= 200 && status < 300 && s->err.kind == SLACK_ERR_RETRYABLE)
			return ATTEMPT_BACKOFF;
		if (status < 200 || status >= 300) {
			char code[32];

			snprintf(code, sizeof(code), "http_%ld", status);
			err_set(&s->err, SLACK_ERR_FATAL, code,
				"Slack answered HTTP %ld to %s; check slack.api_base.", status,
				method);
		}
		return ATTEMPT_FAIL;
	}
	c = slack_code_find(s->err.code);
	if (c && c->retry_now)
		return strcmp(c->code, "ratelimited") == 0 ? ATTEMPT_WAIT : ATTEMPT_BACKOFF;
	return ATTEMPT_FAIL;
}

/* Calls `method` (GET with `query`, or POST of the form `post`), retrying as
 * slack.h says.  0 with *out the answer's root (caller puts it), or a
 * negative code with s->err filled. */
static int slack_call(struct slack *s, const char *method, const struct buf *query,
		      const char *post, size_t post_len, json_object **out)
{
	struct buf url;
	enum attempt_result r = ATTEMPT_FAIL;
	int rc, attempt;
	long wait;

	*out = NULL;
	memset(&s->err, 0, sizeof(s->err));
	s->why[0] = '\0';
	snprintf(s->err.method, sizeof(s->err.method), "%s", method);
	buf_init(&url, SLACK_URL_MAX);
	rc = buf_puts(&url, s->api_base);
	if (rc == 0)
		rc = buf_puts(&url, method);
	if (rc == 0 && query && query->len)
		rc = buf_putc(&url, '?');
	if (rc == 0 && query && query->len)
		rc = buf_append(&url, query->data, query->len);
	if (rc < 0) {
		rc = PV_ENOMEM;
		err_set(&s->err, SLACK_ERR_FATAL, "request_too_big",
			"the request to Slack %s is too large.", method);
		goto out;
	}
	for (attempt = 1;; attempt++) {
		r = slack_attempt(s, buf_cstr(&url), post, post_len, out, &rc);
		if (r == ATTEMPT_DONE || r == ATTEMPT_FAIL)
			break;
		snprintf(s->why, sizeof(s->why), "%s", s->err.message);
		if (r == ATTEMPT_WAIT && s->retry_after > SLACK_MAX_RETRY_AFTER) {
			err_set(&s->err, SLACK_ERR_RETRYABLE, "ratelimited",
				"Slack asked to wait %ld s before calling %s again; the sync "
				"will try again later.", s->retry_after, method);
			rc = PV_EREMOTE;
			goto out;
		}
		if (attempt >= s->max_attempts)
			break;
		if (r == ATTEMPT_WAIT)
			/* Never earlier than Retry-After (counted from now, after
			 * the answer arrived); 1-2 s when Slack gave none. */
			wait = s->retry_after >= 0
			       ? s->retry_after * 1000 + jitter(s->base_ms < 1000 ? s->base_ms : 1000)
			       : 1000 + jitter(1000);
		else
			wait = backoff_ms(s, attempt);
		log_warn("slack: %s: %s (%s); retrying in %ld ms (attempt %d of %d)%s%s",
			 method, s->err.code, s->why, wait, attempt + 1, s->max_attempts,
			 s->req_id[0] ? " req " : "", s->req_id);
		sleep_ms(wait);
	}
	if (r == ATTEMPT_DONE) {
		s->err.kind = SLACK_ERR_NONE;
		s->err.code[0] = '\0';
		s->err.message[0] = '\0';
		rc = 0;
		goto out;
	}
	if (r != ATTEMPT_FAIL) {
		/* attempts ran out */
		char code[sizeof(s->err.code)];

		memcpy(code, s->err.code, sizeof(code));
		err_set(&s->err, SLACK_ERR_RETRYABLE, code,
			"%.*s Gave up after %d attempts; the sync will try again later.",
			(int)(sizeof(s->err.message) - 64), s->why, attempt);
		rc = PV_EREMOTE;
	}
	log_warn("slack: %s: failed: %s (%s, HTTP %ld)%s%s", method, s->err.message,
		 s->err.code[0] ? s->err.code : "no code", s->err.http_status,
		 s->req_id[0] ? " req " : "", s->req_id);
out:
	buf_release(&url);
	return rc;
}

/* Appends "&name=value" (no '&' first) with value URL-encoded. */
static int add_param(struct buf *q, const char *name, const char *value)
{
	char *esc;
	int rc;

	if (q->len && (rc = buf_putc(q, '&')) < 0)
		return rc;
	rc = buf_puts(q, name);
	if (rc == 0)
		rc = buf_putc(q, '=');
	if (rc < 0)
		return rc;
	esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return PV_ENOMEM;
	rc = buf_puts(q, esc);
	explicit_bzero(esc, strlen(esc));
	curl_free(esc);
	return rc;
}

/* Sets s->err for an answer whose content we cannot use. */
static int bad_answer(struct slack *s, const char *what)
{
	err_set(&s->err, SLACK_ERR_FATAL, "bad_answer",
		"Slack's answer to %s has no usable %s.", s->err.method, what);
	return PV_EREMOTE;
}

static int nomem(struct slack *s)
{
	err_set(&s->err, SLACK_ERR_FATAL, "out_of_memory", "out of memory decoding %s.",
		s->err.method);
	return PV_ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Methods                                                                   */
/* ------------------------------------------------------------------------ */

void slack_auth_release(struct slack_auth *a)
{
	if (!a)
		return;
	free(a->url);
	free(a->team);
	free(a->team_id);
	free(a->user);
	free(a->user_id);
	free(a->bot_id);
	free(a->app_id);
	memset(a, 0, sizeof(*a));
}

int slack_auth_test(struct slack *s, struct slack_auth *out)
{
	json_object *root = NULL;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	rc = slack_call(s, "auth.test", NULL, NULL, 0, &root);
	if (rc < 0 || !out)
		goto out;
	rc = copy_text(root, "url", &out->url);
	if (rc == 0)
		rc = copy_text(root, "team", &out->team);
	if (rc == 0)
		rc = copy_text(root, "team_id", &out->team_id);
	if (rc == 0)
		rc = copy_text(root, "user", &out->user);
	if (rc == 0)
		rc = copy_text(root, "user_id", &out->user_id);
	if (rc == 0)
		rc = copy_text(root, "bot_id", &out->bot_id);
	if (rc == 0)
		rc = copy_text(root, "app_id", &out->app_id);
	if (rc < 0) {
		slack_auth_release(out);
		rc = nomem(s);
		goto out;
	}
	out->expires_in = (long)count_of(root, "expires_in");
out:
	json_object_put(root);
	return rc;
}

int slack_team_info(struct slack *s, struct slack_team *out)
{
	json_object *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = slack_call(s, "team.info", NULL, NULL, 0, &root);
	if (rc < 0)
		goto out;
	rc = slack_decode_team(member(root, "team"), out);
	if (rc == PV_EINVAL)
		rc = bad_answer(s, "team");
	else if (rc < 0)
		rc = nomem(s);
out:
	json_object_put(root);
	return rc;
}

int slack_user_info(struct slack *s, const char *user_id, struct slack_user *out)
{
	json_object *root = NULL;
	struct buf q;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(&q, SLACK_URL_MAX);
	if (!user_id || !*user_id) {
		memset(&s->err, 0, sizeof(s->err));
		err_set(&s->err, SLACK_ERR_FATAL, "invalid_arguments", "no Slack user id given.");
		rc = PV_EINVAL;
		goto out;
	}
	rc = add_param(&q, "user", user_id);
	if (rc < 0) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = slack_call(s, "users.info", &q, NULL, 0, &root);
	if (rc < 0)
		goto out;
	rc = slack_decode_user(member(root, "user"), out);
	if (rc == PV_EINVAL)
		rc = bad_answer(s, "user");
	else if (rc < 0)
		rc = nomem(s);
out:
	json_object_put(root);
	buf_release(&q);
	return rc;
}

int slack_auth_revoke(struct slack *s)
{
	json_object *root = NULL;
	int rc;

	/* POST: it changes state; an empty form, the token is in the header. */
	rc = slack_call(s, "auth.revoke", NULL, "", 0, &root);
	json_object_put(root);
	if (rc == 0)
		log_info("slack: token %.5s… revoked", s->token ? s->token : "");
	return rc;
}

/* --- users.list iterator ---------------------------------------------- */

struct slack_users_iter {
	struct slack *s;
	int limit;
	char *cursor;            /* NULL for page 1 */
	int done;                /* 1: listing complete */
	int failed;              /* < 0: the error returned again */
	int restarts;
	unsigned long pages;
	struct slack_user *page; /* the current page, page[0..n) */
	size_t n, cap;
};

int slack_users_begin(struct slack *s, int limit, struct slack_users_iter **out)
{
	struct slack_users_iter *it;

	*out = NULL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return PV_ENOMEM;
	it->s = s;
	it->limit = limit <= 0 ? SLACK_USERS_LIMIT
		  : limit > SLACK_USERS_MAX_LIMIT ? SLACK_USERS_MAX_LIMIT : limit;
	*out = it;
	return 0;
}

static void iter_clear_page(struct slack_users_iter *it)
{
	for (size_t i = 0; i < it->n; i++)
		slack_user_release(&it->page[i]);
	it->n = 0;
}

/* Fetches one page for it->cursor into root. */
static int iter_fetch(struct slack_users_iter *it, json_object **root)
{
	struct buf q;
	char lim[16];
	int rc;

	buf_init(&q, SLACK_URL_MAX);
	snprintf(lim, sizeof(lim), "%d", it->limit);
	rc = add_param(&q, "limit", lim);
	if (rc == 0 && it->cursor)
		rc = add_param(&q, "cursor", it->cursor);
	if (rc < 0)
		rc = PV_ENOMEM;
	else
		rc = slack_call(it->s, "users.list", &q, NULL, 0, root);
	buf_release(&q);
	if (rc == 0)
		it->pages++;
	return rc;
}

int slack_users_next(struct slack_users_iter *it, struct slack_user **page, size_t *n)
{
	struct slack *s = it->s;
	json_object *root = NULL, *members;
	const char *next;
	size_t len, i;
	int rc;

	*page = NULL;
	*n = 0;
	iter_clear_page(it);
	if (it->failed)
		return it->failed;
	if (it->done)
		return 0;
	rc = iter_fetch(it, &root);
	if (rc == PV_EREMOTE && it->cursor && it->restarts == 0 &&
	    strcmp(s->err.code, "invalid_cursor") == 0) {
		/* §11.14: the cursor expired; start over once. */
		log_warn("slack: users.list: invalid_cursor after %lu pages; restarting "
			 "from page 1", it->pages);
		it->restarts++;
		free(it->cursor);
		it->cursor = NULL;
		rc = iter_fetch(it, &root);
	}
	if (rc < 0)
		goto out;
	members = member(root, "members");
	if (!members || !json_object_is_type(members, json_type_array)) {
		rc = bad_answer(s, "members");
		goto out;
	}
	len = json_object_array_length(members);
	if (len > it->cap) {
		struct slack_user *p = realloc(it->page, len * sizeof(*p));

		if (!p) {
			rc = nomem(s);
			goto out;
		}
		it->page = p;
		it->cap = len;
	}
	for (i = 0; i < len; i++) {
		rc = slack_decode_user(json_object_array_get_idx(members, i), &it->page[i]);
		if (rc < 0) {
			rc = rc == PV_EINVAL ? bad_answer(s, "member id") : nomem(s);
			goto out;
		}
		it->n = i + 1;
	}
	next = text_of(member(member(root, "response_metadata"), "next_cursor"));
	if (!next) {
		it->done = 1;
	} else if (it->cursor && strcmp(next, it->cursor) == 0) {
		err_set(&s->err, SLACK_ERR_FATAL, "cursor_loop",
			"Slack's users.list returned the same cursor twice; the listing "
			"cannot finish.");
		rc = PV_EREMOTE;
		goto out;
	} else {
		char *c = strdup(next);

		if (!c) {
			rc = nomem(s);
			goto out;
		}
		free(it->cursor);
		it->cursor = c;
	}
	*page = it->page;
	*n = it->n;
	rc = 1;
out:
	json_object_put(root);   /* the tree goes as soon as it is decoded */
	if (rc < 0) {
		iter_clear_page(it);
		it->failed = rc;
	}
	return rc;
}

void slack_users_end(struct slack_users_iter *it)
{
	if (!it)
		return;
	iter_clear_page(it);
	free(it->page);
	free(it->cursor);
	free(it);
}

int slack_users_restarts(const struct slack_users_iter *it)
{
	return it->restarts;
}

unsigned long slack_users_pages(const struct slack_users_iter *it)
{
	return it->pages;
}

/* --- user groups ------------------------------------------------------ */

void slack_groups_free(struct slack_group *groups, size_t n)
{
	for (size_t i = 0; groups && i < n; i++)
		slack_group_release(&groups[i]);
	free(groups);
}

void slack_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

int slack_groups_list(struct slack *s, int include_users, int include_disabled,
		      struct slack_group **out, size_t *n)
{
	json_object *root = NULL, *arr;
	struct slack_group *g = NULL;
	struct buf q;
	size_t len, i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	buf_init(&q, SLACK_URL_MAX);
	rc = add_param(&q, "include_count", "true");
	if (rc == 0)
		rc = add_param(&q, "include_users", include_users ? "true" : "false");
	if (rc == 0)
		rc = add_param(&q, "include_disabled", include_disabled ? "true" : "false");
	if (rc < 0) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = slack_call(s, "usergroups.list", &q, NULL, 0, &root);
	if (rc < 0)
		goto out;
	arr = member(root, "usergroups");
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		rc = bad_answer(s, "usergroups");
		goto out;
	}
	len = json_object_array_length(arr);
	if (len) {
		g = calloc(len, sizeof(*g));
		if (!g) {
			rc = nomem(s);
			goto out;
		}
	}
	for (i = 0; i < len; i++, k++) {
		rc = slack_decode_group(json_object_array_get_idx(arr, i), &g[i]);
		if (rc < 0) {
			rc = rc == PV_EINVAL ? bad_answer(s, "usergroup id") : nomem(s);
			goto out;
		}
	}
	*out = g;
	*n = len;
	g = NULL;
out:
	slack_groups_free(g, k);
	json_object_put(root);
	buf_release(&q);
	return rc;
}

int slack_group_members(struct slack *s, const char *group_id, char ***ids, size_t *n)
{
	json_object *root = NULL, *arr;
	struct buf q;
	int rc;

	*ids = NULL;
	*n = 0;
	buf_init(&q, SLACK_URL_MAX);
	if (!group_id || !*group_id) {
		memset(&s->err, 0, sizeof(s->err));
		err_set(&s->err, SLACK_ERR_FATAL, "invalid_arguments",
			"no Slack user group id given.");
		rc = PV_EINVAL;
		goto out;
	}
	rc = add_param(&q, "usergroup", group_id);
	if (rc == 0)
		rc = add_param(&q, "include_disabled", "true");
	if (rc < 0) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = slack_call(s, "usergroups.users.list", &q, NULL, 0, &root);
	if (rc < 0)
		goto out;
	arr = member(root, "users");
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		rc = bad_answer(s, "users");
		goto out;
	}
	rc = decode_ids(arr, ids, n);
	if (rc < 0)
		rc = nomem(s);
out:
	json_object_put(root);
	buf_release(&q);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* OAuth v2                                                                  */
/* ------------------------------------------------------------------------ */

void slack_oauth_release(struct slack_oauth *o)
{
	if (!o)
		return;
	wipe_free(o->access_token);
	wipe_free(o->refresh_token);
	free(o->scope);
	free(o->team_id);
	free(o->team_name);
	free(o->bot_user_id);
	free(o->app_id);
	free(o->authed_user_id);
	memset(o, 0, sizeof(*o));
}

int slack_authorize_url(const struct config *cfg, const char *scopes,
			const char *redirect_uri, const char *state, struct buf *out)
{
	const char *base = config_get(cfg, "slack.authorize_url");
	const char *client_id = config_get(cfg, "slack.client_id");
	struct buf q;
	int rc;

	if (!base || !*base || !client_id || !*client_id || !scopes || !*scopes ||
	    !state || !*state)
		return PV_EINVAL;
	buf_init(&q, SLACK_URL_MAX);
	rc = add_param(&q, "client_id", client_id);
	if (rc == 0)
		rc = add_param(&q, "scope", scopes);
	if (rc == 0 && redirect_uri && *redirect_uri)
		rc = add_param(&q, "redirect_uri", redirect_uri);
	if (rc == 0)
		rc = add_param(&q, "state", state);
	if (rc == 0)
		rc = buf_puts(out, base);
	if (rc == 0)
		rc = buf_putc(out, strchr(base, '?') ? '&' : '?');
	if (rc == 0)
		rc = buf_append(out, buf_cstr(&q), q.len);
	buf_release(&q);
	return rc < 0 ? PV_ENOMEM : 0;
}

/* POSTs `form` to oauth.v2.access with the client credentials and decodes
 * the answer into *out. */
static int oauth_call(const struct config *cfg, const struct buf *form,
		      struct slack_oauth *out, struct slack_error *errout)
{
	const char *id = config_get(cfg, "slack.client_id");
	const char *secret = config_get(cfg, "slack.client_secret");
	struct slack *s = NULL;
	struct slack_error local;
	struct slack_error *err = errout ? errout : &local;
	struct buf cred, header;
	json_object *root = NULL, *team;
	unsigned char *b64 = NULL;
	int rc;

	memset(err, 0, sizeof(*err));
	snprintf(err->method, sizeof(err->method), "oauth.v2.access");
	buf_init(&cred, SLACK_HEADER_MAX);
	buf_init(&header, SLACK_HEADER_MAX);
	if (!id || !*id || !secret || !*secret) {
		err_set(err, SLACK_ERR_FATAL, "not_configured",
			"slack.client_id and slack.client_secret must be configured.");
		rc = PV_EINVAL;
		goto out;
	}
	rc = buf_printf(&cred, "%s:%s", id, secret);
	if (rc < 0)
		goto nomem;
	b64 = malloc(4 * ((cred.len + 2) / 3) + 1);
	if (!b64)
		goto nomem;
	EVP_EncodeBlock(b64, (const unsigned char *)cred.data, (int)cred.len);
	rc = buf_printf(&header, "Authorization: Basic %s", (const char *)b64);
	if (rc < 0)
		goto nomem;
	rc = slack_open(&s, cfg, buf_cstr(&header));
	if (rc == PV_EINVAL) {
		err_set(err, SLACK_ERR_FATAL, "not_configured",
			"slack.api_base must be configured.");
		goto out;
	}
	if (rc < 0)
		goto nomem;
	rc = slack_call(s, "oauth.v2.access", NULL, buf_cstr(form), form->len, &root);
	*err = s->err;
	if (rc < 0)
		goto out;
	team = member(root, "team");
	rc = copy_text(root, "access_token", &out->access_token);
	if (rc == 0)
		rc = copy_text(root, "refresh_token", &out->refresh_token);
	if (rc == 0)
		rc = copy_text(root, "scope", &out->scope);
	if (rc == 0)
		rc = copy_text(team, "id", &out->team_id);
	if (rc == 0)
		rc = copy_text(team, "name", &out->team_name);
	if (rc == 0)
		rc = copy_text(root, "bot_user_id", &out->bot_user_id);
	if (rc == 0)
		rc = copy_text(root, "app_id", &out->app_id);
	if (rc == 0)
		rc = copy_text(member(root, "authed_user"), "id", &out->authed_user_id);
	if (rc < 0)
		goto nomem;
	out->expires_in = (long)count_of(root, "expires_in");
	if (!out->access_token) {
		err_set(err, SLACK_ERR_FATAL, "no_bot_token",
			"Slack's answer carries no bot token; the app must request bot scopes.");
		rc = PV_EREMOTE;
	}
	goto out;
nomem:
	err_set(err, SLACK_ERR_FATAL, "out_of_memory", "out of memory talking to Slack.");
	rc = PV_ENOMEM;
out:
	if (rc < 0)
		slack_oauth_release(out);
	json_object_put(root);
	slack_free(s);
	if (b64) {
		explicit_bzero(b64, strlen((char *)b64));
		free(b64);
	}
	buf_wipe(&header);
	buf_wipe(&cred);
	return rc;
}

int slack_oauth_access_ex(const struct config *cfg, const char *code,
			  const char *redirect_uri, struct slack_oauth *out,
			  struct slack_error *err)
{
	struct buf form;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!code || !*code)
		return PV_EINVAL;
	buf_init(&form, SLACK_FORM_MAX);
	rc = add_param(&form, "grant_type", "authorization_code");
	if (rc == 0)
		rc = add_param(&form, "code", code);
	if (rc == 0 && redirect_uri && *redirect_uri)
		rc = add_param(&form, "redirect_uri", redirect_uri);
	if (rc == 0)
		rc = oauth_call(cfg, &form, out, err);
	else
		rc = PV_ENOMEM;
	buf_wipe(&form);
	return rc;
}

int slack_oauth_access(const struct config *cfg, const char *code,
		       const char *redirect_uri, struct slack_oauth *out)
{
	return slack_oauth_access_ex(cfg, code, redirect_uri, out, NULL);
}

int slack_oauth_refresh_ex(const struct config *cfg, const char *refresh_token,
			   struct slack_oauth *out, struct slack_error *err)
{
	struct buf form;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!refresh_token || !*refresh_token)
		return PV_EINVAL;
	buf_init(&form, SLACK_FORM_MAX);
	rc = add_param(&form, "grant_type", "refresh_token");
	if (rc == 0)
		rc = add_param(&form, "refresh_token", refresh_token);
	if (rc == 0)
		rc = oauth_call(cfg, &form, out, err);
	else
		rc = PV_ENOMEM;
	buf_wipe(&form);
	return rc;
}

int slack_oauth_refresh(const struct config *cfg, const char *refresh_token,
			struct slack_oauth *out)
{
	return slack_oauth_refresh_ex(cfg, refresh_token, out, NULL);
}
