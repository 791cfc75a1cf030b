/* http.c - FastCGI request parsing and response writing (see http.h). */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Upper bound on a response header block; ours are a few hundred bytes. */
#define EMU_HEADERS_MAX (16 * 1024)
/* Upper bound on a response body: users.list of 1000 users is ~2 MiB. */
#define EMU_BODY_MAX (64 * 1024 * 1024)

static const char *param(FCGX_Request *fcgi, const char *name)
{
	return FCGX_GetParam(name, fcgi->envp);
}

static int args_add(struct emu_args *a, const char *k, size_t klen,
		    const char *v, size_t vlen)
{
	struct emu_buf kb, vb;
	struct emu_kv *items;
	int rc;

	emu_buf_init(&kb, 64 * 1024);
	emu_buf_init(&vb, 8 * 1024 * 1024);
	/* Appending nothing first makes an empty value a real "" string. */
	rc = emu_buf_append(&kb, "", 0);
	if (rc == 0)
		rc = emu_buf_append(&vb, "", 0);
	if (rc == 0)
		rc = emu_url_decode(k, klen, &kb);
	if (rc == 0)
		rc = emu_url_decode(v, vlen, &vb);
	if (rc == 0 && a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;

		items = realloc(a->items, cap * sizeof(*items));
		if (!items)
			rc = -ENOMEM;
		else {
			a->items = items;
			a->cap = cap;
		}
	}
	if (rc < 0) {
		emu_buf_free(&kb);
		emu_buf_free(&vb);
		return rc;
	}
	a->items[a->n].key = kb.data;
	a->items[a->n].val = vb.data;
	a->n++;
	return 0;
}

/* Parses "a=1&b=2" (no leading '?'). */
static int args_parse(struct emu_args *a, const char *s, size_t len)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		size_t start = i, eq = (size_t)-1;

		while (i < len && s[i] != '&') {
			if (s[i] == '=' && eq == (size_t)-1)
				eq = i;
			i++;
		}
		if (i > start) {
			if (eq == (size_t)-1)
				rc = args_add(a, s + start, i - start, "", 0);
			else
				rc = args_add(a, s + start, eq - start, s + eq + 1,
					      i - eq - 1);
			if (rc < 0)
				return rc;
		}
		i++;
	}
	return 0;
}

static void args_free(struct emu_args *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->items[i].key);
		free(a->items[i].val);
	}
	free(a->items);
	a->items = NULL;
	a->n = a->cap = 0;
}

static const char *args_get(const struct emu_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->items[i].key, name) == 0)
			return a->items[i].val;
	return NULL;
}

int emu_req_init(struct emu_req *req, FCGX_Request *fcgi)
{
	const char *uri, *query;
	size_t plen;

	memset(req, 0, sizeof(*req));
	req->fcgi = fcgi;
	emu_buf_init(&req->body, 0);
	req->method = param(fcgi, "REQUEST_METHOD");
	if (!req->method)
		req->method = "GET";
	req->content_type = param(fcgi, "CONTENT_TYPE");
	if (!req->content_type)
		req->content_type = "";
	req->authorization = param(fcgi, "HTTP_AUTHORIZATION");

	/* REQUEST_URI is the raw path as sent; SCRIPT_NAME is the fallback. */
	uri = param(fcgi, "REQUEST_URI");
	if (!uri || !*uri)
		uri = param(fcgi, "SCRIPT_NAME");
	if (!uri)
		uri = "/";
	plen = strcspn(uri, "?");
	req->path = strndup(uri, plen);
	if (!req->path)
		return -ENOMEM;

	query = param(fcgi, "QUERY_STRING");
	if (!query || !*query)
		query = uri[plen] == '?' ? uri + plen + 1 : "";
	return args_parse(&req->query, query, strlen(query));
}

bool emu_req_is_json(const struct emu_req *req)
{
	return strncasecmp(req->content_type, "application/json", 16) == 0;
}

int emu_req_read_body(struct emu_req *req, size_t limit)
{
	const char *cl = param(req->fcgi, "CONTENT_LENGTH");
	long long declared = 0;
	char chunk[16384];
	int n, rc;

	if (cl && *cl && (emu_parse_long(cl, &declared) < 0 || declared < 0))
		return -EINVAL;
	if ((unsigned long long)declared > limit)
		return -E2BIG;
	emu_buf_init(&req->body, limit);
	while ((n = FCGX_GetStr(chunk, sizeof(chunk), req->fcgi->in)) > 0) {
		rc = emu_buf_append(&req->body, chunk, (size_t)n);
		if (rc < 0)
			return rc;
	}
	if (req->body.len == 0)
		return 0;
	if (emu_req_is_json(req))
		return emu_json_parse(req->body.data, req->body.len, &req->json);
	if (strncasecmp(req->content_type, "application/x-www-form-urlencoded",
			33) == 0)
		return args_parse(&req->form, req->body.data, req->body.len);
	return 0;
}

void emu_req_free(struct emu_req *req)
{
	free(req->path);
	args_free(&req->query);
	args_free(&req->form);
	emu_buf_free(&req->body);
	json_object_put(req->json);
	memset(req, 0, sizeof(*req));
}

const char *emu_req_query_arg(const struct emu_req *req, const char *name)
{
	return args_get(&req->query, name);
}

