/*
 * utf8_cut.c - cut UTF-8 text to N characters at a cluster boundary; see
 * utf8_cut.h.
 */
#include "core/utf8_cut.h"

#include <stdint.h>

#define INVALID 0xffffffffu

/* Decodes the character at s[i] into *cp (INVALID for a byte that does not
 * start a valid sequence); returns its length in bytes (>= 1). */
static size_t decode(const unsigned char *s, size_t i, uint32_t *cp)
{
	uint32_t c = s[i], v, min;
	size_t n, k;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, v = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, v = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, v = c & 0x07, min = 0x10000;
	else
		goto bad;
	for (k = 1; k <= n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)  /* stops at the NUL too */
			goto bad;
		v = v << 6 | (s[i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return n + 1;
bad:
	*cp = INVALID;
	return 1;
}

/* A character drawn with the one before it: cutting before it would leave
 * a base without its mark (or a mark-less emoji sequence). */
static bool extends(uint32_t cp)
{
	return (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
	       (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
	       (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xfe20 && cp <= 0xfe2f) ||
	       cp == 0x200d || (cp >= 0x1f3fb && cp <= 0x1f3ff) ||
	       (cp >= 0xe0020 && cp <= 0xe007f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

static bool regional(uint32_t cp)
{
	return cp >= 0x1f1e6 && cp <= 0x1f1ff;
}

size_t utf8_chars(const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t i = 0, n = 0;
	uint32_t cp;

	while (s[i]) {
		i += decode(s, i, &cp);
		n++;
	}
	return n;
}

/* Walks the text cluster by cluster: a cluster is a character and every
 * character that extends it, a character after a ZWJ, or a pair of regional
 * indicators.  The last cluster that ends within max_chars is the cut. */
size_t utf8_cut(const char *str, size_t max_chars, bool *cut)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t i = 0, chars = 0, keep = 0;
	uint32_t cp;

	if (cut)
		*cut = false;
	while (s[i]) {
		size_t j = i + decode(s, i, &cp), n = 1;
		bool joined = false;

		if (regional(cp)) {
			uint32_t next;
			size_t len = decode(s, j, &next);

			if (s[j] && regional(next)) {
				j += len;
				n++;
			}
		}
		for (;;) {
			uint32_t next;
			size_t len;

			if (!s[j])
				break;
			len = decode(s, j, &next);
			if (!(extends(next) || joined))
				break;
			joined = next == 0x200d;
			j += len;
			n++;
		}
		if (chars + n > max_chars) {
			if (cut)
				*cut = true;
			return keep;
		}
		chars += n;
		keep = i = j;
	}
	return keep;
}
