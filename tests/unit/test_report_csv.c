/* Unit tests of lib/report_csv (RFC 4180 writer, formula neutralisation) and
 * of the report's CSV layout and filter parsing in lib/report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "report/report.h"
#include "report/report_csv.h"

struct cell_case {
	const char *in;      /* NULL: SQL NULL */
	const char *out;
};

static const struct cell_case cells[] = {
	{ NULL, "" },
	{ "", "" },
	{ "plain", "plain" },
	{ "a b", "a b" },
	{ " padded ", " padded " },
	{ "a,b", "\"a,b\"" },
	{ ",", "\",\"" },
	{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
	{ "\"", "\"\"\"\"" },
	{ "\"\"", "\"\"\"\"\"\"" },
	{ "line1\nline2", "\"line1\nline2\"" },
	{ "line1\rline2", "\"line1\rline2\"" },
	{ "line1\r\nline2", "\"line1\r\nline2\"" },
	{ "end\n", "\"end\n\"" },
	{ "tab\tinside", "tab\tinside" },
	{ "semi;colon", "semi;colon" },
	{ "O'Brien", "O'Brien" },
	/* UTF-8 passes through untouched: 2-, 3- and 4-byte sequences. */
	{ "Siobh\xc3\xa1n", "Siobh\xc3\xa1n" },
	{ "\xe6\x9d\xb1\xe4\xba\xac", "\xe6\x9d\xb1\xe4\xba\xac" },                 /* 東京 */
	{ "\xf0\x9f\x8e\x89 party \xf0\xa0\xae\xb7", "\xf0\x9f\x8e\x89 party \xf0\xa0\xae\xb7" }, /* 🎉 𠮷 */
	{ "\xf0\x9f\x98\x80,\"x\"", "\"\xf0\x9f\x98\x80,\"\"x\"\"\"" },
	/* Each formula prefix is neutralised with a single quote. */
	{ "=SUM(A1:A9)", "'=SUM(A1:A9)" },
	{ "+1", "'+1" },
	{ "-1", "'-1" },
	{ "@x", "'@x" },
	{ "\tcmd", "'\tcmd" },
	{ "\rcmd", "\"'\rcmd\"" },           /* neutralised, then quoted for the CR */
	{ "=1,2", "\"'=1,2\"" },
	{ "=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"" },
	{ "-", "'-" },
	{ "=", "'=" },
	/* Only the first character counts. */
	{ "a=1", "a=1" },
	{ " =1", " =1" },
	{ "'=1", "'=1" },
	{ "\n=1", "\"\n=1\"" },
};

static void test_cells_are_escaped_and_neutralised(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		buf_reset(&b);
		assert_int_equal(report_csv_cell(&b, cells[i].in), 0);
		if (strcmp(buf_cstr(&b), cells[i].out) != 0)
			fail_msg("case %zu: [%s] -> [%s], expected [%s]", i,
				 cells[i].in ? cells[i].in : "(null)", buf_cstr(&b), cells[i].out);
	}
	buf_release(&b);
}

static void test_formula_detection(void **state)
{
	static const struct {
		const char *s;
		int formula;
	} t[] = {
		{ NULL, 0 }, { "", 0 }, { "=", 1 }, { "+", 1 }, { "-", 1 }, { "@", 1 },
		{ "\t", 1 }, { "\r", 1 }, { "\n", 0 }, { "a", 0 }, { "'", 0 }, { "1", 0 },
		{ "\xef\xbc\x9d", 0 },  /* fullwidth equals: not a formula in CSV */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (report_csv_is_formula(t[i].s) != t[i].formula)
			fail_msg("case %zu", i);
}

static void test_rows_join_with_commas_and_end_with_crlf(void **state)
{
	static const struct {
		const char *cells[4];
		size_t n;
		const char *out;
	} t[] = {
		{ { "a", "b", "c" }, 3, "a,b,c\r\n" },
		{ { NULL, "", NULL }, 3, ",,\r\n" },
		{ { "" }, 1, "\r\n" },
		{ { NULL }, 0, "\r\n" },
		{ { "x,y", "=1", "q\"", "\xf0\x9f\x9a\x80" }, 4,
		  "\"x,y\",'=1,\"q\"\"\",\xf0\x9f\x9a\x80\r\n" },
		{ { "two\r\nlines", "-2" }, 2, "\"two\r\nlines\",'-2\r\n" },
	};
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		assert_int_equal(report_csv_row(&b, t[i].cells, t[i].n), 0);
		if (strcmp(buf_cstr(&b), t[i].out) != 0)
			fail_msg("case %zu: got [%s]", i, buf_cstr(&b));
	}
	buf_release(&b);
}

static void test_a_full_buffer_is_an_error(void **state)
{
	const char *row[] = { "abcdef", "ghijkl" };
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(report_csv_cell(&b, "12345678"), 0);
	assert_int_equal(report_csv_cell(&b, "9"), PV_ETOOBIG);
	buf_reset(&b);
	assert_int_equal(report_csv_row(&b, row, 2), PV_ETOOBIG);
	buf_reset(&b);
	assert_int_equal(report_csv_cell(&b, "a\"b\"c\"d"), PV_ETOOBIG); /* 12 bytes quoted */
	buf_release(&b);
}

static void test_report_header_and_action_rows(void **state)
{
	static const struct {
		struct report_action a;
		const char *out;
	} t[] = {
		{ { .id = 7, .created_at = "2026-01-02T03:04:05Z", .action = "update",
		    .outcome = "succeeded", .user_name = "Ann Lee", .user_email = "ann@x.test",
		    .slack_user_id = "U1", .details = "Updated Ann's name.",
		    .changes_json = "[{\"field\":\"first_name\",\"from\":\"An\",\"to\":\"Ann\"},"
				    "{\"field\":\"job_title\",\"from\":null,\"to\":\"=CEO\"}]" },
		  "7,2026-01-02T03:04:05Z,Update user,Succeeded,Ann Lee,ann@x.test,U1,,"
		  "\"First name\nJob title\",\"An\n\",\"Ann\n=CEO\",Updated Ann's name.,update,"
		  "succeeded,\"first_name\njob_title\"\r\n" },
		{ { .id = 8, .created_at = "2026-01-02T03:04:05Z", .action = "add_to_team",
		    .outcome = "planned", .user_id = "3", .user_name = "=SUM(A1)", .team_name = "R&D, Paris",
		    .details = "-", .changes_json = "[{\"field\":\"team\",\"from\":null,"
						    "\"to\":\"R&D, Paris\"}]" },
		  "8,2026-01-02T03:04:05Z,Add to team,Planned (not applied),'=SUM(A1),,,"
		  "\"R&D, Paris\",Team,,\"R&D, Paris\",'-,add_to_team,planned,team\r\n" },
		{ { .id = 9, .action = "update", .outcome = "failed", .details = "x",
		    .changes_json = "[{\"field\":\"is_guest\",\"from\":false,\"to\":true}]" },
		  "9,,Update user,Failed,,,,,Guest,no,yes,x,update,failed,is_guest\r\n" },
		/* A code without a word (added to the engine later) shows as it is. */
		{ { .id = 12, .action = "merge", .outcome = "succeeded", .details = "y",
		    .changes_json = "[{\"field\":\"pronouns\",\"from\":1,\"to\":2.5}]" },
		  "12,,merge,Succeeded,,,,,pronouns,1,2.5,y,merge,succeeded,pronouns\r\n" },
		/* No user id nor e-mail, a name: the name shows, as in the JSON. */
		{ { .id = 11, .action = "skip", .outcome = "skipped", .user_name = "Ghost",
		    .slack_user_id = "U0G", .details = "Skipped Ghost." },
		  "11,,Skip,Skipped,Ghost,,U0G,,,,,Skipped Ghost.,skip,skipped,\r\n" },
		/* A broken changes_json reports no change rather than failing. */
		{ { .id = 10, .action = "skip", .outcome = "skipped", .details = "No e-mail.",
		    .changes_json = "{not json" },
		  "10,,Skip,Skipped,,,,,,,,No e-mail.,skip,skipped,\r\n" },
	};
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(report_csv_header(&b), 0);
	/* UTF-8's byte-order mark first, for Excel. */
	assert_string_equal(buf_cstr(&b), "\xEF\xBB\xBFID,Date (UTC),Action,Outcome,User name,"
			    "E-mail,Slack user ID,Team,Changed fields,Old values,New values,Details,"
			    "Action code,Outcome code,Changed field codes\r\n");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		assert_int_equal(report_action_csv(&b, &t[i].a), 0);
		if (strcmp(buf_cstr(&b), t[i].out) != 0)
			fail_msg("case %zu: got [%s]", i, buf_cstr(&b));
	}
	buf_release(&b);
}

