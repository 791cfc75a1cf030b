/* Provisioning: the sync configuration, queuing syncs, and approving or
 * discarding held ones (SPEC §1.6-1.8, §2.6, §4.2). */
#include "handlers.h"
#include "http.h"
#include "provider/slack/connection.h"
#include "db/db.h"
#include "core/err.h"
#include "provider/slack/group_search.h"
#include "core/log.h"
#include "core/pjson.h"
#include "report/report.h"
#include "provider/slack/slack.h"
#include "sync/sync_config.h"
#include "sync/sync_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void handle_slack_config_get(struct req *req)
{
	json_object *cfg = NULL, *out;
	int rc = conn_config_raw(req->app->db, req->who.org_id, &cfg, NULL);

	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (!out || pjson_add(out, "config", cfg)) {
		if (!out)
			json_object_put(cfg);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}

#define MAX_NAMED_GROUPS 1000   /* ids looked up; more are invalid anyway */

/* Collects the Slack group ids the body names (members.group_ids and
 * team_mapping.mappings[].slack_group_id), borrowed from body; anything
 * else is left to sync_config_validate to reject with its own words. */
static size_t named_groups(json_object *body, const char **ids, size_t max)
{
	json_object *m, *arr, *tm;
	const char *id;
	size_t n = 0, i;

	if (pjson_get_obj(body, "members", &m) == 0 && pjson_get_array(m, "group_ids", &arr) == 0)
		for (i = 0; i < json_object_array_length(arr) && n < max; i++)
			if (json_object_is_type(json_object_array_get_idx(arr, i), json_type_string))
				ids[n++] = json_object_get_string(json_object_array_get_idx(arr, i));
	if (pjson_get_obj(body, "team_mapping", &tm) == 0 && pjson_get_array(tm, "mappings", &arr) == 0)
		for (i = 0; i < json_object_array_length(arr) && n < max; i++)
			if (pjson_get_str(json_object_array_get_idx(arr, i), "slack_group_id", &id) == 0 &&
			    id)
				ids[n++] = id;
	return n;
}

void handle_slack_config_put(struct req *req)
{
	const char *ids[MAX_NAMED_GROUPS];
	struct slack_group *groups = NULL;
	struct slack_error serr;
	struct conn_info info;
	json_object *normalized = NULL, *out = NULL;
	const char *field = NULL;
	char why[300];
	size_t n = 0, n_ids;
	int rc;

	rc = conn_get(req->app->db, req->who.org_id, &info);
	if (rc == PV_ENOTFOUND) {
		http_error(req, 409, "not_connected", "Connect Slack before configuring the sync.", NULL);
		return;
	}
	n_ids = rc == 0 ? named_groups(req->body, ids, MAX_NAMED_GROUPS) : 0;
	if (rc == 0 && n_ids > 0) {
		rc = groups_for_validation(req->app->db, req->app->cfg, req->app->key,
					   req->who.org_id, ids, n_ids, &groups, &n, &serr);
		if (rc < 0 && rc != PV_ENOTFOUND) {
			answer_slack_groups_failure(req, rc, &serr,
						    "checking the groups of the configuration");
			return;
		}
	}
	if (rc == 0)
		rc = sync_config_validate(req->app->db, req->who.org_id, req->body, groups, n,
					  &normalized, &field, why, sizeof(why));
	if (rc == PV_EINVAL) {
		http_error(req, 422, "validation_failed", why, field ? field : "");
		goto out;
	}
	if (rc == 0)
		rc = sync_config_save(req->app->db, req->who.org_id, req->who.user_id, normalized);
	if (rc < 0) {
		http_fail(req, rc);
		goto out;
	}
	log_info("config: organization %lld: sync configuration saved by user %lld",
		 (long long)req->who.org_id, (long long)req->who.user_id);
	out = json_object_new_object();
	if (!out || pjson_add(out, "config", normalized) || pjson_add_bool(out, "pending", 1)) {
		if (!out)
			json_object_put(normalized);
		normalized = NULL;
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		goto out;
	}
	normalized = NULL;
	http_json(req, 200, out);
out:
	/* Still ours when saving failed (NULL once handed to out). */
	json_object_put(normalized);
	slack_groups_free(groups, n);
}

static void answer_sync(struct req *req, int status, int64_t id)
{
	json_object *sync = NULL, *out;
	int rc = report_sync_json(req->app->db, req->who.org_id, id, &sync);

	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (!out || pjson_add(out, "sync", sync)) {
		if (!out)
			json_object_put(sync);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, status, out);
}

void handle_slack_syncs_create(struct req *req)
{
	static const char *const keys[] = { "dry_run", NULL };
	struct conn_info info;
	int64_t id = 0;
	int dry = 0, rc;

	if (req->body && http_body_keys(req, keys) < 0)
		return;
	if (req->body && pjson_get_bool(req->body, "dry_run", &dry) == PV_EINVAL) {
		http_error(req, 422, "validation_failed", "dry_run must be true or false.", "dry_run");
		return;
	}
	rc = conn_get(req->app->db, req->who.org_id, &info);
	if (rc == PV_ENOTFOUND || (rc == 0 && strcmp(info.provider, "slack") != 0)) {
		http_error(req, 409, "not_connected", "Connect Slack before syncing.", NULL);
		return;
	}
	if (rc == 0 && strcmp(info.status, "connected") != 0) {
		http_error(req, 409, "slack_needs_reconnection",
			   "Slack needs to be reconnected before it can be synced.", NULL);
		return;
	}
	if (rc == 0)
		rc = syncq_request(req->app->db, req->who.org_id, req->who.user_id, dry, &id);
	if (rc == PV_EINVAL) {
		http_error(req, 409, "config_required",
			   "Save the sync configuration first: choose whom to import.", NULL);
		return;
	}
	if (rc == PV_ECONFLICT) {
		http_error(req, 409, "sync_in_progress",
			   "A sync is already pending or running; wait for it to finish.", NULL);
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	log_info("sync %lld: queued by user %lld%s", (long long)id, (long long)req->who.user_id,
		 dry ? " (dry run)" : "");
	answer_sync(req, 202, id);
}

static void decide(struct req *req, int approve)
{
	int rc = approve ? syncq_approve(req->app->db, req->who.org_id, req->ids[0], req->who.user_id)
			 : syncq_discard(req->app->db, req->who.org_id, req->ids[0]);

	if (rc == PV_ECONFLICT) {
		http_error(req, 409, approve ? "cannot_approve" : "not_held",
			   approve ? "Only a held sync can be approved, and not while another sync is"
				     " pending or running."
				   : "Only a held sync can be discarded.", NULL);
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	log_info("sync %lld: %s by user %lld", (long long)req->ids[0], approve ? "approved" : "discarded",
		 (long long)req->who.user_id);
	answer_sync(req, 200, req->ids[0]);
}

void handle_slack_sync_approve(struct req *req)
{
	decide(req, 1);
}

void handle_slack_sync_discard(struct req *req)
{
	decide(req, 0);
}

/* POST …/syncs/{id}/cancel: a queued sync that no worker has started ends
 * discarded, nothing applied. */
void handle_slack_sync_cancel(struct req *req)
{
	int rc = syncq_cancel(req->app->db, req->who.org_id, req->ids[0], req->who.user_id);

	if (rc == PV_ECONFLICT) {
		http_error(req, 409, "not_queued",
			   "Only a queued sync that has not started can be cancelled; this one has "
			   "started or is finished.", NULL);
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	answer_sync(req, 200, req->ids[0]);
}
