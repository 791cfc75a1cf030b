/*
 * fuzz_report_csv.c - libFuzzer target: the report's CSV writer
 * (lib/report/report_csv.c) on arbitrary cell text.
 *
 * The input is split at NUL bytes into the cells of one row.  The row is
 * written into a bounded buffer and read back with an RFC 4180 reader
 * written here, independently of the writer; the check is the writer's
 * whole promise: the row reads back as exactly the cells given, each with
 * a ' in front when report_csv_is_formula says a spreadsheet would run it,
 * the row ends with CRLF, and a cell that needs no quoting is not quoted.
 * A row too large for the buffer must be refused with PV_ETOOBIG.
 */
#include "core/buf.h"
#include "core/err.h"
#include "report/report_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CELLS 64
#define ROW_MAX 4096

/* Reads the cell starting at *p; returns its text (malloc'd) or NULL when
 * the row is malformed. */
static char *read_cell(const char **p, const char *end, size_t *n)
{
	char *out = malloc((size_t)(end - *p) + 1);
	size_t k = 0;

	if (!out)
		abort();
	if (*p < end && **p == '"') {
		(*p)++;
		for (;;) {
			if (*p >= end)
				goto bad;
			if (**p == '"') {
				if (*p + 1 < end && (*p)[1] == '"') {
					out[k++] = '"';
					*p += 2;
					continue;
				}
				(*p)++;
				break;
			}
			out[k++] = *(*p)++;
		}
	} else {
		while (*p < end && **p != ',' && **p != '\r' && **p != '"' && **p != '\n')
			out[k++] = *(*p)++;
		if (*p < end && (**p == '"' || **p == '\n'))
			goto bad;
	}
	out[k] = '\0';
	*n = k;
	return out;
bad:
	free(out);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *cells[MAX_CELLS];
	size_t n = 0, start = 0;
	struct buf b;
	int rc;

	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i <= size && n < MAX_CELLS; i++) {
		if (i == size || copy[i] == '\0') {
			copy[i] = '\0';
			cells[n++] = copy + start;
			start = i + 1;
		}
	}
	buf_init(&b, ROW_MAX);
	rc = report_csv_row(&b, (const char *const *)cells, n);
	if (rc == PV_ETOOBIG) {
		size_t need = 2;

		for (size_t i = 0; i < n; i++)
			need += strlen(cells[i]) + 1;
		/* Refused only when it really could not fit (quoting at most
		 * doubles a cell, plus its quotes and the formula prefix). */
		if (need <= ROW_MAX / 3)
			abort();
		goto out;
	}
	if (rc < 0)
		abort();
	{
		const char *p = buf_cstr(&b), *end = p + b.len;

		if (b.len < 2 || end[-2] != '\r' || end[-1] != '\n')
			abort();
		end -= 2;
		for (size_t i = 0; i < n; i++) {
			int quoted = p < end && *p == '"';
			size_t got_len;
			char *got = read_cell(&p, end, &got_len);
			const char *want = cells[i];
			int formula = report_csv_is_formula(want);

			if (!got)
				abort();
			if (formula ? (got[0] != '\'' || strcmp(got + 1, want) != 0) : strcmp(got, want) != 0)
				abort();
			if (quoted && !strpbrk(got, ",\"\r\n"))
				abort();
			free(got);
			if (i + 1 < n) {
				if (p >= end || *p != ',')
					abort();
				p++;
			}
		}
		if (p != end)
			abort();
	}
out:
	buf_release(&b);
	free(copy);
	return 0;
}
