/*
 * group_search.h - the type-ahead over the workspace's Slack user groups
 * (SPEC §1.6, §4.2 GET /provisioning/slack/groups).
 *
 * usergroups.list is Tier 2 (about 20 calls a minute), far fewer than the
 * keystrokes of one administrator, so the list is cached in the database
 * (shared by every API process) for GROUPS_CACHE_SECONDS and filtered here.
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

#define GROUPS_CACHE_SECONDS 60

/* 2 when q is a prefix of name or handle, 1 when it is inside either, 0
 * otherwise; an empty q matches everything as a prefix. */
int groups_match(const char *name, const char *handle, const char *q);

/* A new array of at most limit {id, name, handle, user_count} objects.
 * PV_EREMOTE when Slack refused (details in *err; an auth failure has
 * already marked the integration needs_reconnection); PV_ENOTFOUND when
 * Slack is not connected.  A free workspace (no user groups on its plan)
 * gives an empty array and *no_groups_plan = 1. */
int groups_search(struct db *db, const struct config *cfg, const struct crypto_key *key,
		  int64_t org, const char *q, int limit, json_object **out,
		  int *no_groups_plan, struct slack_error *err);

#endif
