/*
 * report.h - the sync history and the sync report, read side (SPEC §1.9-1.11,
 * §4.2): the list of an organization's syncs, one sync, the actions of one
 * sync as pages of JSON or as a stream of rows for the CSV export.
 *
 * The sync engine (sync_*.c) writes provisioning_syncs and
 * provisioning_sync_actions; this module only reads them.  Every function
 * takes the caller's organization id and scopes every statement by it: a
 * sync of another organization is PV_ENOTFOUND, like one that does not exist.
 *
 * Shapes (the API's, SPEC §4.2):
 *   sync   = {id, trigger, dry_run, status, queued_at, started_at, finished_at,
 *             counts: {created, updated, deactivated, reactivated, added_to_team,
 *                      removed_from_team, skipped, failed}, error,
 *             workspace: {id, name}|null,
 *             progress: {phase, done, total|null, at}|null}
 * workspace is the one the sync read (recorded when it was queued);
 * progress is set while it runs (sync_queue.h syncq_set_progress).
 *   action = {id, created_at, action, outcome, reason, changed: [category],
 *             user: {id, email, name}|null, slack_user_id, team: {id, name}|null,
 *             changes: [{field, from, to}], details,
 *             invitation: {state: queued|sent|failed, sent_at, error}|null}
 * Times are ISO 8601 UTC ("2026-11-28T14:00:00Z"), null when unset.  user is
 * null when the row has no user id, e-mail or name; team is null when
 * it has neither a team id nor a team name.  changes is changes_json as the
 * engine wrote it, each element reduced to {field, from, to}; a row whose
 * changes_json is not a JSON array reports [] (and logs a warning).
 *
 * Order and cursors: syncs newest first (id descending), a page ends with
 * the id to pass as `before` for the next one; actions in id order, a page
 * ends with the id after which the next one starts.  Both are keyset
 * cursors: rows added meanwhile never shift a page.
 *
 * JSON results are new objects the caller puts.  Errors: PV_EINVAL (a filter
 * value, with *field and *why), PV_ENOTFOUND, PV_ECONFLICT (the sync is
 * pending or running: its report does not exist yet), PV_ENOMEM, and the
 * database errors of db.h; a callback's negative return is passed through.
 */
#ifndef PV_REPORT_H
#define PV_REPORT_H

#include <json-c/json.h>
#include <stdint.h>

struct buf;
struct db;

#define REPORT_SYNCS_DEFAULT 20
#define REPORT_SYNCS_MAX 100
#define REPORT_ACTIONS_DEFAULT 50
#define REPORT_ACTIONS_MAX 500

/* The report's filters (SPEC §1.10): each is a set of accepted values, as
 * bits in the order of the column's ENUM / SET; 0 means "no condition".
 * Values of one filter are OR-ed, the two filters are AND-ed. */
enum {
	REPORT_OUTCOME_SUCCEEDED = 1 << 0,
	REPORT_OUTCOME_FAILED = 1 << 1,
	REPORT_OUTCOME_SKIPPED = 1 << 2,
	REPORT_OUTCOME_PLANNED = 1 << 3,
};
enum {
	REPORT_CHANGED_NAME = 1 << 0,
	REPORT_CHANGED_EMAIL = 1 << 1,
	REPORT_CHANGED_PICTURE = 1 << 2,
	REPORT_CHANGED_JOB_TITLE = 1 << 3,
	REPORT_CHANGED_STATUS = 1 << 4,
	REPORT_CHANGED_TEAM_MEMBERSHIP = 1 << 5,
};

/* The longest person search (q=), in characters; longer is PV_EINVAL. */
#define REPORT_Q_MAX 100

struct report_filter {
	unsigned outcomes;
	unsigned changed;
	/* Search by person (q=): "" for none, else the LIKE pattern
	 * "%text%" with \, % and _ escaped, matched against the row's name and
	 * e-mail (case- and accent-insensitive, the column collation) and its
	 * Slack user id.  Set by report_filter_set_query. */
	char q_like[4 * REPORT_Q_MAX * 2 + 3];
};

