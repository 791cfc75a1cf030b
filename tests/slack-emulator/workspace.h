/*
 * workspace.h - the in-memory model of one Slack workspace: team info,
 * users and user groups, loaded from the fixture JSON and rendered back
 * in the shape Slack's Web API answers with.
 *
 * Fixture format (see README.md): users and groups are written as Slack
 * user/usergroup objects; every field not given gets a Slack-like default
 * at load time (profile images derived from avatar_hash, real_name copied
 * between top level and profile, ...).  Members the model does not know
 * are kept and passed through unchanged, so a fixture can carry any field
 * Slack has (is_forgotten, profile.bot_id, guest_expiration_ts, ...).
 *
 * Ownership: a workspace owns its users, groups and team object.  Lookups
 * return borrowed pointers, valid until the workspace is modified.
 * Render functions return a new json_object reference the caller puts.
 * Errors: 0 or negative errno; -EINVAL comes with a message in `err`.
 */
#ifndef EMU_WORKSPACE_H
#define EMU_WORKSPACE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"

struct lh_table;

struct emu_user {
	char *id, *name;
	char *real_name, *display_name, *first_name, *last_name, *title;
	char *email;		/* NULL: none set */
	char *phone, *avatar_hash, *status_text, *status_emoji;
	char *tz, *tz_label, *color;
	long long tz_offset, updated;
	bool deleted, is_admin, is_owner, is_primary_owner, is_restricted,
		is_ultra_restricted, is_bot, is_app_user, is_invited_user,
		is_email_confirmed, is_custom_image;
	json_object *extra;		/* unknown top-level members */
	json_object *profile_extra;	/* unknown profile members */
	/* users.list object as text, [with_email]; NULL until first asked. */
	char *text[2];
	size_t text_len[2];
};

struct emu_group {
	char *id, *name, *handle, *description;
	char *auto_type;	/* NULL, "admin" or "owner" */
	char *created_by, *updated_by, *deleted_by;
	long long date_create, date_update, date_delete;	/* delete != 0: disabled */
	char **users;
	size_t n_users;
	bool derived_users;	/* built-in group without a list: follows roles */
	json_object *extra;
};

struct emu_workspace {
	char *team_id;
	char *plan;		/* "free" has no user groups */
	json_object *team;	/* team.info object */
	char *bot_user_id;	/* the app's bot user in this workspace */
	char *bot_id;
	struct emu_user *users;
	size_t n_users, cap_users;
	struct lh_table *index;	/* user id -> position + 1 */
	struct emu_group *groups;
	size_t n_groups, cap_groups;
};

/*
 * Builds a workspace from its fixture object {"team":{...},"plan":..,
 * "bot":{"user_id","bot_id"},"users":[...],"usergroups":[...]}.
 * `base_url` prefixes the avatar and icon links.
 */
int emu_workspace_from_json(json_object *src, const char *base_url,
			    struct emu_workspace **out, char *err, size_t errlen);
/* An empty workspace (team object generated from id, name, domain). */
int emu_workspace_new(const char *team_id, const char *name, const char *domain,
		      const char *base_url, struct emu_workspace **out);
void emu_workspace_free(struct emu_workspace *ws);

bool emu_workspace_is_free_plan(const struct emu_workspace *ws);
const char *emu_workspace_name(const struct emu_workspace *ws);
const char *emu_workspace_domain(const struct emu_workspace *ws);

/* Position of a user, or -1. */
long emu_workspace_find_user(const struct emu_workspace *ws, const char *id);
const struct emu_group *emu_workspace_find_group(const struct emu_workspace *ws,
						 const char *id);

/* Adds or replaces (by id) a user given as a fixture/Slack user object. */
int emu_workspace_put_user(struct emu_workspace *ws, json_object *src,
			   char *err, size_t errlen);
/* Appends a user built in C; takes over its members (zeroed on success). */
int emu_workspace_add_user(struct emu_workspace *ws, struct emu_user *u);
int emu_workspace_delete_user(struct emu_workspace *ws, const char *id);
int emu_workspace_put_group(struct emu_workspace *ws, json_object *src,
			    char *err, size_t errlen);
/* Appends a group built in C; takes over its members (zeroed on success). */
int emu_workspace_add_group(struct emu_workspace *ws, struct emu_group *g);
int emu_workspace_delete_group(struct emu_workspace *ws, const char *id);

/* Slack user object; reduced field set for deleted users (SLACK-API §2.3). */
json_object *emu_user_json(const struct emu_workspace *ws,
			   const struct emu_user *u, const char *base_url,
			   bool with_email);
/*
 * The user's Slack object (no locale) as compact JSON text, rendered on
 * first use and kept, so paging a large workspace copies bytes instead
 * of building JSON.  Code that changes a user in place calls
 * emu_user_touch() to drop the text.  NULL on ENOMEM.
 */
const char *emu_user_json_text(const struct emu_workspace *ws, struct emu_user *u,
			       const char *base_url, bool with_email, size_t *len);
void emu_user_touch(struct emu_user *u);

/* Slack usergroup object. */
json_object *emu_group_json(const struct emu_workspace *ws,
			    const struct emu_group *g, bool include_users,
			    bool include_count);
/* Member ids of a group as a new JSON array. */
json_object *emu_group_members(const struct emu_workspace *ws,
			       const struct emu_group *g);
/* The same array appended to `out` as JSON text, without json-c objects. */
int emu_group_members_text(const struct emu_workspace *ws,
			   const struct emu_group *g, struct emu_buf *out);

void emu_user_clear(struct emu_user *u);
void emu_group_clear(struct emu_group *g);

#endif
