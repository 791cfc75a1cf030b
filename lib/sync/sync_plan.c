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
		if ((m->folded ? email_fold_cmp(e->key, key) : strcmp(e->key, key)) == 0)
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

/* Index of the first entry with this id, or NONE. */
static size_t idkey_find(const struct idkey *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].id == id ? v[lo].idx : NONE;
}

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
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

/* A membership row, or a wanted one: (team, user id or Slack rank). */
struct pair {
	int64_t team;
	int64_t key;
	int source;
};

/* qsort without the NULL-base-with-zero-count case the C library forbids. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->team != y->team)
		return x->team < y->team ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return 0;
}

static const struct pair *pair_find(const struct pair *v, size_t n, int64_t team, int64_t key)
{
	struct pair k = { team, key, 0 };

	return n ? bsearch(&k, v, n, sizeof(*v), pair_cmp) : NULL;
}

/* A team action before emission, sorted: team, removals first, then key.
 * 24 bytes: a first sync with 200 mapped teams holds 1.4 million of them
 * next to the plan's actions, at the plan's peak.  The indices fit 32 bits
 * (emit_teams checks); an addition is exactly a tact with a Slack index. */
#define TACT_NONE UINT32_MAX
/* On tact.slack: an addition an administrator undid by hand (a tombstone,
 * SPEC §7.7): it becomes a skip removed_by_hand, never an addition. */
#define TACT_HAND 0x80000000u

struct tact {
	int64_t team;
	int64_t key;     /* user id for a removal, Slack rank for an addition */
	uint32_t dir;    /* directory index, TACT_NONE: a user created by the plan */
	uint32_t slack;  /* Slack index of an addition, TACT_NONE for a removal */
};

static int tact_cmp(const void *a, const void *b)
{
	const struct tact *x = a, *y = b;
	/* Within a team: removals, additions, then the skips of pairs removed
	 * by hand. */
	int xa = x->slack == TACT_NONE ? 0 : x->slack & TACT_HAND ? 2 : 1;
	int ya = y->slack == TACT_NONE ? 0 : y->slack & TACT_HAND ? 2 : 1;

	if (x->team != y->team)
		return x->team < y->team ? -1 : 1;
	if (xa != ya)
		return xa - ya;
	return x->key < y->key ? -1 : x->key > y->key;
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
		size_t si = g->member_ids[k] ? smap_get(&b->slack_by_id, g->member_ids[k]) : NONE;
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
	if (smap_get(&b->excl_id, u->id) != NONE ||
	    (nonempty(u->email) && smap_get(&b->excl_email, u->email) != NONE))
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

struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *p = realloc(v->v, cap * v->size);
		if (!p)
			return NULL;
		v->v = p;
		v->cap = cap;
	}
	return (char *)v->v + v->n++ * v->size;
}

struct want_arg {
	struct vec *want;
	int64_t team;
};

static int want_member(struct builder *b, size_t si, void *arg)
{
	struct want_arg *w = arg;
	struct pair *p;

	if (b->ss[si].scope != SC_IN || !fate_managed(b->ss[si].fate))
		return 0;
	if (!(p = vec_push(w->want)))
		return PV_ENOMEM;
	*p = (struct pair){ w->team, (int64_t)b->ss[si].rank, 0 };
	return 0;
}

