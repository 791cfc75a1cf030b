#include "provider/slack/group_search.h"
#include "provider/slack/connection.h"
#include "db/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "provider/slack/slack.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Folds one character at s into *out (1 or 2 bytes); returns its length. */
static size_t fold(const unsigned char *s, unsigned char out[2])
{
	if (*s >= 'A' && *s <= 'Z') {
		out[0] = (unsigned char)(*s + 32);
		return 1;
	}
	/* UTF-8 of U+00C0..U+00DE (À..Þ, but not ×) is C3 80..9E. */
	if (s[0] == 0xC3 && s[1] >= 0x80 && s[1] <= 0x9E && s[1] != 0x97) {
		out[0] = 0xC3;
		out[1] = (unsigned char)(s[1] + 0x20);
		return 2;
	}
	out[0] = s[0];
	if (s[0] == 0xC3 && s[1]) {
		out[1] = s[1];
		return 2;
	}
	return 1;
}

/* Whether q occurs in s at position at, folding both. */
static int folded_at(const unsigned char *s, const unsigned char *q)
{
	while (*q) {
		unsigned char a[2], b[2];
		size_t la, lb;

		if (!*s)
			return 0;
		la = fold(s, a);
		lb = fold(q, b);
		if (la != lb || memcmp(a, b, la) != 0)
			return 0;
		s += la;
		q += lb;
	}
	return 1;
}

static int match_one(const char *str, const char *q)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	if (folded_at(s, (const unsigned char *)q))
		return 2;
	for (; *s; s++)
		if (folded_at(s, (const unsigned char *)q))
			return 1;
	return 0;
}

int groups_match(const char *name, const char *handle, const char *q)
{
	int a = match_one(name, q), b = match_one(handle, q);

	return a > b ? a : b;
}

/* The cached list of the workspace's groups, in *out, and its age in
 * seconds in *age; PV_ENOTFOUND when nothing is cached for this workspace. */
