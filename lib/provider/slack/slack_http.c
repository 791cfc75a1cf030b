/*
 * slack_http.c - the transport: a client's libcurl handle, one exchange,
 * and the retry loop (backoff with jitter, Retry-After, giving up) that
 * every method goes through.  Contract in slack.h and slack_int.h.
 */
#include "provider/slack/slack_int.h"
#include "provider/slack/slack_stats.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/token.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Client                                                                    */
/* ------------------------------------------------------------------------ */


void slack_wipe_free(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

void slack_buf_wipe(struct buf *b)
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

/* Whole seconds, as Slack and HTTP (delay-seconds) send them; a fraction
 * is taken as given, rounded up to the ms: the emulator's tiers at a speed
 * factor send Slack's seconds shrunk by it ("0.367" at x60). */
long slack_parse_retry_after(const char *v)
{
	const long long cap = (long long)SLACK_MAX_RETRY_AFTER * 10;  /* still "too long" */
	const char *p = v, *frac;
	long long ms = 0, unit = 100;
	int below = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		if ((ms = ms * 10 + (*p - '0')) > cap)
			ms = cap;
	if (p == v)
		return -1;
	ms *= 1000;
	if (*p == '.') {
		for (frac = ++p; *p >= '0' && *p <= '9'; p++) {
			if (unit) {
				ms += (*p - '0') * unit;
				unit /= 10;
			} else if (*p != '0') {
				below = 1;
			}
		}
		if (p == frac)
			return -1;
		ms += below;
	}
	return *p ? -1 : (long)ms;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct slack *s = ud;
	size_t n = size * nmemb;
	char v[64];

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (e.g. after 100 Continue) starts afresh */
		s->retry_after_ms = -1;
		s->req_id[0] = '\0';
	} else if (header_value(p, n, "retry-after", v, sizeof(v))) {
		s->retry_after_ms = slack_parse_retry_after(v);
	} else if (header_value(p, n, "x-slack-req-id", v, sizeof(v))) {
		snprintf(s->req_id, sizeof(s->req_id), "%s", v);
	}
	return n;
}

