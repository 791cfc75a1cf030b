/*
 * Unit tests of lib/sync_plan (the planner, SPEC §2.4).
 *
 * Each case builds a small world (directory, Slack snapshot, configuration),
 * plans it, and compares a one-line-per-action rendering of the plan with
 * the exact expected text:
 *   <kind> <reason> [#user] [slack id] [T<team>] [new@<create index>] [link]
 *   [holder=#id] [rival=Uid] [field:from>to ...] [hash=<avatar hash>]
 * ("-" renders a NULL picture).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "sync/sync_plan.h"

#define MAXW 16

struct world {
	struct snap_user users[MAXW];
	size_t n_users;
	struct snap_team teams[4];
	size_t n_teams;
	struct snap_membership ms[MAXW];
	size_t n_ms;
	struct snap_person su[MAXW];
	size_t n_su;
	struct snap_group groups[4];
	size_t n_groups;
	struct plan_config cfg;
	char first_names[MAXW][64];  /* storage for add_pair */
	struct snapshot snap;        /* points at the arrays above */
	struct sync_plan plan;
	int rc;
	struct buf text;
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	sync_plan_config_init(&w->cfg);
	buf_init(&w->text, 1 << 20);
}

static void world_release(struct world *w)
{
	sync_plan_release(&w->plan);
	buf_release(&w->text);
}

static void render_action(struct buf *t, const struct plan_action *a)
{
	buf_printf(t, "%s %s", sync_plan_kind_name(a->kind), sync_plan_reason_name(a->reason));
	if (a->user)
		buf_printf(t, " #%lld", (long long)a->user->id);
	if (a->slack)
		buf_printf(t, " %s", a->slack->id);
	if (a->team)
		buf_printf(t, " T%lld", (long long)a->team->id);
	if (a->created_by != PLAN_NO_ACTION)
		buf_printf(t, " new@%zu", a->created_by);
	if (a->link)
		buf_puts(t, " link");
	if (a->holder)
		buf_printf(t, " holder=#%lld", (long long)a->holder->id);
	if (a->rival)
		buf_printf(t, " rival=%s", a->rival->id);
	for (size_t i = 0; i < a->n_changes; i++) {
		const struct plan_change *c = &a->changes[i];
		buf_printf(t, " %s:%s>%s", sync_plan_field_name(c->field),
			   c->from ? c->from : "-", c->to ? c->to : "-");
	}
	if (a->kind != PLAN_CREATE && a->picture_key)
		buf_printf(t, " hash=%s", a->picture_key);
}

static void render(struct buf *t, const struct sync_plan *p)
{
	struct plan_action tmp;

	for (size_t i = 0; i < sync_plan_size(p); i++) {
		if (i)
			buf_putc(t, '\n');
		render_action(t, sync_plan_at(p, i, &tmp));
	}
}

/* Reverses the n elements of v in place (input order must not matter). */
static void reverse(void *v, size_t n, size_t size)
{
	char tmp[256], *a = v;

	assert_true(size <= sizeof(tmp));
	for (size_t i = 0; i < n / 2; i++) {
		memcpy(tmp, a + i * size, size);
		memcpy(a + i * size, a + (n - 1 - i) * size, size);
		memcpy(a + (n - 1 - i) * size, tmp, size);
	}
}
#define REVERSE(arr, n) reverse((arr), (n), sizeof(*(arr)))

static void world_input(struct world *w, struct plan_input *in)
{
	w->snap = (struct snapshot){
		.users = w->users, .n_users = w->n_users,
		.teams = w->teams, .n_teams = w->n_teams,
		.memberships = w->ms, .n_memberships = w->n_ms,
		.people = w->su, .n_people = w->n_su,
		.groups = w->groups, .n_groups = w->n_groups,
	};
	*in = (struct plan_input){ .snap = &w->snap, .config = &w->cfg };
}

/* Plans the world; the rendering, or "error <code>". */
static const char *world_plan(struct world *w)
{
	struct plan_input in;

	world_input(w, &in);
	sync_plan_release(&w->plan);
	buf_reset(&w->text);
	w->rc = sync_plan_build(&in, &w->plan);
	if (w->rc)
		buf_printf(&w->text, "error %d", w->rc);
	else
		render(&w->text, &w->plan);
	return buf_cstr(&w->text);
}

static struct snap_person *add_su(struct world *w, const char *id, const char *email,
				 const char *real_name)
{
	struct snap_person *u = &w->su[w->n_su++];

	assert_true(w->n_su <= MAXW);
	memset(u, 0, sizeof(*u));
	u->id = id;
	u->email = email;
	u->full_name = real_name;
	u->handle = "handle";
	return u;
}

static struct snap_user *add_du(struct world *w, int64_t id, const char *email,
				    const char *first, const char *last, const char *display)
{
	struct snap_user *x = &w->users[w->n_users++];

	assert_true(w->n_users <= MAXW);
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->email = email;
	x->first_name = first;
	x->last_name = last;
	x->display_name = display;
	x->status = SNAP_USER_ACTIVE;
	x->source = SNAP_SOURCE_MANUAL;
	return x;
}

/* A Slack user "first last" and the provisioned directory user mirroring
 * it: planning the pair alone gives no action. */
static struct snap_user *add_pair(struct world *w, int64_t id, const char *slack_id,
				      const char *email, const char *real_name)
{
	const char *sp = strchr(real_name, ' ');
	char *first = w->first_names[w->n_users];
	struct snap_user *x;

	assert_non_null(sp);
	add_su(w, slack_id, email, real_name);
	snprintf(first, sizeof(w->first_names[0]), "%.*s", (int)(sp - real_name), real_name);
	x = add_du(w, id, email, first, sp + 1, real_name);
	x->slack_user_id = slack_id;
	x->source = SNAP_SOURCE_SLACK;
	x->provisioned = 1;
	return x;
}

/* ---------------------------------------------------------------- scope */

static void cfg_no_multi(struct plan_config *c) { c->multi_channel_guests = 0; }
static void cfg_no_single(struct plan_config *c) { c->single_channel_guests = 0; }
static void cfg_no_full(struct plan_config *c) { c->full_members = 0; }
static void cfg_no_invited(struct plan_config *c) { c->invited_not_joined = 0; }

static const char *const excl[] = { "B@Example.COM", "U3" };
static void cfg_exclude(struct plan_config *c) { c->exclude = excl; c->n_exclude = 2; }

static const char *const domains[] = { "Example.com" };
static void cfg_domains(struct plan_config *c)
{
	c->allowed_domains = domains;
	c->n_allowed_domains = 1;
}

enum { K_FULL, K_MULTI, K_SINGLE, K_INVITED, K_DELETED, K_NOT_A_PERSON };

struct scope_case {
	const char *name;
	const char *id;
	const char *email;
	int kind;
	void (*cfg)(struct plan_config *);
	const char *expect;
};

static const struct scope_case scope_cases[] = {
	{ "full member", "U2", "b@example.com", K_FULL, NULL, "create new_in_scope U2" },
	{ "multi-channel guest", "U2", "b@example.com", K_MULTI, NULL, "create new_in_scope U2" },
	{ "single-channel guest", "U2", "b@example.com", K_SINGLE, NULL, "create new_in_scope U2" },
	{ "multi guests off", "U2", "b@example.com", K_MULTI, cfg_no_multi, "" },
	{ "single guests off", "U2", "b@example.com", K_SINGLE, cfg_no_single, "" },
	{ "single guest unaffected by multi off", "U2", "b@example.com", K_SINGLE, cfg_no_multi,
	  "create new_in_scope U2" },
	/* Full members off: the baseline member U1 leaves the scope too. */
	{ "full members off", "U2", "b@example.com", K_MULTI, cfg_no_full,
	  "deactivate left_scope #1 U1 status:active>deactivated\n"
	  "create new_in_scope U2" },
	{ "invited, not joined: in by default", "U2", "b@example.com", K_INVITED, NULL,
	  "create new_in_scope U2" },
	{ "invited, not joined: toggled off", "U2", "b@example.com", K_INVITED, cfg_no_invited, "" },
	{ "deleted, never linked: not reported", "U2", "b@example.com", K_DELETED, NULL, "" },
	/* Bots, apps and Slackbot: tests/unit/test_snapshot.c. */
	{ "not a person", "U2", "b@example.com", K_NOT_A_PERSON, NULL, "" },
	{ "no e-mail", "U2", NULL, K_FULL, NULL, "skip no_email U2" },
	{ "empty e-mail", "U2", "", K_FULL, NULL, "skip no_email U2" },
	{ "excluded by e-mail, case folded", "U2", "b@example.com", K_FULL, cfg_exclude, "" },
	{ "excluded by Slack id", "U3", "c@example.com", K_FULL, cfg_exclude, "" },
	{ "exclusion list spares others", "U4", "d@example.com", K_FULL, cfg_exclude,
	  "create new_in_scope U4" },
	{ "domain not allowed", "U2", "b@other.org", K_FULL, cfg_domains, "" },
	{ "domain allowed, case folded", "U2", "b@EXAMPLE.COM", K_FULL, cfg_domains,
	  "create new_in_scope U2" },
	{ "subdomain is not the domain", "U2", "b@mail.example.com", K_FULL, cfg_domains, "" },
};

