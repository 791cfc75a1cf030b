/* workspace.c - in-memory Slack workspace model (see workspace.h). */
#include "workspace.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/linkhash.h>

#include "util.h"

/* `updated` / `date_create` of fixture objects that do not say: 2024-01-01. */
#define EMU_DEFAULT_TIME 1704067200LL

static const int image_sizes[] = { 24, 32, 48, 72, 192, 512 };

/* Members the model reads; everything else is passed through. */
static const char *const user_known[] = {
	"id", "team_id", "name", "deleted", "color", "real_name", "tz",
	"tz_label", "tz_offset", "profile", "is_admin", "is_owner",
	"is_primary_owner", "is_restricted", "is_ultra_restricted", "is_bot",
	"is_app_user", "is_invited_user", "updated", "is_email_confirmed", NULL
};
static const char *const profile_known[] = {
	"real_name", "real_name_normalized", "display_name",
	"display_name_normalized", "first_name", "last_name", "title", "email",
	"phone", "avatar_hash", "status_text", "status_emoji",
	"is_custom_image", "team", NULL
};
static const char *const group_known[] = {
	"id", "team_id", "is_usergroup", "is_subteam", "name", "description",
	"handle", "is_external", "date_create", "date_update", "date_delete",
	"auto_type", "created_by", "updated_by", "deleted_by", "users",
	"user_count", NULL
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool in_list(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

/* New object holding the members of `src` not in `known`; NULL if none. */
static int copy_unknown(json_object *src, const char *const *known,
			json_object **out)
{
	json_object *extra = NULL;

	*out = NULL;
	if (!src)
		return 0;
	json_object_object_foreach(src, key, val) {
		if (in_list(key, known))
			continue;
		if (!extra && !(extra = json_object_new_object()))
			return -ENOMEM;
		if (emu_json_add(extra, key, json_object_get(val)) < 0) {
			json_object_put(extra);
			return -ENOMEM;
		}
	}
	*out = extra;
	return 0;
}

/* Merges `extra` into `dst` (members of extra win). */
static int merge(json_object *dst, json_object *extra)
{
	if (!extra)
		return 0;
	json_object_object_foreach(extra, key, val) {
		if (emu_json_add(dst, key, json_object_get(val)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Borrowed string from `a`, else from `b`, else `def`. */
static const char *pick(json_object *a, json_object *b, const char *key,
			const char *def)
{
	const char *s = emu_json_str(a, key);

	if (!s)
		s = emu_json_str(b, key);
	return s ? s : def;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void emu_user_clear(struct emu_user *u)
{
	char **strs[] = { &u->id, &u->name, &u->real_name, &u->display_name,
			  &u->first_name, &u->last_name, &u->title, &u->email,
			  &u->phone, &u->avatar_hash, &u->status_text,
			  &u->status_emoji, &u->tz, &u->tz_label, &u->color };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	json_object_put(u->extra);
	json_object_put(u->profile_extra);
	emu_user_touch(u);
	memset(u, 0, sizeof(*u));
}

void emu_user_touch(struct emu_user *u)
{
	size_t v;

	for (v = 0; v < 2; v++) {
		free(u->text[v]);
		u->text[v] = NULL;
		u->text_len[v] = 0;
	}
}

void emu_group_clear(struct emu_group *g)
{
	size_t i;

	free(g->id);
	free(g->name);
	free(g->handle);
	free(g->description);
	free(g->auto_type);
	free(g->created_by);
	free(g->updated_by);
	free(g->deleted_by);
	for (i = 0; i < g->n_users; i++)
		free(g->users[i]);
	free(g->users);
	json_object_put(g->extra);
	memset(g, 0, sizeof(*g));
}

/* Parses one fixture user object into *u (zeroed first). */
static int user_from_json(json_object *src, struct emu_user *u, char *err,
			  size_t errlen)
{
	json_object *profile = NULL;
	const char *id, *name, *tz, *email, *hash;
	char lname[64], hbuf[16];
	bool custom;
	int rc = 0;
	size_t i;

	memset(u, 0, sizeof(*u));
	if (!json_object_is_type(src, json_type_object)) {
		set_err(err, errlen, "user: not an object");
		return -EINVAL;
	}
	id = emu_json_str(src, "id");
	if (!id || strlen(id) < 2 || strlen(id) > 32) {
		set_err(err, errlen, "user: \"id\" must be a string of 2-32 characters");
		return -EINVAL;
	}
	if (json_object_object_get_ex(src, "profile", &profile) && profile &&
	    !json_object_is_type(profile, json_type_object)) {
		set_err(err, errlen, "user %s: \"profile\" is not an object", id);
		return -EINVAL;
	}

	/* Slack handles are lower case; derive one from the id if absent. */
	name = emu_json_str(src, "name");
	if (!name) {
		for (i = 0; id[i] && i + 1 < sizeof(lname); i++)
			lname[i] = (char)tolower((unsigned char)id[i]);
		lname[i] = '\0';
		name = lname;
	}
	tz = emu_json_str(src, "tz");
	email = emu_json_str(profile, "email");
	custom = emu_json_bool(profile, "is_custom_image", false);
	hash = emu_json_str(profile, "avatar_hash");
	if (!hash) {
		/* Default (Gravatar-style) avatar hashes start with 'g'. */
		snprintf(hbuf, sizeof(hbuf), "%s%08x%s", custom ? "" : "g",
			 (unsigned)fnv1a(id), custom ? "abcd" : "abc");
		hash = hbuf;
	}

	u->id = emu_strdup(id, &rc);
	u->name = emu_strdup(name, &rc);
	u->real_name = emu_strdup(pick(src, profile, "real_name", ""), &rc);
	u->display_name = emu_strdup(pick(profile, NULL, "display_name", ""), &rc);
	u->first_name = emu_strdup(emu_json_str(profile, "first_name"), &rc);
	u->last_name = emu_strdup(emu_json_str(profile, "last_name"), &rc);
	u->title = emu_strdup(pick(profile, NULL, "title", ""), &rc);
	u->email = emu_strdup(email, &rc);
	u->phone = emu_strdup(pick(profile, NULL, "phone", ""), &rc);
	u->avatar_hash = emu_strdup(hash, &rc);
	u->status_text = emu_strdup(pick(profile, NULL, "status_text", ""), &rc);
	u->status_emoji = emu_strdup(pick(profile, NULL, "status_emoji", ""), &rc);
	u->tz = emu_strdup(tz ? tz : "America/Los_Angeles", &rc);
	u->tz_label = emu_strdup(pick(src, NULL, "tz_label",
				      tz ? tz : "Pacific Standard Time"), &rc);
	u->color = emu_strdup(pick(src, NULL, "color", "9f69e7"), &rc);
	u->tz_offset = emu_json_int(src, "tz_offset", tz ? 0 : -28800);
	u->updated = emu_json_int(src, "updated", EMU_DEFAULT_TIME);
	u->deleted = emu_json_bool(src, "deleted", false);
	u->is_admin = emu_json_bool(src, "is_admin", false);
	u->is_owner = emu_json_bool(src, "is_owner", false);
	u->is_primary_owner = emu_json_bool(src, "is_primary_owner", false);
	u->is_restricted = emu_json_bool(src, "is_restricted", false);
	u->is_ultra_restricted = emu_json_bool(src, "is_ultra_restricted", false);
	u->is_bot = emu_json_bool(src, "is_bot", false);
	u->is_app_user = emu_json_bool(src, "is_app_user", false);
	u->is_invited_user = emu_json_bool(src, "is_invited_user", false);
	u->is_email_confirmed = emu_json_bool(src, "is_email_confirmed", email != NULL);
	u->is_custom_image = custom;
	if (rc == 0)
		rc = copy_unknown(src, user_known, &u->extra);
	if (rc == 0)
		rc = copy_unknown(profile, profile_known, &u->profile_extra);
	if (rc < 0)
		emu_user_clear(u);
	return rc;
}

static int str_array_from_json(json_object *arr, char ***out, size_t *n_out)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	char **v = NULL;

	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		v[i] = strdup(s ? s : "");
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int group_from_json(json_object *src, struct emu_group *g, char *err,
			   size_t errlen)
{
	json_object *users = NULL;
	const char *id, *name, *creator;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (!json_object_is_type(src, json_type_object)) {
		set_err(err, errlen, "usergroup: not an object");
		return -EINVAL;
	}
	id = emu_json_str(src, "id");
	name = emu_json_str(src, "name");
	if (!id || !*id || !name) {
		set_err(err, errlen, "usergroup: \"id\" and \"name\" are required strings");
		return -EINVAL;
	}
	if (json_object_object_get_ex(src, "users", &users) && users &&
	    !json_object_is_type(users, json_type_array)) {
		set_err(err, errlen, "usergroup %s: \"users\" is not an array", id);
		return -EINVAL;
	}
	creator = emu_json_str(src, "created_by");
	g->id = emu_strdup(id, &rc);
	g->name = emu_strdup(name, &rc);
	g->handle = emu_strdup(pick(src, NULL, "handle", name), &rc);
	g->description = emu_strdup(pick(src, NULL, "description", ""), &rc);
	g->auto_type = emu_strdup(emu_json_str(src, "auto_type"), &rc);
	g->created_by = emu_strdup(creator ? creator : "USLACKBOT", &rc);
	g->updated_by = emu_strdup(pick(src, NULL, "updated_by",
					creator ? creator : "USLACKBOT"), &rc);
	g->deleted_by = emu_strdup(emu_json_str(src, "deleted_by"), &rc);
	g->date_create = emu_json_int(src, "date_create", EMU_DEFAULT_TIME);
	g->date_update = emu_json_int(src, "date_update", g->date_create);
	g->date_delete = emu_json_int(src, "date_delete", 0);
	/* Built-in Admins/Owners groups follow the roles unless listed. */
	g->derived_users = g->auto_type && !users;
	if (rc == 0)
		rc = str_array_from_json(users, &g->users, &g->n_users);
	if (rc == 0)
		rc = copy_unknown(src, group_known, &g->extra);
	if (rc < 0)
		emu_group_clear(g);
	return rc;
}

static int index_rebuild(struct emu_workspace *ws)
{
	size_t i;

	if (ws->index)
		lh_table_free(ws->index);
	ws->index = lh_kchar_table_new(ws->n_users > 16 ? (int)(ws->n_users * 2) : 32,
				       NULL);
	if (!ws->index)
		return -ENOMEM;
	for (i = 0; i < ws->n_users; i++)
		if (lh_table_insert(ws->index, ws->users[i].id,
				    (void *)(uintptr_t)(i + 1)) != 0)
			return -ENOMEM;
	return 0;
}

long emu_workspace_find_user(const struct emu_workspace *ws, const char *id)
{
	void *v;

	if (!ws->index || !lh_table_lookup_ex(ws->index, id, &v))
		return -1;
	return (long)((uintptr_t)v - 1);
}

const struct emu_group *emu_workspace_find_group(const struct emu_workspace *ws,
						 const char *id)
{
	size_t i;

	for (i = 0; i < ws->n_groups; i++)
		if (strcmp(ws->groups[i].id, id) == 0)
			return &ws->groups[i];
	return NULL;
}

int emu_workspace_add_user(struct emu_workspace *ws, struct emu_user *u)
{
	if (emu_workspace_find_user(ws, u->id) >= 0)
		return -EEXIST;
	if (ws->n_users == ws->cap_users) {
		size_t cap = ws->cap_users ? ws->cap_users * 2 : 64;
		struct emu_user *p = realloc(ws->users, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ws->users = p;
		ws->cap_users = cap;
	}
	ws->users[ws->n_users] = *u;
	if (lh_table_insert(ws->index, ws->users[ws->n_users].id,
			    (void *)(uintptr_t)(ws->n_users + 1)) != 0)
		return -ENOMEM;
	ws->n_users++;
	memset(u, 0, sizeof(*u));
	return 0;
}

int emu_workspace_put_user(struct emu_workspace *ws, json_object *src,
			   char *err, size_t errlen)
{
	struct emu_user u;
	long pos;
	int rc;

	rc = user_from_json(src, &u, err, errlen);
	if (rc < 0)
		return rc;
	pos = emu_workspace_find_user(ws, u.id);
	if (pos < 0) {
		rc = emu_workspace_add_user(ws, &u);
		emu_user_clear(&u);
		return rc;
	}
	/* The index key points at the old id string: swap, then re-key. */
	emu_user_clear(&ws->users[pos]);
	ws->users[pos] = u;
	return index_rebuild(ws);
}

int emu_workspace_delete_user(struct emu_workspace *ws, const char *id)
{
	long pos = emu_workspace_find_user(ws, id);

	if (pos < 0)
		return -ENOENT;
	emu_user_clear(&ws->users[pos]);
	memmove(&ws->users[pos], &ws->users[pos + 1],
		(ws->n_users - (size_t)pos - 1) * sizeof(ws->users[0]));
	ws->n_users--;
	return index_rebuild(ws);
}

int emu_workspace_add_group(struct emu_workspace *ws, struct emu_group *g)
{
	if (emu_workspace_find_group(ws, g->id))
		return -EEXIST;
	if (ws->n_groups == ws->cap_groups) {
		size_t cap = ws->cap_groups ? ws->cap_groups * 2 : 16;
		struct emu_group *p = realloc(ws->groups, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ws->groups = p;
		ws->cap_groups = cap;
	}
	ws->groups[ws->n_groups++] = *g;
	memset(g, 0, sizeof(*g));
	return 0;
}

int emu_workspace_put_group(struct emu_workspace *ws, json_object *src,
			    char *err, size_t errlen)
{
	struct emu_group g;
	size_t i;
	int rc;

	rc = group_from_json(src, &g, err, errlen);
	if (rc < 0)
		return rc;
	for (i = 0; i < ws->n_groups; i++) {
		if (strcmp(ws->groups[i].id, g.id) == 0) {
			emu_group_clear(&ws->groups[i]);
			ws->groups[i] = g;
			return 0;
		}
	}
	rc = emu_workspace_add_group(ws, &g);
	emu_group_clear(&g);
	return rc;
}

int emu_workspace_delete_group(struct emu_workspace *ws, const char *id)
{
	size_t i;

	for (i = 0; i < ws->n_groups; i++) {
		if (strcmp(ws->groups[i].id, id) == 0) {
			emu_group_clear(&ws->groups[i]);
			memmove(&ws->groups[i], &ws->groups[i + 1],
				(ws->n_groups - i - 1) * sizeof(ws->groups[0]));
			ws->n_groups--;
			return 0;
		}
	}
	return -ENOENT;
}

/* Fills in the team.info fields the fixture left out. */
static int team_normalize(json_object *team, const char *base_url)
{
	const char *id = emu_json_str(team, "id");
	const char *domain = emu_json_str(team, "domain");
	json_object *icon;
	char url[512];
	size_t i;
	static const int icon_sizes[] = { 34, 44, 68, 88, 102, 132, 230 };
	int rc = 0;

	if (!emu_json_str(team, "name"))
		rc = emu_json_add_str(team, "name", id);
	if (rc == 0 && !domain)
		rc = emu_json_add_str(team, "domain", id);
	if (rc == 0 && !json_object_object_get_ex(team, "email_domain", NULL))
		rc = emu_json_add_str(team, "email_domain", "");
	if (rc < 0 || json_object_object_get_ex(team, "icon", NULL))
		return rc;
	icon = json_object_new_object();
	if (!icon)
		return -ENOMEM;
	for (i = 0; rc == 0 && i < sizeof(icon_sizes) / sizeof(icon_sizes[0]); i++) {
		char key[32];

		snprintf(key, sizeof(key), "image_%d", icon_sizes[i]);
		snprintf(url, sizeof(url), "%s/avatars/team/%s_%d.png", base_url, id,
			 icon_sizes[i]);
		rc = emu_json_add_str(icon, key, url);
	}
	if (rc == 0)
		rc = emu_json_add_bool(icon, "image_default", true);
	if (rc < 0) {
		json_object_put(icon);
		return rc;
	}
	return emu_json_add(team, "icon", icon);
}

static int workspace_alloc(const char *team_id, struct emu_workspace **out)
{
	struct emu_workspace *ws = calloc(1, sizeof(*ws));
	int rc = 0;

	*out = NULL;
	if (!ws)
		return -ENOMEM;
	ws->team_id = emu_strdup(team_id, &rc);
	ws->plan = emu_strdup("std", &rc);
	if (rc == 0)
		rc = index_rebuild(ws);
	if (rc < 0) {
		emu_workspace_free(ws);
		return rc;
	}
	*out = ws;
	return 0;
}

int emu_workspace_new(const char *team_id, const char *name, const char *domain,
		      const char *base_url, struct emu_workspace **out)
{
	struct emu_workspace *ws = NULL;
	int rc;

	rc = workspace_alloc(team_id, &ws);
	if (rc < 0)
		return rc;
	ws->team = json_object_new_object();
	if (!ws->team)
		rc = -ENOMEM;
	if (rc == 0)
		rc = emu_json_add_str(ws->team, "id", team_id);
	if (rc == 0)
		rc = emu_json_add_str(ws->team, "name", name);
	if (rc == 0)
		rc = emu_json_add_str(ws->team, "domain", domain);
	if (rc == 0)
		rc = team_normalize(ws->team, base_url);
	if (rc < 0) {
		emu_workspace_free(ws);
		return rc;
	}
	*out = ws;
	return 0;
}

static json_object *array_member(json_object *src, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(src, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

int emu_workspace_from_json(json_object *src, const char *base_url,
			    struct emu_workspace **out, char *err, size_t errlen)
{
	struct emu_workspace *ws = NULL;
	json_object *team, *bot = NULL, *users, *groups;
	const char *team_id, *plan;
	size_t i;
	int rc;

	*out = NULL;
	if (!json_object_is_type(src, json_type_object) ||
	    !json_object_object_get_ex(src, "team", &team) ||
	    !json_object_is_type(team, json_type_object) ||
	    !(team_id = emu_json_str(team, "id")) || !*team_id) {
		set_err(err, errlen, "workspace: \"team\" object with an \"id\" is required");
		return -EINVAL;
	}
	rc = workspace_alloc(team_id, &ws);
	if (rc < 0)
		return rc;
	/* Our own deep copy: the caller's document is left untouched. */
	rc = json_object_deep_copy(team, &ws->team, NULL) == 0 ? 0 : -ENOMEM;
	if (rc == 0)
		rc = team_normalize(ws->team, base_url);
	plan = emu_json_str(src, "plan");
	if (rc == 0 && plan) {
		free(ws->plan);
		ws->plan = emu_strdup(plan, &rc);
	}
	json_object_object_get_ex(src, "bot", &bot);
	ws->bot_user_id = emu_strdup(pick(bot, NULL, "user_id", "U0EMUBOT01"), &rc);
	ws->bot_id = emu_strdup(pick(bot, NULL, "bot_id", "B0EMUBOT01"), &rc);

	users = array_member(src, "users");
	for (i = 0; rc == 0 && users && i < json_object_array_length(users); i++) {
		rc = emu_workspace_put_user(ws, json_object_array_get_idx(users, i),
					    err, errlen);
	}
	groups = array_member(src, "usergroups");
	for (i = 0; rc == 0 && groups && i < json_object_array_length(groups); i++) {
		rc = emu_workspace_put_group(ws, json_object_array_get_idx(groups, i),
					     err, errlen);
	}
	if (rc == -ENOMEM)
		set_err(err, errlen, "out of memory");
	if (rc < 0) {
		emu_workspace_free(ws);
		return rc;
	}
	*out = ws;
	return 0;
}

void emu_workspace_free(struct emu_workspace *ws)
{
	size_t i;

	if (!ws)
		return;
	for (i = 0; i < ws->n_users; i++)
		emu_user_clear(&ws->users[i]);
	for (i = 0; i < ws->n_groups; i++)
		emu_group_clear(&ws->groups[i]);
	free(ws->users);
	free(ws->groups);
	if (ws->index)
		lh_table_free(ws->index);
	json_object_put(ws->team);
	free(ws->team_id);
	free(ws->plan);
	free(ws->bot_user_id);
	free(ws->bot_id);
	free(ws);
}

bool emu_workspace_is_free_plan(const struct emu_workspace *ws)
{
	return strcmp(ws->plan, "free") == 0;
}

const char *emu_workspace_name(const struct emu_workspace *ws)
{
	return emu_json_str(ws->team, "name");
}

const char *emu_workspace_domain(const struct emu_workspace *ws)
{
	return emu_json_str(ws->team, "domain");
}

/* Avatar links point at the emulator, which serves a PNG for each. */
static int add_images(json_object *profile, const struct emu_workspace *ws,
		      const struct emu_user *u, const char *base_url)
{
	char key[32], url[512];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < sizeof(image_sizes) / sizeof(image_sizes[0]); i++) {
		snprintf(key, sizeof(key), "image_%d", image_sizes[i]);
		if (u->is_custom_image)
			snprintf(url, sizeof(url), "%s/avatars/%s/%s_%d.png", base_url,
				 ws->team_id, u->avatar_hash, image_sizes[i]);
		else
			snprintf(url, sizeof(url), "%s/avatars/default/%s_%d.png",
				 base_url, u->avatar_hash, image_sizes[i]);
		rc = emu_json_add_str(profile, key, url);
	}
	if (rc == 0 && u->is_custom_image) {
		snprintf(url, sizeof(url), "%s/avatars/%s/%s_1024.png", base_url,
			 ws->team_id, u->avatar_hash);
		rc = emu_json_add_str(profile, "image_1024", url);
		snprintf(url, sizeof(url), "%s/avatars/%s/%s_original.png", base_url,
			 ws->team_id, u->avatar_hash);
		if (rc == 0)
			rc = emu_json_add_str(profile, "image_original", url);
	}
	return rc;
}

static json_object *profile_json(const struct emu_workspace *ws,
				 const struct emu_user *u, const char *base_url,
				 bool with_email)
{
	json_object *p = json_object_new_object();
	int rc = p ? 0 : -ENOMEM;

	if (rc == 0) rc = emu_json_add_str(p, "title", u->title);
	if (rc == 0) rc = emu_json_add_str(p, "phone", u->phone);
	if (rc == 0) rc = emu_json_add_str(p, "skype", "");
	if (rc == 0) rc = emu_json_add_str(p, "real_name", u->real_name);
	/* Slack folds non-Latin text here; the emulator copies it unchanged. */
	if (rc == 0) rc = emu_json_add_str(p, "real_name_normalized", u->real_name);
	if (rc == 0) rc = emu_json_add_str(p, "display_name", u->display_name);
	if (rc == 0) rc = emu_json_add_str(p, "display_name_normalized", u->display_name);
	if (rc == 0) rc = emu_json_add(p, "fields", NULL);
	if (rc == 0) rc = emu_json_add_str(p, "status_text", u->status_text);
	if (rc == 0) rc = emu_json_add_str(p, "status_emoji", u->status_emoji);
	if (rc == 0) rc = emu_json_add_int(p, "status_expiration", 0);
	if (rc == 0) rc = emu_json_add_str(p, "avatar_hash", u->avatar_hash);
	if (rc == 0) rc = emu_json_add_bool(p, "is_custom_image", u->is_custom_image);
	if (rc == 0 && with_email && u->email)
		rc = emu_json_add_str(p, "email", u->email);
	if (rc == 0 && u->first_name)
		rc = emu_json_add_str(p, "first_name", u->first_name);
	if (rc == 0 && u->last_name)
		rc = emu_json_add_str(p, "last_name", u->last_name);
	if (rc == 0) rc = add_images(p, ws, u, base_url);
	if (rc == 0) rc = emu_json_add_str(p, "team", ws->team_id);
	if (rc == 0) rc = merge(p, u->profile_extra);
	if (rc < 0) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

json_object *emu_user_json(const struct emu_workspace *ws,
			   const struct emu_user *u, const char *base_url,
			   bool with_email)
{
	json_object *o = json_object_new_object(), *profile, *forgotten = NULL;
	int rc = o ? 0 : -ENOMEM;

	profile = o ? profile_json(ws, u, base_url, with_email) : NULL;
	if (!profile)
		rc = -ENOMEM;
	if (rc == 0 && u->deleted) {
		/*
		 * A deactivated user keeps only these members; the role and
		 * guest flags are absent, not false (SLACK-API.md §2.3).
		 */
		if (u->extra)
			json_object_object_get_ex(u->extra, "is_forgotten", &forgotten);
		rc = emu_json_add_str(o, "id", u->id);
		if (rc == 0) rc = emu_json_add_str(o, "name", u->name);
		if (rc == 0) rc = emu_json_add_bool(o, "is_bot", u->is_bot);
		if (rc == 0) rc = emu_json_add_int(o, "updated", u->updated);
		if (rc == 0) rc = emu_json_add_bool(o, "is_app_user", u->is_app_user);
		if (rc == 0) rc = emu_json_add_str(o, "team_id", ws->team_id);
		if (rc == 0) rc = emu_json_add_bool(o, "deleted", true);
		if (rc == 0)
			rc = emu_json_add_bool(o, "is_forgotten",
					       forgotten && json_object_get_boolean(forgotten));
		if (rc == 0) rc = emu_json_add(o, "profile", profile);
		profile = NULL;
		goto out;
	}
	if (rc == 0) rc = emu_json_add_str(o, "id", u->id);
	if (rc == 0) rc = emu_json_add_str(o, "team_id", ws->team_id);
	if (rc == 0) rc = emu_json_add_str(o, "name", u->name);
	if (rc == 0) rc = emu_json_add_bool(o, "deleted", false);
	if (rc == 0) rc = emu_json_add_str(o, "color", u->color);
	if (rc == 0) rc = emu_json_add_str(o, "real_name", u->real_name);
	if (rc == 0) rc = emu_json_add_str(o, "tz", u->tz);
	if (rc == 0) rc = emu_json_add_str(o, "tz_label", u->tz_label);
	if (rc == 0) rc = emu_json_add_int(o, "tz_offset", u->tz_offset);
	if (rc == 0) rc = emu_json_add(o, "profile", profile);
	profile = NULL;
	if (rc == 0) rc = emu_json_add_bool(o, "is_admin", u->is_admin);
	if (rc == 0) rc = emu_json_add_bool(o, "is_owner", u->is_owner);
	if (rc == 0) rc = emu_json_add_bool(o, "is_primary_owner", u->is_primary_owner);
	if (rc == 0) rc = emu_json_add_bool(o, "is_restricted", u->is_restricted);
	if (rc == 0)
		rc = emu_json_add_bool(o, "is_ultra_restricted", u->is_ultra_restricted);
	if (rc == 0) rc = emu_json_add_bool(o, "is_bot", u->is_bot);
	if (rc == 0) rc = emu_json_add_bool(o, "is_app_user", u->is_app_user);
	if (rc == 0) rc = emu_json_add_int(o, "updated", u->updated);
	if (rc == 0)
		rc = emu_json_add_bool(o, "is_email_confirmed", u->is_email_confirmed);
	/* Slack only sends is_invited_user when it is true. */
	if (rc == 0 && u->is_invited_user)
		rc = emu_json_add_bool(o, "is_invited_user", true);
	if (rc == 0) rc = merge(o, u->extra);
out:
	json_object_put(profile);
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Membership of a built-in group without a list: follows the roles. */
static bool derived_member(const struct emu_group *g, const struct emu_user *u)
{
	bool role = strcmp(g->auto_type, "owner") == 0 ? u->is_owner : u->is_admin;

	return role && !u->deleted && !u->is_bot;
}

const char *emu_user_json_text(const struct emu_workspace *ws, struct emu_user *u,
			       const char *base_url, bool with_email, size_t *len)
{
	size_t v = with_email ? 1 : 0;
	json_object *o;
	const char *t;

	if (!u->text[v]) {
		o = emu_user_json(ws, u, base_url, with_email);
		t = o ? emu_json_text(o) : NULL;
		u->text[v] = t ? strdup(t) : NULL;
		u->text_len[v] = u->text[v] ? strlen(u->text[v]) : 0;
		json_object_put(o);
	}
	*len = u->text_len[v];
	return u->text[v];
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static int json_string_text(const char *s, struct emu_buf *out)
{
	const char *run = s;
	int rc = emu_buf_append(out, "\"", 1);

	for (; rc == 0 && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		rc = emu_buf_append(out, run, (size_t)(s - run));
		if (rc == 0)
			rc = ch == '"' ? emu_buf_puts(out, "\\\"")
			     : ch == '\\' ? emu_buf_puts(out, "\\\\")
			     : emu_buf_printf(out, "\\u%04x", ch);
		run = s + 1;
	}
	if (rc == 0)
		rc = emu_buf_append(out, run, (size_t)(s - run));
	return rc == 0 ? emu_buf_append(out, "\"", 1) : rc;
}

int emu_group_members_text(const struct emu_workspace *ws,
			   const struct emu_group *g, struct emu_buf *out)
{
	size_t i, n = 0;
	int rc = emu_buf_append(out, "[", 1);

	for (i = 0; rc == 0 && !g->derived_users && i < g->n_users; i++) {
		rc = i ? emu_buf_append(out, ",", 1) : 0;
		if (rc == 0)
			rc = json_string_text(g->users[i], out);
	}
	for (i = 0; rc == 0 && g->derived_users && i < ws->n_users; i++) {
		if (!derived_member(g, &ws->users[i]))
			continue;
		rc = n++ ? emu_buf_append(out, ",", 1) : 0;
		if (rc == 0)
			rc = json_string_text(ws->users[i].id, out);
	}
	return rc == 0 ? emu_buf_append(out, "]", 1) : rc;
}

json_object *emu_group_members(const struct emu_workspace *ws,
			       const struct emu_group *g)
{
	json_object *arr = json_object_new_array();
	size_t i;
	int rc = arr ? 0 : -ENOMEM;

	for (i = 0; rc == 0 && !g->derived_users && i < g->n_users; i++)
		rc = emu_json_push(arr, json_object_new_string(g->users[i]));
	for (i = 0; rc == 0 && g->derived_users && i < ws->n_users; i++)
		if (derived_member(g, &ws->users[i]))
			rc = emu_json_push(arr, json_object_new_string(ws->users[i].id));
	if (rc < 0) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static size_t group_member_count(const struct emu_workspace *ws,
				 const struct emu_group *g)
{
	size_t i, n = 0;

	if (!g->derived_users)
		return g->n_users;
	for (i = 0; i < ws->n_users; i++)
		n += derived_member(g, &ws->users[i]);
	return n;
}

json_object *emu_group_json(const struct emu_workspace *ws,
			    const struct emu_group *g, bool include_users,
			    bool include_count)
{
	json_object *o = json_object_new_object(), *prefs = NULL, *members = NULL;
	char count[32];
	int rc = o ? 0 : -ENOMEM;

	/* The member list is only built when it is sent. */
	if (o && include_users) {
		members = emu_group_members(ws, g);
		if (!members)
			rc = -ENOMEM;
	}
	if (rc == 0) rc = emu_json_add_str(o, "id", g->id);
	if (rc == 0) rc = emu_json_add_str(o, "team_id", ws->team_id);
	if (rc == 0) rc = emu_json_add_bool(o, "is_usergroup", true);
	if (rc == 0) rc = emu_json_add_bool(o, "is_subteam", true);
	if (rc == 0) rc = emu_json_add_str(o, "name", g->name);
	if (rc == 0) rc = emu_json_add_str(o, "description", g->description);
	if (rc == 0) rc = emu_json_add_str(o, "handle", g->handle);
	if (rc == 0) rc = emu_json_add_bool(o, "is_external", false);
	if (rc == 0) rc = emu_json_add_int(o, "date_create", g->date_create);
	if (rc == 0) rc = emu_json_add_int(o, "date_update", g->date_update);
	if (rc == 0) rc = emu_json_add_int(o, "date_delete", g->date_delete);
	if (rc == 0) rc = emu_json_add_str(o, "auto_type", g->auto_type);
	if (rc == 0) rc = emu_json_add_str(o, "created_by", g->created_by);
	if (rc == 0) rc = emu_json_add_str(o, "updated_by", g->updated_by);
	if (rc == 0) rc = emu_json_add_str(o, "deleted_by", g->deleted_by);
	if (rc == 0) {
		prefs = json_object_new_object();
		rc = prefs ? 0 : -ENOMEM;
		if (rc == 0) rc = emu_json_add(prefs, "channels", json_object_new_array());
		if (rc == 0) rc = emu_json_add(prefs, "groups", json_object_new_array());
		if (rc == 0) rc = emu_json_add(o, "prefs", prefs);
		else json_object_put(prefs);
	}
	/* Slack's examples give user_count as a string. */
	if (rc == 0 && include_count) {
		snprintf(count, sizeof(count), "%zu", group_member_count(ws, g));
		rc = emu_json_add_str(o, "user_count", count);
	}
	if (rc == 0 && include_users) {
		rc = emu_json_add(o, "users", members);
		members = NULL;
	}
	if (rc == 0) rc = merge(o, g->extra);
	json_object_put(members);
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
