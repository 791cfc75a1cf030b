/*
 * Unit tests of the pure parts of the picture modules: the type checks of
 * lib/directory/picture_store (signature sniffing, Content-Type names), the
 * size URLs of lib/provider/slack/slack_picture, and the store's names and
 * atomic files in a temporary folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "directory/picture_store.h"
#include "provider/slack/slack_picture.h"

static const struct {
	const char *bytes;
	size_t len;
	const char *ext;
} sniffs[] = {
	{ "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "png" },
	{ "\x89PNG\r\n\x1a", 7, NULL },		/* cut signature */
	{ "\xff\xd8\xff\xe0\0\x10JFIF", 10, "jpg" },
	{ "\xff\xd8\x00", 3, NULL },
	{ "GIF89a\x01\0", 8, "gif" },
	{ "GIF87a", 6, "gif" },
	{ "GIF88a", 6, NULL },
	{ "RIFF\x10\0\0\0WEBPVP8 ", 16, "webp" },
	{ "RIFF\x10\0\0\0WAVEfmt ", 16, NULL },	/* RIFF but audio */
	{ "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 40, NULL },
	{ "<html>", 6, NULL },
	{ "", 0, NULL },
};

static void test_sniff_accepts_only_the_four_signatures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sniffs) / sizeof(sniffs[0]); i++) {
		const char *got = picture_sniff(sniffs[i].bytes, sniffs[i].len);

		if (!!got != !!sniffs[i].ext || (got && strcmp(got, sniffs[i].ext) != 0))
			fail_msg("row %zu: sniff = %s, want %s", i, got ? got : "NULL",
				 sniffs[i].ext ? sniffs[i].ext : "NULL");
	}
	assert_null(picture_sniff(NULL, 10));
}

static const struct {
	const char *ct, *ext;
} types[] = {
	{ "image/png", "png" },
	{ "IMAGE/PNG", "png" },
	{ "image/jpeg; charset=binary", "jpg" },
	{ " image/gif", "gif" },
	{ "image/webp", "webp" },
	{ "image/svg+xml", NULL },
	{ "image/pngx", NULL },
	{ "image/pn", NULL },
	{ "text/html", NULL },
	{ "", NULL },
	{ NULL, NULL },
};

static void test_content_types(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *got = picture_type_ext(types[i].ct);

		if (!!got != !!types[i].ext || (got && strcmp(got, types[i].ext) != 0))
			fail_msg("row %zu (%s): %s", i, types[i].ct ? types[i].ct : "NULL",
				 got ? got : "NULL");
	}
}

static const struct {
	const char *url;
	int rc;
	const char *want;
} sizes[] = {
	{ "https://avatars.slack-edge.com/2024-01-02/123_abc_512.png", 0,
	  "https://avatars.slack-edge.com/2024-01-02/123_abc_72.png" },
	{ "https://avatars.slack-edge.com/2024-01-02/123_abc_192.jpg", 0,
	  "https://avatars.slack-edge.com/2024-01-02/123_abc_72.jpg" },
	{ "http://127.0.0.1:9/avatars/T1/h_1024.png", 0, "http://127.0.0.1:9/avatars/T1/h_72.png" },
	{ "https://x/a_512.dir/file.png", PV_EINVAL, "https://x/a_512.dir/file.png" },
	{ "https://x/original.png", PV_EINVAL, "https://x/original.png" },
	{ "https://x/h_original.png", PV_EINVAL, "https://x/h_original.png" },
	{ "https://secure.gravatar.com/avatar/abc.jpg?s=512&d=x_72.png", PV_EINVAL,
	  "https://secure.gravatar.com/avatar/abc.jpg?s=512&d=x_72.png" },
	{ "https://x/_512.png", 0, "https://x/_72.png" },
	{ "512.png", PV_EINVAL, "512.png" },
};

static void test_size_urls(void **state)
{
	char out[256], tiny[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int rc = slack_picture_size_url(sizes[i].url, 72, out, sizeof(out));

		if (rc != sizes[i].rc || strcmp(out, sizes[i].want) != 0)
			fail_msg("row %zu: rc %d \"%s\"", i, rc, out);
	}
	assert_int_equal(slack_picture_size_url(sizes[0].url, 72, tiny, sizeof(tiny)), PV_ETOOBIG);
}

static char dir[128];

static size_t count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || strncmp(e->d_name, ".tmp-", 5) == 0)
			n++;
	closedir(d);
	return n;
}

/* Only the allowed hosts and their subdomains, whatever the case, never a
 * longer name or an address whose host hides behind a user name. */
