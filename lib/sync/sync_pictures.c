/*
 * sync_pictures.c - the picture step of a sync; see sync_pictures.h.
 */
#include "sync/sync_pictures.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "directory/picture_store.h"
#include "provider/slack/slack_picture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct picture_pool;

/* A batch's downloads, shared by the lanes of one pool. */
struct batch {
	struct picture_pool *pool;
	const char *const *urls;
	size_t n;
	struct sync_picture *out;
	atomic_size_t next;
	atomic_int stopped;         /* the lease is lost: fetch nothing more */
};

struct lane {
	struct batch *b;
	int k;
	int on_caller;              /* run by the waiting writer itself */
};

/* One writer's downloads: SYNC_PICTURES_PARALLEL fetchers, each made at
 * its first picture and kept for the next batches, and the batch in
 * flight between begin_many and wait_many. */
struct picture_pool {
	struct sync_pictures *owner;
	struct slack_picture_fetcher f[SYNC_PICTURES_PARALLEL];
	int ready[SYNC_PICTURES_PARALLEL];
	int first;                  /* the first writer's: keeps the lease */
	struct batch b;
	struct lane lanes[SYNC_PICTURES_PARALLEL];
	pthread_t threads[SYNC_PICTURES_PARALLEL];
	int started[SYNC_PICTURES_PARALLEL];
	size_t want;                /* lanes of the batch in flight */
	pthread_mutex_t mu;
	pthread_cond_t done;        /* a started lane has finished */
	size_t running;             /* started lanes not finished (under mu) */
};

struct sync_pictures {
	struct picture_store store;
	int store_ok;
	char hosts[512];            /* pictures.hosts, for every fetcher */
	struct picture_pool pool[2];
	int (*tick)(void *arg);
	void *tick_arg;
	atomic_size_t asked, stored;
	atomic_llong fetch_ms, flush_ms;  /* the writers' waits, and the flushes in them */
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
	snprintf(p->hosts, sizeof(p->hosts), "%s",
		 config_get(cfg, "pictures.hosts") ? config_get(cfg, "pictures.hosts") : "");
	for (int i = 0; i < 2; i++) {
		pthread_condattr_t ca;

		p->pool[i].owner = p;
		p->pool[i].first = i == 0;
		/* The wait is timed on the monotonic clock: the lease is too. */
		pthread_mutex_init(&p->pool[i].mu, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->pool[i].done, &ca);
		pthread_condattr_destroy(&ca);
	}
	n = snprintf(prefix, sizeof(prefix), "%s/pictures/", config_get(cfg, "app.base_url"));
	if (n < 0 || (size_t)n >= sizeof(prefix))
		log_error("pictures: app.base_url is too long; no picture is stored");
	else if (picture_store_open(&p->store, dir ? dir : "", prefix) < 0)
		log_error("pictures: the folder %s cannot be written; no picture is stored until it"
			  " can be", dir ? dir : "(pictures.dir not set)");
	else
		p->store_ok = 1;
	p->store.deferred = 1;  /* one flush per batch: wait_many */
	*out = p;
	return 0;
}

void sync_pictures_free(struct sync_pictures *p)
{
	if (!p)
		return;
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < SYNC_PICTURES_PARALLEL; k++)
			if (p->pool[i].ready[k])
				slack_picture_fetcher_release(&p->pool[i].f[k]);
		pthread_cond_destroy(&p->pool[i].done);
		pthread_mutex_destroy(&p->pool[i].mu);
	}
	free(p);
}

/* One picture with fetcher k of pool. */
static void fetch_one(struct picture_pool *pool, int k, const char *source_url,
		      struct sync_picture *out)
{
	struct sync_pictures *p = pool->owner;
	struct slack_picture_urls urls;
	int rc;

	atomic_fetch_add(&p->asked, 1);
	if (!p->store_ok) {
		snprintf(out->why, sizeof(out->why), "the pictures folder cannot be written");
		return;
	}
	if (!pool->ready[k]) {
		rc = slack_picture_fetcher_init(&pool->f[k], 0, 0);
		if (rc < 0) {
			slack_picture_fetcher_release(&pool->f[k]);
			snprintf(out->why, sizeof(out->why), "there was not enough memory to download it");
			return;
		}
		pool->ready[k] = 1;
		pool->f[k].hosts = p->hosts;
	}
	rc = slack_picture_import(&pool->f[k], &p->store, source_url, &urls, out->why,
				  sizeof(out->why));
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

static void lane_run(struct lane *l)
{
	struct batch *b = l->b;
	struct sync_pictures *p = b->pool->owner;
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->n) {
		/* A lane the writer runs itself (its thread could not start)
		 * keeps the lease between downloads, as the wait does. */
		if (l->on_caller && b->pool->first && p->tick && p->tick(p->tick_arg) < 0)
			atomic_store(&b->stopped, 1);
		if (atomic_load(&b->stopped)) {
			snprintf(b->out[i].why, sizeof(b->out[i].why), "the sync stopped");
			continue;
		}
		fetch_one(b->pool, l->k, b->urls[i], &b->out[i]);
	}
}

