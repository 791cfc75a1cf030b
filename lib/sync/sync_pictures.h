/*
 * sync_pictures.h - the picture step of a sync (SPEC §2.5): the applier's
 * picture hooks (sync_apply.h), fetching each new picture from the
 * provider and keeping the product's own copy (lib/directory/
 * picture_store.h) before the batch that writes the person.
 *
 * Each writer downloads a batch's pictures SYNC_PICTURES_PARALLEL at a
 * time, on threads of their own: a first sync of 100,000 people brings
 * tens of thousands of pictures, and one download after another from a CDN
 * 20-50 ms away would take longer than the rest of the sync.  The applier
 * starts a writer's next batch of pictures before the current batch's
 * transaction and waits for them after it, so the downloads run beside
 * the writes.  Each thread has its own fetcher (a curl handle is not
 * shared), kept from batch to batch so that connections to the CDN are
 * reused; the store is shared (its writes are atomic renames).  The first
 * writer also keeps the sync's lease while it waits, through the tick
 * given at open, on its own thread (the one whose connection the tick
 * uses): a batch of slow pictures is a long wait too.
 *
 * When the pictures folder cannot be opened, the step still runs: every
 * picture is "not stored" with that reason, the people are written without
 * it, and the next sync tries again; the log names the folder once.
 *
 * Ownership: struct sync_pictures is the caller's, freed with
 * sync_pictures_free (NULL is fine).  Errors: PV_ENOMEM.
 */
#ifndef PV_SYNC_PICTURES_H
#define PV_SYNC_PICTURES_H

#include "core/config.h"
#include "sync/sync_apply.h"

#define SYNC_PICTURES_PARALLEL 4   /* downloads at a time, per writer */

struct sync_pictures;

/* The folder (pictures.dir) and URL prefix (app.base_url + "/pictures/")
 * from cfg; tick (may be NULL) is called with tick_arg while the first
 * writer waits for its pictures, and a negative return makes the rest
 * "not stored". */
int sync_pictures_open(struct sync_pictures **out, const struct config *cfg,
		       int (*tick)(void *arg), void *tick_arg);
void sync_pictures_free(struct sync_pictures *p);

/* Points ctx's picture hooks at p (both writers). */
void sync_pictures_attach(struct sync_pictures *p, struct sync_apply_ctx *ctx);

/* So far, both writers together, for the log: pictures asked for and
 * stored, and milliseconds the writers waited for them (added up, flushes
 * included), of which making them durable. */
struct sync_pictures_count {
	size_t asked, stored;
	long long ms, flush_ms;
};

void sync_pictures_counts(const struct sync_pictures *p, struct sync_pictures_count *out);

#endif
