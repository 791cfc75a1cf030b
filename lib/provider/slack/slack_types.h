/*
 * slack_types.h - what the sync keeps of Slack's objects: plain C structs,
 * decoded from Slack's JSON by lib/slack.c and read by the planner.
 *
 * Compact by design (a 100,000-member workspace must fit in well under
 * 200 MiB): only the fields the product uses, strings as separate heap
 * copies, flags as bits.  Absent JSON fields become NULL strings and 0 flags
 * (SLACK-API.md §2.3: a deleted member's object lacks most fields).
 *
 * Ownership: every char * and array inside a struct is owned by the struct
 * and released by the matching *_release function (which does not free the
 * struct itself, so arrays of structs work).
 */
#ifndef PV_SLACK_TYPES_H
#define PV_SLACK_TYPES_H

#include <stddef.h>

struct slack_user {
	char *id;            /* "U…" or "W…"; never NULL */
	char *team_id;
	char *name;          /* Slack handle (user.name) */
	char *real_name;     /* profile.real_name, else user.real_name */
	char *display_name;  /* profile.display_name ("" is kept as NULL) */
	char *first_name;    /* profile.first_name */
	char *last_name;     /* profile.last_name */
	char *email;         /* profile.email; NULL without users:read.email */
	char *title;         /* profile.title */
	char *avatar_hash;   /* profile.avatar_hash */
	char *image_url;     /* profile.image_512 (else image_192) when
			      * is_custom_image; NULL for Slack's default avatar */
	unsigned deleted : 1;
	unsigned is_bot : 1;
	unsigned is_app_user : 1;
	unsigned is_restricted : 1;       /* multi-channel guest */
	unsigned is_ultra_restricted : 1; /* single-channel guest */
	unsigned is_admin : 1;
	unsigned is_owner : 1;
	unsigned is_primary_owner : 1;
	unsigned is_invited_user : 1;
};

struct slack_group {
	char *id;            /* "S…" */
	char *name;
	char *handle;
	long user_count;
	int disabled;        /* date_delete != 0 */
	char **user_ids;     /* member ids when asked for, else NULL */
	size_t n_user_ids;
};

struct slack_team {
	char *id;            /* "T…" */
	char *name;
	char *domain;
	char *email_domain;
};

void slack_user_release(struct slack_user *u);
void slack_group_release(struct slack_group *g);
void slack_team_release(struct slack_team *t);

#endif
