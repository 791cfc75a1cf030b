/*
 * test_snapshot.c - the sync's snapshot (lib/snapshot) and the Slack reader
 * that fills it (lib/provider/slack/slack_snapshot.c), no sockets.
 *
 * A users.list page is decoded and added person by person; the snapshot is
 * then rendered one line per person and compared whole with the expected
 * text:
 *   <id> <kind> [invited] [deleted] [not_a_person] pic=<key>|<url>
 *   name=<first>/<last>/<full>/<display>/<handle> email=<email>
 * ("-" renders NULL).  Then groups, the growing arrays and their errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "provider/slack/slack.h"
#include "provider/slack/slack_snapshot.h"
#include "snapshot/snapshot.h"

static const char *opt(const char *s)
{
	return s ? s : "-";
}

static const char *kind_name(enum snap_kind k)
{
	switch (k) {
	case SNAP_MEMBER: return "member";
	case SNAP_MULTI_CHANNEL_GUEST: return "multi_channel_guest";
	case SNAP_SINGLE_CHANNEL_GUEST: return "single_channel_guest";
	}
	return "?";
}

static void render_people(struct buf *t, const struct snapshot *s)
{
	for (size_t i = 0; i < s->n_people; i++) {
		const struct snap_person *p = &s->people[i];

		if (i)
			buf_putc(t, '\n');
		buf_printf(t, "%s %s%s%s%s pic=%s|%s name=%s/%s/%s/%s/%s email=%s", p->id,
			   kind_name(p->kind), p->invited ? " invited" : "",
			   p->deleted ? " deleted" : "", p->not_a_person ? " not_a_person" : "",
			   opt(p->picture_key), opt(p->picture_url), opt(p->first_name),
			   opt(p->last_name), opt(p->full_name), opt(p->display_name),
			   opt(p->handle), opt(p->email));
	}
}

/* One users.list page with every Slack specific the planner used to know. */
static const char page[] =
	"{\"ok\":true,\"members\":["
	/* A full member with a custom picture. */
	"{\"id\":\"U1\",\"name\":\"ada\",\"profile\":{\"real_name\":\"Ada Lovelace\","
	" \"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"display_name\":\"ada\","
	" \"email\":\"ada@example.com\",\"title\":\"Countess\",\"avatar_hash\":\"h1\","
	" \"is_custom_image\":true,\"image_512\":\"https://img/ada-512.png\"}},"
	/* Slack's default avatar: a hash but no picture. */
	"{\"id\":\"U2\",\"name\":\"bo\",\"real_name\":\"Bo Bell\",\"profile\":{"
	" \"email\":\"bo@example.com\",\"avatar_hash\":\"g123\",\"is_custom_image\":false,"
	" \"image_512\":\"https://secure.gravatar.com/avatar/g123.png\"}},"
	/* Guests; the single-channel flag wins when both are set. */
	"{\"id\":\"U3\",\"name\":\"mc\",\"is_restricted\":true,\"profile\":{\"email\":\"m@x.org\"}},"
	"{\"id\":\"U4\",\"name\":\"sc\",\"is_restricted\":true,\"is_ultra_restricted\":true,"
	" \"profile\":{\"email\":\"s@x.org\"}},"
	/* Invited, not joined, as a guest: both facts are kept. */
	"{\"id\":\"U5\",\"name\":\"in\",\"is_invited_user\":true,\"is_restricted\":true,"
	" \"profile\":{\"email\":\"i@x.org\"}},"
	/* A deleted member's reduced object. */
	"{\"id\":\"U6\",\"deleted\":true,\"profile\":{}},"
	/* No person: Slackbot (is_bot false), a bot, an app user. */
	"{\"id\":\"USLACKBOT\",\"name\":\"slackbot\",\"is_bot\":false,\"profile\":{\"real_name\":\"Slackbot\"}},"
	"{\"id\":\"B1\",\"name\":\"deploy\",\"is_bot\":true,\"profile\":{}},"
	"{\"id\":\"U7\",\"name\":\"app\",\"is_app_user\":true,\"profile\":{}},"
	/* A custom picture without a hash: the URL is its own key. */
	"{\"id\":\"W8\",\"name\":\"nh\",\"profile\":{\"email\":\"n@x.org\",\"is_custom_image\":true,"
	" \"image_192\":\"https://img/nh-192.png\"}}"
	"]}";

