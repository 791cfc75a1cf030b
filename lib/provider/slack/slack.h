/*
 * slack.h - the one module that talks to Slack's Web API (libcurl + json-c).
 *
 * Everything the product asks of Slack goes through here: auth.test,
 * team.info, users.info, users.list (as a page iterator), usergroups.list,
 * usergroups.users.list, auth.revoke and OAuth v2 (authorize URL, code
 * exchange, token refresh).  Slack facts are in SLACK-API.md, cited as §n.
 *
 * Files: slack_http.c (client, transport, retries), slack_decode.c (error
 * codes, envelope, decoders), slack_methods.c (the Web API methods),
 * slack_oauth.c (OAuth v2), sharing slack_int.h, which nobody else includes.
 *
 * A client (struct slack, opaque) holds one bot token and one libcurl easy
 * handle that is reused across calls, so calls share a kept-alive connection.
 * A client is not thread-safe: use one per thread.  TLS verification is
 * libcurl's default (on) and is never turned off.
 *
 * Requests: GET with URL-encoded query arguments, the token in an
 * "Authorization: Bearer" header (never in the URL, never logged: logs show
 * at most its first 5 characters).  Answers are read into a bounded buffer
 * (SLACK_MAX_BODY); a larger answer fails with PV_ETOOBIG.
 *
 * Retries (inside every call, invisible to the caller unless they run out):
 *   - HTTP 429 (or "ratelimited"): sleep the Retry-After seconds plus a jitter
 *     of up to min(1 s, base delay, a tenth of the Retry-After), never less
 *     than Retry-After; 1-2 s when the header is missing; then send the SAME
 *     request again (same cursor).  Retry-After is whole seconds from Slack;
 *     a decimal is taken to the ms (slack_parse_retry_after).
 *     A Retry-After above SLACK_MAX_RETRY_AFTER seconds is not waited for:
 *     the call fails at once as SLACK_ERR_RETRYABLE.
 *   - HTTP 5xx and 408, timeouts, refused/reset connections, DNS failures,
 *     answers cut short, answers that are not JSON, and the envelope codes
 *     internal_error, fatal_error, service_unavailable, request_timeout:
 *     capped exponential backoff with jitter, delay = d/2 + random(0, d/2)
 *     where d = min(cap, base * 2^(attempt-1)).
 *   Defaults: 5 attempts in all (first try included), base 500 ms, cap 8 s;
 *   see slack_set_retry.  When attempts run out the call fails with
 *   SLACK_ERR_RETRYABLE.  Nothing else is retried.
 *
 * Policies (slack_set_policy): the defaults above are the batch policy of
 * the sync worker, which can afford to wait.  An API request an
 * administrator waits for uses SLACK_POLICY_REQUEST: SLACK_REQUEST_TIMEOUT_MS
 * for the whole exchange, one attempt, and a 429 fails at once with the
 * Retry-After in slack_error.retry_after, so that one organization's slow or
 * rate-limited Slack never holds an API process for long.
 *
 * Errors: every function returns 0 (or a documented non-negative value) on
 * success and a negative code of err.h on failure:
 *   PV_EREMOTE  Slack answered ok:false, or could not be reached or kept
 *               failing after the retries; slack_last_error() says which.
 *   PV_ETOOBIG  Slack's answer was larger than SLACK_MAX_BODY.
 *   PV_ENOMEM   out of memory (or a request too large for its buffer).
 *   PV_EINVAL   bad arguments (NULL or empty id, missing config value);
 *               nothing was sent.
 * After every call on a client, slack_last_error() describes the outcome
 * (kind SLACK_ERR_NONE after a success).
 *
 * Ownership: strings and arrays returned through out-parameters belong to the
 * caller and are released with the matching *_release / *_free function named
 * at each prototype; pages of the users iterator belong to the iterator.
 * Decoded strings are heap copies: no pointer into a JSON tree escapes.
 */
#ifndef PV_SLACK_H
#define PV_SLACK_H

#include "core/buf.h"
#include "core/config.h"
#include "provider/slack/slack_types.h"

#include <json-c/json.h>
#include <stddef.h>

#define SLACK_MAX_BODY ((size_t)64 << 20)  /* largest answer read: 64 MiB */
#define SLACK_JSON_DEPTH 32                /* nesting allowed in an answer */
#define SLACK_MAX_RETRY_AFTER 600          /* seconds; above it: give up */
#define SLACK_DEFAULT_ATTEMPTS 5
#define SLACK_DEFAULT_BASE_MS 500
#define SLACK_DEFAULT_CAP_MS 8000
#define SLACK_DEFAULT_TIMEOUT_MS 30000     /* whole request */
#define SLACK_CONNECT_TIMEOUT_MS 10000
#define SLACK_REQUEST_TIMEOUT_MS 3000      /* whole request, request policy */
#define SLACK_USERS_LIMIT 200              /* default users.list page (§2) */
#define SLACK_USERS_MAX_LIMIT 1000         /* Slack's ceiling (§2) */