static int cache_read(struct db *db, int64_t org, const char *workspace, json_object **out,
		      long long *age)
{
	struct db_rows *r = NULL;
	const char *why;
	int rc;

	*out = NULL;
	*age = 0;
	rc = db_query(db, &r, "SELECT groups_json, TIMESTAMPDIFF(SECOND, fetched_at, NOW())"
		      " FROM slack_group_cache WHERE organization_id = ? AND workspace_id = ?",
		      DB_ARGS(DB_INT(org), DB_STR(workspace)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		*age = db_rows_int(r, 1);
		rc = pjson_parse(db_rows_str(r, 0), db_rows_len(r, 0), 4, out, &why);
	} else if (rc == 0) {
		rc = PV_ENOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

/* The cache's JSON array of the enabled groups among groups[0..n). */
static int cache_json(const struct slack_group *groups, size_t n, json_object **out)
{
	json_object *arr = json_object_new_array();

	*out = NULL;
	if (!arr)
		return PV_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *g;

		if (groups[i].disabled)
			continue;   /* a disabled group is neither offered nor accepted */
		g = json_object_new_object();
		if (!g || pjson_add_str(g, "id", groups[i].id) ||
		    pjson_add_str(g, "name", groups[i].name) ||
		    pjson_add_str(g, "handle", groups[i].handle) ||
		    pjson_add_int(g, "user_count", groups[i].user_count)) {
			json_object_put(g);
			json_object_put(arr);
			return PV_ENOMEM;
		}
		/* pjson_push owns g from here on, pushed or not */
		if (pjson_push(arr, g) < 0) {
			json_object_put(arr);
			return PV_ENOMEM;
		}
	}
	*out = arr;
	return 0;
}

static int cache_write(struct db *db, int64_t org, const char *workspace, json_object *arr)
{
	return db_exec(db, "INSERT INTO slack_group_cache (organization_id, workspace_id, groups_json,"
		       " fetched_at) VALUES (?, ?, ?, NOW()) ON DUPLICATE KEY UPDATE"
		       " workspace_id = VALUES(workspace_id), groups_json = VALUES(groups_json),"
		       " fetched_at = VALUES(fetched_at)",
		       DB_ARGS(DB_INT(org), DB_STR(workspace), DB_STR(pjson_text(arr, NULL))), NULL);
}

int groups_cache_store(struct db *db, int64_t org, const char *workspace,
		       const struct slack_group *groups, size_t n)
{
	json_object *arr = NULL;
	int rc = cache_json(groups, n, &arr);

	if (rc == 0)
		rc = cache_write(db, org, workspace, arr);
	json_object_put(arr);
	return rc;
}

/* Asks Slack for the enabled groups with the request policy and caches
 * them.  Only one API process at a time asks for one organization (a named
 * lock taken without waiting): the others get PV_ETHROTTLED at once, so a
 * slow Slack holds at most one process per organization. */
static int cache_fill(struct db *db, const struct config *cfg, const struct crypto_key *key,
		      int64_t org, const char *workspace, json_object **out, int *no_groups_plan,
		      struct slack_error *err)
{
	struct slack_group *groups = NULL;
	struct slack *s = NULL;
	json_object *arr = NULL;
	long long got = 0;
	size_t n = 0;
	int rc;

	*out = NULL;
	rc = db_query_int(db, &got, "SELECT IFNULL(GET_LOCK(CONCAT('pv_slack_groups_', ?), 0), 0)",
			  DB_ARGS(DB_INT(org)));
	if (rc < 0)
		return rc;
	if (got != 1)
		return PV_ETHROTTLED;
	rc = conn_client_p(db, cfg, key, org, SLACK_POLICY_REQUEST, &s);
	if (rc < 0)
		goto out;
	rc = slack_groups_list(s, 0, 0, &groups, &n);
	if (rc < 0) {
		*err = *slack_last_error(s);
		if (err->kind == SLACK_ERR_PLAN) {
			*no_groups_plan = 1;
			n = 0;
			rc = 0;
		} else if (err->kind == SLACK_ERR_AUTH) {
			conn_mark_broken(db, org, err->code);
		}
		if (rc < 0)
			goto out;
	}
	rc = cache_json(groups, n, &arr);
	if (rc == 0)
		rc = cache_write(db, org, workspace, arr);
	if (rc == 0) {
		*out = arr;
		arr = NULL;
	}
out:
	json_object_put(arr);
	slack_groups_free(groups, n);
	slack_free(s);
	/* The lock is released whatever happened; a lost connection drops it. */
	db_exec(db, "DO RELEASE_LOCK(CONCAT('pv_slack_groups_', ?))", DB_ARGS(DB_INT(org)), NULL);
	return rc;
}

#define GROUPS_REFRESH (-1)   /* max_age of groups_current: ask Slack whatever */

/* The workspace's enabled groups for a request: the cache while it is at
 * most max_age seconds old, else Slack's list.  When Slack cannot answer
 * now (slow, rate-limited, another process asking), an older cache is
 * served rather than nothing, unless max_age is GROUPS_REFRESH. */
static int groups_current(struct db *db, const struct config *cfg, const struct crypto_key *key,
			  int64_t org, const char *workspace, long long max_age, json_object **all,
			  int *no_groups_plan, struct slack_error *err)
{
	int force = max_age == GROUPS_REFRESH;
	json_object *fresh = NULL;
	long long age = 0;
	int rc;

	rc = cache_read(db, org, workspace, all, &age);
	if (rc < 0 && rc != PV_ENOTFOUND)
		return rc;
	if (rc == 0 && !force && age <= max_age)
		return 0;
	rc = cache_fill(db, cfg, key, org, workspace, &fresh, no_groups_plan, err);
	if (rc == 0) {
		json_object_put(*all);
		*all = fresh;
		return 0;
	}
	if (*all && !force && (rc == PV_ETHROTTLED ||
			       (rc == PV_EREMOTE && err->kind == SLACK_ERR_RETRYABLE))) {
		log_info("groups: organization %lld: Slack unavailable (%s); serving the list of"
			 " %lld s ago", (long long)org, rc == PV_ETHROTTLED ? "busy" : err->code, age);
		return 0;
	}
	json_object_put(*all);
	*all = NULL;
	return rc;
}

struct ranked {
	json_object *group;
	int rank;
	const char *name;
};

static int by_rank_then_name(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return y->rank - x->rank;
	return strcasecmp(x->name, y->name);
}

int groups_search(struct db *db, const struct config *cfg, const struct crypto_key *key,
		  int64_t org, const char *q, int limit, json_object **out,
		  int *no_groups_plan, struct slack_error *err)
{
	struct conn_info info;
	struct ranked *hits = NULL;
	json_object *all = NULL, *res = NULL;
	size_t n, nhits = 0;
	int rc;

	*out = NULL;
	*no_groups_plan = 0;
	memset(err, 0, sizeof(*err));
	rc = conn_get(db, org, &info);
	if (rc < 0)
		return rc;
	/* A connection that needs reconnecting cannot ask Slack: the cached
	 * list, whatever its age, still names the groups already chosen. */
	rc = groups_current(db, cfg, key, org, info.workspace_id,
			    strcmp(info.status, "needs_reconnection") == 0 ? LLONG_MAX
									: GROUPS_CACHE_SECONDS - 1,
			    &all, no_groups_plan, err);
	if (rc < 0)
		goto out;
	n = json_object_array_length(all);
	hits = calloc(n ? n : 1, sizeof(*hits));
	res = json_object_new_array();
	if (!hits || !res) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(all, i);
		const char *name = "", *handle = "";
		int rank;

		pjson_get_str(g, "name", &name);
		pjson_get_str(g, "handle", &handle);
		rank = groups_match(name, handle, q ? q : "");
		if (rank)
			hits[nhits++] = (struct ranked){ g, rank, name };
	}
	qsort(hits, nhits, sizeof(*hits), by_rank_then_name);
	for (size_t i = 0; i < nhits && (int)i < limit; i++) {
		rc = pjson_push(res, json_object_get(hits[i].group));
		if (rc < 0)
			goto out;
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	free(hits);
	json_object_put(res);
	json_object_put(all);
	return rc;
}

/* Whether the JSON list all has a group with this id. */
static int has_id(json_object *all, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		const char *gid = NULL;

		if (pjson_get_str(json_object_array_get_idx(all, i), "id", &gid) == 0 && gid &&
		    strcmp(gid, id) == 0)
			return 1;
	}
	return 0;
}

int groups_for_validation(struct db *db, const struct config *cfg, const struct crypto_key *key,
			  int64_t org, const char *const *ids, size_t n_ids,
			  struct slack_group **out, size_t *n, struct slack_error *err)
{
	struct conn_info info;
	struct slack_group *g = NULL;
	json_object *all = NULL;
	size_t len = 0, k = 0;
	int rc, no_plan = 0, missing = 0;

	*out = NULL;
	*n = 0;
	memset(err, 0, sizeof(*err));
	rc = conn_get(db, org, &info);
	if (rc < 0)
		return rc;
	/* The cache of any age (the sync refreshes it) when it knows every id. */
	rc = groups_current(db, cfg, key, org, info.workspace_id, LLONG_MAX, &all, &no_plan, err);
	for (size_t i = 0; rc == 0 && i < n_ids; i++)
		missing |= !has_id(all, ids[i]);
	/* A group created in Slack since the list was cached: ask Slack once
	 * more before calling it unknown (the cache is refreshed with it). */
	if (rc == 0 && missing) {
		json_object_put(all);
		all = NULL;
		rc = groups_current(db, cfg, key, org, info.workspace_id, GROUPS_REFRESH, &all,
				    &no_plan, err);
	}
	if (rc < 0)
		goto out;
	len = json_object_array_length(all);
	g = calloc(len ? len : 1, sizeof(*g));
	if (!g) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (k = 0; k < len; k++) {
		const char *id = NULL;

		pjson_get_str(json_object_array_get_idx(all, k), "id", &id);
		g[k].id = strdup(id ? id : "");
		if (!g[k].id) {
			rc = PV_ENOMEM;
			goto out;
		}
	}
	*out = g;
	*n = len;
	g = NULL;
out:
	slack_groups_free(g, k);
	json_object_put(all);
	return rc;
}
