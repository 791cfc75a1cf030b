/*
 * slack_methods.c - the Web API methods the product calls: auth.test,
 * team.info, users.info, the users.list iterator, usergroups.list,
 * usergroups.users.list and auth.revoke.  Each builds its query, calls
 * slack_call (slack_http.c) and decodes (slack_decode.c).  Contract in
 * slack.h.
 */
#include "provider/slack/slack_int.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Methods                                                                   */
/* ------------------------------------------------------------------------ */

void slack_auth_release(struct slack_auth *a)
{
	if (!a)
		return;
	free(a->url);
	free(a->team);
	free(a->team_id);
	free(a->user);
	free(a->user_id);
	free(a->bot_id);
	free(a->app_id);
	memset(a, 0, sizeof(*a));
}

int slack_auth_test(struct slack *s, struct slack_auth *out)
{
	json_object *root = NULL;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	rc = slack_call(s, "auth.test", NULL, NULL, 0, &root);
	if (rc < 0 || !out)
		goto out;
	rc = slack_copy_text(root, "url", &out->url);
	if (rc == 0)
		rc = slack_copy_text(root, "team", &out->team);
	if (rc == 0)
		rc = slack_copy_text(root, "team_id", &out->team_id);
	if (rc == 0)
		rc = slack_copy_text(root, "user", &out->user);
	if (rc == 0)
		rc = slack_copy_text(root, "user_id", &out->user_id);
	if (rc == 0)
		rc = slack_copy_text(root, "bot_id", &out->bot_id);
	if (rc == 0)
		rc = slack_copy_text(root, "app_id", &out->app_id);
	if (rc < 0) {
		slack_auth_release(out);
		rc = slack_nomem(s);
		goto out;
	}
	out->expires_in = (long)slack_count_of(root, "expires_in");
out:
	json_object_put(root);
	return rc;
}

int slack_team_info(struct slack *s, struct slack_team *out)
{
	json_object *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = slack_call(s, "team.info", NULL, NULL, 0, &root);
	if (rc < 0)
		goto out;
	rc = slack_decode_team(slack_member(root, "team"), out);
	if (rc == PV_EINVAL)
		rc = slack_bad_answer(s, "team");
	else if (rc < 0)
		rc = slack_nomem(s);
out:
	json_object_put(root);
	return rc;
}

int slack_user_info(struct slack *s, const char *user_id, struct slack_user *out)
{
	json_object *root = NULL;
	struct buf q;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(&q, SLACK_URL_MAX);
	if (!user_id || !*user_id) {
		memset(&s->err, 0, sizeof(s->err));
		slack_err_set(&s->err, SLACK_ERR_FATAL, "invalid_arguments", "no Slack user id given.");
		rc = PV_EINVAL;
		goto out;
	}
	rc = slack_add_param(&q, "user", user_id);
	if (rc < 0) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = slack_call(s, "users.info", &q, NULL, 0, &root);
	if (rc < 0)
		goto out;
	rc = slack_decode_user(slack_member(root, "user"), out);
	if (rc == PV_EINVAL)
		rc = slack_bad_answer(s, "user");
	else if (rc < 0)
		rc = slack_nomem(s);
out:
	json_object_put(root);
	buf_release(&q);
	return rc;
}

int slack_auth_revoke(struct slack *s)
{
	json_object *root = NULL;
	int rc;

	/* POST: it changes state; an empty form, the token is in the header. */
	rc = slack_call(s, "auth.revoke", NULL, "", 0, &root);
	json_object_put(root);
	if (rc == 0)
		log_info("slack: token %.5s… revoked", s->token ? s->token : "");
	return rc;
}

/* --- users.list iterator ---------------------------------------------- */

struct slack_users_iter {
	struct slack *s;
	int limit;
	char *cursor;            /* NULL for page 1 */
	int done;                /* 1: listing complete */
	int failed;              /* < 0: the error returned again */
	int restarts;
	unsigned long pages;
	struct slack_user *page; /* the current page, page[0..n) */
	size_t n, cap;
};

int slack_users_begin(struct slack *s, int limit, struct slack_users_iter **out)
{
	struct slack_users_iter *it;

	*out = NULL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return PV_ENOMEM;
	it->s = s;
	it->limit = limit <= 0 ? SLACK_USERS_LIMIT
		  : limit > SLACK_USERS_MAX_LIMIT ? SLACK_USERS_MAX_LIMIT : limit;
	*out = it;
	return 0;
}

static void iter_clear_page(struct slack_users_iter *it)
{
	for (size_t i = 0; i < it->n; i++)
		slack_user_release(&it->page[i]);
	it->n = 0;
}

/* Fetches one page for it->cursor into root. */
static int iter_fetch(struct slack_users_iter *it, json_object **root)
{
	struct buf q;
	char lim[16];
	int rc;

	buf_init(&q, SLACK_URL_MAX);
	snprintf(lim, sizeof(lim), "%d", it->limit);
	rc = slack_add_param(&q, "limit", lim);
	if (rc == 0 && it->cursor)
		rc = slack_add_param(&q, "cursor", it->cursor);
	if (rc < 0)
		rc = PV_ENOMEM;
	else
		rc = slack_call(it->s, "users.list", &q, NULL, 0, root);
	buf_release(&q);
	if (rc == 0)
		it->pages++;
	return rc;
}

