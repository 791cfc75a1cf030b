/*
 * fidelity-probe - a small CLI over lib/ modules that keep Slack's data
 * faithful, for the integration tests (tests/integration/test_fidelity.py):
 *
 *   fidelity-probe fold          one hex-encoded UTF-8 string per stdin line
 *                                -> its email_fold() in hex, or "error RC"
 *   fidelity-probe cut N         the same lines -> "<kept hex> cut|whole"
 *                                (utf8_cut to N characters)
 *   fidelity-probe picture-fetch URL     "ok type=png bytes=N" or "error rc=.. why=.."
 *   fidelity-probe picture-import URL    "small=<url>" and "large=<url>", or error
 *   fidelity-probe picture-put FILE      stores a file: "name=<name>", or error
 *
 * Pictures use the configuration (PROVISIONING_CONFIG): pictures.dir and
 * app.base_url; PROBE_TIMEOUT_MS and PROBE_MAX_BYTES override the fetch
 * limits.
 *
 * Exit 0 on success, 1 on a failure (printed), 2 on bad usage.
 */
#include "core/email_fold.h"
#include "core/config.h"
#include "core/err.h"
#include "directory/picture_store.h"
#include "provider/slack/slack_picture.h"
#include "core/utf8_cut.h"

#include <stdbool.h>
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

/* One stdin line of hex into raw (NUL-terminated); 0 or -1. */
static int read_hex_line(const char *line, char *raw, size_t cap)
{
	size_t n = strcspn(line, "\r\n"), i;

	if (n % 2 || n / 2 >= cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		raw[i] = (char)(hi << 4 | lo);
	}
	raw[i] = '\0';
	return 0;
}

static int cmd_cut(const char *arg)
{
	char line[16384], raw[8192];
	char *end;
	long max = strtol(arg, &end, 10);

	if (*end || max < 0)
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		bool cut;
		size_t n, i;

		if (read_hex_line(line, raw, sizeof(raw)) < 0) {
			printf("error bad-line\n");
			continue;
		}
		n = utf8_cut(raw, (size_t)max, &cut);
		for (i = 0; i < n; i++)
			printf("%02X", (unsigned char)raw[i]);
		printf(" %s\n", cut ? "cut" : "whole");
	}
	return 0;
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

static long env_long(const char *name)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 10) : 0;
}

/* The store of the configuration: pictures.dir, app.base_url/pictures/. */
static int open_store(struct picture_store *ps)
{
	struct config *cfg = NULL;
	char err[256], prefix[512];
	int rc;

	rc = config_load(&cfg, NULL, err, sizeof(err));
	if (rc < 0) {
		printf("error rc=%d why=%s\n", rc, err);
		return rc;
	}
	snprintf(prefix, sizeof(prefix), "%s/pictures/", config_get(cfg, "app.base_url"));
	rc = picture_store_open(ps, config_get(cfg, "pictures.dir"), prefix);
	if (rc < 0)
		printf("error rc=%d why=cannot open %s\n", rc, config_get(cfg, "pictures.dir"));
	config_free(cfg);
	return rc;
}

static int cmd_picture(const char *what, const char *arg)
{
	struct slack_picture_fetcher f;
	struct slack_picture_urls urls;
	struct picture_store ps;
	char why[256] = "";
	int rc;

	rc = slack_picture_fetcher_init(&f, env_long("PROBE_TIMEOUT_MS"),
					(size_t)env_long("PROBE_MAX_BYTES"));
	if (rc < 0)
		goto out;
	if (strcmp(what, "picture-fetch") == 0) {
		rc = slack_picture_fetch(&f, arg, why, sizeof(why));
		if (rc == 0)
			printf("ok type=%s bytes=%zu\n", f.ext, f.body.len);
		goto out;
	}
	rc = open_store(&ps);
	if (rc < 0)
		goto out;
	if (strcmp(what, "picture-import") == 0) {
		rc = slack_picture_import(&f, &ps, arg, &urls, why, sizeof(why));
		if (rc == 0)
			printf("small=%s\nlarge=%s\n", urls.small, urls.large);
	} else {
		static char data[PICTURE_MAX_BYTES + 2];
		char name[PICTURE_NAME_MAX];
		FILE *in = fopen(arg, "rb");
		size_t n = in ? fread(data, 1, sizeof(data), in) : 0;

		if (in)
			fclose(in);
		rc = in ? picture_store_put(&ps, data, n, name) : PV_EIO;
		if (rc == 0)
			printf("name=%s\n", name);
	}
out:
	if (rc < 0)
		printf("error rc=%d why=%s\n", rc, why);
	slack_picture_fetcher_release(&f);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "fold") == 0)
		return cmd_fold();
	if (argc == 3 && strcmp(argv[1], "cut") == 0)
		return cmd_cut(argv[2]);
	if (argc == 3 && (strcmp(argv[1], "picture-fetch") == 0 ||
			  strcmp(argv[1], "picture-import") == 0 ||
			  strcmp(argv[1], "picture-put") == 0))
		return cmd_picture(argv[1], argv[2]);
	fprintf(stderr, "usage: fidelity-probe fold | cut N | picture-fetch URL |"
		" picture-import URL | picture-put FILE\n");
	return 2;
}
