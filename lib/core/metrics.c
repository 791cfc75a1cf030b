#include "core/metrics.h"
#include "core/buf.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define METRICS_MAGIC 0x70766d6574726963ULL   /* "pvmetric" */
#define METRICS_VERSION 1
#define NSTATUS 500                           /* 100..599 */

static const double bucket_bounds[METRICS_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

/* Per route: one counter per status, then the histogram (a counter per
 * bucket, not cumulative; the render sums them), the count and the sum in
 * microseconds. */
struct route_slot {
	uint64_t status[NSTATUS];
	uint64_t bucket[METRICS_BUCKETS];
	uint64_t count;
	uint64_t sum_us;
};

struct metrics_file {
	uint64_t magic;
	uint64_t version;
	uint64_t nslots;
	struct route_slot slot[];
};

struct metrics {
	struct metrics_file *f;
	size_t size;
	size_t nroutes;
};

static size_t metrics_size(size_t nslots)
{
	return sizeof(struct metrics_file) + nslots * sizeof(struct route_slot);
}

static int layout_ok(const struct metrics_file *f, size_t nslots)
{
	return f->magic == METRICS_MAGIC && f->version == METRICS_VERSION && f->nslots == nslots;
}

/* Maps path, creating or resetting it under an exclusive lock so that
 * processes starting together agree on one layout. */
static int map_file(struct metrics *m, const char *path, char *err, size_t errlen)
{
	size_t nslots = m->nroutes + 1;
	struct metrics_file head;
	struct stat st;
	void *p = MAP_FAILED;
	int fd, rc = PV_EIO;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "config: metrics.file: cannot open %s: %s", path,
			 strerror(errno));
		return PV_EIO;
	}
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
		goto fail;
	memset(&head, 0, sizeof(head));
	if ((size_t)st.st_size != m->size || pread(fd, &head, sizeof(head), 0) != sizeof(head) ||
	    !layout_ok(&head, nslots)) {
		head.magic = METRICS_MAGIC;
		head.version = METRICS_VERSION;
		head.nslots = nslots;
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)m->size) < 0 ||
		    pwrite(fd, &head, sizeof(head), 0) != sizeof(head))
			goto fail;
	}
	p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	m->f = p;
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "config: metrics.file: %s: %s", path, strerror(errno));
out:
	/* Unlocked by hand: the mapping keeps the open file alive, and with
	 * it a flock, past close(). */
	flock(fd, LOCK_UN);
	close(fd);
	return rc;
}

int metrics_open(struct metrics **out, const char *path, size_t nroutes,
		 char *err, size_t errlen)
{
	struct metrics *m;
	int rc = 0;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return PV_ENOMEM;
	m->nroutes = nroutes;
	m->size = metrics_size(nroutes + 1);
	if (path && *path) {
		rc = map_file(m, path, err, errlen);
	} else {
		void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			rc = PV_ENOMEM;
		} else {
			m->f = p;
			m->f->magic = METRICS_MAGIC;
			m->f->version = METRICS_VERSION;
			m->f->nslots = nroutes + 1;
		}
	}
	if (rc < 0) {
		free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	munmap(m->f, m->size);
	free(m);
}

static void inc(uint64_t *c, uint64_t by)
{
	/* Relaxed: counters need atomicity across processes, not order. */
	__atomic_fetch_add(c, by, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void metrics_observe(struct metrics *m, size_t route, int status, double seconds)
{
	struct route_slot *s;
	int b = 0;

	if (!m)
		return;
	if (route > m->nroutes)
		route = m->nroutes;
	if (status < 100 || status > 599)
		status = 599;
	if (seconds < 0)
		seconds = 0;
	s = &m->f->slot[route];
	inc(&s->status[status - 100], 1);
	while (b < METRICS_BUCKETS && seconds > bucket_bounds[b])
		b++;
	if (b < METRICS_BUCKETS)
		inc(&s->bucket[b], 1);
	inc(&s->count, 1);
	inc(&s->sum_us, (uint64_t)(seconds * 1e6));
}

int metrics_label_value(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '\\')
			rc = buf_puts(out, "\\\\");
		else if (*s == '"')
			rc = buf_puts(out, "\\\"");
		else if (*s == '\n')
			rc = buf_puts(out, "\\n");
		else
			rc = buf_putc(out, *s);
	}
	return rc;
}

