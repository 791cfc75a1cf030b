/*
 * buf.h - a growing string buffer with a hard maximum.
 *
 * Every string that grows from outside input (request bodies, SQL text, Slack
 * answers, CSV rows) goes through this type, so nothing grows without bound.
 *
 * Invariants: after buf_init, data is NULL and len is 0; once anything was
 * appended, data is NUL-terminated and len excludes the NUL.  len never
 * exceeds max.  The buffer owns data until buf_detach hands it over.
 *
 * Lifecycle: buf_init (no allocation) -> appends -> buf_reset (keep memory,
 * empty the content) -> buf_release (free memory; the buffer is reusable).
 */
#ifndef PV_BUF_H
#define PV_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Appends n bytes; PV_ETOOBIG when the maximum would be passed (content
 * unchanged), PV_ENOMEM when allocation fails. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The content as a C string; "" when nothing was appended.  Borrowed. */
const char *buf_cstr(const struct buf *b);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Hands the content to the caller (free() it); the buffer is left empty.
 * Returns an allocated "" when nothing was appended, NULL on ENOMEM. */
char *buf_detach(struct buf *b);

#endif
