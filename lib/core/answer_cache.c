#include "core/answer_cache.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

/* Few routes are cacheable and a page asks a few questions each, so a
 * short list searched in order is enough; past it the oldest goes. */
#define ANSWER_SLOTS 32

struct answer {
	char *key;          /* NULL: a free slot */
	char *text;
	size_t len;
	uint64_t changes;   /* the counter read before the database was */
	int64_t stored_ms;
	uint64_t used;      /* tick of the last get or put, for eviction */
};

struct answer_cache {
	struct answer slot[ANSWER_SLOTS];
	size_t max_bytes, bytes;
	long max_age_ms;
	uint64_t tick;
};

static size_t answer_bytes(const struct answer *a)
{
	return strlen(a->key) + 1 + a->len;
}

static void answer_drop(struct answer_cache *c, struct answer *a)
{
	if (!a->key)
		return;
	c->bytes -= answer_bytes(a);
	free(a->key);
	free(a->text);
	memset(a, 0, sizeof(*a));
}

int answer_cache_new(struct answer_cache **out, size_t max_bytes, long max_age_ms)
{
	struct answer_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return PV_ENOMEM;
	c->max_bytes = max_bytes;
	c->max_age_ms = max_age_ms;
	*out = c;
	return 0;
}

void answer_cache_free(struct answer_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ANSWER_SLOTS; i++)
		answer_drop(c, &c->slot[i]);
	free(c);
}

static struct answer *answer_find(struct answer_cache *c, const char *key)
{
	for (size_t i = 0; i < ANSWER_SLOTS; i++)
		if (c->slot[i].key && strcmp(c->slot[i].key, key) == 0)
			return &c->slot[i];
	return NULL;
}

const char *answer_cache_get(struct answer_cache *c, const char *key, uint64_t changes,
			     int64_t now_ms, size_t *len)
{
	struct answer *a = answer_find(c, key);

	if (!a)
		return NULL;
	/* A clock that went back is no proof of youth either. */
	if (a->changes != changes || now_ms < a->stored_ms ||
	    now_ms - a->stored_ms > c->max_age_ms) {
		answer_drop(c, a);
		return NULL;
	}
	a->used = ++c->tick;
	*len = a->len;
	return a->text;
}

/* The least recently used kept answer, NULL when none is kept. */
static struct answer *answer_oldest(struct answer_cache *c)
{
	struct answer *old = NULL;

	for (size_t i = 0; i < ANSWER_SLOTS; i++)
		if (c->slot[i].key && (!old || c->slot[i].used < old->used))
			old = &c->slot[i];
	return old;
}

int answer_cache_put(struct answer_cache *c, const char *key, uint64_t changes, int64_t now_ms,
		     const char *text, size_t len)
{
	size_t need = strlen(key) + 1 + len;
	struct answer *a = answer_find(c, key), *free_slot = NULL;
	char *k, *t;

	if (a)
		answer_drop(c, a);
	if (c->max_age_ms <= 0 || need > c->max_bytes / 4)
		return 0;
	while (c->bytes + need > c->max_bytes)
		answer_drop(c, answer_oldest(c));
	for (size_t i = 0; i < ANSWER_SLOTS && !free_slot; i++)
		if (!c->slot[i].key)
			free_slot = &c->slot[i];
	if (!free_slot) {
		free_slot = answer_oldest(c);
		answer_drop(c, free_slot);
	}
	k = strdup(key);
	t = malloc(len ? len : 1);
	if (!k || !t) {
		free(k);
		free(t);
		return PV_ENOMEM;
	}
	memcpy(t, text, len);
	free_slot->key = k;
	free_slot->text = t;
	free_slot->len = len;
	free_slot->changes = changes;
	free_slot->stored_ms = now_ms;
	free_slot->used = ++c->tick;
	c->bytes += need;
	return 0;
}

void answer_cache_usage(const struct answer_cache *c, size_t *answers, size_t *bytes)
{
	size_t n = 0;

	for (size_t i = 0; i < ANSWER_SLOTS; i++)
		n += c->slot[i].key != NULL;
	*answers = n;
	*bytes = c->bytes;
}
