/*
 * slack_picture.c - download and check Slack profile pictures, store them
 * with the product's picture store; see slack_picture.h.
 */
#include "provider/slack/slack_picture.h"

#include "core/err.h"
#include "core/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct slack_picture_fetcher *f = arg;

	/* buf's maximum is the byte cap: past it the transfer stops. */
	if (buf_append(&f->body, p, size * n) < 0)
		return 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct slack_picture_fetcher *f = arg;
	size_t len = size * n;
	static const char name[] = "content-type:";

	if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t i = sizeof(name) - 1, k = 0;

		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < len && p[i] != '\r' && p[i] != '\n' && k + 1 < sizeof(f->content_type))
			f->content_type[k++] = p[i++];
		f->content_type[k] = '\0';
	}
	return len;
}

int slack_picture_fetcher_init(struct slack_picture_fetcher *f, long timeout_ms,
			       size_t max_bytes)
{
	CURL *c;

	memset(f, 0, sizeof(*f));
	f->timeout_ms = timeout_ms > 0 ? timeout_ms : SLACK_PICTURE_TIMEOUT_MS;
	f->max_bytes = max_bytes > 0 ? max_bytes : SLACK_PICTURE_MAX_BYTES;
	buf_init(&f->body, f->max_bytes);
	c = curl_easy_init();
	if (!c)
		return PV_ENOMEM;
	f->curl = c;
	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    /* Redirects are followed by hand (slack_picture_fetch), each
	     * address checked against the allowed hosts first. */
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, f->timeout_ms) != CURLE_OK ||
	    /* A server announcing more than the cap is refused before the body. */
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "provisioning-pictures/1") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, f) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, f) != CURLE_OK) {
		slack_picture_fetcher_release(f);
		return PV_ENOMEM;
	}
	return 0;
}

void slack_picture_fetcher_release(struct slack_picture_fetcher *f)
{
	if (f->curl)
		curl_easy_cleanup(f->curl);
	f->curl = NULL;
	buf_release(&f->body);
}

/* The host of an http(s) URL, lower-cased, into out: PV_EINVAL for another
 * scheme, no host, a user name or password in it, or a host too long. */
static int url_host(const char *url, char *out, size_t cap)
{
	const char *h, *end;
	size_t n;

	if (!url)
		return PV_EINVAL;
	if (strncasecmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	else
		return PV_EINVAL;
	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)))
		return PV_EINVAL;  /* userinfo: the host would not be what it seems */
	if (*h == '[')
		n = (size_t)(end - h);  /* an IPv6 literal, port kept out below */
	else
		n = strcspn(h, ":/?#");
	if (n == 0 || n >= cap)
		return PV_EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)h[i]);
	out[n] = '\0';
	if (*h == '[') {
		char *close = strchr(out, ']');

		if (!close)
			return PV_EINVAL;
		close[1] = '\0';
	}
	return 0;
}

