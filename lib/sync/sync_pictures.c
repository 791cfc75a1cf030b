/*
 * sync_pictures.c - the picture step of a sync; see sync_pictures.h.
 */
#include "sync/sync_pictures.h"

#include "core/err.h"
#include "core/log.h"
#include "directory/picture_store.h"
#include "provider/slack/slack_picture.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One writer's side: its own fetcher, made at its first picture. */
struct picture_worker {
	struct sync_pictures *owner;
	struct slack_picture_fetcher f;
	int ready;
	int first;                  /* the first writer: keeps the lease */
};

struct sync_pictures {
	struct picture_store store;
	int store_ok;
	struct picture_worker w[2];
	int (*tick)(void *arg);
	void *tick_arg;
	atomic_size_t asked, stored;
};

int sync_pictures_open(struct sync_pictures **out, const struct config *cfg,
		       int (*tick)(void *arg), void *tick_arg)
{
	struct sync_pictures *p = calloc(1, sizeof(*p));
	const char *dir = config_get(cfg, "pictures.dir");
	char prefix[512];
	int n;

	*out = NULL;
	if (!p)
		return PV_ENOMEM;
	p->tick = tick;
	p->tick_arg = tick_arg;
	for (int i = 0; i < 2; i++) {
		p->w[i].owner = p;
		p->w[i].first = i == 0;
	}
	n = snprintf(prefix, sizeof(prefix), "%s/pictures/", config_get(cfg, "app.base_url"));
	if (n < 0 || (size_t)n >= sizeof(prefix))
		log_error("pictures: app.base_url is too long; no picture is stored");
	else if (picture_store_open(&p->store, dir ? dir : "", prefix) < 0)
		log_error("pictures: the folder %s cannot be written; no picture is stored until it"
			  " can be", dir ? dir : "(pictures.dir not set)");
	else
		p->store_ok = 1;
	*out = p;
	return 0;
}

void sync_pictures_free(struct sync_pictures *p)
{
	if (!p)
		return;
	for (int i = 0; i < 2; i++)
		if (p->w[i].ready)
			slack_picture_fetcher_release(&p->w[i].f);
	free(p);
}

static void fetch(void *arg, const char *source_url, struct sync_picture *out)
{
	struct picture_worker *w = arg;
	struct sync_pictures *p = w->owner;
	struct slack_picture_urls urls;
	int rc;

	memset(out, 0, sizeof(*out));
	atomic_fetch_add(&p->asked, 1);
	if (!p->store_ok) {
		snprintf(out->why, sizeof(out->why), "the pictures folder cannot be written");
		return;
	}
	/* Between the first writer's fetches: a batch of slow pictures must
	 * not outlast the lease.  A lost lease ends the run at its next
	 * fence; until then nothing more is fetched. */
	if (w->first && p->tick && p->tick(p->tick_arg) < 0) {
		snprintf(out->why, sizeof(out->why), "the sync stopped");
		return;
	}
	if (!w->ready) {
		rc = slack_picture_fetcher_init(&w->f, 0, 0);
		if (rc < 0) {
			slack_picture_fetcher_release(&w->f);
			snprintf(out->why, sizeof(out->why), "there was not enough memory to download it");
			return;
		}
		w->ready = 1;
	}
	rc = slack_picture_import(&w->f, &p->store, source_url, &urls, out->why, sizeof(out->why));
	if (rc < 0) {
		if (!out->why[0])
			snprintf(out->why, sizeof(out->why), "%s", pv_strerror(rc));
		return;
	}
	/* Both are the store's URLs (prefix + a 72-byte name): they fit. */
	snprintf(out->url, sizeof(out->url), "%s", urls.small);
	snprintf(out->large_url, sizeof(out->large_url), "%s", urls.large);
	out->stored = 1;
	atomic_fetch_add(&p->stored, 1);
}

void sync_pictures_attach(struct sync_pictures *p, struct sync_apply_ctx *ctx)
{
	ctx->picture = p ? fetch : NULL;
	ctx->picture_arg = p ? &p->w[0] : NULL;
	ctx->picture_arg_helper = p ? &p->w[1] : NULL;
}

void sync_pictures_counts(const struct sync_pictures *p, size_t *asked, size_t *stored)
{
	*asked = p ? atomic_load(&p->asked) : 0;
	*stored = p ? atomic_load(&p->stored) : 0;
}
