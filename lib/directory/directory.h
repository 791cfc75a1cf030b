/*
 * directory.h - an organization's people and teams (SPEC §4.3).
 *
 * Every function takes the caller's organization id and scopes every
 * statement by it: an object of another organization is PV_ENOTFOUND, the
 * same as an object that does not exist.
 *
 * JSON results are new objects the caller puts (json_object_put).  Text
 * inputs are borrowed.  Errors: PV_EINVAL with a message in *why (static
 * text naming the field, for 422 answers), PV_ENOTFOUND, PV_ECONFLICT
 * (duplicate e-mail or team name, membership already there), or database
 * errors from db.h.
 */
#ifndef PV_DIRECTORY_H
#define PV_DIRECTORY_H

#include <json-c/json.h>
#include <stdint.h>

struct db;
struct snapshot;

#define DIR_PAGE_DEFAULT 50
#define DIR_PAGE_MAX 500

struct dir_user_new {
	const char *email;
	const char *first_name;
	const char *last_name;
	const char *display_name;  /* NULL: "first last" */
	const char *job_title;
	int is_admin;
	const char *password_hash; /* NULL: cannot sign in */
};

struct dir_user_filter {
	const char *q;        /* infix of e-mail or names, NULL for all */
	const char *status;   /* "active", "deactivated" or NULL */
	const char *source;   /* "slack", "manual" or NULL */
	int64_t after_id;     /* cursor: ids greater than this */
	int limit;            /* 1..DIR_PAGE_MAX */
	int64_t team_id;      /* members of this team only; 0 for all */
};

/* Whether an e-mail address is acceptable (shape and length only). */
int dir_email_valid(const char *email);

int dir_org_create(struct db *db, const char *name, int64_t *id);
int dir_org_json(struct db *db, int64_t org, json_object **out);

/* *field names the offending field on PV_EINVAL/PV_ECONFLICT. */
int dir_user_create(struct db *db, int64_t org, const struct dir_user_new *u,
		    int64_t *id, const char **field, const char **why);
int dir_user_json(struct db *db, int64_t org, int64_t id, json_object **out);
/* A page of users in id order, appended to out as the JSON array text
 * (the objects dir_user_json gives, byte for byte), written straight from
 * the rows: the API's largest list answer builds no json-c tree.
 * *next_after is 0 on the last page.  PV_ETOOBIG past out's maximum. */
struct buf;
int dir_users_list(struct db *db, int64_t org, const struct dir_user_filter *f,
		   struct buf *out, int64_t *next_after);

int dir_teams_list(struct db *db, int64_t org, json_object **teams);
int dir_team_create(struct db *db, int64_t org, const char *name, json_object **team,
		    const char **why);
/* Members of a team in user id order, paginated like users. */
int dir_team_members(struct db *db, int64_t org, int64_t team, int64_t after_id,
		     int limit, json_object **members, int64_t *next_after);
/* source: "manual" (an administrator) or "provisioning" (a sync). */
int dir_team_add_member(struct db *db, int64_t org, int64_t team, int64_t user,
			const char *source);
int dir_team_remove_member(struct db *db, int64_t org, int64_t team, int64_t user);

/* ---- Changes made by hand, which a sync never undoes (SPEC §4.3, §7.7) ----
 *
 * A user's JSON carries slack_user_id (null when not linked) and
 * deactivated_by: "sync", "administrator" (by hand) or null.  The sync's
 * snapshot reads a hand-made deactivation as users.deactivated_by =
 * 'person', and a removed sync-made membership as a row of
 * team_membership_removals (sql/008). */

/* Deactivates ("deactivated") or reactivates ("active") a user by hand,
 * recorded as made by the administrator by_user, now, in one transaction;
 * a deactivated user's sessions end with it.  Setting the status a user
 * already has changes and records nothing.  PV_EINVAL (*why) for another
 * status; PV_ENOTFOUND; PV_ECONFLICT (*why) when deactivating oneself or
 * the organization's last active administrator. */
int dir_user_set_status(struct db *db, int64_t org, int64_t id, const char *status,
			int64_t by_user, const char **why);

/* A user's provisioning facts, a new object:
 *   {slack_workspace_id, slack_user_id, provisioned, deactivated_by,
 *    deactivated_at, status_changed_by: {id, name}|null, status_changed_at,
 *    last_sync_action: {sync_id, action, outcome, details, at}|null}
 * last_sync_action is the newest applied (succeeded or failed) report row
 * about the user.  PV_ENOTFOUND. */
int dir_user_facts_json(struct db *db, int64_t org, int64_t id, json_object **out);

/* Removes a member by hand, in one transaction: when the sync had made the
 * membership, a tombstone (who, when) keeps the sync from adding it back.
 * PV_ENOTFOUND when the user is not a member. */
int dir_team_remove_member_by_hand(struct db *db, int64_t org, int64_t team, int64_t user,
				   int64_t by_user);
/* Adds a member by hand ("manual") and clears a tombstone of the pair.
 * Errors as dir_team_add_member. */
int dir_team_add_member_by_hand(struct db *db, int64_t org, int64_t team, int64_t user);
/* The team's tombstones, paginated like members: users with
 * membership_source "removed_by_hand", removed_at, removed_by_user_id. */
int dir_team_removals(struct db *db, int64_t org, int64_t team, int64_t after_id, int limit,
		      json_object **removed, int64_t *next_after);

/* Sets the password of the organization's user with this e-mail address
 * (compared as the unique key compares it), given as a password_hash()
 * hash, and ends that user's sessions, in one transaction.  PV_ENOTFOUND
 * when the organization has no such user. */
int dir_user_set_password(struct db *db, int64_t org, const char *email, const char *hash);

/* {automatic_invites, sync_retention_days} */
int dir_settings_json(struct db *db, int64_t org, json_object **out);
int dir_settings_set_invites(struct db *db, int64_t org, int on);
#define DIR_RETENTION_MIN 7
#define DIR_RETENTION_MAX 3650
/* Days a finished sync and its report are kept (the sync pass deletes
 * older ones); PV_EINVAL outside DIR_RETENTION_MIN..MAX. */
int dir_settings_set_retention(struct db *db, int64_t org, int64_t days);

/* The directory side of a sync's snapshot (lib/snapshot/snapshot.h): every
 * user, team and membership of org, appended to s, all read inside one
 * START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY, so that a row
 * written meanwhile is either wholly in or wholly out and the three lists
 * come from one moment.  Rows are streamed into growing arrays (no count
 * first).  A link to a workspace other than workspace_id (before a replace,
 * SPEC §1.5) is read as no link and not provisioned.  The transaction is
 * over when the function returns.  Errors: db.h's, PV_ENOMEM; on failure s
 * may hold part of the rows (release it). */
int directory_snapshot_read(struct db *db, int64_t org, const char *workspace_id,
			    struct snapshot *s);

#endif