/* {method="GET",route="/x" — without the closing brace. */
static int put_labels(struct buf *out, const char *method, const char *pattern)
{
	int rc = buf_puts(out, "{method=\"");

	if (rc == 0)
		rc = metrics_label_value(out, method);
	if (rc == 0)
		rc = buf_puts(out, "\",route=\"");
	if (rc == 0)
		rc = metrics_label_value(out, pattern);
	if (rc == 0)
		rc = buf_putc(out, '"');
	return rc;
}

static void slot_labels(const struct metrics *m, size_t i, metrics_label_fn labels, void *arg,
			const char **method, const char **pattern)
{
	if (i == m->nroutes) {
		/* Requests that matched no route share one series whatever
		 * their path, or a scanner would create a series per probe. */
		*method = "other";
		*pattern = "unmatched";
		return;
	}
	labels(i, method, pattern, arg);
}

int metrics_render(const struct metrics *m, struct buf *out, metrics_label_fn labels, void *arg)
{
	const char *method, *pattern;
	int rc;

	rc = buf_puts(out,
		      "# HELP provisioning_http_requests_total Requests answered by the API, by route pattern, method and status.\n"
		      "# TYPE provisioning_http_requests_total counter\n");
	for (size_t i = 0; rc == 0 && i <= m->nroutes; i++) {
		const struct route_slot *s = &m->f->slot[i];

		slot_labels(m, i, labels, arg, &method, &pattern);
		for (int st = 0; rc == 0 && st < NSTATUS; st++) {
			uint64_t n = get(&s->status[st]);

			if (!n)
				continue;
			rc = buf_puts(out, "provisioning_http_requests_total");
			if (rc == 0)
				rc = put_labels(out, method, pattern);
			if (rc == 0)
				rc = buf_printf(out, ",status=\"%d\"} %llu\n", st + 100,
						(unsigned long long)n);
		}
	}
	if (rc == 0)
		rc = buf_puts(out,
			      "# HELP provisioning_http_request_duration_seconds Time the API took to answer, by route pattern and method.\n"
			      "# TYPE provisioning_http_request_duration_seconds histogram\n");
	for (size_t i = 0; rc == 0 && i <= m->nroutes; i++) {
		const struct route_slot *s = &m->f->slot[i];
		uint64_t count = get(&s->count), cum = 0;

		if (!count)
			continue;
		slot_labels(m, i, labels, arg, &method, &pattern);
		for (int b = 0; rc == 0 && b < METRICS_BUCKETS; b++) {
			cum += get(&s->bucket[b]);
			rc = buf_puts(out, "provisioning_http_request_duration_seconds_bucket");
			if (rc == 0)
				rc = put_labels(out, method, pattern);
			if (rc == 0)
				rc = buf_printf(out, ",le=\"%g\"} %llu\n", bucket_bounds[b],
						(unsigned long long)cum);
		}
		if (rc == 0)
			rc = buf_puts(out, "provisioning_http_request_duration_seconds_bucket");
		if (rc == 0)
			rc = put_labels(out, method, pattern);
		if (rc == 0)
			rc = buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
		if (rc == 0)
			rc = buf_puts(out, "provisioning_http_request_duration_seconds_sum");
		if (rc == 0)
			rc = put_labels(out, method, pattern);
		if (rc == 0)
			rc = buf_printf(out, "} %.6f\n", (double)get(&s->sum_us) / 1e6);
		if (rc == 0)
			rc = buf_puts(out, "provisioning_http_request_duration_seconds_count");
		if (rc == 0)
			rc = put_labels(out, method, pattern);
		if (rc == 0)
			rc = buf_printf(out, "} %llu\n", (unsigned long long)count);
	}
	return rc;
}
