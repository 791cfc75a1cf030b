/*
 * http.h - one FastCGI request and its answer, for provisioning-api.
 *
 * A struct req lives for one request.  Everything hanging off it (copies of
 * FastCGI parameters, the parsed body, JSON built for the answer) belongs to
 * req->pool and is released after FCGX_Finish_r, so handlers never free.
 *
 * Handlers answer exactly once with http_json, http_error, http_fail or
 * http_no_content; the router answers for them when they forget (500).
 */
#ifndef PV_HTTP_H
#define PV_HTTP_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <stdint.h>

#include "core/buf.h"
#include "directory/session.h"

struct config;
struct crypto_key;
struct db;
struct metrics;
struct pool;

/* What a process keeps between requests: configuration and its one
 * database connection (the pool of a single-threaded FastCGI process). */
struct app {
	struct config *cfg;
	struct db *db;
	struct answer_cache *answers;  /* answers given again (api.cache_ms) */
	struct crypto_key *key;   /* seals Slack tokens (crypto.key_file) */
	struct metrics *metrics;  /* request counters (metrics.file) */
	int secure_cookies;
	int session_ttl_hours;
};

#define HTTP_MAX_PATH_IDS 4

struct req {
	FCGX_Request *fcgi;
	struct pool *pool;
	struct app *app;
	const char *method;
	const char *path;
	const char *query;
	const char *client_ip;
	json_object *body;           /* parsed JSON body or NULL */
	int64_t ids[HTTP_MAX_PATH_IDS]; /* numbers matched by {id} in the route */
	int nids;
	struct session_who who;      /* valid when signed_in */
	int signed_in;
	const char *session_token;   /* the caller's cookie value, if any */
	struct buf headers;          /* extra response headers, CRLF-ended */
	int status;                  /* 0 until answered */
	long route_index;            /* index in routes[], -1 until matched */
	const char *request_id;      /* nginx's $request_id, for the log */
	/* Set by the dispatcher when answers and sessions may be kept
	 * (core/answer_cache.h): the counter of commits (keep_changes) and the
	 * clock (keep_now_ms) read before anything of the request read the
	 * database.  keep_key: on a KEEP_ANSWER route, the key the handler's
	 * 200 answer is kept under; NULL: nothing is kept. */
	int keeping;
	const char *keep_key;
	uint64_t keep_changes;
	int64_t keep_now_ms;
};

/* A FastCGI parameter copied into the request pool, or NULL. */
const char *http_param(struct req *req, const char *name);
/* A decoded query-string parameter, or NULL when absent. */
const char *http_query(struct req *req, const char *name);
/* A cookie's value, or NULL. */
const char *http_cookie(struct req *req, const char *name);
/* Adds a response header line such as "Retry-After: 30". */
int http_header(struct req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Answers with obj as JSON; takes over obj. */
void http_json(struct req *req, int status, json_object *obj);
/* Answers with JSON text already written (pjson_buf_*): the large answers
 * that skip json-c's tree.  body stays the caller's. */
void http_json_text(struct req *req, int status, const struct buf *body);
/* The same for len bytes of JSON text. */
void http_json_bytes(struct req *req, int status, const char *text, size_t len);
/* Answers with the error envelope {"error": {code, message, field?}}; a
 * NULL or empty message is replaced by a plain sentence (and logged), so
 * the envelope never carries "message": null. */
void http_error(struct req *req, int status, const char *code, const char *message,
		const char *field);
/* Answers for a library failure: 404 not found, 503 database down, 500. */
void http_fail(struct req *req, int rc);
void http_no_content(struct req *req);
/* Answers 302 to location (an absolute URL or a path). */
void http_redirect(struct req *req, const char *location);
/* Starts an answer whose body the handler then writes itself, piece by
 * piece, with FCGX_PutStr on req->fcgi->out (a streamed download): sends
 * the status line, Content-Type, Cache-Control and the headers added with
 * http_header.  After it the status cannot change any more. */
void http_stream_begin(struct req *req, int status, const char *type);

/* Breaks off a streamed answer that cannot be finished (a failure after
 * http_stream_begin): the connection to nginx is shut down before the
 * request's end record, so nginx ends the client's answer without its
 * last chunk and the download fails visibly instead of being a file that
 * looks whole but is short. */
void http_stream_abort(struct req *req);

/* Reads ?limit= (default, 1..max) into *out; answers 400 and returns
 * negative when it is not a number in range. */
int http_query_limit(struct req *req, int def, int max, int *out);
/* Reads an opaque numeric cursor parameter (0 when absent); answers 400
 * and returns negative when malformed. */
int http_query_cursor(struct req *req, const char *name, int64_t *out);
/* Answers 422 and returns negative when the body has a key not in the
 * NULL-terminated list, so that typos are reported, not ignored. */
int http_body_keys(struct req *req, const char *const *allowed);

#endif