/* What went wrong, in the terms a caller acts on (§7, §11.15, §11.16). */
enum slack_error_kind {
	SLACK_ERR_NONE = 0,
	SLACK_ERR_AUTH,      /* invalid_auth, not_authed, account_inactive,
			      * token_revoked: the connection is broken,
			      * an administrator must reconnect */
	SLACK_ERR_EXPIRED,   /* token_expired: refresh the token, retry once */
	SLACK_ERR_SCOPE,     /* missing_scope: reconnect granting `needed` */
	SLACK_ERR_RETRYABLE, /* rate limits, 5xx, timeouts, broken answers
			      * that outlasted the retries: try again later */
	SLACK_ERR_PLAN,      /* plan_upgrade_required: feature needs a paid
			      * plan (user groups on a free workspace) */
	SLACK_ERR_NOT_FOUND, /* user_not_found, users_not_found,
			      * no_such_subteam, team_not_found */
	SLACK_ERR_FATAL,     /* anything else: a bug, a configuration error or
			      * an answer we cannot use; retrying won't help */
};

/* The last failure of a client, or of a decode.  Plain arrays: nothing to
 * free.  Strings are "" when unknown; longer values are truncated. */
struct slack_error {
	enum slack_error_kind kind;
	long http_status;     /* status of the last answer; 0 when none came */
	char method[48];      /* Slack method called, e.g. "users.list" */
	char code[64];        /* Slack's error code, e.g. "token_revoked"; for
			       * failures without one: "http_500", "timeout",
			       * "connect_failed", "bad_json", "too_big"... */
	char needed[256];     /* missing_scope: the scope(s) Slack asks for */
	char message[256];    /* one line for administrators, no secrets */
	long retry_after;     /* a rate limit's Retry-After in seconds, 0 when
			       * none was given or the failure is another */
};

/* Short lower-case name of a kind ("auth", "retryable"...); never NULL. */
const char *slack_error_kind_name(enum slack_error_kind kind);

/* --- Client ------------------------------------------------------------ */

struct slack;

/* Calls curl_global_init once; slack_new does it too.  Call it early in a
 * multi-threaded program, before threads start.  0 or PV_ENOMEM. */
int slack_global_init(void);

/* Creates a client for `token` (copied; the copy is wiped by slack_free)
 * against config key slack.api_base (method URL = base + method name; a
 * missing trailing '/' is added).  PV_EINVAL for an empty token. */
int slack_new(struct slack **out, const struct config *cfg, const char *token);
/* A second client with s's token, base, timeout and retry policy, and its
 * own connection, for another thread; no tick (slack_set_tick it).
 * PV_EINVAL for the OAuth client, which has no token. */
int slack_clone(const struct slack *s, struct slack **out);
/* Frees the client and wipes the token and the last answer; NULL is fine. */
void slack_free(struct slack *s);

/* Total time allowed for one HTTP exchange (default 30 s); ms > 0. */
void slack_set_timeout(struct slack *s, long ms);
/* Retry policy: attempts >= 1 (1 = no retry), delays in milliseconds.
 * Values out of range are clamped.  Tests use small delays. */
void slack_set_retry(struct slack *s, int max_attempts, int base_ms, int cap_ms);

/* How long a caller waits on Slack (see "Policies" above). */
enum slack_policy {
	SLACK_POLICY_BATCH = 0,  /* the sync worker: the defaults */
	SLACK_POLICY_REQUEST,    /* an API request: short, one attempt */
};
/* Sets timeout and retry policy at once; a later slack_set_timeout or
 * slack_set_retry still adjusts it. */
void slack_set_policy(struct slack *s, enum slack_policy policy);

/* A hook the client calls while a call waits on Slack, so that a caller
 * holding a lease can keep it (the sync worker): before each attempt, about
 * every SLACK_TICK_MS while it sleeps (backoff, Retry-After), and while an
 * answer is slow to come (libcurl's progress callback, at least once a
 * second and often more: the hook checks its own clock and returns fast).
 * A negative return stops the call at once with that code (kind
 * SLACK_ERR_FATAL, code "stopped").  fn NULL removes it. */
#define SLACK_TICK_MS 250
void slack_set_tick(struct slack *s, int (*fn)(void *arg), void *arg);

/* Calls the client's hook once, for a caller that waits on something else
 * (another thread's reads) and must keep its lease meanwhile; the hook's
 * return, 0 when there is none. */
int slack_tick_now(struct slack *s);

/* The outcome of the client's last call; borrowed, valid until the next. */
const struct slack_error *slack_last_error(const struct slack *s);

/* --- Methods ----------------------------------------------------------- */

