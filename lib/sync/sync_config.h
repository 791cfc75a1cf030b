/*
 * sync_config.h - the saved sync configuration (SPEC §1.6-1.8, §4.2 config):
 * validation of what an administrator saves, and the snapshot a sync plans
 * with.
 *
 * JSON shape: {members: {mode: "everyone"|"groups", group_ids: [..]},
 *              team_mapping: {enabled, mappings: [{slack_group_id, team_id}]},
 *              deactivation_threshold: {percent, minimum}}
 *
 * Ownership: sync_config_validate returns a new normalized object (the
 * caller puts it).  A struct sync_config_snapshot owns copies of every
 * string its plan_config points to; release it with sync_config_release.
 */
#ifndef PV_SYNC_CONFIG_H
#define PV_SYNC_CONFIG_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "provider/slack/slack_types.h"
#include "sync/sync_plan.h"

struct db;

/* Validates body as a whole against the workspace's groups and the
 * organization's teams.  PV_EINVAL with *field ("members.group_ids[1]") and
 * *why (plain words) set; *field and *why are static or point into body. */
int sync_config_validate(struct db *db, int64_t org, json_object *body,
			 const struct slack_group *groups, size_t n_groups,
			 json_object **normalized, const char **field, char *why, size_t whylen);

/* Saves a validated configuration (text of sync_config_validate's result). */
int sync_config_save(struct db *db, int64_t org, int64_t user, json_object *config);

struct sync_config_snapshot {
	struct plan_config plan;
	char **strings;       /* owned copies the plan's arrays point to */
	size_t n_strings;
	const char **group_ids;
	struct plan_mapping *mappings;
};

/* Fills *snap from configuration JSON text (a sync's snapshot). */
int sync_config_snapshot(const char *text, struct sync_config_snapshot *snap);
void sync_config_release(struct sync_config_snapshot *snap);

/* Whether the configuration needs Slack's user groups at sync time. */
int sync_config_needs_groups(const struct sync_config_snapshot *snap);

#endif