static void test_scope_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scope_cases) / sizeof(scope_cases[0]); i++) {
		const struct scope_case *c = &scope_cases[i];
		struct world w;
		struct snap_person *u;

		world_init(&w);
		/* A mirrored, in-scope member so that nothing is refused. */
		add_pair(&w, 1, "U1", "ada@example.com", "Ada Lovelace");
		u = add_su(&w, c->id, c->email, "Bo Bell");
		u->kind = c->kind == K_MULTI ? SNAP_MULTI_CHANNEL_GUEST
			: c->kind == K_SINGLE ? SNAP_SINGLE_CHANNEL_GUEST : SNAP_MEMBER;
		u->invited = c->kind == K_INVITED;
		u->deleted = c->kind == K_DELETED;
		u->not_a_person = c->kind == K_NOT_A_PERSON;
		if (c->cfg)
			c->cfg(&w.cfg);
		if (strcmp(world_plan(&w), c->expect) != 0)
			fail_msg("case \"%s\": got\n%s\nwanted\n%s", c->name,
				 buf_cstr(&w.text), c->expect);
		world_release(&w);
	}
}

/* ------------------------------------------------------- create values */

struct create_case {
	const char *name;
	struct snap_person u;
	struct plan_profile want;
};

static const struct create_case create_cases[] = {
	{ "profile names win",
	  { .id = "U1", .email = "Ada@Example.com", .first_name = "Ada", .last_name = "King",
	    .full_name = "Ada Lovelace", .display_name = "ada", .title = "Countess" },
	  { "Ada", "King", "ada", "Ada@Example.com", "Countess", NULL, NULL, 0 } },
	{ "real name cut at the first space",
	  { .id = "U1", .email = "g@x.org", .full_name = "Grace  Brewster Hopper", .handle = "gh" },
	  { "Grace", "Brewster Hopper", "Grace  Brewster Hopper", "g@x.org", "", NULL, NULL, 0 } },
	{ "one-word real name",
	  { .id = "U1", .email = "p@x.org", .full_name = "Prince", .handle = "p" },
	  { "Prince", "", "Prince", "p@x.org", "", NULL, NULL, 0 } },
	{ "only a last name in the profile",
	  { .id = "U1", .email = "p@x.org", .last_name = "Curie", .full_name = "Marie Curie" },
	  { "", "Curie", "Marie Curie", "p@x.org", "", NULL, NULL, 0 } },
	{ "display falls back to the handle",
	  { .id = "U1", .email = "h@x.org", .handle = "handle" },
	  { "", "", "handle", "h@x.org", "", NULL, NULL, 0 } },
	{ "custom picture and multi-channel guest",
	  { .id = "U1", .email = "c@x.org", .full_name = "C D", .picture_key = "abc",
	    .picture_url = "https://img/c.png", .kind = SNAP_MULTI_CHANNEL_GUEST },
	  { "C", "D", "C D", "c@x.org", "", "https://img/c.png", "abc", 1 } },
	{ "default avatar is no picture; single-channel guest",
	  { .id = "U1", .email = "d@x.org", .full_name = "D E", .picture_key = "g123",
	    .kind = SNAP_SINGLE_CHANNEL_GUEST },
	  { "D", "E", "D E", "d@x.org", "", NULL, NULL, 1 } },
};

static void assert_opt_str(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void test_create_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(create_cases) / sizeof(create_cases[0]); i++) {
		const struct create_case *c = &create_cases[i];
		const struct plan_profile *p;
		struct world w;

		world_init(&w);
		w.su[w.n_su++] = c->u;
		assert_string_equal(world_plan(&w), "create new_in_scope U1");
		p = w.plan.actions[0].profile;
		assert_string_equal(p->first_name, c->want.first_name);
		assert_string_equal(p->last_name, c->want.last_name);
		assert_string_equal(p->display_name, c->want.display_name);
		assert_string_equal(p->email, c->want.email);
		assert_string_equal(p->job_title, c->want.job_title);
		assert_opt_str(p->picture_url, c->want.picture_url);
		assert_opt_str(p->picture_key, c->want.picture_key);
		assert_int_equal(p->is_guest, c->want.is_guest);
		assert_int_equal(w.plan.actions[0].n_changes, 0);
		assert_int_equal(w.plan.count[PLAN_CREATE], 1);
		world_release(&w);
	}
}

/* ------------------------------------------------------------- updates */

enum { E_NONE, E_NAME, E_TITLE, E_EMAIL, E_EMAIL_CASE, E_NEW_PIC, E_SAME_PIC_NEW_URL,
       E_TO_DEFAULT, E_DEFAULT_STAYS, E_GUEST, E_DISPLAY, E_NO_EMAIL, E_UNGUEST };

struct update_case {
	const char *name;
	int edit;
	const char *expect;
};

static const struct update_case update_cases[] = {
	{ "nothing changed", E_NONE, "" },
	{ "name changed", E_NAME,
	  "update profile_changed #1 U1 first_name:Ada>Augusta display_name:Ada Lovelace>Augusta Lovelace" },
	{ "job title changed", E_TITLE, "update profile_changed #1 U1 job_title:>Analyst" },
	{ "e-mail changed", E_EMAIL,
	  "update profile_changed #1 U1 email:ada@example.com>ada@newmail.org" },
	{ "case-only e-mail difference is no change", E_EMAIL_CASE, "" },
	{ "new avatar", E_NEW_PIC,
	  "update profile_changed #1 U1 picture:https://img/old.png>https://img/new.png hash=h2" },
	{ "same avatar hash, other URL: no change", E_SAME_PIC_NEW_URL, "" },
	{ "back to the default avatar", E_TO_DEFAULT,
	  "update profile_changed #1 U1 picture:https://img/old.png>-" },
	{ "default avatar, none stored: no change", E_DEFAULT_STAYS, "" },
	{ "became a guest", E_GUEST, "update profile_changed #1 U1 is_guest:false>true" },
	{ "no longer a guest", E_UNGUEST, "update profile_changed #1 U1 is_guest:true>false" },
	{ "display name set", E_DISPLAY, "update profile_changed #1 U1 display_name:Ada Lovelace>ada" },
	{ "linked user without e-mail keeps its e-mail", E_NO_EMAIL, "" },
};

static void test_update_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(update_cases) / sizeof(update_cases[0]); i++) {
		const struct update_case *c = &update_cases[i];
		struct world w;
		struct snap_user *x;
		struct snap_person *u;

		world_init(&w);
		x = add_pair(&w, 1, "U1", "ada@example.com", "Ada Lovelace");
		u = &w.su[0];
		u->picture_key = "h1";
		u->picture_url = "https://img/old.png";
		x->picture_key = "h1";
		x->picture_url = "https://img/old.png";
		switch (c->edit) {
		case E_NAME: u->full_name = "Augusta Lovelace"; break;
		case E_TITLE: u->title = "Analyst"; break;
		case E_EMAIL: u->email = "ada@newmail.org"; break;
		case E_EMAIL_CASE: u->email = "ADA@Example.COM"; break;
		case E_NEW_PIC:
			u->picture_key = "h2";
			u->picture_url = "https://img/new.png";
			break;
		case E_SAME_PIC_NEW_URL: u->picture_url = "https://cdn/old-512.png"; break;
		case E_TO_DEFAULT: u->picture_key = "g99"; u->picture_url = NULL; break;
		case E_DEFAULT_STAYS:
			u->picture_key = "g99";
			u->picture_url = NULL;
			x->picture_key = NULL;
			x->picture_url = NULL;
			break;
		case E_GUEST: u->kind = SNAP_SINGLE_CHANNEL_GUEST; break;
		case E_UNGUEST: x->is_guest = 1; break;
		case E_DISPLAY: u->display_name = "ada"; break;
		case E_NO_EMAIL: u->email = NULL; break;
		default: break;
		}
		if (strcmp(world_plan(&w), c->expect) != 0)
			fail_msg("case \"%s\": got\n%s\nwanted\n%s", c->name,
				 buf_cstr(&w.text), c->expect);
		world_release(&w);
	}
}