/* Parses the query parameters `outcome` and `changed` (comma-separated
 * values, spaces around a value ignored; NULL or "" is no condition).
 * PV_EINVAL on an unknown value, with *field the parameter's name and *why
 * a sentence listing the values it takes (both static). */
int report_filter_parse(struct report_filter *f, const char *outcome, const char *changed,
			const char **field, const char **why);

/* Sets f's person search from the query parameter q (NULL, or only spaces:
 * no search; spaces around it are ignored).  PV_EINVAL with *why (static)
 * when it is longer than REPORT_Q_MAX characters or not UTF-8.  The search
 * reads only the sync's own rows (its index range): a page costs at most
 * one pass over that sync, never over other syncs or organizations. */
int report_filter_set_query(struct report_filter *f, const char *q, const char **why);

/* A page of the organization's syncs with id < before (before 0: from the
 * newest); *next_before is the id to pass next, 0 on the last page. */
int report_syncs_list(struct db *db, int64_t org, int64_t before, int limit,
		      json_object **syncs, int64_t *next_before);

/* One sync as above. */
int report_sync_json(struct db *db, int64_t org, int64_t sync, json_object **out);

/* Whether the sync's report may be read: 0 (queued_date, when not NULL,
 * gets the day it was queued, "YYYY-MM-DD", UTC), PV_ENOTFOUND, or
 * PV_ECONFLICT while it is pending or running. */
int report_sync_readable(struct db *db, int64_t org, int64_t sync, char queued_date[11]);

/* A page of the sync's actions with id > after matching f, in id order;
 * *next_after is the cursor of the next page, 0 on the last page. */
int report_actions_page(struct db *db, int64_t org, int64_t sync,
			const struct report_filter *f, int64_t after, int limit,
			json_object **actions, int64_t *next_after);

/* One action row as read, for the stream.  Every pointer borrows from the
 * database cursor and is valid during the callback only; NULL is SQL NULL. */
struct report_action {
	int64_t id;
	const char *created_at;   /* ISO 8601 UTC */
	const char *action;
	const char *outcome;
	const char *reason;
	const char *changed;      /* the SET's text, "name,email" */
	const char *user_id;      /* decimal text */
	const char *user_email;
	const char *user_name;
	const char *slack_user_id;
	const char *team_id;      /* decimal text */
	const char *team_name;
	const char *changes_json;
	const char *details;
	/* The page's JSON only (NULL in the stream): the invitation of a
	 * created user, "queued", "sent" or "failed", when it was sent and
	 * why it was not. */
	const char *invite_state;
	const char *invite_sent_at;
	const char *invite_error;
};

/* Calls fn for every action of the sync matching f, in id order, reading
 * rows from the server as they come (db_query_stream: constant memory, and
 * no other statement on db until it returns).  Stops at the first negative
 * return of fn and returns it. */
int report_actions_each(struct db *db, int64_t org, int64_t sync,
			const struct report_filter *f,
			int (*fn)(const struct report_action *a, void *arg), void *arg);

/* The export's layout (SPEC §1.11), one CSV row each, appended to b; the
 * header starts with UTF-8's byte-order mark, so that Excel reads the file
 * as UTF-8 (LibreOffice and csv libraries take or skip it):
 *   ID, Date (UTC), Action, Outcome, User name, E-mail, Slack user ID, Team,
 *   Changed fields, Old values, New values, Details,
 *   Action code, Outcome code, Changed field codes
 * Action, Outcome and Changed fields are plain words ("Create user",
 * "Planned (not applied)", "Job title"); the last three columns hold the
 * API's codes for machines.  Date is the action's time in the API's ISO
 * 8601 form.  User name and E-mail are empty when the JSON's user is null
 * (same rule).  With several changes, the changed fields, their codes, Old
 * values and New values hold one line per change (joined with LF inside the
 * quoted cell), line i of each column belonging to change i; a null value is
 * an empty line, true/false are yes/no and numbers are written as in JSON.
 * Cells are escaped and neutralised by report_csv.h. */
int report_csv_header(struct buf *b);
int report_action_csv(struct buf *b, const struct report_action *a);

#endif
