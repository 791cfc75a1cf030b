/*
 * slack_int.h - what the files of the Slack client share and nobody else
 * sees (SQLite's btreeInt.h habit).  The contract for callers is slack.h;
 * this header is included only by slack_http.c (the transport),
 * slack_decode.c (error codes, envelope, object decoders), slack_methods.c
 * (the Web API methods) and slack_oauth.c (OAuth v2).
 *
 * Ownership and errors follow slack.h: JSON getters borrow from the tree
 * they read; slack_dup_text and slack_copy_text give heap copies (NULL for
 * an absent value) and return 0 or PV_ENOMEM; every other int function
 * returns 0 or a negative PV_E* code with s->err filled.
 */
#ifndef PV_SLACK_INT_H
#define PV_SLACK_INT_H

#include "provider/slack/slack.h"

#include <curl/curl.h>

#define SLACK_USER_AGENT "provisioning-slack/1.0"
#define SLACK_URL_MAX ((size_t)64 << 10)   /* method URL with its query */
#define SLACK_FORM_MAX ((size_t)16 << 10)  /* OAuth form body */
#define SLACK_HEADER_MAX ((size_t)16 << 10)

/* What a client learned of one method's rate limit (slack_http.c): the
 * starts of its last calls Slack counted, and once a 429 came, the
 * spacing of calls that fits the limit. */
#define SLACK_PACE_METHODS 4
#define SLACK_PACE_RING 128
struct slack_pace {
	char method[48];
	long long ring[SLACK_PACE_RING]; /* starts (monotonic ms) of counted calls */
	long n_counted;                  /* calls Slack counted (answered, not 429) */
	long since_429;                  /* of which since the last 429 */
	long allowance;                  /* learned calls a window; 0: not yet */
	long long interval_us;           /* learned spacing of starts; 0: no pacing */
	long paced;                      /* calls paced since the spacing was learned */
	long long last_start_ms;
};

/* A client (slack_http.c creates and frees it). */
struct slack {
	CURL *curl;
	struct curl_slist *headers;  /* holds the Authorization header */
	char *api_base;              /* ends with '/' */
	char *token;                 /* NULL for the OAuth client */
	long timeout_ms;
	int max_attempts, base_ms, cap_ms;
	int wait_retry_after;        /* 0: a 429 is not waited out (request path) */
	int (*tick)(void *arg);      /* slack_set_tick: the caller's hook while it waits */
	void *tick_arg;
	int tick_rc;                 /* the hook's negative return that stopped a call */
	struct slack_error err;
	char why[256];               /* last transient failure, for give-up */
	struct slack_pace pace[SLACK_PACE_METHODS];
	int n_pace;
	/* the exchange in progress */
	struct buf body;
	int body_too_big;
	long retry_after_ms;         /* Retry-After in ms, -1 when no header */
	char req_id[64];             /* x-slack-req-id, for logs */
	char curl_err[CURL_ERROR_SIZE];
};

/* --- slack_decode.c: error codes as data ------------------------------- */

/* One of Slack's codes that means something to the product. */
struct slack_code {
	const char *code;
	enum slack_error_kind kind;
	int retry_now;        /* retried inside the call with backoff */
	const char *message;  /* for administrators */
};

/* The table entry for code, or NULL for a code the product does not know. */
const struct slack_code *slack_code_find(const char *code);

/* Clears *err but keeps what the caller set about the exchange (its
 * http_status and method). */
void slack_err_clear(struct slack_error *err);
/* Sets kind, code and a formatted message (truncated to fit). */
void slack_err_set(struct slack_error *err, enum slack_error_kind kind,
		   const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* --- slack_decode.c: drift-tolerant JSON reading (§11.17) -------------- */

/* The member `key` of obj, or NULL when obj is no object, the key is
 * absent or its value is null.  Borrowed. */
json_object *slack_member(json_object *obj, const char *key);
/* A string value (or a number's text); NULL for "", null, booleans,
 * objects and arrays.  Borrowed from v. */
const char *slack_text_of(json_object *v);
/* *out = a copy of t, or NULL when t is NULL. */
int slack_dup_text(const char *t, char **out);
/* *out = a copy of the text of obj's member key (see slack_text_of). */
int slack_copy_text(json_object *obj, const char *key, char **out);
/* A flag: true/false, numbers (non-zero = true), "true"/"1" strings;
 * anything else, absent included, is false. */
int slack_flag_of(json_object *obj, const char *key);
/* A count: numbers, or strings holding a decimal integer; else 0. */
long long slack_count_of(json_object *obj, const char *key);
/* Copies the string entries of a JSON array of ids (others skipped);
 * *ids NULL when none.  Free with slack_ids_free. */
int slack_decode_ids(json_object *arr, char ***ids, size_t *n);

/* --- slack_http.c: client and transport -------------------------------- */

/* Wipes and frees a secret string; NULL is fine. */
void slack_wipe_free(char *p);
/* Wipes a buffer's whole capacity and releases it. */
void slack_buf_wipe(struct buf *b);
/* Creates a client whose requests carry `auth_header` ("Authorization: …"),
 * with the batch policy.  PV_EINVAL when slack.api_base is not set. */
int slack_open(struct slack **out, const struct config *cfg, const char *auth_header);
/* Calls `method` (GET with `query`, or POST of the form `post`), retrying
 * as slack.h says.  0 with *out the answer's root (the caller puts it), or
 * a negative code with s->err filled. */
int slack_call(struct slack *s, const char *method, const struct buf *query,
	       const char *post, size_t post_len, json_object **out);
/* Appends "&name=value" (no '&' first) with value URL-encoded. */
int slack_add_param(struct buf *q, const char *name, const char *value);
/* Sets s->err for an answer whose content we cannot use; PV_EREMOTE. */
int slack_bad_answer(struct slack *s, const char *what);
/* Sets s->err for an allocation failure while decoding; PV_ENOMEM. */
int slack_nomem(struct slack *s);

#endif
