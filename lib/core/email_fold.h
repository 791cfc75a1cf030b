/*
 * email_fold.h - e-mail addresses compared the way the database compares
 * them (SPEC §2.3).
 *
 * The directory's unique key is users.email_key = LOWER(email), utf8mb4
 * under utf8mb4_unicode_520_ci, compared byte for byte (utf8mb4_bin;
 * sql/001_directory.sql).  Two addresses are "the same e-mail" exactly when
 * their LOWER() are the same bytes.  This module computes that LOWER() in C
 * from a table generated from MariaDB itself (scripts/gen-case-table.sh ->
 * email_fold_table.h), so the planner, the API and the schema agree on
 * every address, not just ASCII ones:
 *   É -> é, Ж -> ж, Σ -> σ (a final ς stays ς: MariaDB does not fold it),
 *   İ (U+0130) -> i, I -> i, ı (U+0131) stays ı, ß stays ß, ẞ (U+1E9E) -> ß,
 *   K (Kelvin sign U+212A) -> k.
 * Only lower-casing: no normalization (NFC/NFD forms stay different, as they
 * do in the database) and no trimming.
 *
 * Pure: no I/O, no allocation, no global state; email_fold.o calls libc
 * only, so the pure planner may call it (scripts/check-layers.sh checks
 * both).
 *
 * Errors
 *   email_fold: PV_EINVAL when the input is not valid UTF-8 (a stray
 *   continuation byte, a truncated or overlong sequence, a surrogate, a code
 *   point past U+10FFFF): MariaDB refuses such a value, so it has no key.
 *   PV_ETOOBIG when the folded text and its NUL do not fit `cap` bytes (a
 *   fold can grow: U+023A, 2 bytes, lowers to U+2C65, 3 bytes; a buffer of
 *   EMAIL_FOLD_MAX(n) bytes always suffices).  On error `out` holds "" when
 *   cap > 0.
 *   email_fold_cmp / email_fold_hash never fail: bytes that are not valid
 *   UTF-8 compare and hash as themselves, one by one, so any input has a
 *   total, deterministic order.
 */
#ifndef PV_EMAIL_FOLD_H
#define PV_EMAIL_FOLD_H

#include <stddef.h>
#include <stdint.h>

/* SQL for "the key of the address bound to this ?": LOWER() under the
 * column's collation.  A bare LOWER(?) folds under the connection's
 * collation (utf8mb4_general_ci on MariaDB 10.11), whose older table leaves
 * 333 code points (ẞ, Ⱥ, Georgian, Glagolitic, Deseret, ...) unfolded that
 * users.email_key folds, so an address typed with them would not find its
 * account.  The outer COLLATE utf8mb4_bin matters as much: an explicit
 * COLLATE wins over the column's, so without it "email_key = LOWER(? COLLATE
 * utf8mb4_unicode_520_ci)" would compare accent- and case-insensitively
 * (é = e).  Compare it with a column: "email_key = " EMAIL_KEY_SQL. */
#define EMAIL_KEY_SQL \
	"(LOWER(CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_520_ci) COLLATE utf8mb4_bin)"

/* Bytes that always hold the fold of n input bytes, with its NUL. */
#define EMAIL_FOLD_MAX(n) ((n) / 2 * 3 + 4)

/* Writes LOWER(s) (NUL-terminated) into out; returns its length in bytes
 * or a PV_E* code (above).  `s` is a C string. */
int email_fold(const char *s, char *out, size_t cap);

/* <0, 0, >0 as LOWER(a) sorts before, equals or sorts after LOWER(b), by
 * code point (the order of utf8mb4_bin).  NULL reads as "". */
int email_fold_cmp(const char *a, const char *b);

/* 1 when LOWER(a) and LOWER(b) are the same bytes, else 0 (the unique key's
 * notion of one address).  NULL reads as "". */
int email_fold_equal(const char *a, const char *b);

/* FNV-1a of the folded UTF-8 bytes: equal under email_fold_cmp implies
 * equal hashes, for hash maps keyed by address. */
uint64_t email_fold_hash(const char *s);

/* LOWER() of one code point (itself when it has no lower case). */
uint32_t email_fold_cp(uint32_t cp);

#endif
