/*
 * handlers.h - one function per route; each reads like the paragraph of
 * SPEC §4 it implements.  See routes.c for who may call each.
 */
#ifndef PV_HANDLERS_H
#define PV_HANDLERS_H

struct req;

/* handlers_session.c (SPEC §4.1) */
void handle_session_create(struct req *req);
void handle_session_delete(struct req *req);
void handle_me(struct req *req);

/* handlers_directory.c (SPEC §4.3) */
void handle_users_list(struct req *req);
void handle_users_create(struct req *req);
void handle_user_get(struct req *req);
void handle_user_patch(struct req *req);
void handle_teams_list(struct req *req);
void handle_teams_create(struct req *req);
void handle_team_members_list(struct req *req);
void handle_team_members_add(struct req *req);
void handle_team_members_remove(struct req *req);
void handle_team_removed_list(struct req *req);
void handle_settings_get(struct req *req);
void handle_settings_patch(struct req *req);

/* handlers_slack.c (SPEC §4.2, connection and groups) */
void handle_provisioning_overview(struct req *req);
void handle_slack_status(struct req *req);
void handle_slack_connect(struct req *req);
void handle_slack_replace(struct req *req);
void handle_slack_callback(struct req *req);
void handle_slack_disconnect(struct req *req);
void handle_slack_groups(struct req *req);
/* The answer when the workspace's groups could not be read (rc from
 * group_search.h; `doing` says what for, in plain words). */
struct slack_error;
void answer_slack_groups_failure(struct req *req, int rc, const struct slack_error *serr,
				 const char *doing);

/* handlers_reports.c (SPEC §4.2, sync history, report and export) */
void handle_syncs_list(struct req *req);
void handle_sync_get(struct req *req);
void handle_sync_actions(struct req *req);
void handle_sync_export(struct req *req);

/* handlers_sync.c (SPEC §4.2, configuration and syncs) */
void handle_slack_config_get(struct req *req);
void handle_slack_config_put(struct req *req);
void handle_slack_syncs_create(struct req *req);
void handle_slack_sync_approve(struct req *req);
void handle_slack_sync_discard(struct req *req);
void handle_slack_sync_cancel(struct req *req);
void handle_password_reset_request(struct req *req);
void handle_password_reset_confirm(struct req *req);

#endif
