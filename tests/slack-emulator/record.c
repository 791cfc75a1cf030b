/* record.c - request record and Retry-After accounting (see record.h). */
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int emu_record_init(struct emu_record *r)
{
	memset(r, 0, sizeof(*r));
	r->counts = json_object_new_object();
	r->violations_by_method = json_object_new_object();
	if (!r->counts || !r->violations_by_method) {
		emu_record_free(r);
		return -ENOMEM;
	}
	return 0;
}

void emu_record_free(struct emu_record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->entries[i].cursor);
		free(r->entries[i].limit);
	}
	free(r->entries);
	for (i = 0; i < r->n_windows; i++)
		free(r->windows[i].token);
	free(r->windows);
	json_object_put(r->counts);
	json_object_put(r->violations_by_method);
	memset(r, 0, sizeof(*r));
}

/* Adds one to counter `key` of a method -> int object. */
static int bump(json_object *counts, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(counts, key, &v))
		return json_object_int_inc(v, 1) ? 0 : -EINVAL;
	return emu_json_add_int(counts, key, 1);
}

static struct emu_retry_window *window_find(struct emu_record *r,
					   const char *method, const char *token)
{
	size_t i;

	for (i = 0; i < r->n_windows; i++)
		if (strcmp(r->windows[i].method, method) == 0 &&
		    strcmp(r->windows[i].token, token) == 0)
			return &r->windows[i];
	return NULL;
}

int emu_record_arrival(struct emu_record *r, const char *method,
		       const char *token, long long now_ms)
{
	struct emu_retry_window *w = window_find(r, method, token ? token : "");

	if (!w || now_ms >= w->until_ms)
		return 0;
	r->violations++;
	return bump(r->violations_by_method, method);
}

int emu_record_retry_after(struct emu_record *r, const char *method,
			   const char *token, long long now_ms, long long wait_ms)
{
	struct emu_retry_window *w;

	if (!token)
		token = "";
	w = window_find(r, method, token);
	if (!w) {
		if (r->n_windows == r->cap_windows) {
			size_t cap = r->cap_windows ? r->cap_windows * 2 : 8;

			w = realloc(r->windows, cap * sizeof(*w));
			if (!w)
				return -ENOMEM;
			r->windows = w;
			r->cap_windows = cap;
		}
		w = &r->windows[r->n_windows];
		memset(w, 0, sizeof(*w));
		w->token = strdup(token);
		if (!w->token)
			return -ENOMEM;
		snprintf(w->method, sizeof(w->method), "%s", method);
		r->n_windows++;
	}
	w->until_ms = now_ms + wait_ms;
	return 0;
}

int emu_record_add(struct emu_record *r, const struct emu_record_entry *e,
		   const char *cursor, const char *limit)
{
	struct emu_record_entry *slot;
	int rc = bump(r->counts, e->method);

	if (rc < 0)
		return rc;
	if (r->n >= EMU_RECORD_MAX) {
		r->dropped++;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;

		slot = realloc(r->entries, cap * sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		r->entries = slot;
		r->cap = cap;
	}
	slot = &r->entries[r->n];
	*slot = *e;
	slot->cursor = emu_strdup(cursor, &rc);
	slot->limit = emu_strdup(limit, &rc);
	if (rc < 0) {
		free(slot->cursor);
		free(slot->limit);
		return rc;
	}
	r->n++;
	return 0;
}

json_object *emu_record_json(const struct emu_record *r)
{
	json_object *o = json_object_new_object(), *arr = NULL, *e;
	size_t i;
	int rc = o ? 0 : -ENOMEM;

	if (rc == 0) rc = emu_json_add(o, "counts", json_object_get(r->counts));
	if (rc == 0) rc = emu_json_add_int(o, "retry_after_violations", r->violations);
	if (rc == 0)
		rc = emu_json_add(o, "retry_after_violations_by_method",
				  json_object_get(r->violations_by_method));
	if (rc == 0) rc = emu_json_add_int(o, "dropped", r->dropped);
	if (rc == 0) {
		arr = json_object_new_array();
		rc = arr ? emu_json_add(o, "requests", arr) : -ENOMEM;
	}
	for (i = 0; rc == 0 && i < r->n; i++) {
		const struct emu_record_entry *x = &r->entries[i];

		e = json_object_new_object();
		rc = e ? emu_json_push(arr, e) : -ENOMEM;
		if (rc == 0) rc = emu_json_add_str(e, "method", x->method);
		if (rc == 0) rc = emu_json_add_int(e, "t_ms", x->t_ms);
		if (rc == 0) rc = emu_json_add_int(e, "duration_ms", x->duration_ms);
		if (rc == 0) rc = emu_json_add_str(e, "token_prefix", x->token);
		if (rc == 0) rc = emu_json_add_str(e, "cursor", x->cursor);
		if (rc == 0) rc = emu_json_add_str(e, "limit", x->limit);
		if (rc == 0) rc = emu_json_add_int(e, "status", x->status);
		if (rc == 0) rc = emu_json_add_str(e, "error", x->error[0] ? x->error : NULL);
	}
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
