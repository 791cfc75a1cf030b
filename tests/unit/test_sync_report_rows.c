/*
 * test_sync_report_rows.c - actions into report rows (lib/sync/
 * sync_report_rows.c), no database: each case builds one act, renders its
 * row one field per line and compares it whole with the expected text:
 *   outcome / changed / changes JSON / Details / payload JSON (or -)
 * Then a payload read back gives the act it was made from, and values
 * longer than their column are cut.
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
#include "core/pjson.h"
#include "db/db.h"
#include "sync/sync_report_rows.h"

static const struct plan_change deact_changes[] = {
	{ PLAN_F_STATUS, "active", "deactivated" },
};
static const struct plan_change upd_changes[] = {
	{ PLAN_F_FIRST_NAME, "Ada", "Augusta" },
	{ PLAN_F_LAST_NAME, "Lovelace", "King" },
	{ PLAN_F_JOB_TITLE, "", "Countess" },
};

static const struct sync_picture not_stored = {
	.why = "the picture could not be downloaded from Slack (HTTP 404)",
};
static const struct sync_picture stored = {
	.stored = 1, .url = "https://hr.example/pictures/ab.png",
	.large_url = "https://hr.example/pictures/cd.png",
};
static const struct plan_change pic_changes[] = {
	{ PLAN_F_PICTURE, "https://hr.example/pictures/old.png", "https://cdn.slack.example/x_512.png" },
};
static const struct plan_change pic_title_changes[] = {
	{ PLAN_F_PICTURE, NULL, "https://cdn.slack.example/x_512.png" },
	{ PLAN_F_JOB_TITLE, "", "Countess" },
};

struct row_case {
	const char *name;
	struct sync_act a;
	const char *outcome;
	int planned, invites;
	const char *failure;
	const char *want;
};

static const struct row_case cases[] = {
	{ "create, invitations on",
	  { .kind = PLAN_CREATE, .reason = PLAN_R_NEW_IN_SCOPE, .slack_user_id = "U1",
	    .user_email = "ada@x.org", .user_name = "ada",
	    .profile = { "Ada", "Lovelace", "ada", "ada@x.org", "", NULL, NULL, 1 } },
	  "succeeded", 0, SYNC_INVITES_QUEUED | SYNC_INVITES_MAIL, NULL,
	  "succeeded\nname,email\n"
	  "[{\"field\":\"first_name\",\"from\":null,\"to\":\"Ada\"},"
	  "{\"field\":\"last_name\",\"from\":null,\"to\":\"Lovelace\"},"
	  "{\"field\":\"display_name\",\"from\":null,\"to\":\"ada\"},"
	  "{\"field\":\"email\",\"from\":null,\"to\":\"ada@x.org\"},"
	  "{\"field\":\"is_guest\",\"from\":\"false\",\"to\":\"true\"}]\n"
	  "Created: this Slack member is in the import scope and had no account yet. An invitation"
	  " e-mail will be sent.\n-" },
	{ "create, invitations queued but no mail server: no e-mail promised",
	  { .kind = PLAN_CREATE, .reason = PLAN_R_NEW_IN_SCOPE, .slack_user_id = "U1",
	    .user_email = "ada@x.org", .user_name = "ada",
	    .profile = { "Ada", "Lovelace", "ada", "ada@x.org", "", NULL, NULL, 0 } },
	  "succeeded", 0, SYNC_INVITES_QUEUED, NULL,
	  "succeeded\nname,email\n"
	  "[{\"field\":\"first_name\",\"from\":null,\"to\":\"Ada\"},"
	  "{\"field\":\"last_name\",\"from\":null,\"to\":\"Lovelace\"},"
	  "{\"field\":\"display_name\",\"from\":null,\"to\":\"ada\"},"
	  "{\"field\":\"email\",\"from\":null,\"to\":\"ada@x.org\"}]\n"
	  "Created: this Slack member is in the import scope and had no account yet.\n-" },
	{ "create with a title and a display name cut to the directory's limit",
	  { .kind = PLAN_CREATE, .reason = PLAN_R_NEW_IN_SCOPE, .slack_user_id = "U1",
	    .user_email = "ada@x.org", .user_name = "ada",
	    .profile = { "Ada", "Lovelace", "ada", "ada@x.org", "", NULL, NULL, 0 },
	    .shortened = PLAN_SHORTENED(PLAN_F_DISPLAY_NAME) | PLAN_SHORTENED(PLAN_F_JOB_TITLE) },
	  "succeeded", 0, 0, NULL,
	  "succeeded\nname,email\n"
	  "[{\"field\":\"first_name\",\"from\":null,\"to\":\"Ada\"},"
	  "{\"field\":\"last_name\",\"from\":null,\"to\":\"Lovelace\"},"
	  "{\"field\":\"display_name\",\"from\":null,\"to\":\"ada\"},"
	  "{\"field\":\"email\",\"from\":null,\"to\":\"ada@x.org\"}]\n"
	  "Created: this Slack member is in the import scope and had no account yet. Shortened to fit"
	  " the directory's limit of 1,000 characters: display name, job title.\n-" },
	{ "update: the fields in plain words",
	  { .kind = PLAN_UPDATE, .reason = PLAN_R_PROFILE_CHANGED, .user_id = 3,
	    .changes = upd_changes, .n_changes = 3 },
	  "succeeded", 0, 0, NULL,
	  "succeeded\nname,job_title\n"
	  "[{\"field\":\"first_name\",\"from\":\"Ada\",\"to\":\"Augusta\"},"
	  "{\"field\":\"last_name\",\"from\":\"Lovelace\",\"to\":\"King\"},"
	  "{\"field\":\"job_title\",\"from\":\"\",\"to\":\"Countess\"}]\n"
	  "Updated from Slack: first name, last name, job title.\n-" },
	{ "held deactivation: a payload by name",
	  { .kind = PLAN_DEACTIVATE, .reason = PLAN_R_LEFT_SCOPE, .user_id = 7,
	    .slack_user_id = "U7", .user_email = "b@x.org", .user_name = "Bo",
	    .changes = deact_changes, .n_changes = 1 },
	  "planned", 1, 1, NULL,
	  "planned\nstatus\n"
	  "[{\"field\":\"status\",\"from\":\"active\",\"to\":\"deactivated\"}]\n"
	  "Planned (not applied yet): Deactivated: this member is no longer in the Slack groups or"
	  " member types chosen for import.\n"
	  "{\"changes\":[{\"f\":\"status\",\"from\":\"active\",\"to\":\"deactivated\"}],"
	  "\"kind\":\"deactivate\",\"reason\":\"left_scope\",\"user_id\":7,\"email\":\"b@x.org\","
	  "\"name\":\"Bo\",\"slack\":\"U7\",\"team_id\":0,\"team\":null,\"link\":false,"
	  "\"avatar_hash\":null,\"rival\":null}" },
	{ "update: name once in the changed set",
	  { .kind = PLAN_UPDATE, .reason = PLAN_R_PROFILE_CHANGED, .user_id = 3,
	    .changes = upd_changes, .n_changes = 3 },
	  "failed", 0, 0, "the new e-mail address is already used by another account.",
	  "failed\nname,job_title\n"
	  "[{\"field\":\"first_name\",\"from\":\"Ada\",\"to\":\"Augusta\"},"
	  "{\"field\":\"last_name\",\"from\":\"Lovelace\",\"to\":\"King\"},"
	  "{\"field\":\"job_title\",\"from\":\"\",\"to\":\"Countess\"}]\n"
	  "Failed: the new e-mail address is already used by another account. The sync went on with"
	  " everyone else and will try again at the next sync; if this keeps failing, check this"
	  " person's account and Slack profile.\n-" },
	{ "team addition",
	  { .kind = PLAN_ADD_TO_TEAM, .reason = PLAN_R_IN_MAPPED_GROUP, .user_id = 3,
	    .team_id = 10, .team_name = "Ten" },
	  "succeeded", 0, 0, NULL,
	  "succeeded\nteam_membership\n[{\"field\":\"team\",\"from\":null,\"to\":\"Ten\"}]\n"
	  "Added to team Ten: this person is in a Slack group mapped to the team.\n-" },
	{ "team removal",
	  { .kind = PLAN_REMOVE_FROM_TEAM, .reason = PLAN_R_NOT_IN_MAPPED_GROUP, .user_id = 3,
	    .team_id = 10, .team_name = "Équipe 工程" },
	  "succeeded", 0, 0, NULL,
	  "succeeded\nteam_membership\n[{\"field\":\"team\",\"from\":\"Équipe 工程\",\"to\":null}]\n"
	  "Removed from team Équipe 工程: this person is no longer in any Slack group mapped to the"
	  " team. Memberships added by hand are never removed.\n-" },
	{ "update to a stored picture: the product's address, never the provider's",
	  { .kind = PLAN_UPDATE, .reason = PLAN_R_PROFILE_CHANGED, .user_id = 3,
	    .changes = pic_changes, .n_changes = 1, .picture = &stored },
	  "succeeded", 0, 0, NULL,
	  "succeeded\npicture\n"
	  "[{\"field\":\"picture\",\"from\":\"https://hr.example/pictures/old.png\","
	  "\"to\":\"https://hr.example/pictures/ab.png\"}]\n"
	  "Updated from Slack: picture.\n-" },
	{ "update whose only change, a picture, was not stored: skipped, says why",
	  { .kind = PLAN_UPDATE, .reason = PLAN_R_PROFILE_CHANGED, .user_id = 3,
	    .changes = pic_changes, .n_changes = 1, .picture = &not_stored },
	  "skipped", 0, 0, NULL,
	  "skipped\n\n[]\n"
	  "Not updated: the new picture was not stored, because the picture could not be downloaded"
	  " from Slack (HTTP 404). The previous picture stays, and the next sync tries again.\n-" },
	{ "update with a title and a picture not stored: the title only",
	  { .kind = PLAN_UPDATE, .reason = PLAN_R_PROFILE_CHANGED, .user_id = 3,
	    .changes = pic_title_changes, .n_changes = 2, .picture = &not_stored },
	  "succeeded", 0, 0, NULL,
	  "succeeded\njob_title\n[{\"field\":\"job_title\",\"from\":\"\",\"to\":\"Countess\"}]\n"
	  "Updated from Slack: job title. The new picture was not stored, because the picture could"
	  " not be downloaded from Slack (HTTP 404); the previous one stays, and the next sync tries"
	  " again.\n-" },
	{ "team addition of a person whose create failed: skipped, pointing to it",
	  { .kind = PLAN_ADD_TO_TEAM, .reason = PLAN_R_ACCOUNT_NOT_CREATED, .team_id = 10,
	    .team_name = "Ten", .slack_user_id = "U9" },
	  "skipped", 0, 0, NULL,
	  "skipped\n\n[]\n"
	  "Not added to team Ten: this person's account could not be created in this sync (the failed"
	  " create row says why), so they cannot join the team yet. The next sync adds them once the"
	  " account exists.\n-" },
};

static void render(struct buf *t, const struct sync_report_row *r)
{
	buf_printf(t, "%s\n%s\n%s\n", r->outcome, buf_cstr(&r->t.changed),
		   pjson_text(r->t.changes, NULL));
	buf_printf(t, "%s\n%s", buf_cstr(&r->details), r->payload ? pjson_text(r->payload, NULL) : "-");
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct row_case *c = &cases[i];
		struct sync_report_row r;
		struct buf t, want;

		buf_init(&t, 1 << 16);
		buf_init(&want, 1 << 16);
		assert_int_equal(sync_report_row_build(&r, &c->a, c->outcome, c->a.user_id, c->planned,
						       c->invites, c->failure), 0);
		render(&t, &r);
		buf_puts(&want, c->want);
		if (strcmp(buf_cstr(&t), buf_cstr(&want)) != 0)
			fail_msg("case \"%s\": got\n%s\nwanted\n%s", c->name, buf_cstr(&t), buf_cstr(&want));
		sync_report_row_release(&r);
		sync_report_row_release(&r);  /* twice is harmless */
		buf_release(&t);
		buf_release(&want);
	}
}

