/*
 * report_csv.h - an RFC 4180 CSV writer that is safe to open in a spreadsheet.
 *
 * Pure: no database, no I/O.  Cells are appended to a caller's struct buf
 * (bounded, see buf.h); the caller decides when to send or reset it, so a
 * report of any size is written one row at a time in constant memory.
 *
 * The rules, all of them here and nowhere else:
 *   - cells are separated by ',' and rows end with CRLF;
 *   - a cell is quoted ("...") when it holds a comma, a double quote, CR or
 *     LF, and a double quote inside is doubled;
 *   - a cell whose first byte is '=', '+', '-', '@', TAB or CR gets a single
 *     quote (') in front, so that a spreadsheet shows it as text instead of
 *     running it as a formula (CSV injection); the prefix comes before the
 *     quoting decision, so "=1,2" is written "'=1,2" in quotes;
 *   - NULL and "" are both written as an empty cell (CSV has no null);
 *   - bytes are copied as they are: the text is UTF-8 in, UTF-8 out; this
 *     writer adds no byte-order mark (the report's header does, report.h).
 *
 * Errors: PV_ETOOBIG when the buffer's maximum would be passed, PV_ENOMEM.
 * On failure the buffer may hold part of the row: reset it.
 */
#ifndef PV_REPORT_CSV_H
#define PV_REPORT_CSV_H

#include <stddef.h>

struct buf;

/* Whether s (NUL-terminated, may be NULL) starts with a character that a
 * spreadsheet would execute, so that report_csv_cell prefixes it. */
int report_csv_is_formula(const char *s);

/* Appends one cell (neutralised, quoted when needed, no separator). */
int report_csv_cell(struct buf *b, const char *s);

/* Appends the n cells joined by commas, then CRLF.  cells[i] may be NULL. */
int report_csv_row(struct buf *b, const char *const *cells, size_t n);

#endif
