/*
 * sync_plan.c - the sync planner; the rules are stated in sync_plan.h.
 *
 * Shape: a builder holds lookup tables made once over the input (hash maps
 * keyed by Slack id, by folded e-mail, sorted arrays keyed by numeric id),
 * then a few passes decide each Slack user's fate before anything is
 * emitted, so that who claims an e-mail does not depend on emission order:
 *   1. scope of every Slack user;
 *   2. matches by link, and the fate of linked users (their e-mail changes
 *      claim first);
 *   3. the fate of unlinked users, by e-mail, in Slack id order;
 *   4. emission in Slack id order, then left_workspace, then teams.
 */
#include "sync/sync_plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/email_fold.h"
#include "core/utf8_cut.h"
#include "core/err.h"

#define NONE ((size_t)-1)

/* ---- small string helpers ---- */

static int nonempty(const char *s)
{
	return s && *s;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* NULL-aware equality for optional values such as avatar hashes. */
static int opt_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- a fixed-capacity open-addressing map: string -> index ----
 * Sized at creation for at most n entries (load <= 1/2), so it never grows;
 * keys are borrowed. */

struct smap_ent {
	const char *key;
	size_t val;
};

struct smap {
	struct smap_ent *e;
	size_t mask;
	int folded;
};

static uint64_t smap_hash(const char *s, int folded)
{
	uint64_t h = 1469598103934665603ULL;  /* FNV-1a */

	/* Folded keys (e-mails, domains) hash as the database's unique key
	 * compares them: equal under email_fold_cmp, equal hashes. */
	if (folded)
		return email_fold_hash(s);
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int smap_init(struct smap *m, size_t n, int folded)
{
	size_t cap = 16;

	m->e = NULL;
	m->mask = 0;
	m->folded = folded;
	while (cap < n * 2) {
		if (cap > SIZE_MAX / 4 / sizeof(*m->e))
			return PV_ENOMEM;
		cap <<= 1;
	}
	m->e = calloc(cap, sizeof(*m->e));
	if (!m->e)
		return PV_ENOMEM;
	m->mask = cap - 1;
	return 0;
}

static void smap_free(struct smap *m)
{
	free(m->e);
	m->e = NULL;
}

static struct smap_ent *smap_slot(const struct smap *m, const char *key)
{
	size_t i = (size_t)smap_hash(key, m->folded) & m->mask;

	for (;;) {
		struct smap_ent *e = &m->e[i];
		if (!e->key)
			return e;
		/* The same pointer first: a group's members are the people's own
		 * id strings (snapshot_group_set_members). */
		if (e->key == key ||
		    (m->folded ? email_fold_cmp(e->key, key) : strcmp(e->key, key)) == 0)
			return e;
		i = (i + 1) & m->mask;
	}
}

static size_t smap_get(const struct smap *m, const char *key)
{
	const struct smap_ent *e = smap_slot(m, key);

	return e->key ? e->val : NONE;
}

/* Inserts key -> val unless key is there; returns the value already there,
 * or NONE when it inserted.  The first insertion wins. */
static size_t smap_put(struct smap *m, const char *key, size_t val)
{
	struct smap_ent *e = smap_slot(m, key);

	if (e->key)
		return e->val;
	e->key = key;
	e->val = val;
	return NONE;
}

/* ---- a fixed-capacity map: a string's address -> index ----
 * A group's members, in a snapshot read from the provider, are the very id
 * strings of its people (snapshot_group_set_members): most of the 1.4
 * million members of 200 mapped groups are found by address, without
 * reading or hashing the string.  Any other address misses, and the caller
 * asks an smap by value. */

struct pmap {
	struct smap_ent *e;
	size_t mask;
};

static size_t pmap_hash(const char *key)
{
	uint64_t x = (uint64_t)(uintptr_t)key;  /* a 64-bit finalizer (murmur3) */

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static int pmap_init(struct pmap *m, size_t n)
{
	struct smap s;
	int rc = smap_init(&s, n, 0);

	m->e = s.e;
	m->mask = s.mask;
	return rc;
}

static void pmap_put(struct pmap *m, const char *key, size_t val)
{
	size_t i = pmap_hash(key) & m->mask;

	while (m->e[i].key && m->e[i].key != key)
		i = (i + 1) & m->mask;
	if (!m->e[i].key)
		m->e[i] = (struct smap_ent){ key, val };
}

static size_t pmap_get(const struct pmap *m, const char *key)
{
	for (size_t i = pmap_hash(key) & m->mask; m->e[i].key; i = (i + 1) & m->mask)
		if (m->e[i].key == key)
			return m->e[i].val;
	return NONE;
}

/* ---- plan-owned strings ---- */

struct plan_arena {
	struct plan_arena *next;
	size_t used;
	size_t cap;
	char data[];
};

#define ARENA_BLOCK 65536

/* n bytes of the arena, at a multiple of align (a power of two, at most
 * that of max_align_t: blocks come from malloc). */
static void *arena_alloc(struct plan_arena **head, size_t n, size_t align)
{
	struct plan_arena *a = *head;
	size_t at = a ? (a->used + align - 1) & ~(align - 1) : 0;
	void *r;

	if (!a || at > a->cap || a->cap - at < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->next = *head;
		a->used = 0;
		a->cap = cap;
		*head = a;
		at = 0;
	}
	r = a->data + at;
	a->used = at + n;
	return r;
}

static char *arena_strndup(struct plan_arena **head, const char *s, size_t n)
{
	char *r = arena_alloc(head, n + 1, 1);

	if (!r)
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* ---- sorted numeric keys ---- */

struct idkey {
	int64_t id;
	size_t idx;
};

static int idkey_cmp(const void *a, const void *b)
{
	const struct idkey *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct strkey {
	const char *s;
	size_t idx;
};

static int strkey_cmp(const void *a, const void *b)
{
	const struct strkey *x = a, *y = b;

	return strcmp(x->s, y->s);
}

/* qsort without the NULL-base-with-zero-count case the C library forbids. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Position of id in v (sorted by idkey_cmp), or NONE. */
static size_t idkey_pos(const struct idkey *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].id == id ? lo : NONE;
}

/* ---- rows of managed teams ----
 * An existing membership (or tombstone) of a managed team, bucketed by
 * team: the user's position in user id order and the row's source, in 4
 * bytes (a re-sync with 200 mapped teams reads 1.3 million of them).
 * emit_teams checks that the positions fit. */
#define ROW_MAX_USERS ((size_t)1 << 30)
#define ROW_NONE UINT32_MAX    /* a row of a user the directory does not hold */

static uint32_t row_make(size_t pos, unsigned source)
{
	return (uint32_t)(pos << 2 | source);
}

static size_t row_pos(uint32_t r)
{
	return r >> 2;
}

static unsigned row_source(uint32_t r)
{
	return r & 3;
}

/* ---- the builder ---- */

enum scope {
	SC_IGNORED,     /* bot, app user, Slackbot, duplicate id */
	SC_DELETED,
	SC_LEFT_SCOPE,
	SC_EXCLUDED,
	SC_DOMAIN,
	SC_IN,
};

enum fate {
	F_NOTHING,
	F_CREATE,
	F_LINK,
	F_UPDATE,       /* linked and active; an action only if something changed */
	F_REACTIVATE,
	F_FROZEN,       /* hand-made state: left alone */
	F_SKIP,
	F_DEACTIVATE,
};

enum team_policy { TP_OUT, TP_KEEP, TP_MANAGED };

struct slack_st {
	size_t dir;          /* matched directory user, or NONE */
	size_t rank;         /* position in Slack id order, NONE for duplicates */
	size_t holder;       /* skip: directory user holding the e-mail */
	size_t rival;        /* skip: Slack user that claimed it first */
	size_t create_action;
	unsigned char scope;
	unsigned char fate;
	unsigned char reason;
	unsigned char in_groups;
};

struct dir_st {
	size_t slack;        /* Slack user matched to it (link or e-mail) */
};

struct builder {
	const struct plan_input *in;
	const struct plan_config *cfg;
	struct sync_plan *p;
	size_t cap_actions;
	size_t cap_changes;

	struct slack_st *ss;
	struct dir_st *ds;
	struct strkey *order;      /* unique Slack users by id */
	size_t n_order;
	struct smap slack_by_id;
	struct pmap slack_by_addr;   /* the same, by the id's address */
	struct smap dir_by_link;
	struct smap dir_by_email;
	struct smap claims;        /* folded e-mail -> Slack user */
	struct smap groups;        /* enabled group id -> index */
	struct smap excl_email;
	struct smap excl_id;
	struct smap domains;
	struct idkey *dir_by_id;
	struct idkey *team_by_id;
	size_t active_admins;
};

/* Room for extra more actions. */
static int reserve_actions(struct builder *b, size_t extra)
{
	struct sync_plan *p = b->p;
	size_t cap = p->n_actions + extra;
	void *v;

	if (cap <= b->cap_actions)
		return 0;
	if (cap < extra || cap > SIZE_MAX / sizeof(*p->actions))
		return PV_ENOMEM;
	v = realloc(p->actions, cap * sizeof(*p->actions));
	if (!v)
		return PV_ENOMEM;
	p->actions = v;
	b->cap_actions = cap;
	return 0;
}

static struct plan_action *push_action(struct builder *b, enum plan_kind kind,
				       enum plan_reason reason)
{
	struct sync_plan *p = b->p;
	struct plan_action *a;

	if (p->n_actions == b->cap_actions &&
	    reserve_actions(b, b->cap_actions ? b->cap_actions : 64) < 0)
		return NULL;
	a = &p->actions[p->n_actions++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->reason = reason;
	a->created_by = PLAN_NO_ACTION;
	p->count[kind]++;
	return a;
}

/* Appends a change to the last action.  Changes of consecutive actions are
 * contiguous; their pointers are set once the store stops moving. */
static int push_change(struct builder *b, enum plan_field f, const char *from, const char *to)
{
	struct sync_plan *p = b->p;

	if (p->n_change_store == b->cap_changes) {
		size_t cap = b->cap_changes ? b->cap_changes * 2 : 64;
		void *v = realloc(p->change_store, cap * sizeof(*p->change_store));
		if (!v)
			return PV_ENOMEM;
		p->change_store = v;
		b->cap_changes = cap;
	}
	p->change_store[p->n_change_store++] = (struct plan_change){ f, from, to };
	p->actions[p->n_actions - 1].n_changes++;
	return 0;
}

/* ---- what Slack says a person should look like ---- */

struct slice {
	const char *s;
	size_t n;
};

struct target {
	struct slice first;
	struct slice last;
	const char *display;
	const char *title;
	const char *picture_url;
	const char *picture_key;
	int guest;
	unsigned shortened;  /* PLAN_SHORTENED(field) bits */
};

/* s cut to PLAN_TEXT_MAX characters at a character boundary: the value
 * the directory will hold, so that the next sync compares like with like
 * and a long Slack title is not an update every day. */
static void cut_slice(struct slice *s, enum plan_field f, unsigned *shortened)
{
	bool cut = false;
	size_t keep = utf8_cut(s->s, PLAN_TEXT_MAX, &cut);

	/* A slice of a longer string (a first name cut out of a real name) is
	 * cut only when the cut falls inside it. */
	if (cut && keep < s->n) {
		s->n = keep;
		*shortened |= PLAN_SHORTENED(f);
	}
}

/* *s cut as cut_slice does, into a plan-owned copy when it is cut. */
static int cut_text(struct builder *b, const char **s, enum plan_field f, unsigned *shortened)
{
	bool cut = false;
	size_t keep = utf8_cut(*s, PLAN_TEXT_MAX, &cut);

	if (!cut)
		return 0;
	if (!(*s = arena_strndup(&b->p->arena, *s, keep)))
		return PV_ENOMEM;
	*shortened |= PLAN_SHORTENED(f);
	return 0;
}

static struct slice whole(const char *s)
{
	s = or_empty(s);
	return (struct slice){ s, strlen(s) };
}

static int target_of(struct builder *b, const struct snap_person *u, struct target *t)
{
	t->shortened = 0;
	if (nonempty(u->first_name) || nonempty(u->last_name)) {
		t->first = whole(u->first_name);
		t->last = whole(u->last_name);
	} else if (nonempty(u->full_name)) {
		const char *sp = strchr(u->full_name, ' ');
		if (sp) {
			t->first = (struct slice){ u->full_name, (size_t)(sp - u->full_name) };
			while (*sp == ' ')
				sp++;
			t->last = whole(sp);
		} else {
			t->first = whole(u->full_name);
			t->last = whole("");
		}
	} else {
		t->first = whole("");
		t->last = whole("");
	}
	if (nonempty(u->display_name))
		t->display = u->display_name;
	else if (nonempty(u->full_name))
		t->display = u->full_name;
	else
		t->display = or_empty(u->handle);
	t->title = or_empty(u->title);
	/* The reader made a default avatar no picture (SPEC §2.5); a key
	 * without a URL is not one either. */
	t->picture_url = u->picture_url;
	t->picture_key = u->picture_url ? u->picture_key : NULL;
	t->guest = u->kind != SNAP_MEMBER;
	cut_slice(&t->first, PLAN_F_FIRST_NAME, &t->shortened);
	cut_slice(&t->last, PLAN_F_LAST_NAME, &t->shortened);
	if (cut_text(b, &t->display, PLAN_F_DISPLAY_NAME, &t->shortened) ||
	    cut_text(b, &t->title, PLAN_F_JOB_TITLE, &t->shortened))
		return PV_ENOMEM;
	return 0;
}

static int slice_eq(struct slice a, const char *b)
{
	b = or_empty(b);
	return strlen(b) == a.n && memcmp(a.s, b, a.n) == 0;
}

/* A NUL-terminated copy only when the slice is a cut of a longer string. */
static const char *slice_str(struct builder *b, struct slice s)
{
	if (s.s[s.n] == '\0')
		return s.s;
	return arena_strndup(&b->p->arena, s.s, s.n);
}

static const char *bool_text(int v)
{
	return v ? "true" : "false";
}

/* Appends to the last action the changes that bring directory user x in
 * line with Slack user u, in enum plan_field order. */
static int push_diff(struct builder *b, const struct snap_user *x,
		     const struct snap_person *u)
{
	struct plan_action *a = &b->p->actions[b->p->n_actions - 1];
	struct target t;
	const char *s;
	int rc = 0;

	if ((rc = target_of(b, u, &t)))
		return rc;
	if (!slice_eq(t.first, x->first_name)) {
		if (!(s = slice_str(b, t.first)))
			return PV_ENOMEM;
		if ((rc = push_change(b, PLAN_F_FIRST_NAME, or_empty(x->first_name), s)))
			return rc;
	}
	if (!slice_eq(t.last, x->last_name)) {
		if (!(s = slice_str(b, t.last)))
			return PV_ENOMEM;
		if ((rc = push_change(b, PLAN_F_LAST_NAME, or_empty(x->last_name), s)))
			return rc;
	}
	if (strcmp(t.display, or_empty(x->display_name)) != 0 &&
	    (rc = push_change(b, PLAN_F_DISPLAY_NAME, or_empty(x->display_name), t.display)))
		return rc;
	/* No e-mail in Slack keeps the stored one (SLACK-API §11.3). */
	if (nonempty(u->email) && !email_fold_equal(u->email, x->email) &&
	    (rc = push_change(b, PLAN_F_EMAIL, x->email, u->email)))
		return rc;
	if (!opt_eq(t.picture_key, x->picture_key)) {
		if ((rc = push_change(b, PLAN_F_PICTURE, x->picture_url, t.picture_url)))
			return rc;
		a->picture_key = t.picture_key;
	}
	if (strcmp(t.title, or_empty(x->job_title)) != 0 &&
	    (rc = push_change(b, PLAN_F_JOB_TITLE, or_empty(x->job_title), t.title)))
		return rc;
	if ((int)x->is_guest != t.guest &&
	    (rc = push_change(b, PLAN_F_IS_GUEST, bool_text(x->is_guest), bool_text(t.guest))))
		return rc;
	/* Said only with a change of that field: once stored, a shortened
	 * value is equal to its target and nothing is said again. */
	a = &b->p->actions[b->p->n_actions - 1];
	if (slice_eq(t.first, x->first_name))
		t.shortened &= ~PLAN_SHORTENED(PLAN_F_FIRST_NAME);
	if (slice_eq(t.last, x->last_name))
		t.shortened &= ~PLAN_SHORTENED(PLAN_F_LAST_NAME);
	if (strcmp(t.display, or_empty(x->display_name)) == 0)
		t.shortened &= ~PLAN_SHORTENED(PLAN_F_DISPLAY_NAME);
	if (strcmp(t.title, or_empty(x->job_title)) == 0)
		t.shortened &= ~PLAN_SHORTENED(PLAN_F_JOB_TITLE);
	a->shortened = t.shortened;
	return 0;
}

/* ---- passes ---- */

static int build_indexes(struct builder *b)
{
	const struct plan_input *in = b->in;
	const struct plan_config *c = b->cfg;
	int rc;

	b->ss = calloc(in->snap->n_people ? in->snap->n_people : 1, sizeof(*b->ss));
	b->ds = calloc(in->snap->n_users ? in->snap->n_users : 1, sizeof(*b->ds));
	b->order = calloc(in->snap->n_people ? in->snap->n_people : 1, sizeof(*b->order));
	b->dir_by_id = calloc(in->snap->n_users ? in->snap->n_users : 1, sizeof(*b->dir_by_id));
	b->team_by_id = calloc(in->snap->n_teams ? in->snap->n_teams : 1, sizeof(*b->team_by_id));
	if (!b->ss || !b->ds || !b->order || !b->dir_by_id || !b->team_by_id)
		return PV_ENOMEM;
	if ((rc = smap_init(&b->slack_by_id, in->snap->n_people, 0)) ||
	    (rc = pmap_init(&b->slack_by_addr, in->snap->n_groups ? in->snap->n_people : 0)) ||
	    (rc = smap_init(&b->claims, in->snap->n_people, 1)) ||
	    (rc = smap_init(&b->dir_by_link, in->snap->n_users, 0)) ||
	    (rc = smap_init(&b->dir_by_email, in->snap->n_users, 1)) ||
	    (rc = smap_init(&b->groups, in->snap->n_groups, 0)) ||
	    (rc = smap_init(&b->excl_email, c->n_exclude, 1)) ||
	    (rc = smap_init(&b->excl_id, c->n_exclude, 0)) ||
	    (rc = smap_init(&b->domains, c->n_allowed_domains, 1)))
		return rc;

	for (size_t i = 0; i < in->snap->n_people; i++) {
		const struct snap_person *u = &in->snap->people[i];
		struct slack_st *st = &b->ss[i];

		st->dir = st->holder = st->rival = st->create_action = st->rank = NONE;
		if (!u->id)
			return PV_EINVAL;
		if (smap_put(&b->slack_by_id, u->id, i) != NONE) {
			st->scope = SC_IGNORED;  /* a duplicate: first one counts */
			continue;
		}
		if (in->snap->n_groups)  /* first occurrences only, as by value */
			pmap_put(&b->slack_by_addr, u->id, i);
		b->order[b->n_order++] = (struct strkey){ u->id, i };
	}
	sort(b->order, b->n_order, sizeof(*b->order), strkey_cmp);
	for (size_t r = 0; r < b->n_order; r++)
		b->ss[b->order[r].idx].rank = r;

	for (size_t i = 0; i < in->snap->n_users; i++) {
		const struct snap_user *x = &in->snap->users[i];

		if (!x->email)
			return PV_EINVAL;
		b->ds[i].slack = NONE;
		if (x->slack_user_id)
			smap_put(&b->dir_by_link, x->slack_user_id, i);
		smap_put(&b->dir_by_email, x->email, i);
		b->dir_by_id[i] = (struct idkey){ x->id, i };
		if (x->status == SNAP_USER_ACTIVE) {
			b->p->active_provisioned += x->provisioned;
			b->active_admins += x->is_admin;
		}
	}
	sort(b->dir_by_id, in->snap->n_users, sizeof(*b->dir_by_id), idkey_cmp);

	for (size_t i = 0; i < in->snap->n_teams; i++)
		b->team_by_id[i] = (struct idkey){ in->snap->teams[i].id, i };
	sort(b->team_by_id, in->snap->n_teams, sizeof(*b->team_by_id), idkey_cmp);

	for (size_t i = 0; i < in->snap->n_groups; i++) {
		const struct snap_group *g = &in->snap->groups[i];
		if (!g->id)
			return PV_EINVAL;
		if (g->enabled)  /* a disabled group has no members for us */
			smap_put(&b->groups, g->id, i);
	}
	for (size_t i = 0; i < c->n_exclude; i++) {
		const char *e = c->exclude[i];
		if (!e)
			return PV_EINVAL;
		smap_put(strchr(e, '@') ? &b->excl_email : &b->excl_id, e, i);
	}
	for (size_t i = 0; i < c->n_allowed_domains; i++) {
		if (!c->allowed_domains[i])
			return PV_EINVAL;
		smap_put(&b->domains, c->allowed_domains[i], i);
	}
	return 0;
}

/* The members of an enabled group, through fn(b, slack index, arg). */
static int each_member(struct builder *b, const char *group_id,
		       int (*fn)(struct builder *, size_t, void *), void *arg)
{
	size_t gi = group_id ? smap_get(&b->groups, group_id) : NONE;
	const struct snap_group *g;
	int rc;

	if (gi == NONE)
		return 0;
	g = &b->in->snap->groups[gi];
	for (size_t k = 0; g->member_ids && k < g->n_member_ids; k++) {
		const char *id = g->member_ids[k];
		size_t si = id ? pmap_get(&b->slack_by_addr, id) : NONE;

		if (id && si == NONE)
			si = smap_get(&b->slack_by_id, id);
		if (si != NONE && (rc = fn(b, si, arg)))
			return rc;
	}
	return 0;
}

static int mark_in_groups(struct builder *b, size_t si, void *arg)
{
	(void)arg;
	b->ss[si].in_groups = 1;
	return 0;
}

static enum scope scope_of(struct builder *b, const struct snap_person *u, int in_groups)
{
	const struct plan_config *c = b->cfg;
	int kind_ok;

	if (u->not_a_person)
		return SC_IGNORED;
	if (u->deleted)
		return SC_DELETED;
	switch (u->kind) {
	case SNAP_SINGLE_CHANNEL_GUEST: kind_ok = c->single_channel_guests; break;
	case SNAP_MULTI_CHANNEL_GUEST: kind_ok = c->multi_channel_guests; break;
	default: kind_ok = c->full_members; break;
	}
	if (!kind_ok || (u->invited && !c->invited_not_joined))
		return SC_LEFT_SCOPE;
	if (c->members_mode == PLAN_MEMBERS_GROUPS && !in_groups)
		return SC_LEFT_SCOPE;
	if (c->n_exclude && (smap_get(&b->excl_id, u->id) != NONE ||
			     (nonempty(u->email) && smap_get(&b->excl_email, u->email) != NONE)))
		return SC_EXCLUDED;
	/* Without an e-mail the domain is unknown: the person stays in scope and
	 * is then skipped (no_email) or kept as linked. */
	if (c->n_allowed_domains && nonempty(u->email)) {
		const char *at = strrchr(u->email, '@');
		if (!at || smap_get(&b->domains, at + 1) == NONE)
			return SC_DOMAIN;
	}
	return SC_IN;
}

static enum plan_reason deactivate_reason(unsigned char scope)
{
	switch (scope) {
	case SC_DELETED:
		return PLAN_R_DELETED_IN_SLACK;
	case SC_EXCLUDED:
		return PLAN_R_EXCLUDED;
	case SC_DOMAIN:
		return PLAN_R_DOMAIN_NOT_ALLOWED;
	default:
		return PLAN_R_LEFT_SCOPE;
	}
}

static void skip(struct slack_st *st, enum plan_reason r, size_t holder, size_t rival)
{
	st->fate = F_SKIP;
	st->reason = (unsigned char)r;
	st->holder = holder;
	st->rival = rival;
}

/* Pass 2: Slack users matched by link.  Their e-mail changes claim first. */
static void decide_linked(struct builder *b)
{
	const struct plan_input *in = b->in;

	for (size_t r = 0; r < b->n_order; r++) {
		size_t si = b->order[r].idx;
		const struct snap_person *u = &in->snap->people[si];
		struct slack_st *st = &b->ss[si];
		size_t xi = smap_get(&b->dir_by_link, u->id);
		const struct snap_user *x;

		if (xi == NONE)
			continue;
		st->dir = xi;
		b->ds[xi].slack = si;
		x = &in->snap->users[xi];
		if (st->scope != SC_IN) {
			if (x->status == SNAP_USER_ACTIVE && x->provisioned) {
				st->fate = F_DEACTIVATE;
				st->reason = (unsigned char)deactivate_reason(st->scope);
			}
			continue;
		}
		if (x->status == SNAP_USER_DEACTIVATED) {
			/* An administrator's deactivation is kept and said (a
			 * skip, so teams stay untouched too); an unprovisioned
			 * deactivated user is someone else's business. */
			if (x->provisioned && x->deactivated_by_hand) {
				skip(st, PLAN_R_DEACTIVATED_BY_HAND, NONE, NONE);
				continue;
			}
			if (!x->provisioned) {
				st->fate = F_FROZEN;
				continue;
			}
			st->fate = F_REACTIVATE;
		} else {
			st->fate = F_UPDATE;
		}
		if (nonempty(u->email) && !email_fold_equal(u->email, x->email)) {
			size_t yi = smap_get(&b->dir_by_email, u->email);
			size_t prior;

			if (yi != NONE && yi != xi) {
				int linked = in->snap->users[yi].slack_user_id != NULL;
				skip(st, linked ? PLAN_R_EMAIL_TAKEN_BY_LINKED_USER
					       : PLAN_R_EMAIL_TAKEN_BY_OTHER_USER, yi, NONE);
			} else if ((prior = smap_put(&b->claims, u->email, si)) != NONE) {
				skip(st, PLAN_R_EMAIL_TAKEN_BY_LINKED_USER, NONE, prior);
			}
		}
	}
}

/* Pass 3: in-scope Slack users without a link, by e-mail. */
static void decide_unlinked(struct builder *b)
{
	const struct plan_input *in = b->in;

	for (size_t r = 0; r < b->n_order; r++) {
		size_t si = b->order[r].idx;
		const struct snap_person *u = &in->snap->people[si];
		struct slack_st *st = &b->ss[si];
		size_t yi, prior;

		if (st->scope != SC_IN || st->dir != NONE)
			continue;
		if (!nonempty(u->email)) {
			skip(st, PLAN_R_NO_EMAIL, NONE, NONE);
			continue;
		}
		yi = smap_get(&b->dir_by_email, u->email);
		if ((prior = smap_get(&b->claims, u->email)) != NONE) {
			skip(st, PLAN_R_EMAIL_TAKEN_BY_LINKED_USER, yi, prior);
			continue;
		}
		if (yi == NONE) {
			smap_put(&b->claims, u->email, si);
			st->fate = F_CREATE;
			continue;
		}
		const struct snap_user *y = &in->snap->users[yi];
		if (y->slack_user_id) {
			/* Linked to another Slack id (§7.5 when it is gone). */
			skip(st, y->status == SNAP_USER_DEACTIVATED ? PLAN_R_NEEDS_REVIEW
				 : PLAN_R_EMAIL_TAKEN_BY_LINKED_USER, yi, b->ds[yi].slack);
		} else if (b->ds[yi].slack != NONE) {
			skip(st, PLAN_R_EMAIL_TAKEN_BY_LINKED_USER, yi, b->ds[yi].slack);
		} else if (y->status == SNAP_USER_DEACTIVATED) {
			skip(st, PLAN_R_NEEDS_REVIEW, yi, NONE);
		} else {
			smap_put(&b->claims, u->email, si);
			st->fate = F_LINK;
			st->dir = yi;
			b->ds[yi].slack = si;
		}
	}
}

/* A deactivation, or skip last_administrator when it would leave the
 * organization without an active administrator (SPEC §7.7). */
static int emit_deactivate(struct builder *b, size_t xi, const struct snap_person *u,
			   enum plan_reason reason)
{
	const struct snap_user *x = &b->in->snap->users[xi];
	struct plan_action *a;

	if (x->is_admin && b->active_admins <= 1) {
		if (!(a = push_action(b, PLAN_SKIP, PLAN_R_LAST_ADMINISTRATOR)))
			return PV_ENOMEM;
		a->user = x;
		a->slack = u;
		return 0;
	}
	if (x->is_admin)
		b->active_admins--;
	if (!(a = push_action(b, PLAN_DEACTIVATE, reason)))
		return PV_ENOMEM;
	a->user = x;
	a->slack = u;
	return push_change(b, PLAN_F_STATUS, "active", "deactivated");
}

static int emit_create(struct builder *b, size_t si)
{
	const struct snap_person *u = &b->in->snap->people[si];
	struct plan_action *a;
	struct plan_profile *pr;
	struct target t;
	const char *first, *last;

	if (target_of(b, u, &t) || !(first = slice_str(b, t.first)) ||
	    !(last = slice_str(b, t.last)))
		return PV_ENOMEM;
	b->ss[si].create_action = b->p->n_actions;
	if (!(a = push_action(b, PLAN_CREATE, PLAN_R_NEW_IN_SCOPE)))
		return PV_ENOMEM;
	a->slack = u;
	if (!(pr = arena_alloc(&b->p->arena, sizeof(*pr), _Alignof(struct plan_profile))))
		return PV_ENOMEM;
	*pr = (struct plan_profile){
		.first_name = first,
		.last_name = last,
		.display_name = t.display,
		.email = u->email,
		.job_title = t.title,
		.picture_url = t.picture_url,
		.picture_key = t.picture_key,
		.is_guest = t.guest,
	};
	a->profile = pr;
	a->picture_key = t.picture_key;
	a->shortened = t.shortened;
	return 0;
}

/* Pass 4a: one action at most per Slack user, in Slack id order. */
static int emit_people(struct builder *b)
{
	const struct plan_input *in = b->in;
	struct plan_action *a;
	int rc;

	for (size_t r = 0; r < b->n_order; r++) {
		size_t si = b->order[r].idx;
		const struct snap_person *u = &in->snap->people[si];
		struct slack_st *st = &b->ss[si];
		const struct snap_user *x = st->dir != NONE ? &in->snap->users[st->dir] : NULL;

		switch (st->fate) {
		case F_CREATE:
			if ((rc = emit_create(b, si)))
				return rc;
			break;
		case F_LINK:
		case F_UPDATE:
		case F_REACTIVATE:
			a = push_action(b, st->fate == F_REACTIVATE ? PLAN_REACTIVATE : PLAN_UPDATE,
					st->fate == F_LINK ? PLAN_R_LINKED_BY_EMAIL
					: st->fate == F_REACTIVATE ? PLAN_R_BACK_IN_SCOPE
					: PLAN_R_PROFILE_CHANGED);
			if (!a)
				return PV_ENOMEM;
			a->user = x;
			a->slack = u;
			a->link = st->fate == F_LINK;
			if ((rc = push_diff(b, x, u)))
				return rc;
			if (st->fate == F_REACTIVATE &&
			    (rc = push_change(b, PLAN_F_STATUS, "deactivated", "active")))
				return rc;
			/* An unchanged linked user is no action (idempotence). */
			if (st->fate == F_UPDATE && b->p->actions[b->p->n_actions - 1].n_changes == 0) {
				b->p->n_actions--;
				b->p->count[PLAN_UPDATE]--;
			}
			break;
		case F_SKIP:
			if (!(a = push_action(b, PLAN_SKIP, (enum plan_reason)st->reason)))
				return PV_ENOMEM;
			a->slack = u;
			a->user = x;
			a->holder = st->holder != NONE ? &in->snap->users[st->holder] : NULL;
			a->rival = st->rival != NONE ? &in->snap->people[st->rival] : NULL;
			break;
		case F_DEACTIVATE:
			if ((rc = emit_deactivate(b, st->dir, u, (enum plan_reason)st->reason)))
				return rc;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Pass 4b: linked users whose Slack id is absent from a complete listing. */
static int emit_left_workspace(struct builder *b)
{
	const struct plan_input *in = b->in;
	int rc;

	for (size_t k = 0; k < in->snap->n_users; k++) {
		size_t xi = b->dir_by_id[k].idx;
		const struct snap_user *x = &in->snap->users[xi];

		if (!x->slack_user_id || x->status != SNAP_USER_ACTIVE || !x->provisioned)
			continue;
		if (smap_get(&b->slack_by_id, x->slack_user_id) != NONE)
			continue;
		if ((rc = emit_deactivate(b, xi, NULL, PLAN_R_LEFT_WORKSPACE)))
			return rc;
	}
	return 0;
}

static int fate_managed(unsigned char fate)
{
	return fate == F_CREATE || fate == F_LINK || fate == F_UPDATE || fate == F_REACTIVATE;
}

static enum team_policy policy_of(struct builder *b, size_t xi)
{
	size_t si = b->ds[xi].slack;

	if (si == NONE)
		return TP_OUT;
	if (fate_managed(b->ss[si].fate))
		return TP_MANAGED;
	if (b->ss[si].fate == F_FROZEN || b->ss[si].fate == F_SKIP)
		return TP_KEEP;
	return TP_OUT;
}

/* Bit sets over Slack ranks and directory positions. */
#define WORD_BITS 64

static size_t bits_words(size_t n)
{
	return n / WORD_BITS + 1;
}

static void bit_set(uint64_t *w, size_t i)
{
	w[i / WORD_BITS] |= (uint64_t)1 << (i % WORD_BITS);
}

static void bit_clear(uint64_t *w, size_t i)
{
	w[i / WORD_BITS] &= ~((uint64_t)1 << (i % WORD_BITS));
}

static int bit_test(const uint64_t *w, size_t i)
{
	return (w[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

/* The set bit after i - 1 (from i on), or NONE: walks the ranks of a team's
 * wanted members in Slack id order. */
static size_t bit_next(const uint64_t *w, size_t nwords, size_t i)
{
	size_t k = i / WORD_BITS;
	uint64_t x;

	if (k >= nwords)
		return NONE;
	x = w[k] & (~(uint64_t)0 << (i % WORD_BITS));
	while (!x) {
		if (++k >= nwords)
			return NONE;
		x = w[k];
	}
	return k * WORD_BITS + (size_t)__builtin_ctzll(x);
}

/* What the team changes of one managed team are made from. */
struct team_work {
	uint64_t *want;        /* bits by Slack rank: wanted members */
	size_t want_words;
	/* Bits by directory position: the team's rows, its tombstones, its
	 * provisioning memberships. */
	uint64_t *row, *tomb, *prov;
	size_t dir_words;
	const uint32_t *dir_pos;
};

static int want_member(struct builder *b, size_t si, void *arg)
{
	struct team_work *w = arg;

	if (b->ss[si].scope == SC_IN && fate_managed(b->ss[si].fate))
		bit_set(w->want, b->ss[si].rank);
	return 0;
}

static void push_team_change(struct builder *b, size_t ti, size_t xi, size_t si,
			     enum plan_kind kind)
{
	struct sync_plan *p = b->p;

	p->team_changes[p->n_team_changes++] = (struct plan_team_change){
		(uint32_t)ti, xi == NONE ? PLAN_TC_NONE : (uint32_t)xi,
		si == NONE ? PLAN_TC_NONE : (uint32_t)si, (uint8_t)kind };
	p->count[kind]++;
}

/* Whether the wanted member at Slack index si has a row in the team (*tomb:
 * that row is a hand removal's tombstone).  A person this plan creates has
 * none. */
static int has_row(struct builder *b, const struct team_work *w, size_t si, int *tomb)
{
	size_t pos;

	if (b->ss[si].fate == F_CREATE)
		return 0;
	pos = w->dir_pos[b->ss[si].dir];
	*tomb = bit_test(w->tomb, pos);
	return bit_test(w->row, pos);
}

/* Sets (or, with on = 0, clears) the bits of a team's rows. */
static void rows_mark(struct team_work *w, const uint32_t *rows, size_t nr, int on)
{
	for (size_t i = 0; i < nr; i++) {
		size_t pos = row_pos(rows[i]);

		if (rows[i] == ROW_NONE)
			continue;
		if (!on) {
			bit_clear(w->row, pos);
			bit_clear(w->tomb, pos);
			bit_clear(w->prov, pos);
			continue;
		}
		bit_set(w->row, pos);
		if (row_source(rows[i]) == SNAP_MS_REMOVED_BY_HAND)
			bit_set(w->tomb, pos);
		else if (row_source(rows[i]) == SNAP_MS_PROVISIONING)
			bit_set(w->prov, pos);
	}
}

/* The team changes of the managed team ti, whose wanted members are in
 * w->want and whose rows are rows[0..nr), in no order. */
static void emit_team(struct builder *b, size_t ti, struct team_work *w, const uint32_t *rows,
		      size_t nr)
{
	size_t hands = 0;
	int tomb = 0;

	rows_mark(w, rows, nr, 1);
	/* Removals, by user id: provisioning memberships nobody wants any
	 * more. */
	for (size_t pos = bit_next(w->prov, w->dir_words, 0); pos != NONE;
	     pos = bit_next(w->prov, w->dir_words, pos + 1)) {
		size_t xi = b->dir_by_id[pos].idx;
		enum team_policy pol = policy_of(b, xi);

		if (pol == TP_KEEP ||
		    (pol == TP_MANAGED && bit_test(w->want, b->ss[b->ds[xi].slack].rank)))
			continue;
		push_team_change(b, ti, xi, NONE, PLAN_REMOVE_FROM_TEAM);
	}
	/* Additions, by Slack id: wanted pairs with no row at all (manual,
	 * provisioning or a hand removal's tombstone). */
	for (size_t r = bit_next(w->want, w->want_words, 0); r != NONE;
	     r = bit_next(w->want, w->want_words, r + 1)) {
		size_t si = b->order[r].idx;

		if (has_row(b, w, si, &tomb)) {
			hands += tomb;
			continue;
		}
		push_team_change(b, ti, b->ss[si].fate == F_CREATE ? NONE : b->ss[si].dir, si,
				 PLAN_ADD_TO_TEAM);
	}
	/* Then the pairs an administrator removed by hand: kept out, and the
	 * report says so each time. */
	for (size_t r = hands ? bit_next(w->want, w->want_words, 0) : NONE; r != NONE;
	     r = bit_next(w->want, w->want_words, r + 1)) {
		size_t si = b->order[r].idx;

		if (has_row(b, w, si, &tomb) && tomb)
			push_team_change(b, ti, b->ss[si].dir, si, PLAN_SKIP);
	}
	rows_mark(w, rows, nr, 0);
	memset(w->want, 0, w->want_words * sizeof(*w->want));
}

/* The rows of the managed teams, bucketed by team position: rows[at[tp]
 * .. at[tp + 1]).  Two passes over the memberships (count, then place), so
 * that nothing but the 4-byte rows is held. */
static int bucket_rows(struct builder *b, const unsigned char *managed, size_t *at,
		       uint32_t **out, size_t *n_rows)
{
	const struct snapshot *snap = b->in->snap;
	size_t n = 0;
	uint32_t *rows;

	for (size_t i = 0; i < snap->n_memberships; i++) {
		size_t tp = idkey_pos(b->team_by_id, snap->n_teams, snap->memberships[i].team_id);

		if (tp != NONE && managed[tp]) {
			at[tp + 1]++;
			n++;
		}
	}
	for (size_t tp = 0; tp < snap->n_teams; tp++)
		at[tp + 1] += at[tp];
	if (!(rows = malloc((n ? n : 1) * sizeof(*rows))))
		return PV_ENOMEM;
	for (size_t i = 0; i < snap->n_memberships; i++) {
		const struct snap_membership *ms = &snap->memberships[i];
		size_t tp = idkey_pos(b->team_by_id, snap->n_teams, ms->team_id), up;

		if (tp == NONE || !managed[tp])
			continue;
		up = idkey_pos(b->dir_by_id, snap->n_users, ms->user_id);
		rows[at[tp]++] = up == NONE ? ROW_NONE : row_make(up, (unsigned)ms->source & 3);
	}
	/* at[tp] is now where team tp ends: shift back to the starts. */
	for (size_t tp = snap->n_teams; tp > 0; tp--)
		at[tp] = at[tp - 1];
	at[0] = 0;
	*out = rows;
	*n_rows = n;
	return 0;
}

/* Pass 4c: team memberships of the managed teams (SPEC §1.7), straight
 * into the plan's compact team changes, team by team in team id order: a
 * bit set of the team's wanted members by Slack rank and bit sets of its
 * rows by user id say its changes in order, so no list of wanted pairs or
 * of changes is made and sorted apart. */
static int emit_teams(struct builder *b)
{
	const struct snapshot *snap = b->in->snap;
	const struct plan_config *c = b->cfg;
	struct team_work w = { 0 };
	/* Mappings by team position (id) and index (idx), so that a team's
	 * mappings are taken together. */
	struct idkey *maps = NULL;
	unsigned char *managed = NULL;
	uint32_t *dir_pos = NULL, *rows = NULL;
	size_t n_maps = 0, n_rows = 0, bound = 0, *at = NULL;
	struct sync_plan *p = b->p;
	int rc = 0;

	if (!c->team_mapping_enabled || c->n_mappings == 0)
		return 0;
	if (snap->n_people >= PLAN_TC_NONE || snap->n_users >= ROW_MAX_USERS ||
	    snap->n_teams >= PLAN_TC_NONE || p->n_actions >= PLAN_TC_NONE)
		return PV_ENOMEM;  /* a billion users: the 32-bit indices */

	maps = calloc(c->n_mappings, sizeof(*maps));
	managed = calloc(snap->n_teams ? snap->n_teams : 1, 1);
	at = calloc(snap->n_teams + 1, sizeof(*at));
	dir_pos = calloc(snap->n_users ? snap->n_users : 1, sizeof(*dir_pos));
	w.want_words = bits_words(b->n_order);
	w.dir_words = bits_words(snap->n_users);
	w.want = calloc(w.want_words, sizeof(*w.want));
	w.row = calloc(w.dir_words, sizeof(*w.row));
	w.tomb = calloc(w.dir_words, sizeof(*w.tomb));
	w.prov = calloc(w.dir_words, sizeof(*w.prov));
	p->create_of = calloc(snap->n_people, sizeof(*p->create_of));
	if (!maps || !managed || !at || !dir_pos || !w.want || !w.row || !w.tomb || !w.prov ||
	    !p->create_of) {
		rc = PV_ENOMEM;
		goto out;
	}
	w.dir_pos = dir_pos;
	for (size_t i = 0; i < c->n_mappings; i++) {
		size_t tp = idkey_pos(b->team_by_id, snap->n_teams, c->mappings[i].team_id);
		const char *g = c->mappings[i].slack_group_id;
		size_t gi = g ? smap_get(&b->groups, g) : NONE;

		if (tp == NONE)
			continue;  /* the team is gone: nothing to manage */
		managed[tp] = 1;
		maps[n_maps++] = (struct idkey){ (int64_t)tp, i };
		if (gi != NONE)
			bound += snap->groups[gi].n_member_ids;
	}
	sort(maps, n_maps, sizeof(*maps), idkey_cmp);
	for (size_t k = 0; k < snap->n_users; k++)
		dir_pos[b->dir_by_id[k].idx] = (uint32_t)k;
	if ((rc = bucket_rows(b, managed, at, &rows, &n_rows)))
		goto out;

	for (size_t i = 0; i < snap->n_people; i++)
		p->create_of[i] = b->ss[i].create_action == NONE ? PLAN_TC_NONE
				  : (uint32_t)b->ss[i].create_action;
	/* At most a removal per row and a change per member of a mapped
	 * group.  Pages of the bound that are never written cost no memory;
	 * the array is cut to its size below. */
	bound += n_rows;
	if (bound > SIZE_MAX / sizeof(*p->team_changes) ||
	    !(p->team_changes = malloc((bound ? bound : 1) * sizeof(*p->team_changes)))) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n_maps;) {
		size_t tp = (size_t)maps[k].id;

		for (; k < n_maps && maps[k].id == (int64_t)tp; k++)
			if ((rc = each_member(b, c->mappings[maps[k].idx].slack_group_id, want_member, &w)))
				goto out;
		emit_team(b, b->team_by_id[tp].idx, &w, rows + at[tp], at[tp + 1] - at[tp]);
	}
	if (p->n_team_changes) {
		void *v = realloc(p->team_changes, p->n_team_changes * sizeof(*p->team_changes));
		if (v)
			p->team_changes = v;
	}
out:
	free(w.prov);
	free(w.tomb);
	free(w.row);
	free(w.want);
	free(rows);
	free(dir_pos);
	free(at);
	free(managed);
	free(maps);
	return rc;
}

static int check_input(const struct plan_input *in)
{
	const struct snapshot *s = in->snap;

	if (!s || (s->n_users && !s->users) || (s->n_teams && !s->teams) ||
	    (s->n_memberships && !s->memberships) || (s->n_people && !s->people) ||
	    (s->n_groups && !s->groups) || !in->config)
		return PV_EINVAL;
	const struct plan_config *c = in->config;
	if ((c->n_group_ids && !c->group_ids) || (c->n_mappings && !c->mappings) ||
	    (c->n_exclude && !c->exclude) || (c->n_allowed_domains && !c->allowed_domains) ||
	    c->threshold_percent > 100)
		return PV_EINVAL;
	return 0;
}

/* What the builder holds besides the plan. */
static void builder_free(struct builder *b)
{
	smap_free(&b->domains);
	smap_free(&b->excl_id);
	smap_free(&b->excl_email);
	smap_free(&b->groups);
	smap_free(&b->claims);
	smap_free(&b->dir_by_email);
	smap_free(&b->dir_by_link);
	smap_free(&b->slack_by_id);
	free(b->slack_by_addr.e);
	free(b->team_by_id);
	free(b->dir_by_id);
	free(b->order);
	free(b->ds);
	free(b->ss);
}

/* The step between the two halves: the builder itself. */
struct plan_step {
	struct builder b;
};

/* A failed plan: emptied, with why (ENOMEM's own words). */
static int plan_failed(struct sync_plan *out, int rc)
{
	const char *why = rc == PV_ENOMEM ? "sync plan: out of memory" : out->why;

	sync_plan_release(out);
	out->why = why;
	return rc;
}

int sync_plan_people(const struct plan_input *in, struct sync_plan *out, struct plan_step **step)
{
	struct plan_step *st;
	struct builder *b;
	size_t in_scope = 0, off = 0;
	int rc;

	if (step)
		*step = NULL;
	if (!out || !step)
		return PV_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!in || check_input(in)) {
		out->why = "sync plan: incomplete input";
		return PV_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return plan_failed(out, PV_ENOMEM);
	b = &st->b;
	b->in = in;
	b->cfg = in->config;
	b->p = out;
	out->snap = in->snap;
	if (in->snap->n_people == 0) {
		rc = PV_EINVAL;
		out->why = "sync plan: the Slack user list is empty";
		goto fail;
	}
	if ((rc = build_indexes(b))) {
		if (rc == PV_EINVAL)
			out->why = "sync plan: a required id or e-mail is missing";
		goto fail;
	}

	if (b->cfg->members_mode == PLAN_MEMBERS_GROUPS)
		for (size_t i = 0; i < b->cfg->n_group_ids; i++)
			if ((rc = each_member(b, b->cfg->group_ids[i], mark_in_groups, NULL)))
				goto fail;
	for (size_t r = 0; r < b->n_order; r++) {
		size_t si = b->order[r].idx;
		b->ss[si].scope = (unsigned char)scope_of(b, &in->snap->people[si], b->ss[si].in_groups);
		in_scope += b->ss[si].scope == SC_IN;
	}
	if (in_scope == 0 && out->active_provisioned > 0) {
		rc = PV_EINVAL;
		out->why = "sync plan: no one in scope while provisioned users are active";
		goto fail;
	}

	decide_linked(b);
	decide_unlinked(b);
	/* Matching is done: its maps go before the plan grows (12 MB of
	 * 100,000 people and users, at a re-sync's peak in emit_teams). */
	smap_free(&b->claims);
	smap_free(&b->dir_by_email);
	smap_free(&b->dir_by_link);
	if ((rc = emit_people(b)) || (rc = emit_left_workspace(b)))
		goto fail;

	/* The change store no longer moves (team changes have no field
	 * changes): point each action at its changes. */
	for (size_t i = 0; i < out->n_actions; i++) {
		struct plan_action *a = &out->actions[i];
		a->changes = a->n_changes ? out->change_store + off : NULL;
		off += a->n_changes;
	}
	{
		uint64_t d = out->count[PLAN_DEACTIVATE];
		out->held = d > 0 && d >= b->cfg->threshold_minimum &&
			    d * 100 > (uint64_t)b->cfg->threshold_percent * out->active_provisioned;
	}
	*step = st;
	return 0;
fail:
	builder_free(b);
	free(st);
	return plan_failed(out, rc);
}

int sync_plan_teams(struct plan_step *step)
{
	struct sync_plan *out = step->b.p;
	int rc = emit_teams(&step->b);

	builder_free(&step->b);
	free(step);
	if (rc)
		out->why = rc == PV_ENOMEM ? "sync plan: out of memory" : out->why;
	return rc;
}

int sync_plan_build(const struct plan_input *in, struct sync_plan *out)
{
	struct plan_step *step;
	int rc = sync_plan_people(in, out, &step);

	if (rc == 0 && (rc = sync_plan_teams(step)))
		plan_failed(out, rc);
	return rc;
}

void sync_plan_release(struct sync_plan *p)
{
	struct plan_arena *a, *next;

	if (!p)
		return;
	for (a = p->arena; a; a = next) {
		next = a->next;
		free(a);
	}
	free(p->change_store);
	free(p->actions);
	free(p->team_changes);
	free(p->create_of);
	memset(p, 0, sizeof(*p));
}

size_t sync_plan_size(const struct sync_plan *p)
{
	return p->n_actions + p->n_team_changes;
}

const struct plan_action *sync_plan_at(const struct sync_plan *p, size_t i,
				       struct plan_action *tmp)
{
	const struct plan_team_change *c;

	if (i < p->n_actions)
		return &p->actions[i];
	c = &p->team_changes[i - p->n_actions];
	memset(tmp, 0, sizeof(*tmp));
	tmp->kind = (enum plan_kind)c->kind;
	tmp->reason = c->kind == PLAN_ADD_TO_TEAM ? PLAN_R_IN_MAPPED_GROUP
		    : c->kind == PLAN_REMOVE_FROM_TEAM ? PLAN_R_NOT_IN_MAPPED_GROUP
		    : PLAN_R_REMOVED_BY_HAND;
	tmp->team = &p->snap->teams[c->team];
	tmp->user = c->user != PLAN_TC_NONE ? &p->snap->users[c->user] : NULL;
	tmp->slack = c->person != PLAN_TC_NONE ? &p->snap->people[c->person] : NULL;
	tmp->created_by = PLAN_NO_ACTION;
	if (c->user == PLAN_TC_NONE && c->person != PLAN_TC_NONE &&
	    p->create_of[c->person] != PLAN_TC_NONE)
		tmp->created_by = p->create_of[c->person];
	return tmp;
}

enum plan_kind sync_plan_kind_at(const struct sync_plan *p, size_t i)
{
	return i < p->n_actions ? p->actions[i].kind
	       : (enum plan_kind)p->team_changes[i - p->n_actions].kind;
}

void sync_plan_config_init(struct plan_config *c)
{
	memset(c, 0, sizeof(*c));
	c->members_mode = PLAN_MEMBERS_EVERYONE;
	c->threshold_percent = PLAN_DEFAULT_THRESHOLD_PERCENT;
	c->threshold_minimum = PLAN_DEFAULT_THRESHOLD_MINIMUM;
	c->full_members = 1;
	c->multi_channel_guests = 1;
	c->single_channel_guests = 1;
	c->invited_not_joined = 1;
}

static const char *const kind_names[PLAN_KIND_COUNT] = {
	[PLAN_CREATE] = "create",
	[PLAN_UPDATE] = "update",
	[PLAN_DEACTIVATE] = "deactivate",
	[PLAN_REACTIVATE] = "reactivate",
	[PLAN_ADD_TO_TEAM] = "add_to_team",
	[PLAN_REMOVE_FROM_TEAM] = "remove_from_team",
	[PLAN_SKIP] = "skip",
};

static const char *const reason_names[PLAN_REASON_COUNT] = {
	[PLAN_R_NEW_IN_SCOPE] = "new_in_scope",
	[PLAN_R_PROFILE_CHANGED] = "profile_changed",
	[PLAN_R_LINKED_BY_EMAIL] = "linked_by_email",
	[PLAN_R_BACK_IN_SCOPE] = "back_in_scope",
	[PLAN_R_DELETED_IN_SLACK] = "deleted_in_slack",
	[PLAN_R_LEFT_WORKSPACE] = "left_workspace",
	[PLAN_R_LEFT_SCOPE] = "left_scope",
	[PLAN_R_EXCLUDED] = "excluded",
	[PLAN_R_DOMAIN_NOT_ALLOWED] = "domain_not_allowed",
	[PLAN_R_IN_MAPPED_GROUP] = "in_mapped_group",
	[PLAN_R_NOT_IN_MAPPED_GROUP] = "not_in_mapped_group",
	[PLAN_R_NO_EMAIL] = "no_email",
	[PLAN_R_EMAIL_TAKEN_BY_LINKED_USER] = "email_taken_by_linked_user",
	[PLAN_R_EMAIL_TAKEN_BY_OTHER_USER] = "email_taken_by_other_user",
	[PLAN_R_NEEDS_REVIEW] = "needs_review",
	[PLAN_R_LAST_ADMINISTRATOR] = "last_administrator",
	[PLAN_R_DEACTIVATED_BY_HAND] = "deactivated_by_hand",
	[PLAN_R_REMOVED_BY_HAND] = "removed_by_hand",
	[PLAN_R_ACCOUNT_NOT_CREATED] = "account_not_created",
};

static const char *const field_names[PLAN_FIELD_COUNT] = {
	[PLAN_F_FIRST_NAME] = "first_name",
	[PLAN_F_LAST_NAME] = "last_name",
	[PLAN_F_DISPLAY_NAME] = "display_name",
	[PLAN_F_EMAIL] = "email",
	[PLAN_F_PICTURE] = "picture",
	[PLAN_F_JOB_TITLE] = "job_title",
	[PLAN_F_IS_GUEST] = "is_guest",
	[PLAN_F_STATUS] = "status",
};

const char *sync_plan_kind_name(enum plan_kind k)
{
	return (unsigned)k < PLAN_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *sync_plan_reason_name(enum plan_reason r)
{
	return (unsigned)r < PLAN_REASON_COUNT ? reason_names[r] : "unknown";
}

const char *sync_plan_field_name(enum plan_field f)
{
	return (unsigned)f < PLAN_FIELD_COUNT ? field_names[f] : "unknown";
}

/* A linear search: 16 names at most, and only for held syncs' payloads. */
static int name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int sync_plan_kind_of(const char *name, enum plan_kind *out)
{
	int i = name_index(kind_names, PLAN_KIND_COUNT, name);

	if (i < 0)
		return PV_EINVAL;
	*out = (enum plan_kind)i;
	return 0;
}

int sync_plan_reason_of(const char *name, enum plan_reason *out)
{
	int i = name_index(reason_names, PLAN_REASON_COUNT, name);

	if (i < 0)
		return PV_EINVAL;
	*out = (enum plan_reason)i;
	return 0;
}

int sync_plan_field_of(const char *name, enum plan_field *out)
{
	int i = name_index(field_names, PLAN_FIELD_COUNT, name);

	if (i < 0)
		return PV_EINVAL;
	*out = (enum plan_field)i;
	return 0;
}