static void test_allowed_hosts(void **state)
{
	static const char hosts[] = "slack-edge.com, slack.com";

	(void)state;
	assert_true(slack_picture_host_allowed("https://avatars.slack-edge.com/x_512.png", hosts));
	assert_true(slack_picture_host_allowed("https://SLACK-EDGE.com/x_512.png", hosts));
	assert_true(slack_picture_host_allowed("https://ca.slack-edge.com:443/x_512.png", hosts));
	assert_true(slack_picture_host_allowed("http://files.slack.com?x", hosts));
	assert_false(slack_picture_host_allowed("https://evilslack-edge.com/x_512.png", hosts));
	assert_false(slack_picture_host_allowed("https://slack-edge.com.evil.example/x.png", hosts));
	assert_false(slack_picture_host_allowed("https://slack-edge.com@169.254.169.254/x.png", hosts));
	assert_false(slack_picture_host_allowed("https://169.254.169.254/latest/meta-data", hosts));
	assert_false(slack_picture_host_allowed("file:///etc/passwd", hosts));
	assert_false(slack_picture_host_allowed("https:///x.png", hosts));
	assert_false(slack_picture_host_allowed(NULL, hosts));
	assert_false(slack_picture_host_allowed("https://avatars.slack-edge.com/x.png", ""));
	assert_true(slack_picture_host_allowed("http://[::1]:8080/x.png", "[::1]"));
	assert_true(slack_picture_host_allowed("http://127.0.0.1:9/x.png", NULL));  /* a tool's */
	assert_false(slack_picture_host_allowed("gopher://127.0.0.1/x.png", NULL));
}

static void test_store_names_by_content_and_writes_once(void **state)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR-some-bytes";
	struct picture_store ps;
	char name[PICTURE_NAME_MAX], again[PICTURE_NAME_MAX], url[256], sub[sizeof(dir)];
	char path[sizeof(dir) + PICTURE_NAME_MAX + 2];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pv-picture-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_true(strlen(dir) + 5 <= sizeof(sub));
	memcpy(sub, dir, strlen(dir));
	memcpy(sub + strlen(dir), "/a/b", 5);
	/* The folder (and its parents) are made. */
	assert_int_equal(picture_store_open(&ps, sub, "https://hr.example/pictures/"), 0);
	assert_int_equal(picture_store_put(&ps, png, sizeof(png) - 1, name), 0);
	assert_int_equal(strlen(name), 68);
	assert_string_equal(name + 64, ".png");
	assert_int_equal(picture_store_has(&ps, name), 1);
	assert_int_equal(picture_store_put(&ps, png, sizeof(png) - 1, again), 0);
	assert_string_equal(name, again);
	assert_int_equal(picture_store_url(&ps, name, url, sizeof(url)), 0);
	assert_true(strncmp(url, "https://hr.example/pictures/", 28) == 0);
	assert_string_equal(url + 28, name);
	snprintf(path, sizeof(path), "%s/%s", sub, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	{
		char back[64];
		size_t n = fread(back, 1, sizeof(back), f);

		assert_int_equal(n, sizeof(png) - 1);
		assert_memory_equal(back, png, n);
	}
	fclose(f);
	/* Refusals leave nothing behind. */
	assert_int_equal(picture_store_put(&ps, "<svg/>", 6, again), PV_EINVAL);
	assert_string_equal(again, "");
	assert_int_equal(picture_store_put(&ps, png, 0, again), PV_ETOOBIG);
	assert_int_equal(picture_store_put(&ps, png, PICTURE_MAX_BYTES + 1, again), PV_ETOOBIG);
	memcpy(dir, sub, sizeof(dir));
	assert_int_equal(count_files(), 1);
	/* Only well-formed names reach the folder. */
	assert_int_equal(picture_store_has(&ps, "../../etc/passwd"), PV_EINVAL);
	assert_int_equal(picture_store_url(&ps, "x.png", url, sizeof(url)), PV_EINVAL);
	assert_int_equal(picture_store_open(&ps, "", "/"), PV_EINVAL);
	assert_int_equal(picture_store_open(&ps, "/proc/no-such/pictures", "/"), PV_EIO);
	unlink(path);
	rmdir(sub);
	*strrchr(sub, '/') = '\0';
	rmdir(sub);
	*strrchr(sub, '/') = '\0';
	rmdir(sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff_accepts_only_the_four_signatures),
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_size_urls),
		cmocka_unit_test(test_allowed_hosts),
		cmocka_unit_test(test_store_names_by_content_and_writes_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
