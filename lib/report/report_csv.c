#include "report/report_csv.h"
#include "core/buf.h"
#include "core/err.h"

#include <string.h>

int report_csv_is_formula(const char *s)
{
	if (!s)
		return 0;
	switch (s[0]) {
	case '=':
	case '+':
	case '-':
	case '@':
	case '\t':
	case '\r':
		return 1;
	}
	return 0;
}

int report_csv_cell(struct buf *b, const char *s)
{
	size_t n;
	int rc = 0;

	if (!s || !*s)
		return 0;
	n = strlen(s);
	if (!strpbrk(s, ",\"\r\n")) {
		if (report_csv_is_formula(s))
			rc = buf_putc(b, '\'');
		return rc ? rc : buf_append(b, s, n);
	}
	rc = buf_putc(b, '"');
	if (rc == 0 && report_csv_is_formula(s))
		rc = buf_putc(b, '\'');
	for (const char *p = s; rc == 0 && *p;) {
		const char *q = strchr(p, '"');
		size_t run = q ? (size_t)(q - p) + 1 : strlen(p);

		/* Copies up to and including a quote, then doubles it. */
		rc = buf_append(b, p, run);
		if (rc == 0 && q)
			rc = buf_putc(b, '"');
		p += run;
	}
	return rc ? rc : buf_putc(b, '"');
}

int report_csv_row(struct buf *b, const char *const *cells, size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_putc(b, ',');
		if (rc == 0)
			rc = report_csv_cell(b, cells[i]);
	}
	return rc ? rc : buf_append(b, "\r\n", 2);
}
