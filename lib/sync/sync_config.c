#include "sync/sync_config.h"
#include "db/db.h"
#include "core/err.h"
#include "core/pjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct slack_group *find_group(const struct slack_group *g, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (g[i].id && strcmp(g[i].id, id) == 0)
			return &g[i];
	return NULL;
}

static int team_exists(struct db *db, int64_t org, int64_t team)
{
	long long n = 0;
	int rc = db_query_int(db, &n, "SELECT COUNT(*) FROM teams WHERE organization_id = ? AND id = ?",
			      DB_ARGS(DB_INT(org), DB_INT(team)));

	return rc < 0 ? rc : n != 0;
}

/* A field path kept in a small static ring: messages outlive the call. */
static const char *path(const char *fmt, size_t i)
{
	static char ring[4][80];
	static int next;
	char *p = ring[next++ % 4];

	snprintf(p, sizeof(ring[0]), fmt, i);
	return p;
}

#define FAIL(f, ...) do { *field = (f); snprintf(why, whylen, __VA_ARGS__); rc = PV_EINVAL; \
	goto out; } while (0)

/* A copy of s pushed onto arr.  0 or PV_ENOMEM. */
static int push_string(json_object *arr, const char *s)
{
	json_object *v = json_object_new_string(s);

	/* json_object_array_add takes NULL as JSON null: check first. */
	return v ? pjson_push(arr, v) : PV_ENOMEM;
}

/* A new empty object added to parent under key; borrowed (parent owns
 * it), NULL when out of memory. */
static json_object *child(json_object *parent, const char *key)
{
	json_object *o = json_object_new_object();

	return o && pjson_add(parent, key, o) == 0 ? o : NULL;
}

