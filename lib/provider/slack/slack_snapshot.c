/*
 * slack_snapshot.c - Slack users and groups into the snapshot's neutral
 * kinds (rules in slack_snapshot.h).
 */
#include "provider/slack/slack_snapshot.h"
#include "core/err.h"
#include "core/pool.h"
#include "provider/slack/slack.h"
#include "provider/slack/slack_types.h"
#include "snapshot/snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* users.list into s->people; stops between pages when *stop is set (the
 * other side's read failed: the sync fails anyway, so why read on). */
static int read_people(struct slack *c, int limit, struct snapshot *s, atomic_int *stop)
{
	struct slack_users_iter *it = NULL;
	struct slack_user *page;
	int restarts = 0;
	size_t n;
	int rc;

	rc = slack_users_begin(c, limit, &it);
	while (rc == 0 && !(stop && atomic_load(stop)) &&
	       (rc = slack_users_next(it, &page, &n)) == 1) {
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

int slack_snapshot_read_people(struct slack *c, int limit, struct snapshot *s)
{
	if (!c || !s)
		return PV_EINVAL;
	return read_people(c, limit, s, NULL);
}

/*
 * The groups as read, their members numbered: 1.4 million members of 200
 * mapped groups are some 95,000 distinct people, so each distinct id is
 * kept once (a hash set, filled as each group's answer comes) and a
 * group's members are numbers into it.  Once the people are read too, the
 * distinct ids are looked up among them once each (add_groups), instead of
 * 1.4 million lookups and frees after the last page.
 */
struct group_read {
	struct slack_group *groups;   /* their user_ids always NULL */
	size_t n;
	uint32_t **members;           /* per group: numbers into ids; NULL when none */
	size_t *n_members;
	char **ids;                   /* distinct member ids, heap copies */
	size_t n_ids, cap_ids;
	uint32_t *slots;              /* open addressing: number + 1, 0 = empty */
	size_t n_slots;               /* a power of two, or 0 */
};

static void group_read_free(struct group_read *gr)
{
	for (size_t i = 0; gr->members && i < gr->n; i++)
		free(gr->members[i]);
	free(gr->members);
	free(gr->n_members);
	slack_groups_free(gr->groups, gr->n);
	slack_ids_free(gr->ids, gr->n_ids);
	free(gr->slots);
	memset(gr, 0, sizeof(*gr));
}

static uint64_t id_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;  /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int slots_grow(struct group_read *gr)
{
	size_t n = gr->n_slots ? gr->n_slots * 2 : 1024;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return PV_ENOMEM;
	for (size_t k = 0; k < gr->n_ids; k++) {
		size_t i = (size_t)id_hash(gr->ids[k]) & (n - 1);

		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)k + 1;
	}
	free(gr->slots);
	gr->slots = slots;
	gr->n_slots = n;
	return 0;
}

/* The number of id (a heap copy, taken: kept or freed) in *out. */
static int id_number(struct group_read *gr, char *id, uint32_t *out)
{
	size_t i;

	if ((gr->n_ids + 1) * 2 > gr->n_slots && slots_grow(gr) < 0)
		goto nomem;
	for (i = (size_t)id_hash(id) & (gr->n_slots - 1); gr->slots[i];
	     i = (i + 1) & (gr->n_slots - 1)) {
		if (strcmp(gr->ids[gr->slots[i] - 1], id) == 0) {
			*out = gr->slots[i] - 1;
			free(id);
			return 0;
		}
	}
	if (gr->n_ids == gr->cap_ids) {
		size_t cap = gr->cap_ids ? gr->cap_ids * 2 : 1024;
		char **ids = cap < UINT32_MAX ? realloc(gr->ids, cap * sizeof(*ids)) : NULL;

		if (!ids)
			goto nomem;
		gr->ids = ids;
		gr->cap_ids = cap;
	}
	gr->ids[gr->n_ids] = id;
	gr->slots[i] = (uint32_t)gr->n_ids + 1;
	*out = (uint32_t)gr->n_ids++;
	return 0;
nomem:
	free(id);
	return PV_ENOMEM;
}

/* Numbers group i's members (g->user_ids, emptied whatever happens). */
static int number_members(struct group_read *gr, size_t i)
{
	struct slack_group *g = &gr->groups[i];
	int rc = 0;
	size_t k;

	if (g->n_user_ids) {
		gr->members[i] = malloc(g->n_user_ids * sizeof(*gr->members[i]));
		if (!gr->members[i])
			rc = PV_ENOMEM;
	}
	for (k = 0; rc == 0 && k < g->n_user_ids; k++) {
		rc = id_number(gr, g->user_ids[k], &gr->members[i][k]);
		g->user_ids[k] = NULL;
	}
	if (rc == 0)
		gr->n_members[i] = g->n_user_ids;
	slack_ids_free(g->user_ids, g->n_user_ids);  /* what was not taken */
	g->user_ids = NULL;
	g->n_user_ids = 0;
	return rc;
}

/* usergroups.list, then the members of each wanted enabled group, into
 * *gr (freed by the caller whatever the outcome). */
static int read_group_list(struct slack *c, int (*wanted)(void *arg, const char *id), void *arg,
			   struct group_read *gr)
{
	int rc = slack_groups_list(c, 0, 1, &gr->groups, &gr->n);

	if (rc == 0 && gr->n) {
		gr->members = calloc(gr->n, sizeof(*gr->members));
		gr->n_members = calloc(gr->n, sizeof(*gr->n_members));
		if (!gr->members || !gr->n_members)
			rc = PV_ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < gr->n; i++) {
		struct slack_group *g = &gr->groups[i];

		if (!g->disabled && wanted(arg, g->id)) {
			rc = slack_group_members(c, g->id, &g->user_ids, &g->n_user_ids);
			if (rc == 0)
				rc = number_members(gr, i);
		}
	}
	return rc;
}

/* The groups into the snapshot: each distinct member id looked up once
 * (snapshot_group_set_members on a scratch group points it at its person,
 * or copies it), then each group's members are those pointers, in an
 * array of the snapshot's pool. */
static int add_groups(struct snapshot *s, const struct group_read *gr)
{
	struct snap_group distinct = { 0 };
	int rc;

	rc = snapshot_group_set_members(s, &distinct, gr->ids, gr->n_ids);
	for (size_t i = 0; rc == 0 && i < gr->n; i++) {
		size_t n = gr->n_members[i];
		struct snap_group *sg;
		const char **v = NULL;

		rc = slack_snapshot_add_group(s, &gr->groups[i]);  /* no user_ids: no members yet */
		if (rc < 0 || !n)
			continue;
		sg = &s->groups[s->n_groups - 1];
		v = pool_alloc(s->pool, n * sizeof(*v));
		if (!v) {
			rc = PV_ENOMEM;
			break;
		}
		for (size_t k = 0; k < n; k++)
			v[k] = distinct.member_ids[gr->members[i][k]];
		sg->member_ids = v;
		sg->n_member_ids = n;
	}
	return rc;
}

int slack_snapshot_read_groups(struct slack *c, int (*wanted)(void *arg, const char *id),
			       void *arg, struct snapshot *s)
{
	struct group_read gr = { 0 };
	int rc;

	if (!c || !wanted || !s)
		return PV_EINVAL;
	rc = read_group_list(c, wanted, arg, &gr);
	if (rc == 0)
		rc = add_groups(s, &gr);
	group_read_free(&gr);
	return rc;
}

/* The groups' side of slack_snapshot_read, on its own thread and client. */
struct groups_side {
	struct slack *c;
	int (*wanted)(void *arg, const char *id);
	void *arg;
	struct group_read gr;
	int rc;
	atomic_int stop;          /* the people's side failed: give up */
	atomic_int failed;        /* this side failed: the people may stop */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;                 /* under mu */
};

/* The groups client's tick: no lease here (the people's thread keeps it);
 * only the people's failure stops a call, sleeping or not. */
static int groups_tick(void *arg)
{
	struct groups_side *g = arg;

	return atomic_load(&g->stop) ? PV_EREMOTE : 0;
}

static void *groups_main(void *arg)
{
	struct groups_side *g = arg;

	g->rc = read_group_list(g->c, g->wanted, g->arg, &g->gr);
	if (g->rc < 0)
		atomic_store(&g->failed, 1);
	pthread_mutex_lock(&g->mu);
	g->done = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Waits for the groups' thread, calling the people client's tick about
 * every SLACK_TICK_MS meanwhile (the lease); a negative tick stops the
 * groups and is returned once they stopped. */
static int wait_groups(struct slack *c, struct groups_side *g)
{
	int rc = 0;

	pthread_mutex_lock(&g->mu);
	while (!g->done) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)SLACK_TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT && !g->done &&
		    rc == 0) {
			pthread_mutex_unlock(&g->mu);
			rc = slack_tick_now(c);
			if (rc < 0)
				atomic_store(&g->stop, 1);
			pthread_mutex_lock(&g->mu);
		}
	}
	pthread_mutex_unlock(&g->mu);
	return rc;
}

