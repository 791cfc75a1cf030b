/*
 * pool.h - per-request memory: allocations and cleanups released together.
 *
 * A pool owns every block it hands out and runs every registered cleanup
 * (in reverse order of registration) when it is freed, so that an early
 * return from a request handler cannot leak.  Not thread-safe: one pool per
 * request, used by one thread.
 */
#ifndef PV_POOL_H
#define PV_POOL_H

#include <stddef.h>

struct pool;

struct pool *pool_new(void);
/* Frees every block and runs every cleanup; NULL is allowed. */
void pool_free(struct pool *p);

/* Zeroed memory owned by the pool; NULL when out of memory. */
void *pool_alloc(struct pool *p, size_t n);
/* Copies owned by the pool; NULL input gives NULL. */
char *pool_strdup(struct pool *p, const char *s);
char *pool_strndup(struct pool *p, const char *s, size_t n);
/* Runs fn(arg) when the pool is freed; PV_ENOMEM on failure, in which case
 * fn(arg) has already been run so the resource is not leaked. */
int pool_on_free(struct pool *p, void (*fn)(void *), void *arg);

#endif
