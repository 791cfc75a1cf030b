/*
 * email_fold.c - LOWER() of utf8mb4_unicode_520_ci in C; see email_fold.h.
 * The mapping itself is generated from MariaDB (email_fold_table.h).
 */
#include "core/email_fold.h"

#include "core/email_fold_table.h"
#include "core/err.h"

/* A byte that is not part of valid UTF-8 decodes to this tag plus the byte,
 * a value no code point has: cmp and hash then treat it as itself. */
#define RAW_BYTE 0x80000000u

/* Decodes one code point at *p (strictly: no overlong forms, surrogates or
 * values past U+10FFFF, as MariaDB's utf8mb4 refuses them), advancing *p.
 * An invalid byte decodes to RAW_BYTE | byte and advances by one. */
static uint32_t next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0], cp, min;
	int n, i;

	if (c < 0x80) {
		*p = s + 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3, cp = c & 0x07, min = 0x10000;
	} else {
		goto raw;
	}
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)  /* also stops at the NUL */
			goto raw;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto raw;
	*p = s + n + 1;
	return cp;
raw:
	*p = s + 1;
	return RAW_BYTE | c;
}

uint32_t email_fold_cp(uint32_t cp)
{
	size_t lo = 0, hi = EMAIL_FOLD_TABLE_LEN;

	if (cp < 0x80)  /* the common case, and the table agrees */
		return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (email_fold_table[mid][0] == cp)
			return email_fold_table[mid][1];
		if (email_fold_table[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return cp;
}

/* UTF-8 of cp (a valid code point) into o; returns its length. */
static size_t put_cp(uint32_t cp, unsigned char o[4])
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

int email_fold(const char *s, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = 0;
	int rc = 0;

	while (*p) {
		uint32_t cp = next_cp(&p);
		unsigned char u[4];
		size_t n, i;

		if (cp & RAW_BYTE) {
			rc = PV_EINVAL;
			goto out;
		}
		n = put_cp(email_fold_cp(cp), u);
		if (len + n >= cap) {
			rc = PV_ETOOBIG;
			goto out;
		}
		for (i = 0; i < n; i++)
			out[len++] = (char)u[i];
	}
	if (len >= cap || len > (size_t)INT32_MAX) {
		rc = PV_ETOOBIG;
		goto out;
	}
	out[len] = '\0';
	return (int)len;
out:
	if (cap > 0)
		out[0] = '\0';
	return rc;
}

/* Folded code points compare in code point order, which is the byte order
 * of their UTF-8 (utf8mb4_bin); a raw byte sorts after every code point. */
int email_fold_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)(a ? a : "");
	const unsigned char *y = (const unsigned char *)(b ? b : "");

	while (*x && *y) {
		uint32_t cx = next_cp(&x), cy = next_cp(&y);

		if (!(cx & RAW_BYTE))
			cx = email_fold_cp(cx);
		if (!(cy & RAW_BYTE))
			cy = email_fold_cp(cy);
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return (*x != 0) - (*y != 0);
}

int email_fold_equal(const char *a, const char *b)
{
	return email_fold_cmp(a, b) == 0;
}

uint64_t email_fold_hash(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	uint64_t h = 1469598103934665603ULL;  /* FNV-1a */

	while (*p) {
		uint32_t cp = next_cp(&p);
		unsigned char u[4];
		size_t n, i;

		if (cp & RAW_BYTE) {
			u[0] = (unsigned char)cp;
			n = 1;
		} else {
			n = put_cp(email_fold_cp(cp), u);
		}
		for (i = 0; i < n; i++) {
			h ^= u[i];
			h *= 1099511628211ULL;
		}
	}
	return h;
}