static void test_update_changes_come_in_field_order(void **state)
{
	struct world w;
	struct snap_user *x;
	struct snap_person *u;

	(void)state;
	world_init(&w);
	x = add_pair(&w, 1, "U1", "ada@example.com", "Ada Lovelace");
	u = &w.su[0];
	u->first_name = "A";
	u->last_name = "L";
	u->display_name = "al";
	u->email = "al@example.com";
	/* No hash: the reader keys the picture by its URL. */
	u->picture_url = "https://img/p.png";
	u->picture_key = "https://img/p.png";
	u->title = "T";
	u->kind = SNAP_MULTI_CHANNEL_GUEST;
	x->job_title = NULL;  /* NULL reads as "" */
	assert_string_equal(world_plan(&w),
			    "update profile_changed #1 U1 first_name:Ada>A last_name:Lovelace>L "
			    "display_name:Ada Lovelace>al email:ada@example.com>al@example.com "
			    "picture:->https://img/p.png job_title:>T is_guest:false>true "
			    "hash=https://img/p.png");
	assert_int_equal(w.plan.count[PLAN_UPDATE], 1);
	world_release(&w);
}

/* ---------------------------------------------------------- long values */

/* n copies of unit (a UTF-8 character or sequence) into out. */
static const char *repeat(char *out, size_t cap, const char *unit, size_t n)
{
	size_t len = strlen(unit), at = 0;

	for (size_t i = 0; i < n && at + len < cap; i++, at += len)
		memcpy(out + at, unit, len);
	out[at] = '\0';
	return out;
}

/* Values over PLAN_TEXT_MAX characters are cut at a character boundary
 * and marked; the cut value, once stored, is no change any more. */
static void test_long_values_are_cut_marked_and_stable(void **state)
{
	static char title[8192], cut_title[8192], name[8192], cut_name[8192];
	static const struct {
		const char *unit;       /* what the title is made of */
		size_t n;               /* how many of them */
		size_t kept;            /* units kept by the cut */
	} rows[] = {
		{ "工", 1000, 1000 },   /* exactly the limit: not cut */
		{ "工", 1001, 1000 },
		{ "😀", 1500, 1000 },   /* 4-byte characters */
		{ "👩\u200d💻", 400, 333 },  /* ZWJ sequences of 3 code points: never split */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct world w;
		struct snap_person *u;
		struct snap_user *x;
		const struct plan_action *a;
		int cut = rows[i].kept < rows[i].n;

		repeat(title, sizeof(title), rows[i].unit, rows[i].n);
		repeat(cut_title, sizeof(cut_title), rows[i].unit, rows[i].kept);
		/* Create: the profile holds the cut title, the mark says so. */
		world_init(&w);
		u = add_su(&w, "U2", "bo@x.test", "Bo Bell");
		u->title = title;
		u->display_name = repeat(name, sizeof(name), "é", 1200);
		assert_string_equal(world_plan(&w), "create new_in_scope U2");
		a = &w.plan.actions[0];
		if (strcmp(a->profile->job_title, cut_title) != 0)
			fail_msg("row %zu: %zu bytes kept", i, strlen(a->profile->job_title));
		assert_string_equal(a->profile->display_name, repeat(cut_name, sizeof(cut_name), "é", 1000));
		assert_int_equal(a->shortened, (cut ? PLAN_SHORTENED(PLAN_F_JOB_TITLE) : 0) |
				 PLAN_SHORTENED(PLAN_F_DISPLAY_NAME));
		world_release(&w);
		/* Stored as cut: no update, nothing said. */
		world_init(&w);
		u = add_su(&w, "U2", "bo@x.test", "Bo Bell");
		u->title = title;
		x = add_pair(&w, 5, "U3", "other@x.test", "Al Ames");
		(void)x;
		x = add_du(&w, 6, "bo@x.test", "Bo", "Bell", "Bo Bell");
		x->slack_user_id = "U2";
		x->source = SNAP_SOURCE_SLACK;
		x->provisioned = 1;
		x->job_title = cut_title;
		assert_string_equal(world_plan(&w), "");
		world_release(&w);
	}
}

/* ------------------------------------------------------------ matching */

/* E-mails match as users.email_key compares them (LOWER() of
 * utf8mb4_unicode_520_ci, lib/core/email_fold.h), in every script. */
