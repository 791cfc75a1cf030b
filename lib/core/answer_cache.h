/*
 * answer_cache.h - answers an API process gave, kept to be given again
 * while nothing they were read from can have changed.
 *
 * An administrator's page asks the same few questions over and over (the
 * Slack status while a sync runs, the people's first page); each answer is
 * a handful of statements and a few hundred microseconds of MariaDB, for
 * bytes that only change when a write commits.  So the API keeps the
 * answer text of its cacheable routes under a key (route, organization,
 * user, path and query) with the counter of committed writes it read
 * before reading the database (db/db_changes.h), and gives it again only
 * while that counter has not moved and the answer is younger than the age
 * limit (api.cache_ms, the bound for writes the counter cannot see).
 *
 * The cache is the process's own (each API process has one; nothing is
 * shared, so nothing needs a lock), bounded in bytes: the least recently
 * used answers go first, and an answer over a quarter of the bound is not
 * kept at all.
 *
 * Ownership: answer_cache_new returns a cache freed with answer_cache_free;
 * answer_cache_get's text is borrowed until the next put or free.
 * Errors: PV_ENOMEM (the answer is then simply not kept).
 */
#ifndef PV_ANSWER_CACHE_H
#define PV_ANSWER_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct answer_cache;

/* max_bytes: the bytes of keys and answers kept at most; max_age_ms: how
 * long an answer may be given again at most, 0 never. */
int answer_cache_new(struct answer_cache **out, size_t max_bytes, long max_age_ms);
void answer_cache_free(struct answer_cache *c);

/* The answer kept under key if it was read at counter `changes` (the
 * counter now) and is at most max_age_ms old at now_ms; NULL otherwise (an
 * out-of-date answer is dropped). */
const char *answer_cache_get(struct answer_cache *c, const char *key, uint64_t changes,
			     int64_t now_ms, size_t *len);
/* Keeps a copy of text under key, read at counter `changes` at now_ms,
 * replacing what key had. */
int answer_cache_put(struct answer_cache *c, const char *key, uint64_t changes, int64_t now_ms,
		     const char *text, size_t len);

/* Answers kept and their bytes, for tests. */
void answer_cache_usage(const struct answer_cache *c, size_t *answers, size_t *bytes);

#endif