static void note_error(struct slack_error *err, const struct slack *c)
{
	if (err)
		*err = *slack_last_error(c);
}

int slack_snapshot_read(struct slack *c, int limit, int (*wanted)(void *arg, const char *id),
			void *arg, struct snapshot *s, struct slack_error *err)
{
	struct groups_side g = { .wanted = wanted, .arg = arg };
	pthread_t thread;
	int rc, wrc;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!c || !s)
		return PV_EINVAL;
	if (!wanted) {
		rc = read_people(c, limit, s, NULL);
		if (rc < 0)
			note_error(err, c);
		return rc;
	}
	/* One connection each, users.list on this thread (its tick keeps the
	 * caller's lease), the groups on another: Slack counts each method
	 * apart (SLACK-API.md §6.1), so under the tiers the groups' calls
	 * are hidden behind the longer users.list. */
	if (slack_clone(c, &g.c) < 0 ||
	    pthread_mutex_init(&g.mu, NULL) != 0) {
		slack_free(g.c);
		goto one_after_the_other;
	}
	if (pthread_cond_init(&g.cv, NULL) != 0) {
		pthread_mutex_destroy(&g.mu);
		slack_free(g.c);
		goto one_after_the_other;
	}
	slack_set_tick(g.c, groups_tick, &g);
	if (pthread_create(&thread, NULL, groups_main, &g) != 0) {
		pthread_cond_destroy(&g.cv);
		pthread_mutex_destroy(&g.mu);
		slack_free(g.c);
		goto one_after_the_other;
	}
	rc = read_people(c, limit, s, &g.failed);
	if (rc < 0) {
		note_error(err, c);
		atomic_store(&g.stop, 1);
	}
	wrc = wait_groups(c, &g);
	pthread_join(thread, NULL);
	if (rc == 0 && wrc < 0) {
		rc = wrc;
		note_error(err, c);
	}
	if (rc == 0 && g.rc < 0) {
		rc = g.rc;
		note_error(err, g.c);
	}
	if (rc == 0)
		rc = add_groups(s, &g.gr);
	group_read_free(&g.gr);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
	slack_free(g.c);
	return rc;

one_after_the_other:
	/* No second client or thread (out of memory): slower, not wrong. */
	rc = read_people(c, limit, s, NULL);
	if (rc == 0)
		rc = slack_snapshot_read_groups(c, wanted, arg, s);
	if (rc < 0)
		note_error(err, c);
	return rc;
}