static int known_keys(json_object *obj, const char *const *keys, const char **bad)
{
	json_object_object_foreach(obj, key, val) {
		int ok = 0;

		(void)val;
		for (const char *const *k = keys; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (!ok) {
			*bad = key;
			return 0;
		}
	}
	return 1;
}

int sync_config_validate(struct db *db, int64_t org, json_object *body,
			 const struct slack_group *groups, size_t n_groups,
			 json_object **normalized, const char **field, char *why, size_t whylen)
{
	static const char *const top_keys[] = { "members", "team_mapping", "deactivation_threshold", NULL };
	static const char *const members_keys[] = { "mode", "group_ids", NULL };
	static const char *const mapping_keys[] = { "enabled", "mappings", NULL };
	static const char *const row_keys[] = { "slack_group_id", "team_id", NULL };
	static const char *const threshold_keys[] = { "percent", "minimum", NULL };
	json_object *members, *mapping, *threshold, *ids = NULL, *rows = NULL, *out = NULL;
	json_object *nm, *ntm, *nth;          /* borrowed from out */
	json_object *nids = NULL, *nrows = NULL;
	const char *mode = NULL, *bad = NULL;
	int64_t percent = PLAN_DEFAULT_THRESHOLD_PERCENT, minimum = PLAN_DEFAULT_THRESHOLD_MINIMUM;
	int enabled = 0, rc = 0;

	*normalized = NULL;
	*field = NULL;
	/* The router refuses a body that is not an object; this function does
	 * not lean on it (given one, json-c's table walk reads NULL). */
	if (!json_object_is_type(body, json_type_object))
		FAIL("members", "The configuration must be an object: {members, team_mapping,"
		     " deactivation_threshold}.");
	if (!known_keys(body, top_keys, &bad))
		FAIL(bad, "This field is not part of the configuration.");
	if (pjson_get_obj(body, "members", &members) < 0)
		FAIL("members", "members is required: {mode, group_ids}.");
	if (!known_keys(members, members_keys, &bad))
		FAIL(bad, "This field is not part of members.");
	if (pjson_get_str(members, "mode", &mode) < 0 ||
	    (strcmp(mode, "everyone") != 0 && strcmp(mode, "groups") != 0))
		FAIL("members.mode", "members.mode must be \"everyone\" or \"groups\".");
	rc = pjson_get_array(members, "group_ids", &ids);
	if (rc == PV_EINVAL)
		FAIL("members.group_ids", "members.group_ids must be a list of Slack group ids.");
	rc = 0;
	nids = json_object_new_array();
	if (!nids) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = 0; ids && i < json_object_array_length(ids); i++) {
		json_object *v = json_object_array_get_idx(ids, i);
		const char *id = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

		if (!id)
			FAIL(path("members.group_ids[%zu]", i), "A Slack group id is a string such as \"S0123ABCD\".");
		if (!find_group(groups, n_groups, id) || find_group(groups, n_groups, id)->disabled)
			FAIL(path("members.group_ids[%zu]", i),
			     "There is no enabled Slack group %.40s in the connected workspace.", id);
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(ids, j)), id) == 0)
				FAIL(path("members.group_ids[%zu]", i), "The group %.40s is listed twice.", id);
		if ((rc = push_string(nids, id)) < 0)
			goto out;
	}
	if (strcmp(mode, "groups") == 0 && json_object_array_length(nids) == 0)
		FAIL("members.group_ids", "Choose at least one Slack group, or import everyone.");
	if (pjson_get_obj(body, "team_mapping", &mapping) == 0) {
		if (!known_keys(mapping, mapping_keys, &bad))
			FAIL(bad, "This field is not part of team_mapping.");
		if (pjson_get_bool(mapping, "enabled", &enabled) == PV_EINVAL)
			FAIL("team_mapping.enabled", "team_mapping.enabled must be true or false.");
		if (pjson_get_array(mapping, "mappings", &rows) == PV_EINVAL)
			FAIL("team_mapping.mappings", "team_mapping.mappings must be a list.");
	}
	nrows = json_object_new_array();
	if (!nrows) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = 0; rows && i < json_object_array_length(rows); i++) {
		json_object *row = json_object_array_get_idx(rows, i), *nrow;
		const char *gid = NULL;
		int64_t team = 0;
		int exists;

		if (!json_object_is_type(row, json_type_object))
			FAIL(path("team_mapping.mappings[%zu]", i), "Each mapping is {slack_group_id, team_id}.");
		if (!known_keys(row, row_keys, &bad))
			FAIL(path("team_mapping.mappings[%zu]", i), "Each mapping is {slack_group_id, team_id}.");
		if (pjson_get_str(row, "slack_group_id", &gid) < 0 || !find_group(groups, n_groups, gid) ||
		    find_group(groups, n_groups, gid)->disabled)
			FAIL(path("team_mapping.mappings[%zu].slack_group_id", i),
			     "There is no enabled Slack group %.40s in the connected workspace.", gid ? gid : "");
		if (pjson_get_int(row, "team_id", &team) < 0 || team < 1)
			FAIL(path("team_mapping.mappings[%zu].team_id", i), "team_id must be one of your teams' ids.");
		exists = team_exists(db, org, team);
		if (exists < 0) {
			rc = exists;
			goto out;
		}
		if (!exists)
			FAIL(path("team_mapping.mappings[%zu].team_id", i),
			     "There is no team %lld in your organization.", (long long)team);
		for (size_t j = 0; j < i; j++) {
			json_object *prev = json_object_array_get_idx(nrows, j);
			const char *pg = NULL;
			int64_t pt = 0;

			pjson_get_str(prev, "slack_group_id", &pg);
			pjson_get_int(prev, "team_id", &pt);
			if (pg && strcmp(pg, gid) == 0 && pt == team)
				FAIL(path("team_mapping.mappings[%zu]", i), "This group is already mapped to this team.");
		}
		/* Pushed first: nrows owns it, even if filling it fails. */
		nrow = json_object_new_object();
		if (!nrow || pjson_push(nrows, nrow) || pjson_add_str(nrow, "slack_group_id", gid) ||
		    pjson_add_int(nrow, "team_id", team)) {
			rc = PV_ENOMEM;
			goto out;
		}
	}
	if (enabled && json_object_array_length(nrows) == 0)
		FAIL("team_mapping.mappings", "Add at least one Slack group to team mapping, or turn team mapping off.");
	if (pjson_get_obj(body, "deactivation_threshold", &threshold) == 0) {
		if (!known_keys(threshold, threshold_keys, &bad))
			FAIL(bad, "This field is not part of deactivation_threshold.");
		rc = pjson_get_int(threshold, "percent", &percent);
		if (rc == PV_EINVAL || percent < 0 || percent > 100)
			FAIL("deactivation_threshold.percent", "percent must be a whole number from 0 to 100.");
		rc = pjson_get_int(threshold, "minimum", &minimum);
		if (rc == PV_EINVAL || minimum < 0 || minimum > 1000000)
			FAIL("deactivation_threshold.minimum", "minimum must be a whole number of users, 0 or more.");
		rc = 0;
	}
	/* Every object is attached to out as soon as it exists, so that out
	 * owns it whatever fails next (and a partial configuration is never
	 * returned: validation fails with PV_ENOMEM instead). */
	rc = PV_ENOMEM;
	out = json_object_new_object();
	nm = out ? child(out, "members") : NULL;
	ntm = nm ? child(out, "team_mapping") : NULL;
	nth = ntm ? child(out, "deactivation_threshold") : NULL;
	if (!nth || pjson_add_str(nm, "mode", mode))
		goto out;
	/* pjson_add takes its value over, even when it fails. */
	rc = pjson_add(nm, "group_ids", nids);
	nids = NULL;
	if (rc == 0)
		rc = pjson_add_bool(ntm, "enabled", enabled);
	if (rc == 0)
		rc = pjson_add(ntm, "mappings", nrows);
	else
		json_object_put(nrows);	/* not handed over: the flag failed */
	nrows = NULL;
	if (rc == 0)
		rc = pjson_add_int(nth, "percent", percent);
	if (rc == 0)
		rc = pjson_add_int(nth, "minimum", minimum);
	if (rc < 0)
		goto out;
	*normalized = out;
	out = NULL;
