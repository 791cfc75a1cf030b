/*
 * slack_picture.h - fetch a Slack profile picture and keep the product's
 * own copy (SPEC §2.5, issue 11 item 3).
 *
 * Slack's image URLs are hash-named files on its CDN (SLACK-API.md §13):
 * image_24 ... image_512 are always there, image_1024 and image_original
 * may not be.  A person's picture is kept in two sizes: the page's
 * (image_72: avatars in lists, sharp at 2x) and a larger one (the URL the
 * client decoded, image_512 else image_192).  The small URL is derived from
 * the larger by its size suffix ("..._512.png" -> "..._72.png"), the form
 * every Slack avatar URL has; a URL without one is used for both sizes.
 *
 * Checks, each with a plain sentence in `why` for the Details:
 *   - the address, and each redirect's, on an allowed host (hosts below:
 *     the configuration's pictures.hosts, Slack's CDN by default), so
 *     that a forged answer cannot make the sync fetch from the product's
 *     own network and publish what it got;
 *   - HTTP 200 within a short timeout (connect 3 s, whole transfer
 *     SLACK_PICTURE_TIMEOUT_MS), http/https only, at most 3 redirects;
 *   - Content-Type image/png, image/jpeg, image/gif or image/webp;
 *   - at most SLACK_PICTURE_MAX_BYTES (the transfer stops past it);
 *   - the first bytes are the signature of the announced type.
 *
 * Ownership: struct slack_picture_fetcher owns one curl handle (reused, so
 * a sync reuses connections to the CDN) and the body of the last fetch.
 * Not thread-safe; one per thread.
 *
 * Errors: PV_EIO (network, timeout), PV_EREMOTE (an HTTP status other than
 * 200, a wrong type, bytes that are not the announced picture), PV_ETOOBIG
 * (past the byte cap), PV_EINVAL (no or a non-http URL), PV_ENOMEM; the
 * store's codes from slack_picture_import.  A failure changes nothing
 * stored: the caller keeps the person's previous picture.
 */
#ifndef PV_SLACK_PICTURE_H
#define PV_SLACK_PICTURE_H

#include <stddef.h>

#include "core/buf.h"
#include "directory/picture_store.h"

#define SLACK_PICTURE_TIMEOUT_MS 10000L
/* Slack's image_512 is ~30-150 KiB; 1 MiB leaves room and stops abuse. */
#define SLACK_PICTURE_MAX_BYTES (1024 * 1024)
#define SLACK_PICTURE_SMALL 72
#define SLACK_PICTURE_URL_MAX 1024
#define SLACK_PICTURE_REDIRECTS 3

struct slack_picture_fetcher {
	void *curl;			/* CURL *, opaque to callers */
	long timeout_ms;
	size_t max_bytes;
	struct buf body;		/* the last fetched bytes */
	char content_type[128];
	const char *ext;		/* checked type of body: "png", ... */
	/* Allowed hosts, space- or comma-separated, each also allowing its
	 * subdomains; NULL allows any (a test tool's fetcher).  Borrowed. */
	const char *hosts;
};

/* 1 when url is http(s) with no user name in it and its host is one of
 * hosts (or a subdomain of one); hosts NULL allows any host.  Pure. */
int slack_picture_host_allowed(const char *url, const char *hosts);

/* timeout_ms and max_bytes 0 mean the defaults above. */
int slack_picture_fetcher_init(struct slack_picture_fetcher *f, long timeout_ms,
			       size_t max_bytes);
void slack_picture_fetcher_release(struct slack_picture_fetcher *f);

/* GETs url and checks it (above); the bytes are in f->body until the next
 * call. */
int slack_picture_fetch(struct slack_picture_fetcher *f, const char *url, char *why,
			size_t whylen);

/* The URL of the same avatar in another size: "_<digits>." before the
 * extension replaced by "_<size>.".  PV_EINVAL when url has no size suffix
 * (out then holds url), PV_ETOOBIG when out is too small. */
int slack_picture_size_url(const char *url, int size, char *out, size_t cap);

/* The product's URLs of a person's picture. */
struct slack_picture_urls {
	char small[SLACK_PICTURE_URL_MAX];	/* users.picture_url */
	char large[SLACK_PICTURE_URL_MAX];	/* users.picture_large_url */
};

/* Fetches image_url's page size and image_url itself, stores both, and
 * fills out with their product URLs.  All or nothing: when either fetch or
 * store fails, out is empty and why says what went wrong ("the picture
 * could not be downloaded from Slack (HTTP 404)"). */
int slack_picture_import(struct slack_picture_fetcher *f, struct picture_store *ps,
			 const char *image_url, struct slack_picture_urls *out, char *why,
			 size_t whylen);

#endif
