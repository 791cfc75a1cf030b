/*
 * sync_details.h - the Details sentence of a report row (SPEC §1.10): what
 * happened to this person, in words an administrator understands without
 * knowing Slack's API, and for a failure what to do next.
 */
#ifndef PV_SYNC_DETAILS_H
#define PV_SYNC_DETAILS_H

#include "core/buf.h"
#include "sync/sync_plan.h"

struct sync_details_ctx {
	const char *team_name;     /* team changes */
	const char *rival;         /* skips over an e-mail: the other Slack member */
	const char *fields;        /* update: "job title, picture" */
	int invited;               /* create: an invitation was queued */
	int planned;               /* dry run or held: nothing applied yet */
	const char *failure;       /* failed: what went wrong, NULL otherwise */
	const char *shortened;     /* fields cut to the directory's limit: "job title" */
	/* A new picture that was not stored: why ("Slack answered HTTP 404");
	 * picture_only: it was the update's only change, so nothing was. */
	const char *picture_why;
	int picture_only;
};

/* Writes the sentence into out (appended).  0 or PV_ENOMEM/PV_ETOOBIG. */
int sync_details(enum plan_kind kind, enum plan_reason reason,
		 const struct sync_details_ctx *ctx, struct buf *out);

#endif