static const char page_want[] =
	"U1 member pic=h1|https://img/ada-512.png name=Ada/Lovelace/Ada Lovelace/ada/ada"
	" email=ada@example.com\n"
	"U2 member pic=-|- name=-/-/Bo Bell/-/bo email=bo@example.com\n"
	"U3 multi_channel_guest pic=-|- name=-/-/-/-/mc email=m@x.org\n"
	"U4 single_channel_guest pic=-|- name=-/-/-/-/sc email=s@x.org\n"
	"U5 multi_channel_guest invited pic=-|- name=-/-/-/-/in email=i@x.org\n"
	"U6 member deleted pic=-|- name=-/-/-/-/- email=-\n"
	"USLACKBOT member not_a_person pic=-|- name=-/-/Slackbot/-/slackbot email=-\n"
	"B1 member not_a_person pic=-|- name=-/-/-/-/deploy email=-\n"
	"U7 member not_a_person pic=-|- name=-/-/-/-/app email=-\n"
	"W8 member pic=https://img/nh-192.png|https://img/nh-192.png name=-/-/-/-/nh"
	" email=n@x.org";

static void test_slack_page_into_neutral_kinds(void **state)
{
	struct slack_error err = { 0 };
	struct snapshot s;
	struct buf t;
	json_object *root = NULL, *members;

	(void)state;
	assert_int_equal(slack_decode_envelope(page, strlen(page), &root, &err), 0);
	assert_true(json_object_object_get_ex(root, "members", &members));
	assert_int_equal(snapshot_init(&s), 0);
	for (size_t i = 0; i < json_object_array_length(members); i++) {
		struct slack_user u = { 0 };

		assert_int_equal(slack_decode_user(json_object_array_get_idx(members, i), &u), 0);
		assert_int_equal(slack_snapshot_add_user(&s, &u), 0);
		/* The snapshot holds its own copies: the decoder's are gone. */
		slack_user_release(&u);
	}
	json_object_put(root);
	buf_init(&t, 1 << 16);
	render_people(&t, &s);
	if (strcmp(buf_cstr(&t), page_want) != 0)
		fail_msg("got\n%s\nwanted\n%s", buf_cstr(&t), page_want);
	buf_release(&t);
	/* A user without an id is refused and adds nobody. */
	assert_int_equal(slack_snapshot_add_user(&s, &(struct slack_user){ 0 }), PV_EINVAL);
	assert_int_equal(s.n_people, 10);
	snapshot_release(&s);
	snapshot_release(&s);  /* twice is harmless */
	assert_null(s.people);
}

static void test_groups(void **state)
{
	char *ids[] = { "U1", "U2" };
	struct slack_group on = { .id = "S1", .name = "Eng", .user_ids = ids, .n_user_ids = 2 };
	struct slack_group off = { .id = "S2", .name = "Old", .disabled = 1 };
	struct snapshot s;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(slack_snapshot_add_group(&s, &on), 0);
	assert_int_equal(slack_snapshot_add_group(&s, &off), 0);
	assert_int_equal(s.n_groups, 2);
	assert_string_equal(s.groups[0].id, "S1");
	assert_true(s.groups[0].enabled);
	assert_int_equal(s.groups[0].n_member_ids, 2);
	/* Copies, not the decoder's pointers. */
	assert_ptr_not_equal(s.groups[0].member_ids[1], ids[1]);
	assert_string_equal(s.groups[0].member_ids[1], "U2");
	assert_false(s.groups[1].enabled);
	assert_null(s.groups[1].member_ids);
	assert_int_equal(slack_snapshot_add_group(&s, &(struct slack_group){ 0 }), PV_EINVAL);
	assert_int_equal(s.n_groups, 2);
	snapshot_release(&s);
}

/* A group's members that are people of the snapshot share the person's
 * id; others are copies; people added later are found too. */
static void test_group_members_share_people_ids(void **state)
{
	static const struct {
		const char *member;
		int person;     /* index of the person whose id it shares, -1: a copy */
	} want[] = { { "U3", 2 }, { "U1", 0 }, { "UX", -1 }, { "U2", 1 }, { "U1", 0 } };
	char *ids[] = { "U3", "U1", "UX", "U2", "U1" };
	char *later[] = { "U4", "U2" };
	const char *person[] = { "U1", "U2", "U3", "U4" };
	struct snap_group *g;
	struct snap_person *p;
	struct snapshot s;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(snapshot_add_person(&s, &p), 0);
		assert_int_equal(snapshot_strdup(&s, person[i], &p->id), 0);
	}
	assert_int_equal(snapshot_add_group(&s, &g), 0);
	assert_int_equal(snapshot_group_set_members(&s, g, ids, 5), 0);
	assert_int_equal(g->n_member_ids, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(g->member_ids[i], want[i].member);
		assert_ptr_not_equal(g->member_ids[i], ids[i]);
		if (want[i].person >= 0)
			assert_ptr_equal(g->member_ids[i], s.people[want[i].person].id);
		else
			for (size_t k = 0; k < s.n_people; k++)
				assert_ptr_not_equal(g->member_ids[i], s.people[k].id);
	}
	assert_int_equal(snapshot_add_person(&s, &p), 0);
	assert_int_equal(snapshot_strdup(&s, person[3], &p->id), 0);
	assert_int_equal(snapshot_add_group(&s, &g), 0);
	assert_int_equal(snapshot_group_set_members(&s, g, later, 2), 0);
	assert_ptr_equal(g->member_ids[0], s.people[3].id);
	assert_ptr_equal(g->member_ids[1], s.people[1].id);
	snapshot_release(&s);
}

