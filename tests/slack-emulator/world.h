/*
 * world.h - everything a fixture file defines: the workspaces, the Slack
 * app(s) that can be installed, and predefined tokens.
 *
 * Fixture file: {"apps":[...], "workspaces":[...], "tokens":[...]}
 * (format in README.md).  The first workspace is the default install
 * target; the first app owns predefined tokens.
 *
 * Ownership: the world owns its workspaces and apps; lookups borrow.
 * Errors: 0 or negative errno; -EINVAL comes with a message in `err`.
 */
#ifndef EMU_WORLD_H
#define EMU_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "workspace.h"

struct emu_app {
	char *app_id, *name, *client_id, *client_secret;
	char **redirect_uris;
	size_t n_redirect_uris;
	bool token_rotation;
};

struct emu_world {
	struct emu_workspace **ws;
	size_t n_ws, cap_ws;
	struct emu_app *apps;
	size_t n_apps;
	json_object *tokens;	/* predefined token objects (array) or NULL */
};

int emu_world_load(const char *path, const char *base_url,
		   struct emu_world *w, char *err, size_t errlen);
void emu_world_free(struct emu_world *w);

struct emu_workspace *emu_world_workspace(const struct emu_world *w,
					  const char *team_id);
/* Adds `ws` or replaces the workspace with the same team id; takes `ws`. */
int emu_world_put_workspace(struct emu_world *w, struct emu_workspace *ws);

const struct emu_app *emu_world_app_by_client(const struct emu_world *w,
					      const char *client_id);
const struct emu_app *emu_world_app_by_id(const struct emu_world *w,
					  const char *app_id);
/*
 * Whether `uri` is acceptable for `app`: equal to a registered redirect
 * URL or below it (Slack accepts a subdirectory of a registered URL).  A
 * registered entry ending in '*' (emulator extension) matches any URI
 * with that prefix, e.g. "http://127.0.0.1:*".
 */
bool emu_app_redirect_ok(const struct emu_app *app, const char *uri);

#endif