out:
	json_object_put(out);
	json_object_put(nids);
	json_object_put(nrows);
	return rc;
}

int sync_config_save(struct db *db, int64_t org, int64_t user, json_object *config)
{
	return db_exec(db, "INSERT INTO provisioning_configs (organization_id, config_json,"
		       " updated_by_user_id) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE"
		       " config_json = VALUES(config_json), updated_by_user_id = VALUES(updated_by_user_id),"
		       " updated_at = NOW()",
		       DB_ARGS(DB_INT(org), DB_STR(pjson_text(config, NULL)), DB_INT(user)), NULL);
}

static const char *keep(struct sync_config_snapshot *s, const char *v)
{
	char *c = strdup(v ? v : "");

	if (!c)
		return NULL;
	s->strings[s->n_strings++] = c;
	return c;
}

int sync_config_snapshot(const char *text, struct sync_config_snapshot *snap)
{
	json_object *cfg = NULL, *members, *mapping, *threshold, *ids = NULL, *rows = NULL;
	const char *why, *mode = "everyone";
	int64_t percent = PLAN_DEFAULT_THRESHOLD_PERCENT, minimum = PLAN_DEFAULT_THRESHOLD_MINIMUM;
	size_t nids, nrows;
	int enabled = 0, rc;

	memset(snap, 0, sizeof(*snap));
	sync_plan_config_init(&snap->plan);
	rc = pjson_parse(text, strlen(text), PJSON_MAX_DEPTH, &cfg, &why);
	if (rc < 0)   /* the strict scan allocates too: out of memory stays so */
		return rc == PV_ENOMEM ? rc : PV_EINVAL;
	if (pjson_get_obj(cfg, "members", &members) == 0) {
		pjson_get_str(members, "mode", &mode);
		pjson_get_array(members, "group_ids", &ids);
	}
	if (pjson_get_obj(cfg, "team_mapping", &mapping) == 0) {
		pjson_get_bool(mapping, "enabled", &enabled);
		pjson_get_array(mapping, "mappings", &rows);
	}
	if (pjson_get_obj(cfg, "deactivation_threshold", &threshold) == 0) {
		pjson_get_int(threshold, "percent", &percent);
		pjson_get_int(threshold, "minimum", &minimum);
	}
	nids = ids ? json_object_array_length(ids) : 0;
	nrows = rows ? json_object_array_length(rows) : 0;
	snap->strings = calloc(nids + nrows + 1, sizeof(char *));
	snap->group_ids = calloc(nids + 1, sizeof(char *));
	snap->mappings = calloc(nrows + 1, sizeof(*snap->mappings));
	if (!snap->strings || !snap->group_ids || !snap->mappings) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nids; i++) {
		snap->group_ids[i] = keep(snap, json_object_get_string(json_object_array_get_idx(ids, i)));
		if (!snap->group_ids[i]) {
			rc = PV_ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < nrows; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		const char *gid = "";
		int64_t team = 0;

		pjson_get_str(row, "slack_group_id", &gid);
		pjson_get_int(row, "team_id", &team);
		snap->mappings[i].slack_group_id = keep(snap, gid);
		snap->mappings[i].team_id = team;
		if (!snap->mappings[i].slack_group_id) {
			rc = PV_ENOMEM;
			goto out;
		}
	}
	snap->plan.members_mode = strcmp(mode, "groups") == 0 ? PLAN_MEMBERS_GROUPS : PLAN_MEMBERS_EVERYONE;
	snap->plan.group_ids = snap->group_ids;
	snap->plan.n_group_ids = nids;
	snap->plan.team_mapping_enabled = enabled;
	snap->plan.mappings = snap->mappings;
	snap->plan.n_mappings = nrows;
	snap->plan.threshold_percent = (unsigned)percent;
	snap->plan.threshold_minimum = (unsigned)minimum;
out:
	json_object_put(cfg);
	if (rc < 0)
		sync_config_release(snap);
	return rc;
}

void sync_config_release(struct sync_config_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_strings; i++)
		free(snap->strings[i]);
	free(snap->strings);
	free(snap->group_ids);
	free(snap->mappings);
	memset(snap, 0, sizeof(*snap));
	sync_plan_config_init(&snap->plan);
}

int sync_config_needs_groups(const struct sync_config_snapshot *snap)
{
	return snap->plan.members_mode == PLAN_MEMBERS_GROUPS ||
	       (snap->plan.team_mapping_enabled && snap->plan.n_mappings > 0);
}