static void test_filters_parse_and_name_the_bad_parameter(void **state)
{
	static const struct {
		const char *outcome, *changed;
		int rc;
		unsigned outcomes, changed_bits;
		const char *field;
	} t[] = {
		{ NULL, NULL, 0, 0, 0, NULL },
		{ "", "", 0, 0, 0, NULL },
		{ "failed", NULL, 0, REPORT_OUTCOME_FAILED, 0, NULL },
		{ "succeeded,skipped", NULL, 0, REPORT_OUTCOME_SUCCEEDED | REPORT_OUTCOME_SKIPPED, 0,
		  NULL },
		{ " planned , failed ", NULL, 0, REPORT_OUTCOME_PLANNED | REPORT_OUTCOME_FAILED, 0,
		  NULL },
		{ "failed,failed,", NULL, 0, REPORT_OUTCOME_FAILED, 0, NULL },
		{ NULL, "email,team_membership", 0, 0,
		  REPORT_CHANGED_EMAIL | REPORT_CHANGED_TEAM_MEMBERSHIP, NULL },
		{ "failed", "name", 0, REPORT_OUTCOME_FAILED, REPORT_CHANGED_NAME, NULL },
		{ NULL, "picture,job_title,status", 0, 0,
		  REPORT_CHANGED_PICTURE | REPORT_CHANGED_JOB_TITLE | REPORT_CHANGED_STATUS, NULL },
		{ "done", NULL, PV_EINVAL, 0, 0, "outcome" },
		{ "FAILED", NULL, PV_EINVAL, 0, 0, "outcome" },
		{ "failed;skipped", NULL, PV_EINVAL, 0, 0, "outcome" },
		{ "failed", "title", PV_EINVAL, 0, 0, "changed" },
		{ NULL, "name,'", PV_EINVAL, 0, 0, "changed" },
		{ NULL, "team", PV_EINVAL, 0, 0, "changed" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct report_filter f = { 99, 99, "" };
		const char *field, *why;
		int rc = report_filter_parse(&f, t[i].outcome, t[i].changed, &field, &why);

		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d", i, rc);
		if (rc == 0 && (f.outcomes != t[i].outcomes || f.changed != t[i].changed_bits))
			fail_msg("case %zu: outcomes %u changed %u", i, f.outcomes, f.changed);
		if (rc < 0) {
			assert_string_equal(field, t[i].field);
			assert_non_null(strstr(why, t[i].field));
		}
	}
}

static void test_person_search_is_an_escaped_like_pattern(void **state)
{
	static char long_ok[4 * 100 + 1], long_bad[101 + 1];
	static const struct {
		const char *q;  /* NULL: no parameter */
		int rc;
		const char *like;
	} t[] = {
		{ NULL, 0, "" },
		{ "", 0, "" },
		{ "   ", 0, "" },
		{ "olga", 0, "%olga%" },
		{ "  Ann Lee  ", 0, "%Ann Lee%" },
		{ "100%", 0, "%100\\%%" },
		{ "a_b", 0, "%a\\_b%" },
		{ "back\\slash", 0, "%back\\\\slash%" },
		{ "\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0", 0, "%\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0%" }, /* Ольга */
		{ "\xff\xfe", PV_EINVAL, "" },            /* not UTF-8 */
		{ "abc\xe6\x9d", PV_EINVAL, "" },         /* cut in a character */
		{ long_ok, 0, NULL },                      /* 100 four-byte characters */
		{ long_bad, PV_EINVAL, "" },               /* 101 characters */
	};

	(void)state;
	for (int i = 0; i < 100; i++)
		memcpy(long_ok + 4 * i, "\xf0\x9f\x98\x80", 4);
	memset(long_bad, 'x', 101);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct report_filter f = { 0, 0, "stale" };
		const char *why;
		int rc = report_filter_set_query(&f, t[i].q, &why);

		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d", i, rc);
		if (rc < 0) {
			assert_non_null(why);
			assert_non_null(strstr(why, "q "));
		} else if (t[i].like && strcmp(f.q_like, t[i].like) != 0) {
			fail_msg("case %zu: [%s], expected [%s]", i, f.q_like, t[i].like);
		} else if (!t[i].like) {
			assert_int_equal(strlen(f.q_like), 4 * 100 + 2);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cells_are_escaped_and_neutralised),
		cmocka_unit_test(test_formula_detection),
		cmocka_unit_test(test_rows_join_with_commas_and_end_with_crlf),
		cmocka_unit_test(test_a_full_buffer_is_an_error),
		cmocka_unit_test(test_report_header_and_action_rows),
		cmocka_unit_test(test_filters_parse_and_name_the_bad_parameter),
		cmocka_unit_test(test_person_search_is_an_escaped_like_pattern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
