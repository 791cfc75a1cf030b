/*
 * slack-client-probe - a small CLI over lib/provider/slack/slack.c for the integration
 * tests (tests/integration/test_slack_client.py): one Slack call per run,
 * plain text out.
 *
 *   slack-client-probe users TOKEN [LIMIT]        one id per line + summary
 *   slack-client-probe groups TOKEN [users] [disabled]
 *   slack-client-probe members TOKEN GROUP
 *   slack-client-probe team TOKEN
 *   slack-client-probe info TOKEN USER
 *   slack-client-probe auth TOKEN
 *   slack-client-probe revoke TOKEN
 *   slack-client-probe authorize-url SCOPES REDIRECT STATE
 *   slack-client-probe oauth CODE REDIRECT
 *   slack-client-probe refresh REFRESH_TOKEN
 *   slack-client-probe pictures TOKEN [LANES]     download (not store) the
 *       pictures a first sync stores: the page size and the larger one of
 *       every person with a picture, LANES (4) at a time; make bench's read
 *       limit of the picture step
 *
 * Configuration comes from the environment (SLACK_API_BASE,
 * SLACK_AUTHORIZE_URL, SLACK_CLIENT_ID, SLACK_CLIENT_SECRET); retry and
 * timeout settings from PROBE_ATTEMPTS, PROBE_BASE_MS, PROBE_CAP_MS,
 * PROBE_TIMEOUT_MS; log level from PROBE_LOG (default info).
 *
 * Exit 0 on success; 1 after printing "error rc=… kind=… code=… http=…
 * needed=… method=…" and "message=…" lines; 2 on bad usage.
 */
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "provider/slack/slack.h"
#include "provider/slack/slack_picture.h"
#include "provider/slack/slack_snapshot.h"
#include "snapshot/snapshot.h"

#include <pthread.h>
#include <stdatomic.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long env_long(const char *name, long fallback)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return fallback;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end ? fallback : n;
}

static const char *or_null(const char *s)
{
	return s ? s : "(null)";
}

static int report(int rc, const struct slack_error *e)
{
	printf("error rc=%d kind=%s code=%s http=%ld needed=%s method=%s\n", rc,
	       e ? slack_error_kind_name(e->kind) : "none", e ? e->code : "",
	       e ? e->http_status : 0L, e ? e->needed : "", e ? e->method : "");
	printf("message=%s\n", e ? e->message : pv_strerror(rc));
	return 1;
}

static void print_user(const struct slack_user *u)
{
	printf("id=%s\nteam_id=%s\nname=%s\nreal_name=%s\ndisplay_name=%s\n"
	       "first_name=%s\nlast_name=%s\nemail=%s\ntitle=%s\navatar_hash=%s\n"
	       "image_url=%s\n", u->id, or_null(u->team_id), or_null(u->name),
	       or_null(u->real_name), or_null(u->display_name), or_null(u->first_name),
	       or_null(u->last_name), or_null(u->email), or_null(u->title),
	       or_null(u->avatar_hash), or_null(u->image_url));
	printf("flags=%s%s%s%s%s%s%s%s%s\n", u->deleted ? "deleted," : "",
	       u->is_bot ? "bot," : "", u->is_app_user ? "app_user," : "",
	       u->is_restricted ? "restricted," : "",
	       u->is_ultra_restricted ? "ultra_restricted," : "",
	       u->is_admin ? "admin," : "", u->is_owner ? "owner," : "",
	       u->is_primary_owner ? "primary_owner," : "",
	       u->is_invited_user ? "invited," : "");
}

static int cmd_users(struct slack *s, int limit)
{
	struct slack_users_iter *it = NULL;
	struct slack_user *page;
	size_t n, total = 0, deleted = 0, bots = 0, emails = 0, guests = 0;
	int rc;

	rc = slack_users_begin(s, limit, &it);
	while (rc == 0 && (rc = slack_users_next(it, &page, &n)) == 1) {
		for (size_t i = 0; i < n; i++) {
			printf("%s\n", page[i].id);
			total++;
			deleted += page[i].deleted;
			bots += page[i].is_bot;
			emails += page[i].email != NULL;
			guests += page[i].is_restricted;
		}
		rc = 0;
	}
	if (rc == 0)
		printf("summary users=%zu pages=%lu restarts=%d deleted=%zu bots=%zu "
		       "emails=%zu guests=%zu\n", total, slack_users_pages(it),
		       slack_users_restarts(it), deleted, bots, emails, guests);
	slack_users_end(it);
	return rc;
}

