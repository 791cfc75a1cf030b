/*
 * fidelity-probe - a small CLI over lib/ modules that keep Slack's data
 * faithful, for the integration tests (tests/integration/test_fidelity.py):
 *
 *   fidelity-probe fold          one hex-encoded UTF-8 string per stdin line
 *                                -> its email_fold() in hex, or "error RC"
 *
 * Exit 0 on success, 1 on a failure (printed), 2 on bad usage.
 */
#include "core/email_fold.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Lines of hex in, folds in hex out: the test compares bytes, so no
 * terminal or Python encoding can blur what the C side produced. */
static int cmd_fold(void)
{
	char line[8192], raw[4096], out[EMAIL_FOLD_MAX(4096)];

	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strcspn(line, "\r\n"), i;
		int rc;

		if (n % 2 || n / 2 >= sizeof(raw)) {
			printf("error bad-line\n");
			continue;
		}
		for (i = 0; i < n / 2; i++) {
			int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				break;
			raw[i] = (char)(hi << 4 | lo);
		}
		if (i < n / 2) {
			printf("error bad-hex\n");
			continue;
		}
		raw[i] = '\0';
		rc = email_fold(raw, out, sizeof(out));
		if (rc < 0) {
			printf("error %d\n", rc);
			continue;
		}
		for (i = 0; i < (size_t)rc; i++)
			printf("%02X", (unsigned char)out[i]);
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "fold") == 0)
		return cmd_fold();
	fprintf(stderr, "usage: fidelity-probe fold\n");
	return 2;
}