static void test_unicode_email_is_linked_like_the_unique_key(void **state)
{
	static const struct {
		const char *slack, *dir, *want;
	} rows[] = {
		{ "élodie.test@acme.example", "ÉLODIE.TEST@acme.example", "update linked_by_email #5 U2 link" },
		{ "ИВАН@пример.рф", "иван@ПРИМЕР.РФ", "update linked_by_email #5 U2 link" },
		{ "ΣΟΦΙΑ@x.gr", "σοφια@x.gr", "update linked_by_email #5 U2 link" },
		{ "İLKE@x.tr", "ilke@x.tr", "update linked_by_email #5 U2 link" },
		{ "IRMAK@x.tr", "ırmak@x.tr", "create new_in_scope U2" },
		{ "elodie@x.fr", "élodie@x.fr", "create new_in_scope U2" },
		{ "STRASSE@x.de", "straße@x.de", "create new_in_scope U2" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct world w;

		world_init(&w);
		add_su(&w, "U2", rows[i].slack, "Bo Bell");
		add_du(&w, 5, rows[i].dir, "Bo", "Bell", "Bo Bell");
		if (strcmp(world_plan(&w), rows[i].want) != 0)
			fail_msg("row %zu: %s ~ %s: %s", i, rows[i].slack, rows[i].dir, world_plan(&w));
		world_release(&w);
	}
}

static void test_manual_user_is_linked_by_email(void **state)
{
	struct world w;
	struct snap_user *x;

	(void)state;
	world_init(&w);
	add_su(&w, "U2", "Bo@Example.com", "Bo Bell");
	x = add_du(&w, 5, "bo@example.com", "Bo", "Bell", "Bo Bell");
	x->is_admin = 1;
	assert_string_equal(world_plan(&w), "update linked_by_email #5 U2 link");
	/* Fields are brought in line in the same action. */
	x->display_name = "Bobby";
	assert_string_equal(world_plan(&w),
			    "update linked_by_email #5 U2 link display_name:Bobby>Bo Bell");
	assert_int_equal(w.plan.count[PLAN_CREATE], 0);
	/* A manual user nobody in Slack matches is never touched. */
	w.su[0].email = "other@example.com";
	assert_string_equal(world_plan(&w), "create new_in_scope U2");
	world_release(&w);
}

static void test_two_slack_users_claim_one_email(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	/* Input order is not Slack id order: the lower id wins. */
	add_su(&w, "U3", "Same@example.com", "Cy Doe");
	add_su(&w, "U2", "same@example.com", "Bo Doe");
	assert_string_equal(world_plan(&w),
			    "create new_in_scope U2\n"
			    "skip email_taken_by_linked_user U3 rival=U2");
	/* The same when the e-mail belongs to an unlinked directory user. */
	add_du(&w, 5, "same@example.com", "Bo", "Doe", "Bo Doe");
	assert_string_equal(world_plan(&w),
			    "update linked_by_email #5 U2 link\n"
			    "skip email_taken_by_linked_user U3 holder=#5 rival=U2");
	world_release(&w);
}

static void test_email_of_a_linked_user_is_taken(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	add_pair(&w, 1, "U1", "ada@example.com", "Ada Lovelace");
	add_su(&w, "U2", "ADA@example.com", "Ada Impostor");
	assert_string_equal(world_plan(&w),
			    "skip email_taken_by_linked_user U2 holder=#1 rival=U1");
	/* Linked to a Slack id that is gone, still active: the same skip. */
	w.su[0].id = "U0";
	w.su[0].email = "zed@example.com";
	w.users[0].is_admin = 1;
	w.users[0].slack_user_id = "UGONE";
	assert_string_equal(world_plan(&w),
			    "create new_in_scope U0\n"
			    "skip email_taken_by_linked_user U2 holder=#1\n"
			    "skip last_administrator #1");
	world_release(&w);
}

static void test_email_of_a_deactivated_user_needs_review(void **state)
{
	struct world w;
	struct snap_user *x;

	(void)state;
	world_init(&w);
	add_pair(&w, 1, "U1", "ada@example.com", "Ada Lovelace");
	/* SPEC §7.5: a new Slack id with a deactivated provisioned user's e-mail. */
	x = add_du(&w, 3, "cy@example.com", "Cy", "Doe", "Cy Doe");
	x->slack_user_id = "UOLD";
	x->provisioned = 1;
	x->status = SNAP_USER_DEACTIVATED;
	add_su(&w, "U7", "cy@example.com", "Cy Doe");
	assert_string_equal(world_plan(&w), "skip needs_review U7 holder=#3");
	/* A deactivated manual user is not merged either. */
	x->slack_user_id = NULL;
	x->provisioned = 0;
	assert_string_equal(world_plan(&w), "skip needs_review U7 holder=#3");
	world_release(&w);
}

static void test_linked_email_change_conflicts(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	add_pair(&w, 1, "U1", "ada@example.com", "Ada Lovelace");
	add_du(&w, 5, "bo@example.com", "Bo", "Bell", "Bo Bell");
	/* The new e-mail belongs to an unlinked directory user. */
	w.su[0].email = "BO@example.com";
	assert_string_equal(world_plan(&w),
			    "skip email_taken_by_other_user #1 U1 holder=#5");
	/* To a linked one. */
	w.users[1].slack_user_id = "U5";
	w.users[1].provisioned = 1;
	add_su(&w, "U5", "bo@example.com", "Bo Bell");
	assert_string_equal(world_plan(&w),
			    "skip email_taken_by_linked_user #1 U1 holder=#5");
	/* A free address: the linked user's change claims before a newcomer
	 * with a lower Slack id. */
	w.su[0].email = "new@example.com";
	add_su(&w, "U0", "New@example.com", "Nu Comer");
	assert_string_equal(world_plan(&w),
			    "skip email_taken_by_linked_user U0 rival=U1\n"
			    "update profile_changed #1 U1 email:ada@example.com>new@example.com");
	world_release(&w);
}

/* --------------------------------------------- leavers and returners */

static void test_deactivation_reasons(void **state)
{
	struct world w;
	struct snap_user *x;

	(void)state;
	world_init(&w);
	add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	add_pair(&w, 2, "U2", "b@example.com", "Ben B");
	add_pair(&w, 3, "U3", "c@example.com", "Cat C");
	add_pair(&w, 4, "U4", "d@example.com", "Dan D");
	w.su[1].deleted = 1;
	w.su[1].full_name = NULL;  /* deleted users lose most fields */
	w.su[2].kind = SNAP_MULTI_CHANNEL_GUEST;
	w.users[2].is_guest = 1;
	w.cfg.multi_channel_guests = 0;
	w.n_su = 3;  /* U4 left the workspace */
	/* A manual user never linked, absent from Slack: never deactivated. */
	add_du(&w, 8, "manual@example.com", "Man", "Ual", "Man Ual");
	/* A provisioned user already deactivated: nothing more to do. */
	x = add_du(&w, 9, "gone@example.com", "Go", "Ne", "Go Ne");
	x->slack_user_id = "U9";
	x->provisioned = 1;
	x->status = SNAP_USER_DEACTIVATED;
	/* Created by hand but linked later: provisioned, so it may go. */
	x = add_du(&w, 10, "linked@example.com", "Li", "Nk", "Li Nk");
	x->slack_user_id = "U10";
	x->provisioned = 1;
	assert_string_equal(world_plan(&w),
			    "deactivate deleted_in_slack #2 U2 status:active>deactivated\n"
			    "deactivate left_scope #3 U3 status:active>deactivated\n"
			    "deactivate left_workspace #4 status:active>deactivated\n"
			    "deactivate left_workspace #10 status:active>deactivated");
	assert_int_equal(w.plan.count[PLAN_DEACTIVATE], 4);
	assert_int_equal(w.plan.active_provisioned, 5);
	assert_false(w.plan.held);  /* 4 < minimum 10 */
	world_release(&w);
}

static void test_excluded_and_domain_deactivate(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	add_pair(&w, 2, "U2", "b@example.com", "Ben B");
	add_pair(&w, 3, "U3", "c@other.org", "Cat C");
	cfg_exclude(&w.cfg);   /* b@example.com and U3 */
	assert_string_equal(world_plan(&w),
			    "deactivate excluded #2 U2 status:active>deactivated\n"
			    "deactivate excluded #3 U3 status:active>deactivated");
	w.cfg.n_exclude = 0;
	cfg_domains(&w.cfg);
	assert_string_equal(world_plan(&w),
			    "deactivate domain_not_allowed #3 U3 status:active>deactivated");
	world_release(&w);
}

static void test_returner_is_reactivated(void **state)
{
	struct world w;
	struct snap_user *x;

	(void)state;
	world_init(&w);
	x = add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	x->status = SNAP_USER_DEACTIVATED;
	assert_string_equal(world_plan(&w),
			    "reactivate back_in_scope #1 U1 status:deactivated>active");
	/* Changes made while away ride along. */
	w.su[0].title = "Lead";
	assert_string_equal(world_plan(&w),
			    "reactivate back_in_scope #1 U1 job_title:>Lead status:deactivated>active");
	assert_int_equal(w.plan.count[PLAN_REACTIVATE], 1);
	assert_int_equal(w.plan.active_provisioned, 0);
	/* Still deleted in Slack: stays deactivated, no action. */
	w.su[0].deleted = 1;
	add_su(&w, "U2", "b@example.com", "Ben B");
	assert_string_equal(world_plan(&w), "create new_in_scope U2");
	world_release(&w);
}

static void test_hand_deactivation_is_not_undone(void **state)
{
	struct world w;
	struct snap_user *x;

	(void)state;
	world_init(&w);
	x = add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	x->status = SNAP_USER_DEACTIVATED;
	x->deactivated_by_hand = 1;
	w.su[0].title = "Lead";      /* not even updated */
	assert_string_equal(world_plan(&w), "skip deactivated_by_hand #1 U1");
	/* Linked but not provisioned and deactivated: also left alone. */
	x->deactivated_by_hand = 0;
	x->provisioned = 0;
	assert_string_equal(world_plan(&w), "");
	world_release(&w);
}

static void test_last_administrator_is_never_deactivated(void **state)
{
	struct world w;
	struct snap_user *manual_admin;

	(void)state;
	world_init(&w);
	add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	add_pair(&w, 2, "U2", "b@example.com", "Ben B")->is_admin = 1;
	add_pair(&w, 3, "U3", "c@example.com", "Cat C")->is_admin = 1;
	w.su[1].deleted = 1;
	w.su[2].deleted = 1;
	/* Two provisioned admins leave and no one else administers. */
	assert_string_equal(world_plan(&w),
			    "deactivate deleted_in_slack #2 U2 status:active>deactivated\n"
			    "skip last_administrator #3 U3");
	assert_int_equal(w.plan.count[PLAN_DEACTIVATE], 1);
	assert_int_equal(w.plan.count[PLAN_SKIP], 1);
	/* An active manual administrator remains: both may go. */
	manual_admin = add_du(&w, 7, "boss@example.com", "Bo", "Ss", "Bo Ss");
	manual_admin->is_admin = 1;
	assert_string_equal(world_plan(&w),
			    "deactivate deleted_in_slack #2 U2 status:active>deactivated\n"
			    "deactivate deleted_in_slack #3 U3 status:active>deactivated");
	/* A deactivated administrator does not count. */
	manual_admin->status = SNAP_USER_DEACTIVATED;
	w.n_su = 1;   /* U2 and U3 now absent: left_workspace */
	assert_string_equal(world_plan(&w),
			    "deactivate left_workspace #2 status:active>deactivated\n"
			    "skip last_administrator #3");
	world_release(&w);
}

/* ------------------------------------------------------- safety guard */

struct big {
	struct snap_user *users;
	struct snap_person *su;
	char (*ids)[24];
	char (*emails)[48];
	size_t n;
};

static void big_make(struct big *g, size_t n)
{
	g->n = n;
	g->users = calloc(n, sizeof(*g->users));
	g->su = calloc(n, sizeof(*g->su));
	g->ids = calloc(n, sizeof(*g->ids));
	g->emails = calloc(n, sizeof(*g->emails));
	assert_non_null(g->users);
	assert_non_null(g->su);
	assert_non_null(g->ids);
	assert_non_null(g->emails);
	for (size_t i = 0; i < n; i++) {
		snprintf(g->ids[i], sizeof(g->ids[i]), "U%07zu", i);
		snprintf(g->emails[i], sizeof(g->emails[i]), "user%zu@example.com", i);
		g->su[i] = (struct snap_person){ .id = g->ids[i], .email = g->emails[i],
						.first_name = "Pat",
						.last_name = "Doe",
						.display_name = "pat" };
		g->users[i] = (struct snap_user){
			.id = (int64_t)i + 1, .email = g->emails[i], .first_name = "Pat",
			.last_name = "Doe", .display_name = "pat", .slack_user_id = g->ids[i],
			.status = SNAP_USER_ACTIVE, .source = SNAP_SOURCE_SLACK, .provisioned = 1,
		};
	}
}

static void big_free(struct big *g)
{
	free(g->users);
	free(g->su);
	free(g->ids);
	free(g->emails);
}

/* Plans n provisioned users of which the last `gone` left Slack. */
static int guard_held(size_t n, size_t gone, unsigned percent, unsigned minimum)
{
	struct big g;
	struct plan_config cfg;
	struct snapshot snap;
	struct plan_input in;
	struct sync_plan p;
	int held;

	big_make(&g, n);
	sync_plan_config_init(&cfg);
	cfg.threshold_percent = percent;
	cfg.threshold_minimum = minimum;
	snap = (struct snapshot){ .users = g.users, .n_users = n, .people = g.su,
				  .n_people = n - gone };
	in = (struct plan_input){ .snap = &snap, .config = &cfg };
	assert_int_equal(sync_plan_build(&in, &p), 0);
	assert_int_equal(p.count[PLAN_DEACTIVATE], gone);
	assert_int_equal(p.active_provisioned, n);
	held = p.held;
	sync_plan_release(&p);
	big_free(&g);
	return held;
}

static void test_threshold_boundaries(void **state)
{
	(void)state;
	/* Percent side: more than 10 % of 200 is 21. */
	assert_false(guard_held(200, 20, 10, 10));
	assert_true(guard_held(200, 21, 10, 10));
	/* The header's example: 100 users, 10 vs 11. */
	assert_false(guard_held(100, 10, 10, 10));
	assert_true(guard_held(100, 11, 10, 10));
	/* Minimum side: 9 of 20 is 45 % but fewer than 10 people. */
	assert_false(guard_held(20, 9, 10, 10));
	assert_true(guard_held(20, 10, 10, 10));
	/* Configurable. */
	assert_true(guard_held(20, 2, 5, 2));     /* 10 % > 5 % and 2 >= 2 */
	assert_false(guard_held(20, 1, 5, 2));    /* 1 < minimum 2 */
	assert_false(guard_held(20, 1, 5, 0));    /* 5 % is not more than 5 % */
	assert_true(guard_held(20, 2, 5, 0));
}

/* --------------------------------------------------------------- groups */

static const char *grp_s1[] = { "U1", "U2", "UNKNOWN" };
static const char *grp_s2[] = { "U3" };

static void groups_world(struct world *w)
{
	static const char *const chosen[] = { "S1", "S2", "SNONE" };

	world_init(w);
	add_pair(w, 1, "U1", "a@example.com", "Ann A");
	add_su(w, "U2", "b@example.com", "Ben B");
	add_su(w, "U3", "c@example.com", "Cat C");
	add_su(w, "U4", "d@example.com", "Dan D");
	w->groups[0] = (struct snap_group){ .id = "S1", .member_ids = grp_s1, .n_member_ids = 3,
						     .enabled = 1 };
	/* Not enabled: a disabled group. */
	w->groups[1] = (struct snap_group){ .id = "S2", .member_ids = grp_s2, .n_member_ids = 1 };
	w->n_groups = 2;
	w->cfg.members_mode = PLAN_MEMBERS_GROUPS;
	w->cfg.group_ids = chosen;
	w->cfg.n_group_ids = 3;
}

static void test_groups_scope(void **state)
{
	struct world w;

	(void)state;
	groups_world(&w);
	/* U3 is only in a disabled group, U4 in none; SNONE does not exist. */
	assert_string_equal(world_plan(&w), "create new_in_scope U2");
	/* U1 leaves the chosen groups: deactivated, left_scope. */
	grp_s1[0] = "U2";
	assert_string_equal(world_plan(&w),
			    "deactivate left_scope #1 U1 status:active>deactivated\n"
			    "create new_in_scope U2");
	grp_s1[0] = "U1";
	/* The disabled group enabled again. */
	w.groups[1].enabled = 1;
	assert_string_equal(world_plan(&w), "create new_in_scope U2\ncreate new_in_scope U3");
	world_release(&w);
}

/* --------------------------------------------------------------- teams */

static const char *tm_s1[] = { "U1", "U2", "U4" };
static const char *tm_s2[] = { "U1", "U5" };
static const char *tm_s3[] = { "U2" };
static const char *tm_s4[] = { "U5" };

static void teams_world(struct world *w)
{
	static const struct plan_mapping maps[] = {
		{ "S1", 10 }, { "S2", 10 }, { "S3", 20 }, { "S4", 20 }, { "S1", 99 },
	};

	world_init(w);
	add_pair(w, 1, "U1", "a@example.com", "Ann A");
	add_su(w, "U2", "b@example.com", "Ben B");            /* new */
	add_pair(w, 4, "U4", "d@example.com", "Dan D");
	add_pair(w, 5, "U5", "e@example.com", "Eve E");
	add_pair(w, 6, "U6", "f@example.com", "Fay F");
	add_du(w, 7, "manual@example.com", "Man", "Ual", "Man Ual");
	w->teams[0] = (struct snap_team){ 10, "Ten" };
	w->teams[1] = (struct snap_team){ 20, "Twenty" };
	w->teams[2] = (struct snap_team){ 30, "Unmapped" };
	w->n_teams = 3;
	w->groups[0] = (struct snap_group){ .id = "S1", .member_ids = tm_s1, .n_member_ids = 3,
						     .enabled = 1 };
	w->groups[1] = (struct snap_group){ .id = "S2", .member_ids = tm_s2, .n_member_ids = 2,
						     .enabled = 1 };
	w->groups[2] = (struct snap_group){ .id = "S3", .member_ids = tm_s3, .n_member_ids = 1,
						     .enabled = 1 };
	/* Not enabled: a disabled group. */
	w->groups[3] = (struct snap_group){ .id = "S4", .member_ids = tm_s4, .n_member_ids = 1 };
	w->n_groups = 4;
	w->cfg.team_mapping_enabled = 1;
	w->cfg.mappings = maps;     /* S1 -> 99: no such team, ignored */
	w->cfg.n_mappings = 5;
	w->ms[w->n_ms++] = (struct snap_membership){ 10, 4, SNAP_MS_MANUAL };
	w->ms[w->n_ms++] = (struct snap_membership){ 10, 7, SNAP_MS_MANUAL };
	w->ms[w->n_ms++] = (struct snap_membership){ 20, 1, SNAP_MS_PROVISIONING };
	w->ms[w->n_ms++] = (struct snap_membership){ 20, 5, SNAP_MS_PROVISIONING };
	w->ms[w->n_ms++] = (struct snap_membership){ 10, 6, SNAP_MS_PROVISIONING };
	w->ms[w->n_ms++] = (struct snap_membership){ 30, 6, SNAP_MS_PROVISIONING };
}

static void test_team_mapping(void **state)
{
	struct world w;

	(void)state;
	teams_world(&w);
	/*
	 * T10 <- S1 {U1,U2,U4} + S2 {U1,U5}: U1 once though in two groups; U4
	 * already there by hand (not duplicated); U6 removed (provisioning).
	 * #7's manual membership stays.  T20 <- S3 {U2} + S4 (disabled): #1
	 * and #5 removed.  T30 is not mapped: untouched.
	 */
	assert_string_equal(world_plan(&w),
			    "create new_in_scope U2\n"
			    "remove_from_team not_in_mapped_group #6 T10\n"
			    "add_to_team in_mapped_group #1 U1 T10\n"
			    "add_to_team in_mapped_group U2 T10 new@0\n"
			    "add_to_team in_mapped_group #5 U5 T10\n"
			    "remove_from_team not_in_mapped_group #1 T20\n"
			    "remove_from_team not_in_mapped_group #5 T20\n"
			    "add_to_team in_mapped_group U2 T20 new@0");
	assert_int_equal(w.plan.count[PLAN_ADD_TO_TEAM], 4);
	assert_int_equal(w.plan.count[PLAN_REMOVE_FROM_TEAM], 3);
	{
		struct plan_action tmp;

		/* Person actions first, then the compact team changes. */
		assert_int_equal(w.plan.n_actions, 1);
		assert_int_equal(w.plan.n_team_changes, 7);
		assert_int_equal(sync_plan_kind_at(&w.plan, 1), PLAN_REMOVE_FROM_TEAM);
		assert_int_equal(sync_plan_kind_at(&w.plan, 2), PLAN_ADD_TO_TEAM);
		assert_string_equal(sync_plan_at(&w.plan, 2, &tmp)->team->name, "Ten");
		assert_ptr_equal(sync_plan_at(&w.plan, 0, &tmp), &w.plan.actions[0]);
	}
	/* Mapping switched off: no team change at all. */
	w.cfg.team_mapping_enabled = 0;
	assert_string_equal(world_plan(&w), "create new_in_scope U2");
	world_release(&w);
}

/* The team changes come out in team id, then user id or Slack id order,
 * whatever the order of the teams, memberships and people given; a
 * membership of a user the directory does not hold is no one's. */
static void test_team_changes_do_not_depend_on_input_order(void **state)
{
	/* teams_world's mappings, a team's mappings apart. */
	static const struct plan_mapping mixed[] = {
		{ "S3", 20 }, { "S1", 10 }, { "S1", 99 }, { "S4", 20 }, { "S2", 10 },
	};
	struct world w;
	char first[2048];

	(void)state;
	teams_world(&w);
	snprintf(first, sizeof(first), "%s", world_plan(&w));
	w.cfg.mappings = mixed;
	REVERSE(w.teams, w.n_teams);
	REVERSE(w.ms, w.n_ms);
	REVERSE(w.su, w.n_su);
	REVERSE(w.users, w.n_users);
	w.ms[w.n_ms++] = (struct snap_membership){ 10, 42, SNAP_MS_PROVISIONING };
	assert_string_equal(world_plan(&w), first);
	/* new@ names the create's place in the plan, not in the input. */
	assert_non_null(strstr(first, "U2 T10 new@0"));
	world_release(&w);
}

/* The plan in two steps (the person actions, then the team changes, which
 * a sync makes while it writes the person actions) is the plan of one:
 * between the steps the person actions are final and no team change is
 * there yet. */
static void test_two_steps_make_the_plan_of_one(void **state)
{
	struct world w;
	struct plan_input in;
	struct sync_plan p;
	struct plan_step *step = NULL;
	char whole[2048];
	struct buf people;

	(void)state;
	teams_world(&w);
	snprintf(whole, sizeof(whole), "%s", world_plan(&w));
	assert_non_null(strstr(whole, "U2 T10 new@0"));  /* a team change of a create */
	world_input(&w, &in);
	assert_int_equal(sync_plan_people(&in, &p, &step), 0);
	assert_non_null(step);
	assert_int_equal(p.n_actions, w.plan.n_actions);
	assert_int_equal(p.n_team_changes, 0);
	assert_int_equal(p.held, w.plan.held);
	buf_init(&people, 1024);
	render(&people, &p);
	assert_true(strncmp(whole, buf_cstr(&people), people.len) == 0);  /* a prefix */
	assert_true(people.len < strlen(whole));
	assert_int_equal(sync_plan_teams(step), 0);
	buf_reset(&people);
	render(&people, &p);
	assert_string_equal(buf_cstr(&people), whole);
	buf_release(&people);
	sync_plan_release(&p);
	/* A refused input gives no step and an empty plan. */
	w.su[0].id = NULL;
	world_input(&w, &in);
	assert_int_equal(sync_plan_people(&in, &p, &step), PV_EINVAL);
	assert_null(step);
	assert_int_equal(sync_plan_size(&p), 0);
	assert_non_null(p.why);
	sync_plan_release(&p);
	assert_int_equal(sync_plan_people(&in, &p, NULL), PV_EINVAL);
	world_release(&w);
}

static void test_team_membership_hand_made_state(void **state)
{
	struct world w;

	(void)state;
	teams_world(&w);
	w.n_su = 1;                    /* only U1: the others left */
	w.users[1].is_admin = 1;       /* #4, the only administrator */
	w.n_ms = 0;
	/* #1 was removed from T10 by hand: the tombstone stops a re-add. */
	w.ms[w.n_ms++] = (struct snap_membership){ 10, 1, SNAP_MS_REMOVED_BY_HAND };
	/* #5 left Slack: its provisioning membership goes with it. */
	w.ms[w.n_ms++] = (struct snap_membership){ 10, 5, SNAP_MS_PROVISIONING };
	/* A hand-added membership of a leaver is never touched. */
	w.ms[w.n_ms++] = (struct snap_membership){ 20, 5, SNAP_MS_MANUAL };
	assert_string_equal(world_plan(&w),
			    "skip last_administrator #4\n"
			    "deactivate left_workspace #5 status:active>deactivated\n"
			    "deactivate left_workspace #6 status:active>deactivated\n"
			    "remove_from_team not_in_mapped_group #5 T10\n"
			    "skip removed_by_hand #1 U1 T10");
	world_release(&w);
}

static void test_skipped_and_frozen_users_keep_their_teams(void **state)
{
	struct world w;

	(void)state;
	teams_world(&w);
	w.n_ms = 0;
	/* #1 (U1) gets skipped: its new e-mail belongs to the manual #7. */
	w.su[0].email = "manual@example.com";
	w.ms[w.n_ms++] = (struct snap_membership){ 20, 1, SNAP_MS_PROVISIONING };
	/* #5 (U5) deactivated by hand: no team change either way. */
	w.users[2].status = SNAP_USER_DEACTIVATED;
	w.users[2].deactivated_by_hand = 1;
	w.ms[w.n_ms++] = (struct snap_membership){ 20, 5, SNAP_MS_PROVISIONING };
	/* Neither loses T20; U4 (no membership row now) is added to T10. */
	assert_string_equal(world_plan(&w),
			    "skip email_taken_by_other_user #1 U1 holder=#7\n"
			    "create new_in_scope U2\n"
			    "skip deactivated_by_hand #5 U5\n"
			    "add_to_team in_mapped_group U2 T10 new@1\n"
			    "add_to_team in_mapped_group #4 U4 T10\n"
			    "add_to_team in_mapped_group U2 T20 new@1");
	world_release(&w);
}

/* A sync-made membership an administrator removed (its tombstone) is
 * never added back: a skip with the team, each sync, instead. */
static void test_membership_removed_by_hand_is_not_added_back(void **state)
{
	struct world w;

	(void)state;
	teams_world(&w);
	w.n_ms = 0;
	w.ms[w.n_ms++] = (struct snap_membership){ 10, 4, SNAP_MS_REMOVED_BY_HAND };
	w.ms[w.n_ms++] = (struct snap_membership){ 20, 1, SNAP_MS_PROVISIONING };
	/* U4 is wanted in T10 (via S1) but was removed by hand: a skip, after
	 * the team's additions; everyone else as without the tombstone. */
	assert_string_equal(world_plan(&w),
			    "create new_in_scope U2\n"
			    "add_to_team in_mapped_group #1 U1 T10\n"
			    "add_to_team in_mapped_group U2 T10 new@0\n"
			    "add_to_team in_mapped_group #5 U5 T10\n"
			    "skip removed_by_hand #4 U4 T10\n"
			    "remove_from_team not_in_mapped_group #1 T20\n"
			    "add_to_team in_mapped_group U2 T20 new@0");
	assert_int_equal(w.plan.count[PLAN_SKIP], 1);
	world_release(&w);
}

/* ------------------------------------------------------- empty reads */

static void test_empty_snapshot_is_refused(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	/* Even an empty organization: an empty users.list is a failed read. */
	assert_string_equal(world_plan(&w), "error -2");
	assert_non_null(w.plan.why);
	assert_int_equal(sync_plan_size(&w.plan), 0);
	add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	w.n_su = 0;
	assert_string_equal(world_plan(&w), "error -2");
	/* Only Slackbot and a bot: no in-scope human while #1 is active. */
	add_su(&w, "USLACKBOT", NULL, "Slackbot")->not_a_person = 1;
	add_su(&w, "B1", NULL, "bot")->not_a_person = 1;
	assert_string_equal(world_plan(&w), "error -2");
	assert_string_equal(w.plan.why,
			    "sync plan: no one in scope while provisioned users are active");
	/* The same snapshot with no active provisioned user is fine. */
	w.users[0].status = SNAP_USER_DEACTIVATED;
	assert_string_equal(world_plan(&w), "");
	/* Groups mode selecting nobody while provisioned users are active. */
	w.users[0].status = SNAP_USER_ACTIVE;
	add_su(&w, "U1", "a@example.com", "Ann A");
	w.cfg.members_mode = PLAN_MEMBERS_GROUPS;
	assert_string_equal(world_plan(&w), "error -2");
	world_release(&w);
}

static void test_bad_input(void **state)
{
	struct world w;
	struct plan_input in;
	struct sync_plan p;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(sync_plan_build(NULL, &p), PV_EINVAL);
	assert_int_equal(sync_plan_build(&in, NULL), PV_EINVAL);
	world_init(&w);
	add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	w.cfg.threshold_percent = 101;
	assert_string_equal(world_plan(&w), "error -2");
	w.cfg.threshold_percent = 10;
	w.users[0].email = NULL;
	assert_string_equal(world_plan(&w), "error -2");
	w.users[0].email = "a@example.com";
	w.su[0].id = NULL;
	assert_string_equal(world_plan(&w), "error -2");
	w.su[0].id = "U1";
	world_input(&w, &in);
	in.config = NULL;
	assert_int_equal(sync_plan_build(&in, &p), PV_EINVAL);
	world_input(&w, &in);
	in.snap = NULL;
	assert_int_equal(sync_plan_build(&in, &p), PV_EINVAL);
	world_input(&w, &in);
	w.snap.people = NULL;  /* a count without its array */
	assert_int_equal(sync_plan_build(&in, &p), PV_EINVAL);
	sync_plan_release(&p);
	sync_plan_release(NULL);
	world_release(&w);
}

/* ---------------------------------------------------- idempotence, order */

/* Builds a directory from a plan's creates and team additions, the way the
 * applier would: ids 1.., everything provisioned. */
static size_t mirror_plan(const struct sync_plan *p, struct snap_user *users,
			  struct snap_membership *ms, size_t *n_ms)
{
	size_t n = 0;

	struct plan_action tmp;

	*n_ms = 0;
	for (size_t i = 0; i < sync_plan_size(p); i++) {
		const struct plan_action *a = sync_plan_at(p, i, &tmp);
		if (a->kind == PLAN_CREATE) {
			users[n] = (struct snap_user){
				.id = (int64_t)i + 1,
				.email = a->profile->email,
				.first_name = a->profile->first_name,
				.last_name = a->profile->last_name,
				.display_name = a->profile->display_name,
				.job_title = a->profile->job_title,
				.picture_url = a->profile->picture_url,
				.picture_key = a->profile->picture_key,
				.slack_user_id = a->slack->id,
				.status = SNAP_USER_ACTIVE,
				.source = SNAP_SOURCE_SLACK,
				.is_guest = (unsigned)a->profile->is_guest,
				.provisioned = 1,
			};
			n++;
		} else if (a->kind == PLAN_ADD_TO_TEAM) {
			assert_int_not_equal(a->created_by, PLAN_NO_ACTION);
			ms[(*n_ms)++] = (struct snap_membership){
				a->team->id, (int64_t)a->created_by + 1, SNAP_MS_PROVISIONING };
		}
	}
	return n;
}

static void test_replan_of_a_mirrored_directory_is_empty(void **state)
{
	static const char *grp[] = { "U2", "U3", "U4" };
	static const struct plan_mapping maps[] = { { "S1", 10 } };
	struct snap_user users[MAXW];
	struct snap_membership ms[MAXW];
	struct world w;
	struct sync_plan first;
	size_t n_ms, n;

	(void)state;
	world_init(&w);
	add_su(&w, "U4", "Guest@Example.com", "Gu Est")->kind = SNAP_MULTI_CHANNEL_GUEST;
	add_su(&w, "U2", "grace@example.com", "Grace  Brewster Hopper");
	add_su(&w, "U3", "pic@example.com", "Pic Ture");
	w.su[2].picture_key = "h9";
	w.su[2].picture_url = "https://img/9.png";
	w.su[2].title = "Painter";
	add_su(&w, "U5", "solo@example.com", "Solo")->picture_key = "gdefault";
	add_su(&w, "U6", NULL, "No Mail");
	add_su(&w, "BOT", NULL, "bot")->not_a_person = 1;
	w.teams[0] = (struct snap_team){ 10, "Ten" };
	w.n_teams = 1;
	w.groups[0] = (struct snap_group){ .id = "S1", .member_ids = grp, .n_member_ids = 3,
						     .enabled = 1 };
	w.n_groups = 1;
	w.cfg.team_mapping_enabled = 1;
	w.cfg.mappings = maps;
	w.cfg.n_mappings = 1;
	assert_string_equal(world_plan(&w),
			    "create new_in_scope U2\n"
			    "create new_in_scope U3\n"
			    "create new_in_scope U4\n"
			    "create new_in_scope U5\n"
			    "skip no_email U6\n"
			    "add_to_team in_mapped_group U2 T10 new@0\n"
			    "add_to_team in_mapped_group U3 T10 new@1\n"
			    "add_to_team in_mapped_group U4 T10 new@2");
	first = w.plan;                 /* keep it: the mirror borrows from it */
	memset(&w.plan, 0, sizeof(w.plan));
	n = mirror_plan(&first, users, ms, &n_ms);
	memcpy(w.users, users, n * sizeof(*users));
	w.n_users = n;
	memcpy(w.ms, ms, n_ms * sizeof(*ms));
	w.n_ms = n_ms;
	/* Only the no-email skip remains, as it must every day. */
	assert_string_equal(world_plan(&w), "skip no_email U6");
	/* Without U6: nothing at all. */
	w.su[4] = w.su[5];
	w.n_su = 5;
	assert_string_equal(world_plan(&w), "");
	assert_int_equal(sync_plan_size(&w.plan), 0);
	sync_plan_release(&first);
	world_release(&w);
}

static void test_order_does_not_depend_on_input_order(void **state)
{
	struct world w;
	char first[1024];

	(void)state;
	world_init(&w);
	add_pair(&w, 3, "U3", "c@example.com", "Cat C");
	add_pair(&w, 1, "U1", "a@example.com", "Ann A");
	add_su(&w, "U9", "n@example.com", "New N");
	add_su(&w, "U0", "n@example.com", "Nu N");
	add_pair(&w, 2, "U2", "b@example.com", "Ben B");
	w.su[4].title = "T";
	w.n_su = 4;  /* U2 left */
	w.su[0].deleted = 1;
	snprintf(first, sizeof(first), "%s", world_plan(&w));
	assert_string_equal(first,
			    "create new_in_scope U0\n"
			    "deactivate deleted_in_slack #3 U3 status:active>deactivated\n"
			    "skip email_taken_by_linked_user U9 rival=U0\n"
			    "deactivate left_workspace #2 status:active>deactivated");
	/* Reverse the Slack users and the directory: same plan. */
	REVERSE(w.su, w.n_su);
	REVERSE(w.users, w.n_users);
	assert_string_equal(world_plan(&w), first);
	world_release(&w);
}

/* ----------------------------------------------------------- 100,000 */

/* Teams of thousands (bit sets across many words): 3,000 linked users, T1
 * <- S1 (every 2nd person, ids copied: found by value) + S2 (every 3rd, the
 * people's own id strings: found by address), T2 <- S2.  T1 has a
 * provisioning row for every 5th user, T2 a manual row (#8) and a
 * tombstone (#10).  The counts and order are the rules' own; applying the
 * changes and planning again gives none. */
static int thousands_wanted(int team, size_t i)
{
	return team == 1 ? i % 2 == 0 || i % 3 == 0 : i % 3 == 0;
}

static void test_teams_of_thousands(void **state)
{
	enum { N = 3000 };
	static const struct plan_mapping maps[] = { { "S2", 20 }, { "S1", 10 }, { "S2", 10 } };
	struct big g;
	struct plan_config cfg;
	struct snapshot snap;
	struct plan_input in;
	struct sync_plan p;
	struct plan_action tmp;
	struct snap_team teams[2] = { { 20, "T2" }, { 10, "T1" } };
	struct snap_group groups[2];
	const char **s1 = calloc(N, sizeof(*s1)), **s2 = calloc(N, sizeof(*s2));
	char (*copies)[24] = calloc(N, sizeof(*copies));
	struct snap_membership *ms = calloc(2 * N, sizeof(*ms));
	size_t n1 = 0, n2 = 0, n_ms = 0, rm = 0, add1 = 0, add2 = 0;
	int64_t last_team = 0, last_key = -1;
	int last_kind = -1;  /* the phase of the last change */

	(void)state;
	assert_non_null(s1);
	assert_non_null(s2);
	assert_non_null(copies);
	assert_non_null(ms);
	big_make(&g, N);
	for (size_t i = 0; i < N; i++) {
		if (thousands_wanted(1, i) && i % 2 == 0) {
			snprintf(copies[n1], sizeof(copies[n1]), "%s", g.ids[i]);
			s1[n1] = copies[n1];
			n1++;
		}
		if (i % 3 == 0)
			s2[n2++] = g.su[i].id;
		if (i % 5 == 0)
			ms[n_ms++] = (struct snap_membership){ 10, (int64_t)i + 1, SNAP_MS_PROVISIONING };
		rm += i % 5 == 0 && !thousands_wanted(1, i);
		add1 += thousands_wanted(1, i) && i % 5 != 0;
		add2 += thousands_wanted(2, i) && i != 9;
	}
	ms[n_ms++] = (struct snap_membership){ 20, 8, SNAP_MS_MANUAL };
	ms[n_ms++] = (struct snap_membership){ 20, 10, SNAP_MS_REMOVED_BY_HAND };
	groups[0] = (struct snap_group){ .id = "S1", .enabled = 1, .member_ids = s1, .n_member_ids = n1 };
	groups[1] = (struct snap_group){ .id = "S2", .enabled = 1, .member_ids = s2, .n_member_ids = n2 };
	sync_plan_config_init(&cfg);
	cfg.team_mapping_enabled = 1;
	cfg.mappings = maps;
	cfg.n_mappings = 3;
	snap = (struct snapshot){ .users = g.users, .n_users = N, .people = g.su, .n_people = N,
				  .teams = teams, .n_teams = 2, .groups = groups, .n_groups = 2,
				  .memberships = ms, .n_memberships = n_ms };
	in = (struct plan_input){ .snap = &snap, .config = &cfg };
	assert_int_equal(sync_plan_build(&in, &p), 0);
	assert_int_equal(p.n_actions, 0);
	assert_int_equal(p.count[PLAN_REMOVE_FROM_TEAM], rm);
	assert_int_equal(p.count[PLAN_ADD_TO_TEAM], add1 + add2);
	assert_int_equal(p.count[PLAN_SKIP], 1);
	for (size_t i = 0; i < sync_plan_size(&p); i++) {
		const struct plan_action *a = sync_plan_at(&p, i, &tmp);
		int64_t key = a->kind == PLAN_REMOVE_FROM_TEAM ? a->user->id : a->user->id - 1;

		/* Within a team: removals, then additions, then the skip. */
		int phase = a->kind == PLAN_REMOVE_FROM_TEAM ? 0 : a->kind == PLAN_ADD_TO_TEAM ? 1 : 2;

		assert_non_null(a->team);
		assert_true(a->team->id >= last_team);
		if (a->team->id != last_team)
			last_kind = -1, last_key = -1;
		assert_true(phase >= last_kind);
		if (phase == last_kind)
			assert_true(key > last_key);  /* by user id, or by Slack id */
		if (a->kind == PLAN_SKIP) {
			assert_int_equal(a->reason, PLAN_R_REMOVED_BY_HAND);
			assert_int_equal(a->user->id, 10);
		}
		last_team = a->team->id;
		last_kind = phase;
		last_key = key;
		/* Applied: a removal clears its row, an addition makes one. */
		if (a->kind == PLAN_REMOVE_FROM_TEAM) {
			for (size_t k = 0; k < n_ms; k++)
				if (ms[k].team_id == a->team->id && ms[k].user_id == a->user->id)
					ms[k] = ms[--n_ms];
		} else if (a->kind == PLAN_ADD_TO_TEAM) {
			assert_true(n_ms < 2 * N);
			ms[n_ms++] = (struct snap_membership){ a->team->id, a->user->id,
							       SNAP_MS_PROVISIONING };
		}
	}
	sync_plan_release(&p);
	snap.n_memberships = n_ms;
	assert_int_equal(sync_plan_build(&in, &p), 0);
	assert_int_equal(p.n_team_changes, 1);  /* the tombstone's skip, every time */
	sync_plan_release(&p);
	big_free(&g);
	free(ms);
	free(copies);
	free(s2);
	free(s1);
}

static void test_hundred_thousand_users(void **state)
{
	enum { N = 100000 };
	struct big g;
	struct plan_config cfg;
	struct snapshot snap;
	struct plan_input in;
	struct sync_plan p;

	(void)state;
	big_make(&g, N);
	sync_plan_config_init(&cfg);
	/* First sync: everyone is new. */
	snap = (struct snapshot){ .people = g.su, .n_people = N };
	in = (struct plan_input){ .snap = &snap, .config = &cfg };
	assert_int_equal(sync_plan_build(&in, &p), 0);
	assert_int_equal(p.n_actions, N);
	assert_int_equal(p.count[PLAN_CREATE], N);
	assert_string_equal(p.actions[0].slack->id, "U0000000");
	assert_string_equal(p.actions[N - 1].slack->id, "U0099999");
	sync_plan_release(&p);
	/* Mirrored: nothing to do. */
	snap.users = g.users;
	snap.n_users = N;
	assert_int_equal(sync_plan_build(&in, &p), 0);
	assert_int_equal(sync_plan_size(&p), 0);
	sync_plan_release(&p);
	/* A few changes among many: 1,000 renamed, 50 gone, 1 deleted. */
	for (size_t i = 0; i < N; i += 100)
		g.su[i].last_name = "Renamed";
	g.su[7].deleted = 1;
	snap.n_people = N - 50;
	assert_int_equal(sync_plan_build(&in, &p), 0);
	assert_int_equal(p.count[PLAN_UPDATE], 1000);  /* U7 and the gone: not x100 */
	assert_int_equal(p.count[PLAN_DEACTIVATE], 51);
	assert_false(p.held);
	sync_plan_release(&p);
	big_free(&g);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sync_plan_kind_name(PLAN_REMOVE_FROM_TEAM), "remove_from_team");
	assert_string_equal(sync_plan_kind_name(PLAN_KIND_COUNT), "unknown");
	assert_string_equal(sync_plan_reason_name(PLAN_R_EMAIL_TAKEN_BY_LINKED_USER),
			    "email_taken_by_linked_user");
	assert_string_equal(sync_plan_reason_name((enum plan_reason)-1), "unknown");
	assert_string_equal(sync_plan_field_name(PLAN_F_JOB_TITLE), "job_title");
	for (int i = 0; i < PLAN_KIND_COUNT; i++)
		assert_non_null(sync_plan_kind_name((enum plan_kind)i));
	for (int i = 0; i < PLAN_REASON_COUNT; i++)
		assert_string_not_equal(sync_plan_reason_name((enum plan_reason)i), "unknown");
	for (int i = 0; i < PLAN_FIELD_COUNT; i++)
		assert_string_not_equal(sync_plan_field_name((enum plan_field)i), "unknown");
}