/* The pictures step without the store: what each lane downloads. */
struct pic_job {
	char **urls;               /* two per person: the page size, the larger */
	size_t n;
	atomic_size_t next, bytes, failed;
};

static void *pic_lane(void *arg)
{
	struct pic_job *j = arg;
	struct slack_picture_fetcher f;
	char why[256];
	size_t i;

	if (slack_picture_fetcher_init(&f, 0, 0) < 0)
		return NULL;
	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		if (slack_picture_fetch(&f, j->urls[i], why, sizeof(why)) == 0)
			atomic_fetch_add(&j->bytes, f.body.len);
		else
			atomic_fetch_add(&j->failed, 1);
	}
	slack_picture_fetcher_release(&f);
	return NULL;
}

static int cmd_pictures(struct slack *s, int lanes)
{
	struct snapshot snap;
	struct pic_job j = { 0 };
	struct timespec t0, t1;
	pthread_t t[16];
	int rc, started = 0;

	lanes = lanes < 1 ? 4 : lanes > 16 ? 16 : lanes;
	if (snapshot_init(&snap) < 0)
		return PV_ENOMEM;
	/* The people as the sync's snapshot has them (slack_snapshot.c
	 * decides who is a person and who has a picture); whom a first sync
	 * creates: the people with an e-mail address. */
	rc = slack_snapshot_read_people(s, 200, &snap);
	j.urls = rc == 0 ? calloc(2 * snap.n_people + 1, sizeof(*j.urls)) : NULL;
	if (rc == 0 && !j.urls)
		rc = PV_ENOMEM;
	for (size_t i = 0; rc == 0 && i < snap.n_people; i++) {
		const struct snap_person *p = &snap.people[i];
		char small[SLACK_PICTURE_URL_MAX];

		if (!p->picture_url || p->deleted || p->not_a_person || !p->email)
			continue;
		slack_picture_size_url(p->picture_url, SLACK_PICTURE_SMALL, small, sizeof(small));
		j.urls[j.n] = strdup(small);
		j.urls[j.n + 1] = strdup(p->picture_url);
		if (!j.urls[j.n] || !j.urls[j.n + 1])
			rc = PV_ENOMEM;
		j.n += 2;
	}
	/* Only the downloads are timed: the listing is the read limit's. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; rc == 0 && k < lanes; k++)
		started += pthread_create(&t[started], NULL, pic_lane, &j) == 0;
	for (int k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0)
		printf("summary pictures=%zu bytes=%zu failed=%zu lanes=%d seconds=%.3f\n", j.n,
		       atomic_load(&j.bytes), atomic_load(&j.failed), started,
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (size_t i = 0; i < j.n; i++)
		free(j.urls[i]);
	free(j.urls);
	snapshot_release(&snap);
	return rc;
}

static int cmd_groups(struct slack *s, int users, int disabled)
{
	struct slack_group *g = NULL;
	size_t n = 0;
	int rc = slack_groups_list(s, users, disabled, &g, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		printf("%s\t%s\t%s\t%ld\t%d\t%zu", g[i].id, or_null(g[i].name),
		       or_null(g[i].handle), g[i].user_count, g[i].disabled, g[i].n_user_ids);
		for (size_t j = 0; j < g[i].n_user_ids; j++)
			printf("%c%s", j ? ',' : '\t', g[i].user_ids[j]);
		printf("\n");
	}
	if (rc == 0)
		printf("summary groups=%zu\n", n);
	slack_groups_free(g, n);
	return rc;
}

struct oauth_args {
	int refresh;       /* refresh: a = refresh token; else a = code, b = redirect */
	const char *a, *b;
};

