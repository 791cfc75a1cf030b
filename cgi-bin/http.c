#include "http.h"
#include "core/answer_cache.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "core/pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *http_param(struct req *req, const char *name)
{
	return pool_strdup(req->pool, FCGX_GetParam(name, req->fcgi->envp));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes application/x-www-form-urlencoded text of length n. */
static char *url_decode(struct pool *pool, const char *s, size_t n)
{
	char *out = pool_alloc(pool, n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

const char *http_query(struct req *req, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = req->query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;

		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0)
			return eq ? url_decode(req->pool, eq + 1, (size_t)(end - eq - 1)) : "";
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

const char *http_cookie(struct req *req, const char *name)
{
	const char *p = FCGX_GetParam("HTTP_COOKIE", req->fcgi->envp);
	size_t nlen = strlen(name);

	while (p && *p) {
		const char *end;

		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=')
			return pool_strndup(req->pool, p + nlen + 1, (size_t)(end - p - nlen - 1));
		p = end;
	}
	return NULL;
}

int http_header(struct req *req, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&req->headers, fmt, ap);
	va_end(ap);
	return rc ? rc : buf_puts(&req->headers, "\r\n");
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	}
	return "Internal Server Error";
}

static void http_head(struct req *req, int status, const char *type)
{
	req->status = status;
	FCGX_FPrintF(req->fcgi->out, "Status: %d %s\r\n", status, status_text(status));
	if (type)
		FCGX_FPrintF(req->fcgi->out, "Content-Type: %s\r\n", type);
	FCGX_PutS("Cache-Control: no-store\r\n", req->fcgi->out);
	FCGX_PutStr(buf_cstr(&req->headers), (int)req->headers.len, req->fcgi->out);
	FCGX_PutS("\r\n", req->fcgi->out);
}

/* The answer when even the error's envelope cannot be allocated. */
static void http_out_of_memory(struct req *req)
{
	http_head(req, 500, "application/json; charset=utf-8");
	FCGX_PutS("{\"error\":{\"code\":\"internal_error\",\"message\":\"out of memory\"}}",
		  req->fcgi->out);
}

void http_json(struct req *req, int status, json_object *obj)
{
	const char *text;
	size_t len;

	if (req->status) {
		log_error("api: %s %s answered twice", req->method, req->path);
		json_object_put(obj);
		return;
	}
	if (!obj) {
		http_error(req, 500, "internal_error", "The server ran out of memory.", NULL);
		return;
	}
	text = pjson_text(obj, &len);
	if (!text) {
		/* json-c could not allocate the text: a constant answer. */
		json_object_put(obj);
		http_out_of_memory(req);
		return;
	}
	http_json_bytes(req, status, text, len);
	json_object_put(obj);
}

void http_error(struct req *req, int status, const char *code, const char *message,
		const char *field)
{
	json_object *env = json_object_new_object(), *err = json_object_new_object();

	/* An administrator always reads a sentence, even when a library
	 * refusal came without one (the database refusing a value). */
	if (!message || !*message) {
		log_warn("api: %s %s: %d %s answered without a message", req->method, req->path,
			 status, code);
		message = status == 422 ? "A value in the request was refused; check what you entered."
			: status >= 500 ? "Something went wrong on our side; the error was logged."
			: "The request was refused.";
	}
	if (!env || !err || pjson_add_str(err, "code", code) ||
	    pjson_add_str(err, "message", message) ||
	    (field && pjson_add_str(err, "field", field))) {
		json_object_put(err);
		json_object_put(env);
		http_out_of_memory(req);
		return;
	}
	/* pjson_add owns err from here, even when it fails. */
	if (pjson_add(env, "error", err)) {
		json_object_put(env);
		http_out_of_memory(req);
		return;
	}
	http_json(req, status, env);
}

void http_fail(struct req *req, int rc)
{
	switch (rc) {
	case PV_ENOTFOUND:
		http_error(req, 404, "not_found", "No such object in your organization.", NULL);
		return;
	case PV_EDBDOWN:
		http_header(req, "Retry-After: 5");
		http_error(req, 503, "database_unavailable",
			   "The service's database cannot be reached right now; try again in a moment.",
			   NULL);
		return;
	}
	log_error("api: %s %s: %s", req->method, req->path, pv_strerror(rc));
	http_error(req, 500, "internal_error",
		   "Something went wrong on our side; the error was logged.", NULL);
}

void http_json_bytes(struct req *req, int status, const char *text, size_t len)
{
	if (req->status) {
		log_error("api: %s %s answered twice", req->method, req->path);
		return;
	}
	http_head(req, status, "application/json; charset=utf-8");
	FCGX_PutStr(text, (int)len, req->fcgi->out);
	/* Only a plain 200 is kept: an answer with headers of its own (a
	 * cookie, a Retry-After) is the moment's, not the data's.  Not kept
	 * for want of memory is only a later miss. */
	if (req->keep_key && status == 200 && !req->headers.len &&
	    answer_cache_put(req->app->answers, req->keep_key, req->keep_changes,
			     req->keep_now_ms, text, len) < 0)
		log_warn("api: an answer was not kept: out of memory");
}

void http_json_text(struct req *req, int status, const struct buf *body)
{
	http_json_bytes(req, status, buf_cstr(body), body->len);
}

void http_no_content(struct req *req)
{
	http_head(req, 204, NULL);
}

void http_redirect(struct req *req, const char *location)
{
	if (http_header(req, "Location: %s", location) < 0) {
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_head(req, 302, NULL);
}

void http_stream_begin(struct req *req, int status, const char *type)
{
	http_head(req, status, type);
}

void http_stream_abort(struct req *req)
{
	/* nginx without fastcgi_keep_conn takes the connection's end for the
	 * answer's end; a record header of FastCGI version 0 after the last
	 * whole record is a protocol error to it ("unsupported FastCGI
	 * protocol version"), and it closes the client's connection without
	 * the last chunk.  Other front ends see a connection that ended
	 * without its END_REQUEST record. */
	static const char broken[8] = { 0 };

	FCGX_FFlush(req->fcgi->out);
	if (req->fcgi->ipcFd < 0)
		return;
	if (write(req->fcgi->ipcFd, broken, sizeof(broken)) < 0)
		log_info("api: breaking the answer off: %s", strerror(errno));
	shutdown(req->fcgi->ipcFd, SHUT_RDWR);
}

int http_query_limit(struct req *req, int def, int max, int *out)
{
	const char *v = http_query(req, "limit");
	char *end;
	long n;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > max) {
		char msg[120];

		snprintf(msg, sizeof(msg), "limit must be a whole number from 1 to %d.", max);
		http_error(req, 400, "invalid_parameter", msg, "limit");
		return PV_EINVAL;
	}
	*out = (int)n;
	return 0;
}

int http_query_cursor(struct req *req, const char *name, int64_t *out)
{
	const char *v = http_query(req, name);
	char *end;
	long long n;

	*out = 0;
	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < 1) {
		http_error(req, 400, "invalid_parameter",
			   "The cursor is not one this API gave; start again without it.", name);
		return PV_EINVAL;
	}
	*out = n;
	return 0;
}

int http_body_keys(struct req *req, const char *const *allowed)
{
	json_object_object_foreach(req->body, key, val) {
		int known = 0;

		(void)val;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known) {
			const char *f = pool_strdup(req->pool, key);

			http_error(req, 422, "unknown_field", "This field is not part of the request.",
				   f ? f : "");
			return PV_EINVAL;
		}
	}
	return 0;
}
