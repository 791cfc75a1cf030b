#include "pool.h"
#include "err.h"

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

struct pool {
	struct pool_block *blocks;
	struct pool_cleanup *cleanups;
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

void *pool_alloc(struct pool *p, size_t n)
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