static int cmd_oauth(const struct oauth_args *args, const struct config *cfg)
{
	struct slack_oauth o;
	struct slack_error err;
	int rc;

	if (args->refresh)
		rc = slack_oauth_refresh_ex(cfg, args->a, &o, &err);
	else
		rc = slack_oauth_access_ex(cfg, args->a, args->b, &o, &err);
	if (rc < 0)
		return report(rc, &err);
	printf("access_token=%s\nrefresh_token=%s\nscope=%s\nteam_id=%s\nteam_name=%s\n"
	       "bot_user_id=%s\napp_id=%s\nauthed_user_id=%s\nexpires_in=%ld\n",
	       o.access_token, or_null(o.refresh_token), or_null(o.scope),
	       or_null(o.team_id), or_null(o.team_name), or_null(o.bot_user_id),
	       or_null(o.app_id), or_null(o.authed_user_id), o.expires_in);
	slack_oauth_release(&o);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: slack-client-probe users|groups|members|team|info|auth|"
		"revoke TOKEN [ARGS] | authorize-url SCOPES REDIRECT STATE | "
		"oauth CODE REDIRECT | refresh REFRESH_TOKEN\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct slack *s = NULL;
	enum log_level level = LOG_LVL_INFO;
	const char *cmd, *lvl = getenv("PROBE_LOG");
	char cerr[256];
	int rc, status = 0;

	log_init("slack-client-probe");
	if (lvl && log_parse_level(lvl, &level) == 0)
		log_set_level(level);
	if (argc < 3)
		return usage();
	cmd = argv[1];
	rc = config_parse(&cfg, "", cerr, sizeof(cerr));
	if (rc < 0) {
		fprintf(stderr, "%s\n", cerr);
		return 2;
	}
	if (strcmp(cmd, "authorize-url") == 0) {
		struct buf b;

		if (argc != 5) {
			status = usage();
			goto out;
		}
		buf_init(&b, 8192);
		rc = slack_authorize_url(cfg, argv[2], argv[3], argv[4], &b);
		if (rc == 0)
			printf("%s\n", buf_cstr(&b));
		else
			status = report(rc, NULL);
		buf_release(&b);
		goto out;
	}
	if (strcmp(cmd, "oauth") == 0 || strcmp(cmd, "refresh") == 0) {
		struct oauth_args a = { cmd[0] == 'r', argv[2], argc > 3 ? argv[3] : NULL };

		status = cmd_oauth(&a, cfg);
		goto out;
	}
	rc = slack_new(&s, cfg, argv[2]);
	if (rc < 0) {
		status = report(rc, NULL);
		goto out;
	}
	slack_set_retry(s, (int)env_long("PROBE_ATTEMPTS", SLACK_DEFAULT_ATTEMPTS),
			(int)env_long("PROBE_BASE_MS", SLACK_DEFAULT_BASE_MS),
			(int)env_long("PROBE_CAP_MS", SLACK_DEFAULT_CAP_MS));
	slack_set_timeout(s, env_long("PROBE_TIMEOUT_MS", SLACK_DEFAULT_TIMEOUT_MS));

	if (strcmp(cmd, "pictures") == 0) {
		rc = cmd_pictures(s, argc > 3 ? (int)strtol(argv[3], NULL, 10) : 4);
	} else if (strcmp(cmd, "users") == 0) {
		rc = cmd_users(s, argc > 3 ? (int)strtol(argv[3], NULL, 10) : 0);
	} else if (strcmp(cmd, "groups") == 0) {
		rc = cmd_groups(s, argc > 3 && strcmp(argv[3], "users") == 0,
				(argc > 3 && strcmp(argv[argc - 1], "disabled") == 0));
	} else if (strcmp(cmd, "members") == 0 && argc == 4) {
		char **ids = NULL;
		size_t n = 0;

		rc = slack_group_members(s, argv[3], &ids, &n);
		for (size_t i = 0; rc == 0 && i < n; i++)
			printf("%s\n", ids[i]);
		if (rc == 0)
			printf("summary members=%zu\n", n);
		slack_ids_free(ids, n);
	} else if (strcmp(cmd, "team") == 0) {
		struct slack_team t;

		rc = slack_team_info(s, &t);
		if (rc == 0)
			printf("id=%s\nname=%s\ndomain=%s\nemail_domain=%s\n", t.id,
			       or_null(t.name), or_null(t.domain), or_null(t.email_domain));
		slack_team_release(&t);
	} else if (strcmp(cmd, "info") == 0 && argc == 4) {
		struct slack_user u;

		rc = slack_user_info(s, argv[3], &u);
		if (rc == 0)
			print_user(&u);
		slack_user_release(&u);
	} else if (strcmp(cmd, "auth") == 0) {
		struct slack_auth a;

		rc = slack_auth_test(s, &a);
		if (rc == 0)
			printf("team_id=%s\nteam=%s\nuser_id=%s\nbot_id=%s\nurl=%s\n",
			       or_null(a.team_id), or_null(a.team), or_null(a.user_id),
			       or_null(a.bot_id), or_null(a.url));
		slack_auth_release(&a);
	} else if (strcmp(cmd, "revoke") == 0) {
		rc = slack_auth_revoke(s);
		if (rc == 0)
			printf("revoked\n");
	} else {
		status = usage();
		goto out;
	}
	if (rc < 0)
		status = report(rc, slack_last_error(s));
out:
	slack_free(s);
	config_free(cfg);
	return status;
}
