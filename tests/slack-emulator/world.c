/* world.c - fixture loading: workspaces, apps, predefined tokens. */
#include "world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* A demo fixture is ~50 KiB; a generated one can be large. */
#define EMU_FIXTURE_MAX (256 * 1024 * 1024)

static int read_file(const char *path, struct emu_buf *out)
{
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (!f)
		return -errno;
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = emu_buf_append(out, chunk, n);
	if (rc == 0 && ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}

static void app_clear(struct emu_app *a)
{
	size_t i;

	free(a->app_id);
	free(a->name);
	free(a->client_id);
	free(a->client_secret);
	for (i = 0; i < a->n_redirect_uris; i++)
		free(a->redirect_uris[i]);
	free(a->redirect_uris);
	memset(a, 0, sizeof(*a));
}

static int app_from_json(json_object *src, struct emu_app *a, char *err,
			 size_t errlen)
{
	json_object *uris = NULL;
	size_t i, n;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (!emu_json_str(src, "app_id") || !emu_json_str(src, "client_id") ||
	    !emu_json_str(src, "client_secret")) {
		snprintf(err, errlen,
			 "app: \"app_id\", \"client_id\" and \"client_secret\" are required");
		return -EINVAL;
	}
	a->app_id = emu_strdup(emu_json_str(src, "app_id"), &rc);
	a->name = emu_strdup(emu_json_str(src, "name") ? emu_json_str(src, "name")
						       : "Emulated App", &rc);
	a->client_id = emu_strdup(emu_json_str(src, "client_id"), &rc);
	a->client_secret = emu_strdup(emu_json_str(src, "client_secret"), &rc);
	a->token_rotation = emu_json_bool(src, "token_rotation", false);
	json_object_object_get_ex(src, "redirect_uris", &uris);
	n = json_object_is_type(uris, json_type_array) ? json_object_array_length(uris) : 0;
	if (rc == 0 && n) {
		a->redirect_uris = calloc(n, sizeof(char *));
		rc = a->redirect_uris ? 0 : -ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(uris, i));

		a->redirect_uris[i] = emu_strdup(s ? s : "", &rc);
		if (rc == 0)
			a->n_redirect_uris++;
	}
	if (rc < 0)
		app_clear(a);
	return rc;
}

int emu_world_put_workspace(struct emu_world *w, struct emu_workspace *ws)
{
	size_t i;

	for (i = 0; i < w->n_ws; i++) {
		if (strcmp(w->ws[i]->team_id, ws->team_id) == 0) {
			emu_workspace_free(w->ws[i]);
			w->ws[i] = ws;
			return 0;
		}
	}
	if (w->n_ws == w->cap_ws) {
		size_t cap = w->cap_ws ? w->cap_ws * 2 : 4;
		struct emu_workspace **p = realloc(w->ws, cap * sizeof(*p));

		if (!p) {
			emu_workspace_free(ws);
			return -ENOMEM;
		}
		w->ws = p;
		w->cap_ws = cap;
	}
	w->ws[w->n_ws++] = ws;
	return 0;
}

int emu_world_load(const char *path, const char *base_url,
		   struct emu_world *w, char *err, size_t errlen)
{
	struct emu_buf text;
	json_object *doc = NULL, *apps = NULL, *wss = NULL, *tokens = NULL;
	struct emu_workspace *ws;
	size_t i, n;
	int rc;

	memset(w, 0, sizeof(*w));
	emu_buf_init(&text, EMU_FIXTURE_MAX);
	rc = read_file(path, &text);
	if (rc < 0) {
		snprintf(err, errlen, "fixture %s: cannot read: %s", path, strerror(-rc));
		goto out;
	}
	rc = emu_json_parse(emu_buf_str(&text), text.len, &doc);
	if (rc < 0 || !json_object_is_type(doc, json_type_object)) {
		snprintf(err, errlen, "fixture %s: not a JSON object", path);
		rc = -EINVAL;
		goto out;
	}
	json_object_object_get_ex(doc, "apps", &apps);
	json_object_object_get_ex(doc, "workspaces", &wss);
	json_object_object_get_ex(doc, "tokens", &tokens);
	if (!json_object_is_type(wss, json_type_array) ||
	    json_object_array_length(wss) == 0) {
		snprintf(err, errlen, "fixture %s: \"workspaces\" must be a non-empty array",
			 path);
		rc = -EINVAL;
		goto out;
	}
	n = json_object_is_type(apps, json_type_array) ? json_object_array_length(apps) : 0;
	if (n) {
		w->apps = calloc(n, sizeof(*w->apps));
		if (!w->apps) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		rc = app_from_json(json_object_array_get_idx(apps, i), &w->apps[i],
				   err, errlen);
		if (rc < 0)
			goto out;
		w->n_apps++;
	}
	for (i = 0; i < json_object_array_length(wss); i++) {
		rc = emu_workspace_from_json(json_object_array_get_idx(wss, i), base_url,
					     &ws, err, errlen);
		if (rc == 0)
			rc = emu_world_put_workspace(w, ws);
		if (rc < 0)
			goto out;
	}
	if (json_object_is_type(tokens, json_type_array))
		w->tokens = json_object_get(tokens);
	rc = 0;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "fixture %s: out of memory", path);
	if (rc < 0)
		emu_world_free(w);
	json_object_put(doc);
	emu_buf_free(&text);
	return rc;
}

void emu_world_free(struct emu_world *w)
{
	size_t i;

	for (i = 0; i < w->n_ws; i++)
		emu_workspace_free(w->ws[i]);
	free(w->ws);
	for (i = 0; i < w->n_apps; i++)
		app_clear(&w->apps[i]);
	free(w->apps);
	json_object_put(w->tokens);
	memset(w, 0, sizeof(*w));
}

struct emu_workspace *emu_world_workspace(const struct emu_world *w,
					  const char *team_id)
{
	size_t i;

	for (i = 0; team_id && i < w->n_ws; i++)
		if (strcmp(w->ws[i]->team_id, team_id) == 0)
			return w->ws[i];
	return NULL;
}

const struct emu_app *emu_world_app_by_client(const struct emu_world *w,
					      const char *client_id)
{
	size_t i;

	for (i = 0; client_id && i < w->n_apps; i++)
		if (strcmp(w->apps[i].client_id, client_id) == 0)
			return &w->apps[i];
	return NULL;
}

const struct emu_app *emu_world_app_by_id(const struct emu_world *w,
					  const char *app_id)
{
	size_t i;

	for (i = 0; app_id && i < w->n_apps; i++)
		if (strcmp(w->apps[i].app_id, app_id) == 0)
			return &w->apps[i];
	return NULL;
}

bool emu_app_redirect_ok(const struct emu_app *app, const char *uri)
{
	size_t i, n;

	for (i = 0; i < app->n_redirect_uris; i++) {
		const char *reg = app->redirect_uris[i];

		n = strlen(reg);
		if (n == 0)
			continue;
		if (reg[n - 1] == '*') {
			if (strncmp(uri, reg, n - 1) == 0)
				return true;
			continue;
		}
		if (strcmp(uri, reg) == 0)
			return true;
		/* A subdirectory: the registered URL, then '/' (or it ends in '/'). */
		if (strncmp(uri, reg, n) == 0 &&
		    (reg[n - 1] == '/' || uri[n] == '/'))
			return true;
	}
	return false;
}
