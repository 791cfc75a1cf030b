/*
 * fuzz_slack_decode.c - libFuzzer target: Slack's answers as the client
 * decodes them, through slack.h's public decoders only (the client's file
 * layout is changing on another branch; its public contract is not).
 *
 * The input is an answer body.  slack_decode_envelope judges it; an ok
 * answer's "members" (users.list), "user" (users.info), "usergroups"
 * (usergroups.list), "users" (usergroups.users.list: ids) and "team"
 * (team.info) are decoded as the client would, and the page cursor
 * (response_metadata.next_cursor) is read the way the users iterator reads
 * it.  Checks, beyond the sanitizers: a refusal has a kind, a code unless
 * Slack's ok:false came without "error" (found by this target: the code is
 * then "", see tests/RELIABILITY.md), bounded strings, and no object; a decoded user or group always has a non-empty id; a
 * decoder's refusal leaves its struct zeroed.
 */
#include "core/err.h"
#include "core/pjson.h"
#include "provider/slack/slack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void users(json_object *arr)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct slack_user u;
		int rc;

		memset(&u, 0, sizeof(u));
		rc = slack_decode_user(json_object_array_get_idx(arr, i), &u);
		if (rc == 0) {
			if (!u.id || !*u.id)
				abort();
			slack_user_release(&u);
		} else if (!all_zero(&u, sizeof(u)) || (rc != PV_EINVAL && rc != PV_ENOMEM)) {
			abort();
		}
	}
}

static void groups(json_object *arr)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct slack_group g;
		int rc;

		memset(&g, 0, sizeof(g));
		rc = slack_decode_group(json_object_array_get_idx(arr, i), &g);
		if (rc == 0) {
			if (!g.id || !*g.id || (g.n_user_ids && !g.user_ids))
				abort();
			for (size_t k = 0; k < g.n_user_ids; k++)
				if (!g.user_ids[k])
					abort();
			slack_group_release(&g);
		} else if (!all_zero(&g, sizeof(g))) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slack_error err;
	json_object *o = NULL, *v, *meta;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = slack_decode_envelope((const char *)data, size, &o, &err);
	if (rc < 0) {
		if (o || err.kind == SLACK_ERR_NONE ||
		    (err.code[0] == '\0' && err.kind != SLACK_ERR_FATAL) ||
		    memchr(err.code, '\0', sizeof(err.code)) == NULL ||
		    memchr(err.message, '\0', sizeof(err.message)) == NULL ||
		    memchr(err.needed, '\0', sizeof(err.needed)) == NULL)
			abort();
		(void)slack_error_kind_name(err.kind);
		return 0;
	}
	if (!o)
		abort();
	if (json_object_object_get_ex(o, "members", &v) && json_object_is_type(v, json_type_array))
		users(v);
	if (json_object_object_get_ex(o, "user", &v)) {
		struct slack_user u;

		memset(&u, 0, sizeof(u));
		if (slack_decode_user(v, &u) == 0)
			slack_user_release(&u);
	}
	if (json_object_object_get_ex(o, "usergroups", &v) && json_object_is_type(v, json_type_array))
		groups(v);
	if (json_object_object_get_ex(o, "team", &v)) {
		struct slack_team t;

		memset(&t, 0, sizeof(t));
		if (slack_decode_team(v, &t) == 0)
			slack_team_release(&t);
		else if (!all_zero(&t, sizeof(t)))
			abort();
	}
	/* The cursor of a page, read as the users iterator does: a string, or
	 * the end of the list when absent, empty or of another type. */
	if (pjson_get_obj(o, "response_metadata", &meta) == 0) {
		const char *cursor = NULL;

		if (pjson_get_str(meta, "next_cursor", &cursor) == 0 && cursor)
			(void)strlen(cursor);
	}
	json_object_put(o);
	return 0;
}