/* The arrays grow past several doublings and keep every element. */
static void test_growing_arrays(void **state)
{
	enum { N = 5000 };
	struct snapshot s;
	char id[32];

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	for (int i = 0; i < N; i++) {
		struct snap_user *u;
		struct snap_membership *m;
		struct snap_team *t;

		assert_int_equal(snapshot_add_user(&s, &u), 0);
		u->id = i + 1;
		snprintf(id, sizeof(id), "e%d@x.org", i);
		assert_int_equal(snapshot_strdup(&s, id, &u->email), 0);
		assert_int_equal(snapshot_add_membership(&s, &m), 0);
		m->user_id = i + 1;
		assert_int_equal(snapshot_add_team(&s, &t), 0);
		t->id = i;
	}
	assert_int_equal(s.n_users, N);
	assert_int_equal(s.n_memberships, N);
	assert_int_equal(s.n_teams, N);
	for (int i = 0; i < N; i += 499) {
		snprintf(id, sizeof(id), "e%d@x.org", i);
		assert_int_equal(s.users[i].id, i + 1);
		assert_string_equal(s.users[i].email, id);
		assert_int_equal(s.memberships[i].user_id, i + 1);
		assert_int_equal(s.teams[i].id, i);
	}
	/* A new element is zeroed, whatever the memory held before. */
	{
		struct snap_person *p;

		assert_int_equal(snapshot_add_person(&s, &p), 0);
		assert_null(p->id);
		assert_int_equal(p->kind, SNAP_MEMBER);
		assert_false(p->not_a_person);
	}
	/* A listing that starts over forgets the people, not the rest. */
	snapshot_clear_people(&s);
	assert_int_equal(s.n_people, 0);
	assert_int_equal(s.n_users, N);
	/* NULL copies to NULL; a bounded copy stops at len. */
	{
		const char *c = "x";

		assert_int_equal(snapshot_strdup(&s, NULL, &c), 0);
		assert_null(c);
		assert_int_equal(snapshot_strndup(&s, "abcdef", 3, &c), 0);
		assert_string_equal(c, "abc");
	}
	snapshot_release(&s);
	assert_int_equal(snapshot_add_user(NULL, &(struct snap_user *){ NULL }), PV_EINVAL);
	assert_int_equal(snapshot_init(NULL), PV_EINVAL);
	snapshot_release(NULL);
}

/* The directory side read into a snapshot of its own (on another thread)
 * moves into the one the provider's side filled; its strings stay valid
 * until that one is released (ASan would see a use after free). */
static void test_take_directory(void **state)
{
	struct snapshot s, dir;
	struct snap_person *p;
	struct snap_user *u;
	struct snap_team *t;
	struct snap_membership *m;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(snapshot_add_person(&s, &p), 0);
	assert_int_equal(snapshot_strdup(&s, "U1", &p->id), 0);
	assert_int_equal(snapshot_init(&dir), 0);
	for (int i = 0; i < 300; i++) {
		char email[32];

		assert_int_equal(snapshot_add_user(&dir, &u), 0);
		u->id = i + 1;
		snprintf(email, sizeof(email), "p%d@x.org", i);
		assert_int_equal(snapshot_strdup(&dir, email, &u->email), 0);
	}
	assert_int_equal(snapshot_add_team(&dir, &t), 0);
	t->id = 7;
	assert_int_equal(snapshot_strdup(&dir, "Builders", &t->name), 0);
	assert_int_equal(snapshot_add_membership(&dir, &m), 0);
	m->team_id = 7;
	m->user_id = 3;
	assert_int_equal(snapshot_take_directory(&s, &dir), 0);
	assert_null(dir.pool);
	assert_int_equal(dir.n_users, 0);
	assert_int_equal(s.n_people, 1);
	assert_string_equal(s.people[0].id, "U1");
	assert_int_equal(s.n_users, 300);
	assert_string_equal(s.users[299].email, "p299@x.org");
	assert_int_equal(s.n_teams, 1);
	assert_string_equal(s.teams[0].name, "Builders");
	assert_int_equal(s.n_memberships, 1);
	assert_int_equal(s.memberships[0].user_id, 3);
	/* The directory side can only be taken into an empty one. */
	assert_int_equal(snapshot_init(&dir), 0);
	assert_int_equal(snapshot_take_directory(&s, &dir), PV_EINVAL);
	assert_null(dir.pool);
	/* More can be added afterwards, into either array. */
	assert_int_equal(snapshot_add_user(&s, &u), 0);
	assert_int_equal(s.n_users, 301);
	snapshot_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack_page_into_neutral_kinds),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_group_members_share_people_ids),
		cmocka_unit_test(test_growing_arrays),
		cmocka_unit_test(test_take_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
