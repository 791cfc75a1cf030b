/*
 * buf.h - bounded, growable byte buffer.
 *
 * Every request body, response body and header block of the emulator grows
 * through this type.  A buffer has a hard maximum size fixed at init time;
 * an append that would exceed it fails with -E2BIG and leaves the buffer
 * unchanged.  The data is always NUL-terminated (the terminator is not
 * counted in len), so it can be handed to string functions directly.
 *
 * Ownership: the buffer owns its storage; emu_buf_free() releases it and
 * leaves an empty buffer that may be reused after emu_buf_init().
 * Errors: 0 on success, -ENOMEM, -E2BIG.
 */
#ifndef EMU_BUF_H
#define EMU_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct emu_buf {
	char *data;	/* NULL until the first append */
	size_t len;	/* bytes used, excluding the NUL terminator */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard limit on len */
};

void emu_buf_init(struct emu_buf *b, size_t max);
void emu_buf_free(struct emu_buf *b);
void emu_buf_reset(struct emu_buf *b);
int emu_buf_append(struct emu_buf *b, const void *data, size_t len);
int emu_buf_puts(struct emu_buf *b, const char *s);
int emu_buf_printf(struct emu_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int emu_buf_vprintf(struct emu_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Returns the contents ("" when empty); valid until the next modification. */
const char *emu_buf_str(const struct emu_buf *b);

#endif