/* A client against base whose requests carry `auth_header`. */
static int open_base(struct slack **out, const char *base, const char *auth_header)
{
	struct slack *s = NULL;
	struct curl_slist *h;
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
	s->wait_retry_after = 1;
	s->retry_after_ms = -1;
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

/* Creates a client whose requests carry `auth_header` ("Authorization: …"). */
int slack_open(struct slack **out, const struct config *cfg, const char *auth_header)
{
	return open_base(out, cfg ? config_get(cfg, "slack.api_base") : NULL, auth_header);
}

/* A bot client for token against base (slack_new, slack_clone). */
static int open_token(struct slack **out, const char *base, const char *token)
{
	struct buf h;
	int rc;

	*out = NULL;
	if (!token || !*token || strchr(token, '\r') || strchr(token, '\n'))
		return PV_EINVAL;
	buf_init(&h, SLACK_HEADER_MAX);
	rc = buf_printf(&h, "Authorization: Bearer %s", token);
	if (rc == 0)
		rc = open_base(out, base, buf_cstr(&h));
	if (rc == 0) {
		(*out)->token = strdup(token);
		if (!(*out)->token) {
			slack_free(*out);
			*out = NULL;
			rc = PV_ENOMEM;
		}
	}
	slack_buf_wipe(&h);
	if (rc == 0)
		log_debug("slack: client for token %.5s… at %s", token, (*out)->api_base);
	return rc;
}

int slack_new(struct slack **out, const struct config *cfg, const char *token)
{
	*out = NULL;
	return open_token(out, cfg ? config_get(cfg, "slack.api_base") : NULL, token);
}

int slack_clone(const struct slack *s, struct slack **out)
{
	int rc;

	*out = NULL;
	if (!s || !s->token)
		return PV_EINVAL;
	/* api_base already ends with '/': open_base keeps it as it is. */
	rc = open_token(out, s->api_base, s->token);
	if (rc < 0)
		return rc;
	(*out)->timeout_ms = s->timeout_ms;
	(*out)->max_attempts = s->max_attempts;
	(*out)->base_ms = s->base_ms;
	(*out)->cap_ms = s->cap_ms;
	(*out)->wait_retry_after = s->wait_retry_after;
	return 0;
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
	slack_wipe_free(s->token);
	slack_buf_wipe(&s->body);
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

void slack_set_policy(struct slack *s, enum slack_policy policy)
{
	if (policy == SLACK_POLICY_REQUEST) {
		slack_set_timeout(s, SLACK_REQUEST_TIMEOUT_MS);
		slack_set_retry(s, 1, 0, 0);
		s->wait_retry_after = 0;
	} else {
		slack_set_timeout(s, SLACK_DEFAULT_TIMEOUT_MS);
		slack_set_retry(s, SLACK_DEFAULT_ATTEMPTS, SLACK_DEFAULT_BASE_MS,
				SLACK_DEFAULT_CAP_MS);
		s->wait_retry_after = 1;
	}
}

/* libcurl's progress callback: the tick while an answer is awaited. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct slack *s = ud;
	int rc;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (!s->tick)
		return 0;
	rc = s->tick(s->tick_arg);
	if (rc < 0) {
		s->tick_rc = rc;
		return 1;  /* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

void slack_set_tick(struct slack *s, int (*fn)(void *arg), void *arg)
{
	s->tick = fn;
	s->tick_arg = arg;
	curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, fn ? on_progress : NULL);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, fn ? 0L : 1L);
}

int slack_tick_now(struct slack *s)
{
	return s->tick ? s->tick(s->tick_arg) : 0;
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

/* Sleeps ms, calling the tick about every SLACK_TICK_MS; the tick's
 * negative return ends the sleep and is returned. */
static int sleep_ticking(struct slack *s, long ms)
{
	while (ms > 0) {
		long step = s->tick && ms > SLACK_TICK_MS ? SLACK_TICK_MS : ms;
		int rc = s->tick ? s->tick(s->tick_arg) : 0;

		if (rc < 0)
			return rc;
		sleep_ms(step);
		ms -= step;
	}
	return 0;
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

/* The jitter's ceiling after a Retry-After of ms: min(1 s, base delay)
 * as before, and at most a tenth of the wait.  The jitter keeps workers
 * that were rate-limited together from coming back together; a tenth of
 * Slack's waits of tens of seconds is more than the second it was, and a
 * short wait (a window about to turn, or the emulator's shrunk minute) is
 * not made half as long again for nothing. */
static long retry_jitter_ms(const struct slack *s, long ms)
{
	long j = s->base_ms < 1000 ? s->base_ms : 1000;

	return j < ms / 10 ? j : ms / 10;
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

/* ------------------------------------------------------------------------ */
/* Pacing: a method's learned allowance                                      */
/* ------------------------------------------------------------------------ */

/*
 * Slack lets a method's calls through in bursts until its window is full,
 * then answers 429 (SLACK-API.md §6).  A client that only waits out each
 * Retry-After bursts into the next 429 as soon as one slot frees, and
 * again, call after call.  So after a method's first 429 its calls are
 * spaced instead: the window holds `allowance` calls (those Slack counted
 * before the first 429), and the oldest of the last `allowance` leaves it
 * when the Retry-After ends, which gives the window's length; one call per
 * window / allowance then never meets a full window.  Each later 429
 * measures the spacing again.  A 429 after fewer than SLACK_PACE_MIN calls
 * since the last one teaches nothing: the window was not filled by these
 * calls (another client of the app shares it, or Slack had a hiccup), and
 * spacing every call by a whole Retry-After would crawl.  The spacing
 * shrinks by a tenth after each `allowance` calls without a 429, so that a
 * spacing learned from a bad moment fades (a true one costs one 429 now
 * and then).  A method that never met a 429 is never slowed: real Slack
 * allows bursts.  Only the batch policy paces (the request path does not
 * wait).
 */
#define SLACK_PACE_MIN 10  /* Tier 2, the strictest a sync pages, is 20 */
static struct slack_pace *pace_of(struct slack *s, const char *method)
{
	for (int i = 0; i < s->n_pace; i++)
		if (strcmp(s->pace[i].method, method) == 0)
			return &s->pace[i];
	if (s->n_pace == SLACK_PACE_METHODS)
		return NULL;  /* more methods than a sync calls: unpaced */
	memset(&s->pace[s->n_pace], 0, sizeof(s->pace[0]));
	snprintf(s->pace[s->n_pace].method, sizeof(s->pace[0].method), "%s", method);
	return &s->pace[s->n_pace++];
}

/* A call Slack counted (any answer but a 429), started at start_ms. */
static void pace_counted(struct slack_pace *p, long long start_ms)
{
	p->ring[p->n_counted % SLACK_PACE_RING] = start_ms;
	p->n_counted++;
	p->since_429++;
	if (p->interval_us && ++p->paced >= p->allowance) {
		p->interval_us -= p->interval_us / 10;
		p->paced = 0;
	}
}

/* A 429 answered at now_ms asking for retry_ms: the spacing that fits. */
static void pace_learn(struct slack_pace *p, long long now_ms, long retry_ms)
{
	long a;
	long long oldest;

	if (p->since_429 < SLACK_PACE_MIN) {
		p->since_429 = 0;
		return;
	}
	if (!p->allowance)
		p->allowance = p->since_429;
	p->since_429 = 0;
	p->paced = 0;
	if (retry_ms < 0)
		return;
	a = p->allowance;
	if (a > p->n_counted)
		a = p->n_counted;
	if (a > SLACK_PACE_RING)
		a = SLACK_PACE_RING;
	oldest = p->ring[(p->n_counted - a) % SLACK_PACE_RING];
	if (now_ms + retry_ms > oldest)
		p->interval_us = (now_ms + retry_ms - oldest) * 1000 / a;
}

/* Sleeps (ticking) until the method's next call fits its learned spacing. */
static int pace_wait(struct slack *s, struct slack_pace *p)
{
	long long due;

	if (!p || !p->interval_us || !s->wait_retry_after)
		return 0;
	due = p->last_start_ms + (p->interval_us + 999) / 1000;
	return due > clock_mono_ms() ? sleep_ticking(s, (long)(due - clock_mono_ms())) : 0;
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
	s->retry_after_ms = -1;
	s->req_id[0] = '\0';
	s->curl_err[0] = '\0';
	*rc = PV_EREMOTE;
	if (curl_easy_setopt(s->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->timeout_ms) != CURLE_OK) {
		*rc = PV_ENOMEM;
		slack_err_set(&s->err, SLACK_ERR_FATAL, "http_failed",
			"the request to Slack could not be prepared.");
		return ATTEMPT_FAIL;
	}
	if (post) {
		if (curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)post_len) != CURLE_OK ||
		    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, post) != CURLE_OK) {
			*rc = PV_ENOMEM;
			slack_err_set(&s->err, SLACK_ERR_FATAL, "http_failed",
				"the request to Slack could not be prepared.");
			return ATTEMPT_FAIL;
		}
	} else {
		curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	s->err.http_status = status;
	/* For /metrics: every exchange by method and status (0: no answer). */
	slack_stats_note_call(method, status);
	if (s->body_too_big) {
		*rc = PV_ETOOBIG;
		slack_err_set(&s->err, SLACK_ERR_FATAL, "too_big",
			"Slack's answer to %s was larger than %zu MiB.", method,
			SLACK_MAX_BODY >> 20);
		return ATTEMPT_FAIL;
	}
	if (cc != CURLE_OK) {
		const char *detail = s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc);

		if (cc == CURLE_OPERATION_TIMEDOUT)
			slack_err_set(&s->err, SLACK_ERR_RETRYABLE, "timeout",
				"Slack did not answer %s within %ld ms.", method, s->timeout_ms);
		else
			slack_err_set(&s->err,
				curl_retryable(cc) ? SLACK_ERR_RETRYABLE : SLACK_ERR_FATAL,
				curl_code_name(cc), "Slack could not be reached for %s (%s).",
				method, detail);
		return curl_retryable(cc) ? ATTEMPT_BACKOFF : ATTEMPT_FAIL;
	}
	if (status == 429) {
		slack_err_set(&s->err, SLACK_ERR_RETRYABLE, "ratelimited",
			"Slack rate-limited %s.", method);
		return ATTEMPT_WAIT;
	}
	if (status >= 500 || status == 408) {
		char code[32];

		snprintf(code, sizeof(code), "http_%ld", status);
		slack_err_set(&s->err, SLACK_ERR_RETRYABLE, code, "Slack answered HTTP %ld to %s.",
			status, method);
		return ATTEMPT_BACKOFF;
	}
	*rc = slack_decode_envelope(buf_cstr(&s->body), s->body.len, out, &s->err);
	if (*rc == 0)
		return ATTEMPT_DONE;
	if (*rc != PV_EREMOTE) {
		slack_err_set(&s->err, SLACK_ERR_FATAL, "out_of_memory",
			"out of memory reading Slack's answer to %s.", method);
		return ATTEMPT_FAIL;
	}
	if (strcmp(s->err.code, "bad_json") == 0 || strcmp(s->err.code, "bad_envelope") == 0) {
		if (status >= 200 && status < 300 && s->err.kind == SLACK_ERR_RETRYABLE)
			return ATTEMPT_BACKOFF;
		if (status < 200 || status >= 300) {
			char code[32];

			snprintf(code, sizeof(code), "http_%ld", status);
			slack_err_set(&s->err, SLACK_ERR_FATAL, code,
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
int slack_call(struct slack *s, const char *method, const struct buf *query,
		      const char *post, size_t post_len, json_object **out)
{
	struct buf url;
	enum attempt_result r = ATTEMPT_FAIL;
	struct slack_pace *pace;
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
		slack_err_set(&s->err, SLACK_ERR_FATAL, "request_too_big",
			"the request to Slack %s is too large.", method);
		goto out;
	}
	s->tick_rc = 0;
	pace = pace_of(s, method);
	for (attempt = 1;; attempt++) {
		long long start;

		if (s->tick && (s->tick_rc = s->tick(s->tick_arg)) < 0)
			break;
		if ((s->tick_rc = pace_wait(s, pace)) < 0)
			break;
		start = clock_mono_ms();
		if (pace)
			pace->last_start_ms = start;
		r = slack_attempt(s, buf_cstr(&url), post, post_len, out, &rc);
		if (pace && s->err.http_status == 429)
			pace_learn(pace, clock_mono_ms(), s->retry_after_ms);
		else if (pace && s->err.http_status > 0)
			pace_counted(pace, start);
		if (s->tick_rc < 0 || r == ATTEMPT_DONE || r == ATTEMPT_FAIL)
			break;
		snprintf(s->why, sizeof(s->why), "%s", s->err.message);
		if (r == ATTEMPT_WAIT && s->retry_after_ms > SLACK_MAX_RETRY_AFTER * 1000L) {
			slack_err_set(&s->err, SLACK_ERR_RETRYABLE, "ratelimited",
				"Slack asked to wait %ld s before calling %s again; the sync "
				"will try again later.", (s->retry_after_ms + 999) / 1000, method);
			rc = PV_EREMOTE;
			goto out;
		}
		if (r == ATTEMPT_WAIT)
			s->err.retry_after = s->retry_after_ms > 0 ? (s->retry_after_ms + 999) / 1000 : 0;
		if (attempt >= s->max_attempts || (r == ATTEMPT_WAIT && !s->wait_retry_after))
			break;
		if (r == ATTEMPT_WAIT)
			/* Never earlier than Retry-After (counted from now, after
			 * the answer arrived); 1-2 s when Slack gave none. */
			wait = s->retry_after_ms >= 0
			       ? s->retry_after_ms + jitter(retry_jitter_ms(s, s->retry_after_ms))
			       : 1000 + jitter(1000);
		else
			wait = backoff_ms(s, attempt);
		log_warn("slack: %s: %s (%s); retrying in %ld ms (attempt %d of %d)%s%s",
			 method, s->err.code, s->why, wait, attempt + 1, s->max_attempts,
			 s->req_id[0] ? " req " : "", s->req_id);
		if (r == ATTEMPT_WAIT)
			slack_stats_note_wait(method, (double)wait / 1000.0);
		if ((s->tick_rc = sleep_ticking(s, wait)) < 0)
			break;
	}
	if (s->tick_rc < 0) {
		/* The caller's hook said stop: no retry, its code returned. */
		json_object_put(*out);
		*out = NULL;
		slack_err_set(&s->err, SLACK_ERR_FATAL, "stopped",
			"the call to %s was stopped by its caller.", method);
		rc = s->tick_rc;
		goto out;
	}
	if (r == ATTEMPT_DONE) {
		s->err.kind = SLACK_ERR_NONE;
		s->err.code[0] = '\0';
		s->err.message[0] = '\0';
		rc = 0;
		goto out;
	}
	if (r != ATTEMPT_FAIL && !s->wait_retry_after) {
		/* request policy: s->err says what happened, in its words */
		rc = PV_EREMOTE;
	} else if (r != ATTEMPT_FAIL) {
		/* attempts ran out */
		char code[sizeof(s->err.code)];

		memcpy(code, s->err.code, sizeof(code));
		slack_err_set(&s->err, SLACK_ERR_RETRYABLE, code,
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
int slack_add_param(struct buf *q, const char *name, const char *value)
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
int slack_bad_answer(struct slack *s, const char *what)
{
	slack_err_set(&s->err, SLACK_ERR_FATAL, "bad_answer",
		"Slack's answer to %s has no usable %s.", s->err.method, what);
	return PV_EREMOTE;
}

int slack_nomem(struct slack *s)
{
	slack_err_set(&s->err, SLACK_ERR_FATAL, "out_of_memory", "out of memory decoding %s.",
		s->err.method);
	return PV_ENOMEM;
}
