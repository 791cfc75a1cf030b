/*
 * avatars.c - GET /avatars/... : every avatar and team-icon link the
 * emulator hands out points here, so a client that downloads pictures
 * gets a real image without reaching Slack's CDN.
 *
 * Each link answers a valid 16x16 PNG whose bytes depend on the link: a
 * tEXt chunk carries "<hash>_<size>", so two hashes (or two sizes of one
 * hash) are two different files, as on Slack's CDN, and a content-
 * addressed store keeps them apart.  Every GET is counted per link
 * (GET /_emulator/avatars: {"total":N,"fetches":{"<path>":n}}), so tests
 * prove a picture is fetched only when avatar_hash changes; the counts go
 * with POST /_emulator/reset or POST /_emulator/avatars/reset.
 *
 * Test hooks, by the start of the avatar_hash in the link (a test sets the
 * hash with POST /_emulator/workspace/T/users):
 *   missing...  404                      html...  200 text/html
 *   fakepng...  200 image/png, not PNG   huge...  200 image/png of 2 MiB
 *   jpeg...     200 image/jpeg (a real JPEG signature)
 *   slow...     the answer comes after 2 s
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "state.h"
#include "util.h"

/* The 16x16 PNG: signature + IHDR, then (the tEXt goes here) IDAT + IEND. */
static const unsigned char png_head[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
	0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10,
	0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68, 0x36,
};
static const unsigned char png_tail[] = {
	0x00, 0x00, 0x00,
	0x16, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf0, 0x12, 0xf5, 0x26,
	0x09, 0x31, 0x8c, 0x6a, 0x18, 0xd5, 0x30, 0x7c, 0x35, 0x00, 0x00, 0x61,
	0x4c, 0xaa, 0x01, 0xe0, 0x24, 0xb8, 0x75, 0x00, 0x00, 0x00, 0x00, 0x49,
	0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};
static const unsigned char jpeg_bytes[] = {
	0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01,
	0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9,
};

/* PNG's CRC-32 (ISO 3309), bitwise: a few hundred bytes per answer. */
static uint32_t crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* ---- fetch counts: a fixed table, the emulator is one process ---------- */

#define AVATAR_COUNTS 4096

static struct {
	char path[160];
	unsigned n;
} counts[AVATAR_COUNTS];
static size_t n_counts;
static unsigned long long total_fetches;

void emu_avatar_counts_reset(void)
{
	memset(counts, 0, sizeof(counts));
	n_counts = 0;
	total_fetches = 0;
}

static void count_fetch(const char *path)
{
	size_t i;

	total_fetches++;
	for (i = 0; i < n_counts; i++) {
		if (strcmp(counts[i].path, path) == 0) {
			counts[i].n++;
			return;
		}
	}
	if (n_counts < AVATAR_COUNTS) {
		snprintf(counts[n_counts].path, sizeof(counts[n_counts].path), "%s", path);
		counts[n_counts++].n = 1;
	}
}

json_object *emu_avatar_counts_json(void)
{
	json_object *o = json_object_new_object(), *f = json_object_new_object();
	size_t i;
	int rc = o && f ? 0 : -ENOMEM;

	for (i = 0; rc == 0 && i < n_counts; i++)
		rc = emu_json_add_int(f, counts[i].path, counts[i].n);
	if (rc == 0)
		rc = emu_json_add_int(o, "total", (long long)total_fetches);
	if (rc == 0) {
		rc = emu_json_add(o, "fetches", f);
		f = NULL;
	}
	json_object_put(f);
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The PNG of one link: png_head, a tEXt chunk "Comment\0<key>", png_tail. */
static int answer_png(struct emu_resp *resp, const char *key)
{
	unsigned char chunk[8 + 8 + 160 + 4];
	size_t klen = strlen(key), dlen;
	int rc;

	if (klen > 150)
		klen = 150;
	dlen = 8 + klen;		/* "Comment\0" + key */
	put32(chunk, (uint32_t)dlen);
	memcpy(chunk + 4, "tEXtComment", 12);	/* type + keyword + NUL */
	memcpy(chunk + 16, key, klen);
	put32(chunk + 8 + dlen, crc32_png(chunk + 4, 4 + dlen));
	rc = emu_resp_text(resp, 200, "image/png", png_head, sizeof(png_head));
	if (rc == 0)
		rc = emu_buf_append(&resp->body, chunk, 8 + dlen + 4);
	if (rc == 0)
		rc = emu_buf_append(&resp->body, png_tail, sizeof(png_tail));
	return rc;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int emu_avatar_handle(struct emu_state *st, struct emu_req *req,
		      struct emu_resp *resp)
{
	size_t n = strlen(req->path);
	const char *file;
	int rc;

	(void)st;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return emu_resp_text(resp, 405, "text/plain", "method not allowed\n", 19);
	if (n < 4 || strcmp(req->path + n - 4, ".png") != 0)
		return emu_resp_text(resp, 404, "text/plain", "not found\n", 10);
	if (strcmp(req->method, "GET") == 0)
		count_fetch(req->path + strlen("/avatars/"));
	file = strrchr(req->path, '/') + 1;	/* "<hash>_<size>.png" */
	if (starts(file, "slow")) {
		struct timespec t = { 2, 0 };

		nanosleep(&t, NULL);
	}
	if (starts(file, "missing"))
		return emu_resp_text(resp, 404, "text/plain", "not found\n", 10);
	if (starts(file, "html"))
		return emu_resp_text(resp, 200, "text/html", "<html>moved</html>\n", 19);
	if (starts(file, "fakepng"))
		return emu_resp_text(resp, 200, "image/png", "this is not a PNG\n", 18);
	if (starts(file, "jpeg"))
		return emu_resp_text(resp, 200, "image/jpeg", jpeg_bytes, sizeof(jpeg_bytes));
	rc = emu_resp_header(resp, "Cache-Control", "public, max-age=86400");
	if (rc == 0)
		rc = answer_png(resp, file);
	if (rc == 0 && starts(file, "huge")) {
		static const unsigned char zeros[4096];
		size_t i;

		for (i = 0; rc == 0 && i < 512; i++)
			rc = emu_buf_append(&resp->body, zeros, sizeof(zeros));
	}
	return rc;
}