/* What auth.test says about the token (§1.4).  Release with
 * slack_auth_release. */
struct slack_auth {
	char *url;       /* "https://<domain>.slack.com/" */
	char *team;      /* workspace name */
	char *team_id;
	char *user;      /* bot user's name */
	char *user_id;
	char *bot_id;
	char *app_id;
	long expires_in; /* seconds left for a rotating token; 0 otherwise */
};
void slack_auth_release(struct slack_auth *a);

/* auth.test.  out may be NULL to only check the token. */
int slack_auth_test(struct slack *s, struct slack_auth *out);
/* team.info of the token's workspace; *out released with
 * slack_team_release. */
int slack_team_info(struct slack *s, struct slack_team *out);
/* users.info; *out released with slack_user_release.  SLACK_ERR_NOT_FOUND
 * when Slack does not know the user. */
int slack_user_info(struct slack *s, const char *user_id, struct slack_user *out);

/* users.list as an iterator, so that no more than one page is in memory:
 *
 *	struct slack_users_iter *it;
 *	struct slack_user *page;
 *	size_t n;
 *	rc = slack_users_begin(s, 200, &it);
 *	while (rc == 0 && (rc = slack_users_next(it, &page, &n)) == 1)
 *		use page[0..n);
 *	slack_users_end(it);
 *	(rc == 0: complete listing; rc < 0: failure, see slack_last_error)
 *
 * limit <= 0 means SLACK_USERS_LIMIT; larger than SLACK_USERS_MAX_LIMIT is
 * capped.  slack_users_begin sends nothing.  slack_users_next returns 1 with
 * a page (n may be 0: Slack may send short or even empty pages, §2), 0 once
 * the page before had an empty, null or absent next_cursor (§11.14), and a
 * negative code on failure, after which the iterator only returns that code
 * again.  The page array and its strings belong to the iterator and stay
 * valid until the next slack_users_next or slack_users_end; copy (or steal
 * by zeroing the struct) what must outlive them.  Each page's JSON tree is
 * freed as soon as it is decoded.
 *
 * invalid_cursor: the listing restarts from page 1, once per iterator; a
 * second invalid_cursor fails.  Users already returned then come again, so
 * a caller must key what it collects on user id (an upsert) or start over
 * when slack_users_restarts() grows.  Only trust absences after rc == 0.
 * A next_cursor equal to the cursor just sent fails as SLACK_ERR_FATAL
 * rather than looping for ever. */
struct slack_users_iter;
int slack_users_begin(struct slack *s, int limit, struct slack_users_iter **out);
int slack_users_next(struct slack_users_iter *it, struct slack_user **page, size_t *n);
/* Frees the iterator and its last page; NULL is fine. */
void slack_users_end(struct slack_users_iter *it);
/* How many times the listing restarted from page 1 (0 or 1). */
int slack_users_restarts(const struct slack_users_iter *it);
/* Pages fetched so far, restarts included. */
unsigned long slack_users_pages(const struct slack_users_iter *it);

/* usergroups.list with include_count (§4.1).  include_users adds member ids
 * (slack_group.user_ids), include_disabled adds disabled groups.  *out is an
 * array of *n groups (NULL when 0), freed with slack_groups_free.  A free
 * workspace fails with SLACK_ERR_PLAN (§11.16: "no groups", not a crash; the
 * caller decides what that means). */
int slack_groups_list(struct slack *s, int include_users, int include_disabled,
		      struct slack_group **out, size_t *n);
/* Releases each group and frees the array; NULL is fine. */
void slack_groups_free(struct slack_group *groups, size_t n);

/* usergroups.users.list (§4.3): member ids of one group, with
 * include_disabled so that a disabled group answers too.  *ids is an array
 * of *n strings (NULL when 0), freed with slack_ids_free. */
int slack_group_members(struct slack *s, const char *group_id, char ***ids, size_t *n);
void slack_ids_free(char **ids, size_t n);

/* auth.revoke of the client's own token (§1.4).  A token Slack already
 * refuses fails with SLACK_ERR_AUTH; a caller doing a best-effort
 * disconnect can treat that as done. */
int slack_auth_revoke(struct slack *s);

/* --- OAuth v2 (§1) ------------------------------------------------------ */

/* The answer of oauth.v2.access.  Every string is a heap copy or NULL;
 * release with slack_oauth_release, which wipes the tokens first. */
struct slack_oauth {
	char *access_token;   /* bot token "xoxb-…" */
	char *refresh_token;  /* "xoxe-1-…" with token rotation, else NULL */
	char *scope;          /* comma-separated scopes granted to the bot */
	char *team_id;        /* NULL for an org-wide (Grid) install */
	char *team_name;
	char *bot_user_id;
	char *app_id;
	char *authed_user_id; /* the installing user (code exchange only) */
	long expires_in;      /* seconds, with rotation; 0 otherwise */
};
void slack_oauth_release(struct slack_oauth *o);