static void test_payload_reads_back(void **state)
{
	struct plan_change changes[PLAN_FIELD_COUNT];
	struct sync_report_row r;
	struct sync_act back;
	json_object *p;

	(void)state;
	assert_int_equal(sync_report_row_build(&r, &cases[4].a, "planned", 7, 1, 0, NULL), 0);
	assert_int_equal(sync_act_from_payload(r.payload, 42, &back, changes, PLAN_FIELD_COUNT), 0);
	assert_int_equal(back.kind, PLAN_DEACTIVATE);
	assert_int_equal(back.reason, PLAN_R_LEFT_SCOPE);
	assert_int_equal(back.row_id, 42);
	assert_int_equal(back.user_id, 7);
	assert_string_equal(back.slack_user_id, "U7");
	assert_int_equal(back.n_changes, 1);
	assert_int_equal(back.changes[0].field, PLAN_F_STATUS);
	assert_string_equal(back.changes[0].to, "deactivated");
	/* The fields cut to fit travel by name. */
	{
		struct sync_act cut = cases[2].a;
		struct sync_report_row rc2;

		assert_int_equal(sync_report_row_build(&rc2, &cut, "planned", 0, 1, 0, NULL), 0);
		assert_non_null(strstr(pjson_text(rc2.payload, NULL),
					"\"shortened\":[\"display_name\",\"job_title\"]"));
		assert_int_equal(sync_act_from_payload(rc2.payload, 1, &back, changes, PLAN_FIELD_COUNT), 0);
		assert_int_equal(back.shortened, cut.shortened);
		sync_report_row_release(&rc2);
	}
	/* More changes than room: refused, not cut. */
	assert_int_equal(sync_act_from_payload(r.payload, 42, &back, changes, 0), PV_EINVAL);
	sync_report_row_release(&r);
	/* Ordinals (the old format) and unknown names are refused. */
	p = json_tokener_parse("{\"kind\":2,\"reason\":6,\"changes\":[]}");
	assert_int_equal(sync_act_from_payload(p, 1, &back, changes, PLAN_FIELD_COUNT), PV_EINVAL);
	json_object_put(p);
	p = json_tokener_parse("{\"kind\":\"deactivate\",\"reason\":\"left_scope\","
			       "\"changes\":[{\"f\":\"shoe_size\",\"from\":\"1\",\"to\":\"2\"}]}");
	assert_int_equal(sync_act_from_payload(p, 1, &back, changes, PLAN_FIELD_COUNT), PV_EINVAL);
	json_object_put(p);
}

