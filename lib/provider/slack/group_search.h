/*
 * group_search.h - the type-ahead over the workspace's Slack user groups
 * (SPEC §1.6, §4.2 GET /provisioning/slack/groups).
 *
 * usergroups.list is Tier 2 (about 20 calls a minute), far fewer than the
 * keystrokes of one administrator, so the list is cached in the database
 * (shared by every API process) for GROUPS_CACHE_SECONDS and filtered here.
 * The request path asks Slack with the short request policy (slack.h), one
 * process per organization at a time, and serves an older list when Slack
 * cannot answer now; the sync worker refreshes the list whenever it reads
 * the groups (groups_cache_store).
 *
 * Matching: q against name or handle, case-insensitively (ASCII letters and
 * the Latin-1 capitals À-Þ are folded), as a prefix or anywhere inside;
 * prefix matches come first, then by name.
 */
#ifndef PV_GROUP_SEARCH_H
#define PV_GROUP_SEARCH_H

#include <json-c/json.h>
#include <stdint.h>

struct config;
struct crypto_key;
struct db;
struct slack_error;
struct slack_group;

#define GROUPS_CACHE_SECONDS 60

/* 2 when q is a prefix of name or handle, 1 when it is inside either, 0
 * otherwise; an empty q matches everything as a prefix. */
int groups_match(const char *name, const char *handle, const char *q);

/* A new array of at most limit {id, name, handle, user_count} objects.
 * PV_EREMOTE when Slack refused or could not answer in time (details in
 * *err; an auth failure has already marked the integration
 * needs_reconnection) and no older list is cached; PV_ETHROTTLED when
 * another process is asking Slack and nothing is cached; PV_ENOTFOUND when
 * Slack is not connected.  A free workspace (no user groups on its plan)
 * gives an empty array and *no_groups_plan = 1. */
int groups_search(struct db *db, const struct config *cfg, const struct crypto_key *key,
		  int64_t org, const char *q, int limit, json_object **out,
		  int *no_groups_plan, struct slack_error *err);

/* The workspace's enabled groups, at least with an id each, to validate a
 * configuration naming ids[0..n_ids): the cache, whatever its age, when it
 * knows every id (the sync refreshes it), and when one of the ids is not
 * in it (a group created a minute ago), one fresh usergroups.list
 * with the request policy that refreshes the cache.  *out is a new array
 * of *n groups freed with slack_groups_free.  PV_EREMOTE when Slack could
 * not be asked (details in *err), PV_ETHROTTLED when another process is
 * asking Slack for this organization right now, PV_ENOTFOUND when Slack is
 * not connected.  A free workspace gives no groups. */
int groups_for_validation(struct db *db, const struct config *cfg, const struct crypto_key *key,
			  int64_t org, const char *const *ids, size_t n_ids,
			  struct slack_group **out, size_t *n, struct slack_error *err);

/* Replaces the cached list of workspace's groups by the enabled ones of
 * groups[0..n): the sync worker calls it after each usergroups.list it
 * makes, so that the type-ahead and validation are served from the
 * database instead of waiting on Slack.  0 or a database error. */
int groups_cache_store(struct db *db, int64_t org, const char *workspace,
		       const struct slack_group *groups, size_t n);

#endif