/* Builds slack.authorize_url?client_id=…&scope=…&redirect_uri=…&state=…
 * into out (appended; every value URL-encoded).  scopes is comma-separated
 * (§1.1); redirect_uri may be NULL (then it is left out).  PV_EINVAL when
 * slack.client_id is not configured or scopes/state are empty. */
int slack_authorize_url(const struct config *cfg, const char *scopes,
			const char *redirect_uri, const char *state, struct buf *out);

/* oauth.v2.access: POSTs the code (and redirect_uri, which must equal the
 * authorize one; NULL if none was sent) with slack.client_id and
 * slack.client_secret as HTTP Basic credentials.  Fills *out (zeroed
 * first).  Slack's refusals (invalid_code, bad_redirect_uri,
 * invalid_client_id, bad_client_secret...) are PV_EREMOTE with kind
 * SLACK_ERR_FATAL, details in *err when err is not NULL. */
int slack_oauth_access_ex(const struct config *cfg, const char *code,
			  const char *redirect_uri, struct slack_oauth *out,
			  struct slack_error *err);
/* The same with a policy: SLACK_POLICY_REQUEST in the OAuth callback. */
int slack_oauth_access_p(const struct config *cfg, const char *code,
			 const char *redirect_uri, enum slack_policy policy,
			 struct slack_oauth *out, struct slack_error *err);
/* oauth.v2.access with grant_type=refresh_token (§1.3).  The refresh token
 * is single use: on success store *out's new pair at once.
 * invalid_refresh_token is SLACK_ERR_AUTH (reconnect). */
int slack_oauth_refresh(const struct config *cfg, const char *refresh_token,
			struct slack_oauth *out);
int slack_oauth_refresh_ex(const struct config *cfg, const char *refresh_token,
			   struct slack_oauth *out, struct slack_error *err);
int slack_oauth_refresh_p(const struct config *cfg, const char *refresh_token,
			  enum slack_policy policy, struct slack_oauth *out,
			  struct slack_error *err);

/* --- Decoding (pure; no socket; unit tested) --------------------------- */

/* Parses an answer body and checks Slack's envelope (§7).  *err is
 * cleared first (its http_status and method kept).
 *   ok:true  -> 0, *out = the parsed object (caller json_object_put()s).
 *   ok:false -> PV_EREMOTE, *out NULL, err->code = Slack's code, kind from
 *               the code, err->needed for missing_scope.
 *   not JSON, cut short or too deep -> PV_EREMOTE, kind SLACK_ERR_RETRYABLE,
 *               code "bad_json" (the client retries these).
 *   JSON but not an object with a boolean "ok" -> PV_EREMOTE, kind
 *               SLACK_ERR_FATAL, code "bad_envelope".
 *   PV_ENOMEM when memory runs out. */
int slack_decode_envelope(const char *body, size_t len, json_object **out,
			  struct slack_error *err);
/* A Retry-After header's value in ms: whole seconds (Slack, HTTP's
 * delay-seconds) or a decimal, rounded up to the ms (the emulator's tiers
 * at a speed factor shrink Slack's seconds: "0.367" at x60); -1 when it is
 * neither (an HTTP date included: Slack sends none).  Values far above
 * SLACK_MAX_RETRY_AFTER are capped, still above it. */
long slack_parse_retry_after(const char *v);
/* The kind for a Slack error code (unknown codes: SLACK_ERR_FATAL). */
enum slack_error_kind slack_error_kind_of(const char *code);

/* Decoders of one Slack object into a zeroed struct (§2.1, §4.2, §5).
 * Tolerant of drift (§11.17): absent, null, "", objects or arrays where a
 * string belongs give NULL; numbers where a string belongs give their
 * text; flags accept true/false, 0/1 and "true"/"false"/"1"/"0"; counts
 * accept numbers and digit strings.  Every optional string that is empty
 * decodes to NULL.  A deleted user's reduced object decodes fine.
 * Only a missing or empty "id" (or obj not an object) is PV_EINVAL; the
 * struct is then left zeroed.  PV_ENOMEM on allocation failure (struct
 * zeroed).  On success release with the matching *_release.
 *
 * user: real_name = profile.real_name, else user.real_name; display_name
 * "" -> NULL; image_url only when profile.is_custom_image is true:
 * image_512, else image_192, else image_original. */
int slack_decode_user(json_object *obj, struct slack_user *out);
/* group: user_count from "user_count" (number or string), disabled when
 * date_delete is non-zero, user_ids from "users" when that is an array
 * (non-string entries skipped). */
int slack_decode_group(json_object *obj, struct slack_group *out);
/* team: the "team" object of team.info. */
int slack_decode_team(json_object *obj, struct slack_team *out);

#endif
