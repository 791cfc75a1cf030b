/*
 * http.h - one FastCGI request and its response, transport side only.
 *
 * emu_req wraps an accepted FCGX_Request: it copies the path, parses the
 * query string, reads the body up to a caller-given limit and parses
 * x-www-form-urlencoded or JSON bodies.  Strings returned by the getters
 * are borrowed and live until emu_req_free().  FastCGI parameter strings
 * (method, content_type, authorization) die at FCGX_Finish_r.
 *
 * emu_resp accumulates a whole response (status, headers, body) so that
 * the caller can record it and a fault can still alter it before it is
 * written with emu_resp_send().
 *
 * Errors: 0 on success, negative errno (-E2BIG: body over the limit,
 * -EINVAL: malformed body, -ENOMEM).
 */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "buf.h"

struct emu_kv {
	char *key;
	char *val;
};

struct emu_args {
	struct emu_kv *items;
	size_t n, cap;
};

struct emu_req {
	FCGX_Request *fcgi;
	const char *method;		/* REQUEST_METHOD, "GET" when absent */
	const char *content_type;	/* CONTENT_TYPE or "" */
	const char *authorization;	/* HTTP_AUTHORIZATION or NULL */
	char *path;			/* request path without query string */
	struct emu_args query;		/* decoded query-string arguments */
	struct emu_args form;		/* decoded urlencoded body arguments */
	struct emu_buf body;		/* raw body */
	json_object *json;		/* JSON body when Content-Type is JSON */
};

int emu_req_init(struct emu_req *req, FCGX_Request *fcgi);
/*
 * Reads the body (at most `limit` bytes, else -E2BIG) and parses it by
 * Content-Type.  A malformed JSON body gives -EINVAL.
 */
int emu_req_read_body(struct emu_req *req, size_t limit);
void emu_req_free(struct emu_req *req);

bool emu_req_is_json(const struct emu_req *req);
/* Query-string argument, or NULL. */
const char *emu_req_query_arg(const struct emu_req *req, const char *name);
/* Body argument (form field, or scalar member of a JSON object), or NULL. */
const char *emu_req_body_arg(const struct emu_req *req, const char *name);
/* Body argument first, then query-string argument (Slack's rule). */
const char *emu_req_arg(const struct emu_req *req, const char *name);

/* How a fault wants the body cut. */
enum emu_truncate {
	EMU_TRUNC_NONE = 0,
	EMU_TRUNC_BODY,		/* half the body, transfer completes normally */
	EMU_TRUNC_DECLARED,	/* full Content-Length declared, half sent */
};

struct emu_resp {
	int status;
	const char *content_type;	/* static string */
	struct emu_buf headers;		/* extra "Name: value\r\n" lines */
	struct emu_buf body;
	enum emu_truncate truncate;
	char error[64];			/* Slack error code answered, "" if ok */
};

void emu_resp_init(struct emu_resp *r);
void emu_resp_free(struct emu_resp *r);
/* Discards status, body and headers (used when a fault replaces an answer). */
void emu_resp_clear(struct emu_resp *r);
int emu_resp_header(struct emu_resp *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Serialises `body` (borrowed) as application/json; charset=utf-8. */
int emu_resp_json(struct emu_resp *r, int status, json_object *body);
/* HTTP 200 {"ok":false,"error":code}. */
int emu_resp_slack_error(struct emu_resp *r, const char *code);
/* HTTP 200 {"ok":false,"error":"missing_scope","needed":..,"provided":..}. */
int emu_resp_missing_scope(struct emu_resp *r, const char *needed,
			   const char *provided);
int emu_resp_text(struct emu_resp *r, int status, const char *content_type,
		  const void *data, size_t len);
int emu_resp_redirect(struct emu_resp *r, const char *location);
/* Writes the response to the FastCGI output stream. */
int emu_resp_send(struct emu_resp *r, FCGX_Stream *out);

/* New {"ok":true} object to which a method adds its fields; NULL on ENOMEM. */
json_object *emu_slack_ok(void);

#endif