const char *emu_req_body_arg(const struct emu_req *req, const char *name)
{
	json_object *v;

	if (req->json) {
		if (!json_object_is_type(req->json, json_type_object) ||
		    !json_object_object_get_ex(req->json, name, &v) || !v)
			return NULL;
		/* Scalars only: Slack's arguments are strings, numbers, booleans. */
		if (json_object_is_type(v, json_type_object) ||
		    json_object_is_type(v, json_type_array))
			return NULL;
		return json_object_get_string(v);
	}
	return args_get(&req->form, name);
}

const char *emu_req_arg(const struct emu_req *req, const char *name)
{
	const char *v = emu_req_body_arg(req, name);

	return v ? v : emu_req_query_arg(req, name);
}

void emu_resp_init(struct emu_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->content_type = "application/json; charset=utf-8";
	emu_buf_init(&r->headers, EMU_HEADERS_MAX);
	emu_buf_init(&r->body, EMU_BODY_MAX);
}

void emu_resp_free(struct emu_resp *r)
{
	emu_buf_free(&r->headers);
	emu_buf_free(&r->body);
}

void emu_resp_clear(struct emu_resp *r)
{
	emu_buf_reset(&r->headers);
	emu_buf_reset(&r->body);
	r->status = 200;
	r->content_type = "application/json; charset=utf-8";
	r->truncate = EMU_TRUNC_NONE;
	r->error[0] = '\0';
}

int emu_resp_header(struct emu_resp *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	int rc;

	rc = emu_buf_printf(&r->headers, "%s: ", name);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	rc = emu_buf_vprintf(&r->headers, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	return emu_buf_puts(&r->headers, "\r\n");
}

int emu_resp_json(struct emu_resp *r, int status, json_object *body)
{
	const char *text = emu_json_text(body);

	if (!text)
		return -ENOMEM;
	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	emu_buf_reset(&r->body);
	return emu_buf_puts(&r->body, text);
}

json_object *emu_slack_ok(void)
{
	json_object *obj = json_object_new_object();

	if (obj && emu_json_add_bool(obj, "ok", true) < 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

int emu_resp_slack_error(struct emu_resp *r, const char *code)
{
	json_object *body = json_object_new_object();
	int rc = body ? 0 : -ENOMEM;

	/* Built with json-c: fault rules let tests choose any code text. */
	if (rc == 0) rc = emu_json_add_bool(body, "ok", false);
	if (rc == 0) rc = emu_json_add_str(body, "error", code);
	if (rc == 0) rc = emu_resp_json(r, 200, body);
	snprintf(r->error, sizeof(r->error), "%s", code);
	json_object_put(body);
	return rc;
}

int emu_resp_missing_scope(struct emu_resp *r, const char *needed,
			   const char *provided)
{
	json_object *body = json_object_new_object();
	int rc = body ? 0 : -ENOMEM;

	if (rc == 0) rc = emu_json_add_bool(body, "ok", false);
	if (rc == 0) rc = emu_json_add_str(body, "error", "missing_scope");
	if (rc == 0) rc = emu_json_add_str(body, "needed", needed);
	if (rc == 0) rc = emu_json_add_str(body, "provided", provided);
	if (rc == 0) rc = emu_resp_json(r, 200, body);
	snprintf(r->error, sizeof(r->error), "missing_scope");
	json_object_put(body);
	return rc;
}

int emu_resp_text(struct emu_resp *r, int status, const char *content_type,
		  const void *data, size_t len)
{
	r->status = status;
	r->content_type = content_type;
	emu_buf_reset(&r->body);
	return emu_buf_append(&r->body, data, len);
}

int emu_resp_redirect(struct emu_resp *r, const char *location)
{
	r->status = 302;
	r->content_type = "text/plain; charset=utf-8";
	emu_buf_reset(&r->body);
	return emu_resp_header(r, "Location", "%s", location);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

int emu_resp_send(struct emu_resp *r, FCGX_Stream *out)
{
	struct emu_buf head;
	size_t len = r->body.len;
	int rc;

	/* Formatted here: libfcgi's own FCGX_FPrintF lacks C99 modifiers (%zu). */
	emu_buf_init(&head, EMU_HEADERS_MAX + 256);
	rc = emu_buf_printf(&head, "Status: %d %s\r\nContent-Type: %s\r\n", r->status,
			    status_text(r->status), r->content_type);
	if (rc == 0)
		rc = emu_buf_append(&head, emu_buf_str(&r->headers), r->headers.len);
	if (r->truncate != EMU_TRUNC_NONE)
		len /= 2;
	/*
	 * A declared length larger than what follows makes nginx (and the
	 * client) see the upstream close early, like a connection cut
	 * mid-transfer.  Otherwise nginx frames the body itself.
	 */
	if (rc == 0 && r->truncate == EMU_TRUNC_DECLARED)
		rc = emu_buf_printf(&head, "Content-Length: %zu\r\n", r->body.len);
	if (rc == 0)
		rc = emu_buf_puts(&head, "\r\n");
	if (rc == 0)
		FCGX_PutStr(head.data, (int)head.len, out);
	emu_buf_free(&head);
	if (rc < 0)
		return rc;
	if (len)
		FCGX_PutStr(r->body.data, (int)len, out);
	return FCGX_GetError(out) ? -EIO : 0;
}