int slack_picture_host_allowed(const char *url, const char *hosts)
{
	char host[256], item[256];
	const char *p = hosts;

	if (url_host(url, host, sizeof(host)) < 0)
		return 0;
	if (!hosts)
		return 1;
	while (*p) {
		size_t n, hl = strlen(host);

		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (n == 0 || n >= sizeof(item)) {
			p += n;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			item[i] = (char)tolower((unsigned char)p[i]);
		item[n] = '\0';
		p += n;
		/* The host itself or one of its subdomains ("avatars.slack-edge.com"
		 * for "slack-edge.com"), never a longer name ("evilslack-edge.com"). */
		if (strcmp(host, item) == 0 ||
		    (hl > n && host[hl - n - 1] == '.' && strcmp(host + hl - n, item) == 0))
			return 1;
	}
	return 0;
}

/* One GET, following up to SLACK_PICTURE_REDIRECTS redirects by hand, each
 * to an allowed host; *status gets the final HTTP status. */
static int get_checked(struct slack_picture_fetcher *f, const char *url, long *status,
		       char *why, size_t whylen)
{
	char next[SLACK_PICTURE_URL_MAX];
	CURLcode cc = CURLE_OK;

	snprintf(next, sizeof(next), "%s", url);
	for (int hop = 0;; hop++) {
		char *loc = NULL;

		if (!slack_picture_host_allowed(next, f->hosts)) {
			WHY("the picture's address is not on a host allowed for pictures"
			    " (the pictures.hosts setting)");
			return PV_EINVAL;
		}
		buf_reset(&f->body);
		f->content_type[0] = '\0';
		*status = 0;
		if (curl_easy_setopt(f->curl, CURLOPT_URL, next) != CURLE_OK)
			return PV_ENOMEM;
		cc = curl_easy_perform(f->curl);
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, status);
		if (cc != CURLE_OK || *status < 300 || *status > 399 ||
		    curl_easy_getinfo(f->curl, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
			break;
		if (hop == SLACK_PICTURE_REDIRECTS) {
			WHY("the picture could not be downloaded from Slack (too many redirects)");
			return PV_EREMOTE;
		}
		if (strlen(loc) >= sizeof(next)) {
			WHY("Slack's picture address is too long");
			return PV_EREMOTE;
		}
		memmove(next, loc, strlen(loc) + 1);
	}
	return (int)cc;  /* CURLcode, 0 = CURLE_OK: mapped by the caller */
}

int slack_picture_fetch(struct slack_picture_fetcher *f, const char *url, char *why,
			size_t whylen)
{
	const char *announced, *actual;
	long status = 0;
	CURLcode cc;
	int rc;

	WHY("%s", "");
	buf_reset(&f->body);
	f->content_type[0] = '\0';
	f->ext = NULL;
	if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
		WHY("Slack gave no usable picture address");
		return PV_EINVAL;
	}
	rc = get_checked(f, url, &status, why, whylen);
	if (rc < 0)
		return rc;
	cc = (CURLcode)rc;
	if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED) {
		WHY("the picture from Slack is larger than %zu KiB", f->max_bytes / 1024);
		return PV_ETOOBIG;
	}
	if (cc != CURLE_OK) {
		/* curl's text names the host, never a secret: picture URLs carry
		 * no token. */
		log_warn("pictures: GET %s: %s", url, curl_easy_strerror(cc));
		WHY("the picture could not be downloaded from Slack (%s)",
		    cc == CURLE_OPERATION_TIMEDOUT ? "no answer in time" : "network error");
		return PV_EIO;
	}
	if (status != 200) {
		WHY("the picture could not be downloaded from Slack (HTTP %ld)", status);
		return PV_EREMOTE;
	}
	announced = picture_type_ext(f->content_type);
	if (!announced) {
		WHY("Slack's picture is not an image of an accepted type (PNG, JPEG, GIF, WebP)");
		return PV_EREMOTE;
	}
	actual = picture_sniff(f->body.data, f->body.len);
	if (!actual || strcmp(actual, announced) != 0) {
		WHY("the file Slack sent as a picture is not a valid %s image",
		    announced[0] == 'j' ? "JPEG" : announced[0] == 'p' ? "PNG" :
		    announced[0] == 'g' ? "GIF" : "WebP");
		return PV_EREMOTE;
	}
	f->ext = actual;
	return 0;
}

int slack_picture_size_url(const char *url, int size, char *out, size_t cap)
{
	const char *dot, *us, *p;
	int n;

	n = snprintf(out, cap, "%s", url ? url : "");
	if (n < 0 || (size_t)n >= cap)
		return PV_ETOOBIG;
	/* The suffix is in the last path segment, before the extension; a
	 * query string (Gravatar's ?s=) is not part of it. */
	if (!url || strchr(url, '?'))
		return PV_EINVAL;
	dot = strrchr(url, '.');
	if (!dot || strchr(dot, '/'))
		return PV_EINVAL;
	for (us = dot; us > url && us[-1] >= '0' && us[-1] <= '9'; us--)
		;
	if (us == dot || us == url || us[-1] != '_')
		return PV_EINVAL;
	p = us;
	n = snprintf(out, cap, "%.*s%d%s", (int)(p - url), url, size, dot);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(out, cap, "%s", "");
		return PV_ETOOBIG;
	}
	return 0;
}

/* Fetches url and stores it; its product URL into out. */
static int fetch_store(struct slack_picture_fetcher *f, struct picture_store *ps,
		       const char *url, char *out, size_t cap, char *why, size_t whylen)
{
	char name[PICTURE_NAME_MAX];
	int rc;

	rc = slack_picture_fetch(f, url, why, whylen);
	if (rc == 0)
		rc = picture_store_put(ps, f->body.data, f->body.len, name);
	if (rc == PV_EIO && !*why)
		WHY("the picture could not be saved (the pictures folder is not writable)");
	else if (rc < 0 && !*why)
		WHY("the picture could not be saved (%s)", pv_strerror(rc));
	if (rc == 0)
		rc = picture_store_url(ps, name, out, cap);
	return rc;
}

int slack_picture_import(struct slack_picture_fetcher *f, struct picture_store *ps,
			 const char *image_url, struct slack_picture_urls *out, char *why,
			 size_t whylen)
{
	char small_src[SLACK_PICTURE_URL_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	WHY("%s", "");
	rc = slack_picture_size_url(image_url, SLACK_PICTURE_SMALL, small_src, sizeof(small_src));
	if (rc == PV_ETOOBIG) {
		WHY("Slack's picture address is too long");
		goto out;
	}
	/* Without a size suffix the one picture serves both sizes. */
	rc = fetch_store(f, ps, small_src, out->small, sizeof(out->small), why, whylen);
	if (rc == 0 && strcmp(small_src, image_url) != 0)
		rc = fetch_store(f, ps, image_url, out->large, sizeof(out->large), why, whylen);
	else if (rc == 0)
		memcpy(out->large, out->small, sizeof(out->large));
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