/* Names read back to the same value (held syncs' payloads store names);
 * anything else is refused. */
static void test_names_read_back(void **state)
{
	enum plan_kind k;
	enum plan_reason r;
	enum plan_field f;

	(void)state;
	for (int i = 0; i < PLAN_KIND_COUNT; i++) {
		assert_int_equal(sync_plan_kind_of(sync_plan_kind_name((enum plan_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	for (int i = 0; i < PLAN_REASON_COUNT; i++) {
		assert_int_equal(sync_plan_reason_of(sync_plan_reason_name((enum plan_reason)i), &r), 0);
		assert_int_equal(r, i);
	}
	for (int i = 0; i < PLAN_FIELD_COUNT; i++) {
		assert_int_equal(sync_plan_field_of(sync_plan_field_name((enum plan_field)i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(sync_plan_kind_of("left_scope", &k), PV_EINVAL);
	assert_int_equal(sync_plan_reason_of("unknown", &r), PV_EINVAL);
	assert_int_equal(sync_plan_field_of(NULL, &f), PV_EINVAL);
	assert_int_equal(sync_plan_field_of("Status", &f), PV_EINVAL);
	assert_int_equal(sync_plan_reason_of("2", &r), PV_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_table),
		cmocka_unit_test(test_create_values),
		cmocka_unit_test(test_update_table),
		cmocka_unit_test(test_update_changes_come_in_field_order),
		cmocka_unit_test(test_manual_user_is_linked_by_email),
		cmocka_unit_test(test_unicode_email_is_linked_like_the_unique_key),
		cmocka_unit_test(test_long_values_are_cut_marked_and_stable),
		cmocka_unit_test(test_two_slack_users_claim_one_email),
		cmocka_unit_test(test_email_of_a_linked_user_is_taken),
		cmocka_unit_test(test_email_of_a_deactivated_user_needs_review),
		cmocka_unit_test(test_linked_email_change_conflicts),
		cmocka_unit_test(test_deactivation_reasons),
		cmocka_unit_test(test_excluded_and_domain_deactivate),
		cmocka_unit_test(test_returner_is_reactivated),
		cmocka_unit_test(test_hand_deactivation_is_not_undone),
		cmocka_unit_test(test_last_administrator_is_never_deactivated),
		cmocka_unit_test(test_threshold_boundaries),
		cmocka_unit_test(test_groups_scope),
		cmocka_unit_test(test_team_mapping),
		cmocka_unit_test(test_team_changes_do_not_depend_on_input_order),
		cmocka_unit_test(test_two_steps_make_the_plan_of_one),
		cmocka_unit_test(test_team_membership_hand_made_state),
		cmocka_unit_test(test_skipped_and_frozen_users_keep_their_teams),
		cmocka_unit_test(test_membership_removed_by_hand_is_not_added_back),
		cmocka_unit_test(test_empty_snapshot_is_refused),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_replan_of_a_mirrored_directory_is_empty),
		cmocka_unit_test(test_order_does_not_depend_on_input_order),
		cmocka_unit_test(test_teams_of_thousands),
		cmocka_unit_test(test_hundred_thousand_users),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