int slack_users_next(struct slack_users_iter *it, struct slack_user **page, size_t *n)
{
	struct slack *s = it->s;
	json_object *root = NULL, *members;
	const char *next;
	size_t len, i;
	int rc;

	*page = NULL;
	*n = 0;
	iter_clear_page(it);
	if (it->failed)
		return it->failed;
	if (it->done)
		return 0;
	rc = iter_fetch(it, &root);
	if (rc == PV_EREMOTE && it->cursor && it->restarts == 0 &&
	    strcmp(s->err.code, "invalid_cursor") == 0) {
		/* §11.14: the cursor expired; start over once. */
		log_warn("slack: users.list: invalid_cursor after %lu pages; restarting "
			 "from page 1", it->pages);
		it->restarts++;
		free(it->cursor);
		it->cursor = NULL;
		rc = iter_fetch(it, &root);
	}
	if (rc < 0)
		goto out;
	members = slack_member(root, "members");
	if (!members || !json_object_is_type(members, json_type_array)) {
		rc = slack_bad_answer(s, "members");
		goto out;
	}
	len = json_object_array_length(members);
	if (len > it->cap) {
		struct slack_user *p = realloc(it->page, len * sizeof(*p));

		if (!p) {
			rc = slack_nomem(s);
			goto out;
		}
		it->page = p;
		it->cap = len;
	}
	for (i = 0; i < len; i++) {
		rc = slack_decode_user(json_object_array_get_idx(members, i), &it->page[i]);
		if (rc < 0) {
			rc = rc == PV_EINVAL ? slack_bad_answer(s, "member id") : slack_nomem(s);
			goto out;
		}
		it->n = i + 1;
	}
	next = slack_text_of(slack_member(slack_member(root, "response_metadata"), "next_cursor"));
	if (!next) {
		it->done = 1;
	} else if (it->cursor && strcmp(next, it->cursor) == 0) {
		slack_err_set(&s->err, SLACK_ERR_FATAL, "cursor_loop",
			"Slack's users.list returned the same cursor twice; the listing "
			"cannot finish.");
		rc = PV_EREMOTE;
		goto out;
	} else {
		char *c = strdup(next);

		if (!c) {
			rc = slack_nomem(s);
			goto out;
		}
		free(it->cursor);
		it->cursor = c;
	}
	*page = it->page;
	*n = it->n;
	rc = 1;
out:
	json_object_put(root);   /* the tree goes as soon as it is decoded */
	if (rc < 0) {
		iter_clear_page(it);
		it->failed = rc;
	}
	return rc;
}

void slack_users_end(struct slack_users_iter *it)
{
	if (!it)
		return;
	iter_clear_page(it);
	free(it->page);
	free(it->cursor);
	free(it);
}

int slack_users_restarts(const struct slack_users_iter *it)
{
	return it->restarts;
}

unsigned long slack_users_pages(const struct slack_users_iter *it)
{
	return it->pages;
}

/* --- user groups ------------------------------------------------------ */

void slack_groups_free(struct slack_group *groups, size_t n)
{
	for (size_t i = 0; groups && i < n; i++)
		slack_group_release(&groups[i]);
	free(groups);
}

void slack_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

int slack_groups_list(struct slack *s, int include_users, int include_disabled,
		      struct slack_group **out, size_t *n)
{
	json_object *root = NULL, *arr;
	struct slack_group *g = NULL;
	struct buf q;
	size_t len, i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	buf_init(&q, SLACK_URL_MAX);
	rc = slack_add_param(&q, "include_count", "true");
	if (rc == 0)
		rc = slack_add_param(&q, "include_users", include_users ? "true" : "false");
	if (rc == 0)
		rc = slack_add_param(&q, "include_disabled", include_disabled ? "true" : "false");
	if (rc < 0) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = slack_call(s, "usergroups.list", &q, NULL, 0, &root);
	if (rc < 0)
		goto out;
	arr = slack_member(root, "usergroups");
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		rc = slack_bad_answer(s, "usergroups");
		goto out;
	}
	len = json_object_array_length(arr);
	if (len) {
		g = calloc(len, sizeof(*g));
		if (!g) {
			rc = slack_nomem(s);
			goto out;
		}
	}
	for (i = 0; i < len; i++, k++) {
		rc = slack_decode_group(json_object_array_get_idx(arr, i), &g[i]);
		if (rc < 0) {
			rc = rc == PV_EINVAL ? slack_bad_answer(s, "usergroup id") : slack_nomem(s);
			goto out;
		}
	}
	*out = g;
	*n = len;
	g = NULL;
out:
	slack_groups_free(g, k);
	json_object_put(root);
	buf_release(&q);
	return rc;
}

int slack_group_members(struct slack *s, const char *group_id, char ***ids, size_t *n)
{
	json_object *root = NULL, *arr;
	struct buf q;
	int rc;

	*ids = NULL;
	*n = 0;
	buf_init(&q, SLACK_URL_MAX);
	if (!group_id || !*group_id) {
		memset(&s->err, 0, sizeof(s->err));
		slack_err_set(&s->err, SLACK_ERR_FATAL, "invalid_arguments",
			"no Slack user group id given.");
		rc = PV_EINVAL;
		goto out;
	}
	rc = slack_add_param(&q, "usergroup", group_id);
	if (rc == 0)
		rc = slack_add_param(&q, "include_disabled", "true");
	if (rc < 0) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = slack_call(s, "usergroups.users.list", &q, NULL, 0, &root);
	if (rc < 0)
		goto out;
	arr = slack_member(root, "users");
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		rc = slack_bad_answer(s, "users");
		goto out;
	}
	rc = slack_decode_ids(arr, ids, n);
	if (rc < 0)
		rc = slack_nomem(s);
out:
	json_object_put(root);
	buf_release(&q);
	return rc;
}
