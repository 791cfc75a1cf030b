/*
 * picture_store.c - content-addressed pictures in a local (or mounted)
 * folder; see picture_store.h.
 */
#include "directory/picture_store.h"

#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static const struct {
	const char *type, *ext;
} types[] = {
	{ "image/png", "png" },
	{ "image/jpeg", "jpg" },
	{ "image/gif", "gif" },
	{ "image/webp", "webp" },
};

const char *picture_type_ext(const char *ct)
{
	size_t n, i;

	if (!ct)
		return NULL;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].type) == n && strncasecmp(ct, types[i].type, n) == 0)
			return types[i].ext;
	return NULL;
}

const char *picture_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!p)
		return NULL;
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "png";
	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return "jpg";
	if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return "gif";
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "webp";
	return NULL;
}

/* A well-formed name: 64 lower-case hex digits, '.', an accepted
 * extension.  Only such names are ever joined to the folder. */
static int name_ok(const char *name)
{
	size_t i;

	if (!name || strlen(name) < 66)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (name[64] != '.')
		return 0;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name + 65, types[i].ext) == 0)
			return 1;
	return 0;
}

static int path_of(const struct picture_store *ps, const char *name, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%s", ps->dir, name);

	return n < 0 || (size_t)n >= cap ? PV_ETOOBIG : 0;
}

/* mkdir -p, each missing level 0755. */
static int make_dirs(const char *dir)
{
	char p[sizeof(((struct picture_store *)0)->dir)];
	size_t i, n = strlen(dir);

	if (n >= sizeof(p))
		return PV_ETOOBIG;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			log_error("pictures: cannot create %s: %s", p, strerror(errno));
			return PV_EIO;
		}
		p[i] = i < n ? '/' : '\0';
	}
	return 0;
}

int picture_store_open(struct picture_store *ps, const char *dir, const char *url_prefix)
{
	int n, rc;

	memset(ps, 0, sizeof(*ps));
	if (!dir || !*dir || !url_prefix)
		return PV_EINVAL;
	n = snprintf(ps->dir, sizeof(ps->dir), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(ps->dir))
		return PV_ETOOBIG;
	while (n > 1 && ps->dir[n - 1] == '/')
		ps->dir[--n] = '\0';
	n = snprintf(ps->url_prefix, sizeof(ps->url_prefix), "%s", url_prefix);
	if (n < 0 || (size_t)n >= sizeof(ps->url_prefix))
		return PV_ETOOBIG;
	rc = make_dirs(ps->dir);
	if (rc < 0)
		return rc;
	if (access(ps->dir, W_OK | X_OK) < 0) {
		log_error("pictures: %s is not writable: %s", ps->dir, strerror(errno));
		return PV_EIO;
	}
	return 0;
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return PV_ECRYPTO;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int picture_store_put(struct picture_store *ps, const void *data, size_t len,
		      char name[PICTURE_NAME_MAX])
{
	char path[1024], tmp[1024], hex[65];
	const char *ext;
	const unsigned char *p = data;
	size_t done = 0;
	int fd = -1, made_tmp = 0, rc;

	name[0] = '\0';
	if (len == 0 || len > PICTURE_MAX_BYTES)
		return PV_ETOOBIG;
	ext = picture_sniff(data, len);
	if (!ext)
		return PV_EINVAL;
	rc = sha256_hex(data, len, hex);
	if (rc == 0)
		rc = snprintf(name, PICTURE_NAME_MAX, "%s.%s", hex, ext) < 0 ? PV_EINVAL : 0;
	if (rc == 0)
		rc = path_of(ps, name, path, sizeof(path));
	if (rc == 0)
		rc = path_of(ps, ".tmp-XXXXXX", tmp, sizeof(tmp));
	if (rc < 0)
		goto out;
	if (access(path, F_OK) == 0)
		goto out;  /* the same bytes are already there */
	fd = mkstemp(tmp);
	if (fd < 0) {
		log_error("pictures: cannot create a file in %s: %s", ps->dir, strerror(errno));
		rc = PV_EIO;
		goto out;
	}
	made_tmp = 1;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_error("pictures: cannot write %s: %s", tmp, strerror(errno));
			rc = PV_EIO;
			goto out;
		}
		done += (size_t)w;
	}
	/* Readable by nginx whatever the umask; durable before it has a name
	 * (or, deferred, before the caller publishes it: picture_store_flush). */
	if (fchmod(fd, 0644) < 0 || (!ps->deferred && fsync(fd) < 0) || close(fd) < 0) {
		fd = -1;
		log_error("pictures: cannot finish %s: %s", tmp, strerror(errno));
		rc = PV_EIO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		log_error("pictures: cannot rename %s to %s: %s", tmp, path, strerror(errno));
		rc = PV_EIO;
		goto out;
	}
	made_tmp = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made_tmp)
		unlink(tmp);  /* a failed write leaves no half file */
	if (rc < 0)
		name[0] = '\0';
	return rc;
}

int picture_store_flush(struct picture_store *ps)
{
	int fd = open(ps->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || syncfs(fd) < 0) {
		log_error("pictures: cannot flush %s: %s", ps->dir, strerror(errno));
		rc = PV_EIO;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int picture_store_url(const struct picture_store *ps, const char *name, char *url, size_t cap)
{
	int n;

	if (!name_ok(name))
		return PV_EINVAL;
	n = snprintf(url, cap, "%s%s", ps->url_prefix, name);
	return n < 0 || (size_t)n >= cap ? PV_ETOOBIG : 0;
}

int picture_store_has(const struct picture_store *ps, const char *name)
{
	char path[1024];
	int rc;

	if (!name_ok(name))
		return PV_EINVAL;
	rc = path_of(ps, name, path, sizeof(path));
	if (rc < 0)
		return rc;
	return access(path, F_OK) == 0 ? 1 : 0;
}
