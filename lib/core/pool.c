#include "core/pool.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pool_cleanup {
	struct pool_cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct pool_block {
	struct pool_block *next;
	/* max_align_t keeps the payload aligned for any type. */
	max_align_t payload[];
};

/* Small allocations are cut from chunks, so that a pool holding a whole
 * directory (a sync reads 100,000 users' strings into one) costs a few
 * bytes per string, not a malloc header and a list link each. */
#define POOL_CHUNK (64 * 1024)
#define POOL_SMALL 1024
#define POOL_ALIGN (_Alignof(max_align_t))

struct pool {
	struct pool_block *blocks;
	struct pool_cleanup *cleanups;
	char *cur;     /* free space of the current chunk */
	size_t left;
};

struct pool *pool_new(void)
{
	return calloc(1, sizeof(struct pool));
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	while (p->cleanups) {
		struct pool_cleanup *c = p->cleanups;

		p->cleanups = c->next;
		c->fn(c->arg);
		free(c);
	}
	while (p->blocks) {
		struct pool_block *b = p->blocks;

		p->blocks = b->next;
		free(b);
	}
	free(p);
}

static void *pool_block_new(struct pool *p, size_t n)
{
	struct pool_block *b;

	if (n > SIZE_MAX - sizeof(*b))
		return NULL;
	b = calloc(1, sizeof(*b) + n);
	if (!b)
		return NULL;
	b->next = p->blocks;
	p->blocks = b;
	return b->payload;
}

void *pool_alloc(struct pool *p, size_t n)
{
	void *mem;

	if (n > POOL_SMALL)
		return pool_block_new(p, n);
	n = (n + POOL_ALIGN - 1) / POOL_ALIGN * POOL_ALIGN;
	if (n == 0)
		n = POOL_ALIGN;
	if (p->left < n) {
		p->cur = pool_block_new(p, POOL_CHUNK);
		if (!p->cur) {
			p->left = 0;
			return NULL;
		}
		p->left = POOL_CHUNK;
	}
	mem = p->cur;
	p->cur += n;
	p->left -= n;
	return mem;  /* zeroed: chunks come from calloc and are never reused */
}

char *pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	d = pool_alloc(p, n + 1);
	if (d)
		memcpy(d, s, n);
	return d;
}

char *pool_strdup(struct pool *p, const char *s)
{
	return s ? pool_strndup(p, s, strlen(s)) : NULL;
}

int pool_on_free(struct pool *p, void (*fn)(void *), void *arg)
{
	struct pool_cleanup *c = malloc(sizeof(*c));

	if (!c) {
		fn(arg);
		return PV_ENOMEM;
	}
	c->fn = fn;
	c->arg = arg;
	c->next = p->cleanups;
	p->cleanups = c;
	return 0;
}
