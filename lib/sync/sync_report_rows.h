/*
 * sync_report_rows.h - one action of a sync into its report row (SPEC
 * §1.10, §2.8): the changed set the report filters on, the changes as
 * JSON, the Details sentence (lib/sync/sync_details.c), the payload a held
 * sync is applied from later, and the values cut to their columns.  The
 * applier (sync_apply.c) builds a row once it knows the outcome and writes
 * it in the action's transaction; it never composes report text itself.
 *
 * Payloads (planned rows) name kinds, reasons and fields
 * (sync_plan_*_name), never enum ordinals, so that a value added to an enum
 * cannot re-label what is stored; sync_act_from_payload reads them back.
 *
 * Ownership: a row borrows its act (which must outlive it) and owns its
 * text, JSON and cut values; sync_report_row_release frees them (a zeroed
 * or released row is fine).  Errors: 0 or PV_ENOMEM (the row is then to be
 * released as it is); a Details sentence too long for its column is cut,
 * not an error.
 */
#ifndef PV_SYNC_REPORT_ROWS_H
#define PV_SYNC_REPORT_ROWS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "sync/sync_apply.h"

struct db_param;

struct sync_report_text {
	struct buf changed;   /* SET value of provisioning_sync_actions.changed */
	struct buf fields;    /* "job_title, picture" for the Details */
	json_object *changes; /* [{field, from, to}] */
};

struct sync_report_row {
	const struct sync_act *a;
	const char *outcome;    /* "succeeded", "failed", "skipped", "planned" */
	int64_t user_id;        /* 0: none */
	struct sync_report_text t;
	struct buf details;
	struct buf shortened;       /* the shortened fields in words, for Details */
	json_object *payload;   /* planned rows only */
	/* Values longer than their report column, cut (owned); NULL when the
	 * act's own value fits.  A report row must never fail over the very
	 * value that made its action fail. */
	char *email, *name, *slack, *team;
};

/* The report table's columns in the order of sync_report_row_params, and
 * one row's placeholders: the one place that lists them. */
#define SYNC_REPORT_ROW_COLUMNS                                                   \
	"provisioning_sync_actions (sync_id, organization_id, action, reason, outcome," \
	" changed, user_id, user_email, user_name, slack_user_id, team_id, team_name,"  \
	" changes_json, payload_json, details)"
#define SYNC_REPORT_ROW_VALUES "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define SYNC_REPORT_ROW_PARAMS 15

/* The invites argument below: SYNC_INVITES_QUEUED when the organization
 * invites the people a sync creates (sync_apply.c queues them), with
 * SYNC_INVITES_MAIL when a mail server (smtp.url) is configured to send
 * them; only then do a create's Details say an e-mail will be sent. */
#define SYNC_INVITES_QUEUED 1
#define SYNC_INVITES_MAIL 2

/* Builds a's row (*r need not be initialised).  planned: a held or dry-run
 * row (with its payload, and Details in the conditional); invites: the
 * SYNC_INVITES_* bits; failure: the plain reason of a failed action, or
 * NULL. */
int sync_report_row_build(struct sync_report_row *r, const struct sync_act *a,
			  const char *outcome, int64_t user_id, int planned, int invites,
			  const char *failure);
void sync_report_row_release(struct sync_report_row *r);

/* The SYNC_REPORT_ROW_PARAMS parameters of r into p (borrowing from r). */
void sync_report_row_params(const struct sync_report_row *r, int64_t sync_id, int64_t org,
			    struct db_param *p);

/* Rebuilds an act from a planned row's payload, borrowing from payload
 * (which must outlive the act) and using changes[0..max_changes) for its
 * changes.  PV_EINVAL when a kind, reason or field is not a known name or
 * there are more than max_changes changes. */
int sync_act_from_payload(json_object *payload, int64_t row_id, struct sync_act *out,
			  struct plan_change *changes, size_t max_changes);

#endif
