/*
 * metrics.h - request counters and latency histograms of the API, shared
 * by its processes, rendered in Prometheus' text format.
 *
 * The API runs as several processes under spawn-fcgi, and a scrape reaches
 * any one of them; so that every scrape sees the whole API, the counters
 * live in one file that each process maps (MAP_SHARED) and increments with
 * atomic adds.  Without a file (metrics.file unset) they live in the
 * process's own memory and a scrape sees only the process that answered.
 *
 * Labels are the route pattern ("/api/v1/teams/{id}/members"), the method
 * and the status: never an organization, a user or a raw path, so the
 * number of series is fixed by the route table whatever the traffic.
 * Statuses outside 100..599 count as 599.
 *
 * The file's layout is fixed by the number of routes; a file of another
 * layout (another build) is reset when a process opens it.  Counters start
 * at 0 when the file is created and survive restarts of the API, which
 * Prometheus' counters tolerate either way.
 *
 * Ownership: metrics_open returns a handle freed with metrics_close.
 * Errors: PV_EIO (file), PV_ENOMEM; rendering PV_ETOOBIG/PV_ENOMEM (buf).
 */
#ifndef PV_METRICS_H
#define PV_METRICS_H

#include <stddef.h>

struct buf;
struct metrics;

/* Upper bounds of the latency histogram's buckets, in seconds. */
#define METRICS_BUCKETS 12

/* nroutes routes plus one slot for requests that matched none.  path NULL
 * or "": private memory.  err gets one line on failure. */
int metrics_open(struct metrics **out, const char *path, size_t nroutes,
		 char *err, size_t errlen);
void metrics_close(struct metrics *m);

/* Counts one answered request; route == nroutes for "no route". */
void metrics_observe(struct metrics *m, size_t route, int status, double seconds);

/* Labels of route i (i < nroutes): method and pattern, borrowed. */
typedef void (*metrics_label_fn)(size_t i, const char **method, const char **pattern,
				 void *arg);

/* Appends the request families to out, skipping series that are 0. */
int metrics_render(const struct metrics *m, struct buf *out, metrics_label_fn labels,
		   void *arg);

/* Appends s as a Prometheus label value (backslash, quote, newline
 * escaped). */
int metrics_label_value(struct buf *out, const char *s);

#endif