/* Pass 4c: team memberships of the managed teams (SPEC §1.7). */
static int emit_teams(struct builder *b)
{
	const struct plan_input *in = b->in;
	const struct plan_config *c = b->cfg;
	struct vec want = { NULL, 0, 0, sizeof(struct pair) };
	struct vec managed = { NULL, 0, 0, sizeof(int64_t) };
	struct vec acts = { NULL, 0, 0, sizeof(struct tact) };
	struct pair *have = NULL;
	struct tact *t;
	int rc = 0;

	if (!c->team_mapping_enabled || c->n_mappings == 0)
		return 0;
	if (in->snap->n_people >= TACT_HAND || in->snap->n_users >= TACT_NONE)
		return PV_ENOMEM;  /* 4 billion people: struct tact's indices */

	for (size_t i = 0; i < c->n_mappings; i++) {
		const struct plan_mapping *m = &c->mappings[i];
		struct want_arg w = { &want, m->team_id };
		int64_t *id;

		if (idkey_find(b->team_by_id, in->snap->n_teams, m->team_id) == NONE)
			continue;  /* the team is gone: nothing to manage */
		if (!(id = vec_push(&managed))) {
			rc = PV_ENOMEM;
			goto out;
		}
		*id = m->team_id;
		if ((rc = each_member(b, m->slack_group_id, want_member, &w)))
			goto out;
	}
	sort(want.v, want.n, want.size, pair_cmp);
	sort(managed.v, managed.n, managed.size, i64_cmp);

	have = calloc(in->snap->n_memberships ? in->snap->n_memberships : 1, sizeof(*have));
	if (!have) {
		rc = PV_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->snap->n_memberships; i++) {
		const struct snap_membership *ms = &in->snap->memberships[i];
		have[i] = (struct pair){ ms->team_id, ms->user_id, (int)ms->source };
	}
	sort(have, in->snap->n_memberships, sizeof(*have), pair_cmp);

	/* Removals: provisioning memberships nobody wants any more. */
	for (size_t i = 0; i < in->snap->n_memberships; i++) {
		const struct pair *h = &have[i];
		size_t xi;
		enum team_policy pol;
		int keep;

		if (h->source != SNAP_MS_PROVISIONING)
			continue;
		if (!managed.n || !bsearch(&h->team, managed.v, managed.n, sizeof(int64_t), i64_cmp))
			continue;
		if ((xi = idkey_find(b->dir_by_id, in->snap->n_users, h->key)) == NONE)
			continue;
		pol = policy_of(b, xi);
		keep = pol == TP_KEEP ||
		       (pol == TP_MANAGED &&
			pair_find(want.v, want.n, h->team,
				  (int64_t)b->ss[b->ds[xi].slack].rank));
		if (keep)
			continue;
		if (!(t = vec_push(&acts))) {
			rc = PV_ENOMEM;
			goto out;
		}
		*t = (struct tact){ h->team, h->key, (uint32_t)xi, TACT_NONE };
	}
	/* Additions: wanted pairs with no row at all (manual, provisioning or a
	 * hand removal's tombstone). */
	for (size_t i = 0; i < want.n; i++) {
		const struct pair *w = &((const struct pair *)want.v)[i];
		size_t si = b->order[w->key].idx;
		size_t xi = b->ss[si].dir;

		if (i > 0 && pair_cmp(w, w - 1) == 0)
			continue;  /* several groups map to this team */
		const struct pair *h = NULL;

		if (b->ss[si].fate != F_CREATE &&
		    (h = pair_find(have, in->snap->n_memberships, w->team, in->snap->users[xi].id)) &&
		    h->source != SNAP_MS_REMOVED_BY_HAND)
			continue;
		if (!(t = vec_push(&acts))) {
			rc = PV_ENOMEM;
			goto out;
		}
		/* h here is a tombstone: an administrator removed this pair by
		 * hand; it is kept out, and the report says so each time. */
		*t = (struct tact){ w->team, w->key, b->ss[si].fate == F_CREATE ? TACT_NONE : (uint32_t)xi,
				    (uint32_t)si | (h ? TACT_HAND : 0) };
	}

	/* What was wanted and what there is are decided: freed before the
	 * actions grow, at the plan's peak (1.4 million pairs of each in a
	 * first sync with mapped teams), and room made for the team changes
	 * at once rather than by doubling. */
	free(have);
	have = NULL;
	free(want.v);
	want.v = NULL;
	if ((rc = reserve_actions(b, acts.n)))
		goto out;
	sort(acts.v, acts.n, acts.size, tact_cmp);
	for (size_t i = 0; i < acts.n; i++) {
		const struct tact *ta = &((const struct tact *)acts.v)[i];
		size_t ti = idkey_find(b->team_by_id, in->snap->n_teams, ta->team);
		int add = ta->slack != TACT_NONE;
		int hand = add && (ta->slack & TACT_HAND);
		uint32_t si = add ? ta->slack & ~TACT_HAND : 0;
		struct plan_action *a = push_action(b, hand ? PLAN_SKIP
						    : add ? PLAN_ADD_TO_TEAM : PLAN_REMOVE_FROM_TEAM,
						    hand ? PLAN_R_REMOVED_BY_HAND
						    : add ? PLAN_R_IN_MAPPED_GROUP
						    : PLAN_R_NOT_IN_MAPPED_GROUP);
		if (!a) {
			rc = PV_ENOMEM;
			goto out;
		}
		a->team = &in->snap->teams[ti];
		a->user = ta->dir != TACT_NONE ? &in->snap->users[ta->dir] : NULL;
		if (add) {
			a->slack = &in->snap->people[si];
			a->created_by = ta->dir == TACT_NONE ? b->ss[si].create_action : PLAN_NO_ACTION;
		}
	}
out:
	free(have);
	free(acts.v);
	free(managed.v);
	free(want.v);
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

int sync_plan_build(const struct plan_input *in, struct sync_plan *out)
{
	struct builder b;
	size_t in_scope = 0, off = 0;
	int rc;

	if (!out)
		return PV_EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	if (!in || check_input(in)) {
		out->why = "sync plan: incomplete input";
		return PV_EINVAL;
	}
	b.in = in;
	b.cfg = in->config;
	b.p = out;
	if (in->snap->n_people == 0) {
		rc = PV_EINVAL;
		out->why = "sync plan: the Slack user list is empty";
		goto out;
	}
	if ((rc = build_indexes(&b))) {
		if (rc == PV_EINVAL)
			out->why = "sync plan: a required id or e-mail is missing";
		goto out;
	}

	if (b.cfg->members_mode == PLAN_MEMBERS_GROUPS)
		for (size_t i = 0; i < b.cfg->n_group_ids; i++)
			if ((rc = each_member(&b, b.cfg->group_ids[i], mark_in_groups, NULL)))
				goto out;
	for (size_t r = 0; r < b.n_order; r++) {
		size_t si = b.order[r].idx;
		b.ss[si].scope = (unsigned char)scope_of(&b, &in->snap->people[si], b.ss[si].in_groups);
		in_scope += b.ss[si].scope == SC_IN;
	}
	if (in_scope == 0 && out->active_provisioned > 0) {
		rc = PV_EINVAL;
		out->why = "sync plan: no one in scope while provisioned users are active";
		goto out;
	}

	decide_linked(&b);
	decide_unlinked(&b);
	if ((rc = emit_people(&b)) || (rc = emit_left_workspace(&b)) || (rc = emit_teams(&b)))
		goto out;

	/* The change store no longer moves: point each action at its changes. */
	for (size_t i = 0; i < out->n_actions; i++) {
		struct plan_action *a = &out->actions[i];
		a->changes = a->n_changes ? out->change_store + off : NULL;
		off += a->n_changes;
	}
	{
		uint64_t d = out->count[PLAN_DEACTIVATE];
		out->held = d > 0 && d >= b.cfg->threshold_minimum &&
			    d * 100 > (uint64_t)b.cfg->threshold_percent * out->active_provisioned;
	}
out:
	smap_free(&b.domains);
	smap_free(&b.excl_id);
	smap_free(&b.excl_email);
	smap_free(&b.groups);
	smap_free(&b.claims);
	smap_free(&b.dir_by_email);
	smap_free(&b.dir_by_link);
	smap_free(&b.slack_by_id);
	free(b.team_by_id);
	free(b.dir_by_id);
	free(b.order);
	free(b.ds);
	free(b.ss);
	if (rc) {
		const char *why = out->why;
		if (rc == PV_ENOMEM)
			why = "sync plan: out of memory";
		sync_plan_release(out);
		out->why = why;
	}
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
	memset(p, 0, sizeof(*p));
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
