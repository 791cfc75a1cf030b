/*
 * slack_snapshot.c - Slack users and groups into the snapshot's neutral
 * kinds (rules in slack_snapshot.h).
 */
#include "provider/slack/slack_snapshot.h"
#include "core/err.h"
#include "provider/slack/slack.h"
#include "provider/slack/slack_types.h"
#include "snapshot/snapshot.h"

#include <string.h>

/* Slack's built-in helper: a member-looking user that is no person. */
#define SLACKBOT_ID "USLACKBOT"

int slack_snapshot_add_user(struct snapshot *s, const struct slack_user *u)
{
	struct snap_person *p = NULL;
	const char *key;
	int rc;

	if (!s || !u || !u->id || !u->id[0])
		return PV_EINVAL;
	if ((rc = snapshot_add_person(s, &p)) < 0)
		return rc;
	/* The hash names the picture; a URL without one is its own key. */
	key = u->image_url ? (u->avatar_hash ? u->avatar_hash : u->image_url) : NULL;
	if ((rc = snapshot_strdup(s, u->id, &p->id)) < 0 ||
	    (rc = snapshot_strdup(s, u->email, &p->email)) < 0 ||
	    (rc = snapshot_strdup(s, u->first_name, &p->first_name)) < 0 ||
	    (rc = snapshot_strdup(s, u->last_name, &p->last_name)) < 0 ||
	    (rc = snapshot_strdup(s, u->real_name, &p->full_name)) < 0 ||
	    (rc = snapshot_strdup(s, u->display_name, &p->display_name)) < 0 ||
	    (rc = snapshot_strdup(s, u->name, &p->handle)) < 0 ||
	    (rc = snapshot_strdup(s, u->title, &p->title)) < 0 ||
	    (rc = snapshot_strdup(s, u->image_url, &p->picture_url)) < 0 ||
	    (rc = snapshot_strdup(s, key, &p->picture_key)) < 0) {
		s->n_people--;  /* no half-made person stays */
		return rc;
	}
	if (u->is_ultra_restricted)
		p->kind = SNAP_SINGLE_CHANNEL_GUEST;
	else if (u->is_restricted)
		p->kind = SNAP_MULTI_CHANNEL_GUEST;
	else
		p->kind = SNAP_MEMBER;
	p->invited = u->is_invited_user;
	p->deleted = u->deleted;
	p->not_a_person = u->is_bot || u->is_app_user || strcmp(u->id, SLACKBOT_ID) == 0;
	return 0;
}

int slack_snapshot_add_group(struct snapshot *s, const struct slack_group *g)
{
	struct snap_group *sg = NULL;
	int rc;

	if (!s || !g || !g->id)
		return PV_EINVAL;
	if ((rc = snapshot_add_group(s, &sg)) < 0)
		return rc;
	sg->enabled = !g->disabled;
	if ((rc = snapshot_strdup(s, g->id, &sg->id)) < 0 ||
	    (rc = snapshot_strdup(s, g->name, &sg->name)) < 0 ||
	    (rc = snapshot_group_set_members(s, sg, g->user_ids, g->n_user_ids)) < 0) {
		s->n_groups--;
		return rc;
	}
	return 0;
}

int slack_snapshot_read_people(struct slack *c, int limit, struct snapshot *s)
{
	struct slack_users_iter *it = NULL;
	struct slack_user *page;
	int restarts = 0;
	size_t n;
	int rc;

	if (!c || !s)
		return PV_EINVAL;
	rc = slack_users_begin(c, limit, &it);
	while (rc == 0 && (rc = slack_users_next(it, &page, &n)) == 1) {
		rc = 0;
		if (slack_users_restarts(it) != restarts) {
			/* invalid_cursor: the listing starts over; so do we. */
			restarts = slack_users_restarts(it);
			snapshot_clear_people(s);
		}
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = slack_snapshot_add_user(s, &page[i]);
	}
	slack_users_end(it);
	return rc;
}

int slack_snapshot_read_groups(struct slack *c, int (*wanted)(void *arg, const char *id),
			       void *arg, struct snapshot *s)
{
	struct slack_group *groups = NULL;
	size_t n = 0;
	int rc;

	if (!c || !wanted || !s)
		return PV_EINVAL;
	rc = slack_groups_list(c, 0, 1, &groups, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct slack_group *g = &groups[i];

		if (!g->disabled && wanted(arg, g->id))
			rc = slack_group_members(c, g->id, &g->user_ids, &g->n_user_ids);
		if (rc == 0)
			rc = slack_snapshot_add_group(s, g);
		/* The snapshot has the members now: 200 mapped groups' 1.4
		 * million ids kept to the end of the loop were 55 MB of a
		 * sync's peak. */
		slack_ids_free(g->user_ids, g->n_user_ids);
		g->user_ids = NULL;
		g->n_user_ids = 0;
	}
	slack_groups_free(groups, n);
	return rc;
}