static void test_values_cut_to_their_columns(void **state)
{
	char email[400], team[500];
	struct sync_act a = { .kind = PLAN_SKIP, .reason = PLAN_R_NO_EMAIL };
	struct sync_report_row r;
	struct db_param p[SYNC_REPORT_ROW_PARAMS];

	(void)state;
	memset(email, 'e', sizeof(email) - 1);
	email[sizeof(email) - 1] = '\0';
	/* 249 two-byte characters: cut by characters, never inside one. */
	for (size_t i = 0; i + 2 < sizeof(team); i += 2)
		memcpy(team + i, "\xc3\xa9", 2);
	team[sizeof(team) - 2] = '\0';
	a.user_email = email;
	a.team_name = team;
	a.user_name = "short";
	assert_int_equal(sync_report_row_build(&r, &a, "skipped", 0, 0, 0, NULL), 0);
	assert_int_equal(strlen(r.email), 254);
	assert_null(r.name);  /* fits: the act's own value is used */
	assert_int_equal(strlen(r.team), 400);  /* 200 characters of 2 bytes */
	sync_report_row_params(&r, 5, 6, p);
	assert_int_equal(p[0].i, 5);
	assert_int_equal(p[1].i, 6);
	assert_string_equal(p[2].s, "skip");
	assert_string_equal(p[3].s, "no_email");
	assert_ptr_equal(p[7].s, r.email);
	assert_string_equal(p[8].s, "short");
	assert_ptr_equal(p[11].s, r.team);
	sync_report_row_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_payload_reads_back),
		cmocka_unit_test(test_values_cut_to_their_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
