/*
 * utf8_cut.h - where to cut UTF-8 text so that it fits a column of N
 * characters (SPEC §2.4: a value beyond the directory's limit is cut,
 * stored, and the Details say it was shortened).
 *
 * A MariaDB VARCHAR(N) in utf8mb4 counts characters (code points), so the
 * limit here is code points too.  The cut never splits a UTF-8 sequence,
 * and never separates a character from what is drawn with it: combining
 * marks (U+0300-036F, 1AB0-1AFF, 1DC0-1DFF, 20D0-20FF, FE20-FE2F),
 * variation selectors (FE00-FE0F, E0100-E01EF), emoji skin-tone modifiers
 * (1F3FB-1F3FF), emoji tags (E0020-E007F), the zero-width joiner of emoji
 * sequences (U+200D, and the character it joins) and the two regional
 * indicators of a flag.  Such a cluster is dropped whole rather than cut,
 * so the result may be a few characters shorter than N.  Combining marks
 * of other scripts (Indic vowel signs, Hangul jamo) are not in the list: a
 * cut there keeps valid UTF-8 but may drop a mark's base cluster's tail.
 *
 * Bytes that are not valid UTF-8 count as one character each and are never
 * produced by a cut (the cut only happens before a byte that starts a
 * character or an invalid byte).
 *
 * Pure: no I/O, no allocation (scripts/check-layers.sh lets the planner
 * call it).  Nothing fails: a NULL string is "".
 */
#ifndef PV_UTF8_CUT_H
#define PV_UTF8_CUT_H

#include <stdbool.h>
#include <stddef.h>

/* The number of leading bytes of s to keep so that at most max_chars
 * characters remain, cut as described above; *cut (when not NULL) says
 * whether anything was dropped.  strlen(s) when s fits. */
size_t utf8_cut(const char *s, size_t max_chars, bool *cut);

/* The characters (code points; an invalid byte counts one) of s. */
size_t utf8_chars(const char *s);

#endif
