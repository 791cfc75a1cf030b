/*
 * slack_types.c - release functions of the decoded Slack objects.
 *
 * Each frees every string and array its struct owns and zeroes the struct,
 * so releasing twice, or releasing a zeroed struct, is harmless.  The
 * struct itself is never freed (arrays of structs are common).
 */
#include "provider/slack/slack_types.h"

#include <stdlib.h>
#include <string.h>

void slack_user_release(struct slack_user *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->team_id);
	free(u->name);
	free(u->real_name);
	free(u->display_name);
	free(u->first_name);
	free(u->last_name);
	free(u->email);
	free(u->title);
	free(u->avatar_hash);
	free(u->image_url);
	memset(u, 0, sizeof(*u));
}

void slack_group_release(struct slack_group *g)
{
	if (!g)
		return;
	free(g->id);
	free(g->name);
	free(g->handle);
	for (size_t i = 0; i < g->n_user_ids; i++)
		free(g->user_ids[i]);
	free(g->user_ids);
	memset(g, 0, sizeof(*g));
}

void slack_team_release(struct slack_team *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->name);
	free(t->domain);
	free(t->email_domain);
	memset(t, 0, sizeof(*t));
}