static void *lane_thread(void *arg)
{
	struct lane *l = arg;
	struct picture_pool *pool = l->b->pool;

	lane_run(l);
	pthread_mutex_lock(&pool->mu);
	pool->running--;
	pthread_cond_signal(&pool->done);
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

/* The batch's new pictures made durable before any user names them; if
 * that fails, none of them counts as stored (the next sync tries again). */
static void flush_batch(struct sync_pictures *p, struct sync_picture *out, size_t n)
{
	size_t stored = 0;
	long long start = clock_mono_ms();
	int rc;

	for (size_t i = 0; i < n; i++)
		stored += out[i].stored;
	if (stored == 0)
		return;
	rc = picture_store_flush(&p->store);
	atomic_fetch_add(&p->flush_ms, clock_mono_ms() - start);
	if (rc == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!out[i].stored)
			continue;
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].why, sizeof(out[i].why), "the pictures folder could not be written to disk");
	}
	atomic_fetch_sub(&p->stored, stored);
}

/* sync_picture_begin_fn: each lane on a thread of its own, and back. */
static void begin_many(void *arg, const char *const *urls, size_t n, struct sync_picture *out)
{
	struct picture_pool *pool = arg;

	pool->b = (struct batch){ .pool = pool, .urls = urls, .n = n, .out = out };
	atomic_init(&pool->b.next, 0);
	atomic_init(&pool->b.stopped, 0);
	pool->want = n < SYNC_PICTURES_PARALLEL ? n : SYNC_PICTURES_PARALLEL;
	pool->running = 0;
	for (size_t k = 0; k < pool->want; k++) {
		pool->lanes[k] = (struct lane){ .b = &pool->b, .k = (int)k };
		pthread_mutex_lock(&pool->mu);
		pool->started[k] = pthread_create(&pool->threads[k], NULL, lane_thread,
						  &pool->lanes[k]) == 0;
		pool->running += (size_t)pool->started[k];
		pthread_mutex_unlock(&pool->mu);
	}
}

/* sync_picture_wait_fn: the lanes that could not start run here (their
 * share is not lost), then the first writer keeps the sync's lease while
 * it waits for the others (a batch of slow pictures is a long wait), and
 * the batch's pictures are made durable.  The writers' time on pictures
 * is this wait: downloads beside a transaction cost nothing. */
static void wait_many(void *arg)
{
	struct picture_pool *pool = arg;
	struct sync_pictures *p = pool->owner;
	long long start = clock_mono_ms();
	struct timespec until;

	for (size_t k = 0; k < pool->want; k++)
		if (!pool->started[k]) {
			pool->lanes[k].on_caller = 1;
			lane_run(&pool->lanes[k]);
		}
	pthread_mutex_lock(&pool->mu);
	while (pool->running > 0) {
		if (!pool->first || !p->tick) {
			pthread_cond_wait(&pool->done, &pool->mu);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 200 * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&pool->done, &pool->mu, &until) == 0)
			continue;
		pthread_mutex_unlock(&pool->mu);
		if (p->tick(p->tick_arg) < 0)
			atomic_store(&pool->b.stopped, 1);
		pthread_mutex_lock(&pool->mu);
	}
	pthread_mutex_unlock(&pool->mu);
	for (size_t k = 0; k < pool->want; k++)
		if (pool->started[k])
			pthread_join(pool->threads[k], NULL);
	flush_batch(p, pool->b.out, pool->b.n);
	atomic_fetch_add(&p->fetch_ms, clock_mono_ms() - start);
	pool->want = 0;
}

void sync_pictures_attach(struct sync_pictures *p, struct sync_apply_ctx *ctx)
{
	ctx->picture_begin = p ? begin_many : NULL;
	ctx->picture_wait = p ? wait_many : NULL;
	ctx->picture_arg = p ? &p->pool[0] : NULL;
	ctx->picture_arg_helper = p ? &p->pool[1] : NULL;
}

void sync_pictures_counts(const struct sync_pictures *p, struct sync_pictures_count *out)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return;
	out->asked = atomic_load(&p->asked);
	out->stored = atomic_load(&p->stored);
	out->ms = atomic_load(&p->fetch_ms);
	out->flush_ms = atomic_load(&p->flush_ms);
}
