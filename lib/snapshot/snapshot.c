/*
 * snapshot.c - the snapshot's growing arrays and pooled strings.
 *
 * Arrays double from 256 elements; the growth is checked against overflow
 * of the byte count, and a failed realloc leaves the array as it was.
 */
#include "snapshot/snapshot.h"
#include "core/err.h"
#include "core/pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int snapshot_init(struct snapshot *s)
{
	if (!s)
		return PV_EINVAL;
	memset(s, 0, sizeof(*s));
	s->pool = pool_new();
	return s->pool ? 0 : PV_ENOMEM;
}

void snapshot_release(struct snapshot *s)
{
	if (!s)
		return;
	free(s->people);
	free(s->groups);
	free(s->users);
	free(s->teams);
	free(s->memberships);
	free(s->id_index);
	pool_free(s->pool);
	memset(s, 0, sizeof(*s));
}

static void free_pool(void *p)
{
	pool_free(p);
}

int snapshot_take_directory(struct snapshot *dst, struct snapshot *src)
{
	int rc;

	if (!dst || !src)
		return PV_EINVAL;
	if (!dst->pool || dst->n_users || dst->n_teams || dst->n_memberships) {
		snapshot_release(src);
		return PV_EINVAL;
	}
	/* src's strings stay where they are: its pool is freed with dst's. */
	if (src->pool && (rc = pool_on_free(dst->pool, free_pool, src->pool)) < 0) {
		src->pool = NULL;  /* pool_on_free already freed it */
		snapshot_release(src);
		return rc;
	}
	free(dst->users);
	free(dst->teams);
	free(dst->memberships);
	dst->users = src->users;
	dst->n_users = src->n_users;
	dst->cap_users = src->cap_users;
	dst->teams = src->teams;
	dst->n_teams = src->n_teams;
	dst->cap_teams = src->cap_teams;
	dst->memberships = src->memberships;
	dst->n_memberships = src->n_memberships;
	dst->cap_memberships = src->cap_memberships;
	src->users = NULL;
	src->teams = NULL;
	src->memberships = NULL;
	src->pool = NULL;
	snapshot_release(src);
	return 0;
}

void snapshot_clear_people(struct snapshot *s)
{
	if (s)
		s->n_people = 0;
}

/* Makes room for one more element of size `size` in *arr and returns the
 * new, zeroed slot in *out. */
static int grow(void **arr, size_t *n, size_t *cap, size_t size, void **out)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		void *p;

		if (c < *cap || c > SIZE_MAX / size)
			return PV_ENOMEM;
		p = realloc(*arr, c * size);
		if (!p)
			return PV_ENOMEM;
		*arr = p;
		*cap = c;
	}
	*out = (char *)*arr + *n * size;
	memset(*out, 0, size);
	(*n)++;
	return 0;
}

#define ADD(s, arr, n, cap, out)                                                       \
	((s) ? grow((void **)&(s)->arr, &(s)->n, &(s)->cap, sizeof(*(s)->arr), (void **)(out)) \
	     : PV_EINVAL)

int snapshot_add_person(struct snapshot *s, struct snap_person **out)
{
	return ADD(s, people, n_people, cap_people, out);
}

int snapshot_add_group(struct snapshot *s, struct snap_group **out)
{
	return ADD(s, groups, n_groups, cap_groups, out);
}

int snapshot_add_user(struct snapshot *s, struct snap_user **out)
{
	return ADD(s, users, n_users, cap_users, out);
}

int snapshot_add_team(struct snapshot *s, struct snap_team **out)
{
	return ADD(s, teams, n_teams, cap_teams, out);
}

int snapshot_add_membership(struct snapshot *s, struct snap_membership **out)
{
	return ADD(s, memberships, n_memberships, cap_memberships, out);
}

int snapshot_strndup(struct snapshot *s, const char *str, size_t len, const char **out)
{
	if (!s || !out)
		return PV_EINVAL;
	*out = NULL;
	if (!str)
		return 0;
	*out = pool_strndup(s->pool, str, len);
	return *out ? 0 : PV_ENOMEM;
}

int snapshot_strdup(struct snapshot *s, const char *str, const char **out)
{
	return snapshot_strndup(s, str, str ? strlen(str) : 0, out);
}

/* FNV-1a: the people's ids are short and unlike one another. */
static size_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* The hash index of the people's ids (open addressing, at most half
 * full), made when the people changed in number since the last one.  A
 * hash and not a sorted array: 200 mapped groups name 1.4 million members,
 * and a binary search of 100,000 ids costs 17 string comparisons each.  An
 * index of people since forgotten (snapshot_clear_people) is still right:
 * their strings live in the pool until release, and a hit is an equal
 * string. */
static int id_index_build(struct snapshot *s)
{
	size_t cap = 16;
	const char **v;

	if (s->id_index && s->n_indexed == s->n_people)
		return 0;
	while (cap < 2 * s->n_people) {
		if (cap > SIZE_MAX / 4 / sizeof(*v))
			return PV_ENOMEM;
		cap <<= 1;
	}
	v = calloc(cap, sizeof(*v));
	if (!v)
		return PV_ENOMEM;
	for (size_t i = 0; i < s->n_people; i++) {
		size_t k = id_hash(s->people[i].id) & (cap - 1);

		while (v[k] && strcmp(v[k], s->people[i].id) != 0)
			k = (k + 1) & (cap - 1);
		if (!v[k])
			v[k] = s->people[i].id;
	}
	free(s->id_index);
	s->id_index = v;
	s->id_index_mask = cap - 1;
	s->n_indexed = s->n_people;
	return 0;
}

/* The person's id equal to id, or NULL. */
static const char *id_index_get(const struct snapshot *s, const char *id)
{
	size_t k = id_hash(id) & s->id_index_mask;

	for (; s->id_index[k]; k = (k + 1) & s->id_index_mask)
		if (strcmp(s->id_index[k], id) == 0)
			return s->id_index[k];
	return NULL;
}

int snapshot_group_set_members(struct snapshot *s, struct snap_group *g,
			       char *const *ids, size_t n)
{
	const char **v, *hit;
	int rc;

	if (!s || !g || (n && !ids))
		return PV_EINVAL;
	if (n > SIZE_MAX / sizeof(*v))
		return PV_ENOMEM;
	if (n && (rc = id_index_build(s)) < 0)
		return rc;
	v = n ? pool_alloc(s->pool, n * sizeof(*v)) : NULL;
	if (n && !v)
		return PV_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		hit = ids[i] ? id_index_get(s, ids[i]) : NULL;
		if (hit)
			v[i] = hit;
		else if ((rc = snapshot_strdup(s, ids[i], &v[i])) < 0)
			return rc;
	}
	g->member_ids = v;
	g->n_member_ids = n;
	return 0;
}
