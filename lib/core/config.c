#include "core/config.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum config_kind { CK_STRING, CK_INT, CK_PORT, CK_URL, CK_BOOL, CK_LEVEL, CK_LOGFMT, CK_TLS };

struct config_key {
	const char *name;
	enum config_kind kind;
	const char *fallback;  /* default value, NULL for none */
	long min, max;         /* for CK_INT */
};

/* Every key the programs understand.  Keep in step with README.md. */
static const struct config_key config_keys[] = {
	{ "db.host", CK_STRING, "localhost", 0, 0 },
	{ "db.port", CK_PORT, "3306", 0, 0 },
	{ "db.socket", CK_STRING, NULL, 0, 0 },
	{ "db.user", CK_STRING, NULL, 0, 0 },
	{ "db.password", CK_STRING, NULL, 0, 0 },
	{ "db.name", CK_STRING, "provisioning", 0, 0 },
	/* The counter of committed writes the programs share (db/db_changes.h);
	 * without it the API reuses no answer. */
	{ "db.changes_file", CK_STRING, NULL, 0, 0 },
	/* How long, at most, the API reuses an answer while no write of the
	 * product's programs committed: the bound for writes made outside
	 * them.  0: never reuse. */
	{ "api.cache_ms", CK_INT, "1000", 0, 60000 },
	{ "app.base_url", CK_URL, "http://127.0.0.1:8080", 0, 0 },
	{ "log.level", CK_LEVEL, "info", 0, 0 },
	{ "log.format", CK_LOGFMT, "plain", 0, 0 },
	{ "log.file", CK_STRING, NULL, 0, 0 },
	{ "metrics.allow", CK_STRING, "127.0.0.1 ::1", 0, 0 },
	{ "metrics.file", CK_STRING, NULL, 0, 0 },
	{ "session.ttl_hours", CK_INT, "12", 1, 24 * 90 },
	{ "slack.api_base", CK_URL, "https://slack.com/api/", 0, 0 },
	{ "slack.authorize_url", CK_URL, "https://slack.com/oauth/v2/authorize", 0, 0 },
	{ "slack.client_id", CK_STRING, NULL, 0, 0 },
	{ "slack.client_secret", CK_STRING, NULL, 0, 0 },
	{ "crypto.key_file", CK_STRING, NULL, 0, 0 },
	{ "smtp.url", CK_URL, NULL, 0, 0 },
	{ "sync.lease_seconds", CK_INT, "60", 2, 3600 },
	{ "sync.batch_size", CK_INT, "500", 1, 10000 },
	{ "sync.writers", CK_INT, "2", 1, 2 },
	{ "smtp.from", CK_STRING, NULL, 0, 0 },
	/* The product's copies of profile pictures (directory/picture_store.h);
	 * nginx serves /pictures/ from the same folder. */
	{ "pictures.dir", CK_STRING, "/var/lib/provisioning/pictures", 0, 0 },
	/* Hosts pictures are downloaded from (each with its subdomains):
	 * Slack's CDN.  Anything else in an answer is not fetched. */
	{ "pictures.hosts", CK_STRING, "slack-edge.com slack.com", 0, 0 },
	{ "smtp.user", CK_STRING, NULL, 0, 0 },
	{ "smtp.password", CK_STRING, NULL, 0, 0 },
	{ "smtp.tls", CK_TLS, "try", 0, 0 },
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct config {
	char *values[CONFIG_NKEYS];
};

static int config_index(const char *name, size_t len)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strlen(config_keys[i].name) == len &&
		    memcmp(config_keys[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static void config_fail(char *err, size_t errlen, const char *key, const char *why)
{
	snprintf(err, errlen, "config: %s: %s", key, why);
}

static int config_check(const struct config_key *k, const char *v, char *err, size_t errlen)
{
	char *end;
	long n;

	switch (k->kind) {
	case CK_STRING:
		return 0;
	case CK_INT:
	case CK_PORT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end) {
			config_fail(err, errlen, k->name, "not a whole number");
			return PV_EINVAL;
		}
		if (k->kind == CK_PORT && (n < 1 || n > 65535)) {
			config_fail(err, errlen, k->name, "not a port number (1-65535)");
			return PV_EINVAL;
		}
		if (k->kind == CK_INT && (n < k->min || n > k->max)) {
			char why[80];

			snprintf(why, sizeof(why), "must be between %ld and %ld", k->min, k->max);
			config_fail(err, errlen, k->name, why);
			return PV_EINVAL;
		}
		return 0;
	case CK_URL:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) &&
		    strncmp(v, "smtp://", 7) && strncmp(v, "smtps://", 8)) {
			config_fail(err, errlen, k->name, "not an http(s) or smtp(s) URL");
			return PV_EINVAL;
		}
		return 0;
	case CK_BOOL:
		if (strcmp(v, "true") && strcmp(v, "false")) {
			config_fail(err, errlen, k->name, "must be true or false");
			return PV_EINVAL;
		}
		return 0;
	case CK_LEVEL:
		if (strcmp(v, "error") && strcmp(v, "warn") && strcmp(v, "info") &&
		    strcmp(v, "debug")) {
			config_fail(err, errlen, k->name, "must be error, warn, info or debug");
			return PV_EINVAL;
		}
		return 0;
	case CK_TLS:
		if (strcmp(v, "try") && strcmp(v, "required")) {
			config_fail(err, errlen, k->name, "must be try or required");
			return PV_EINVAL;
		}
		return 0;
	case CK_LOGFMT:
		if (strcmp(v, "plain") && strcmp(v, "json")) {
			config_fail(err, errlen, k->name, "must be plain or json");
			return PV_EINVAL;
		}
		return 0;
	}
	return PV_EINVAL;
}

static int config_set(struct config *c, int idx, const char *v, size_t len,
		      char *err, size_t errlen)
{
	char *copy = strndup(v, len);
	int rc;

	if (!copy)
		return PV_ENOMEM;
	rc = config_check(&config_keys[idx], copy, err, errlen);
	if (rc < 0) {
		free(copy);
		return rc;
	}
	free(c->values[idx]);
	c->values[idx] = copy;
	return 0;
}

static const char *trim(const char *s, const char *end, size_t *len)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*len = (size_t)(end - s);
	return s;
}

static int config_parse_text(struct config *c, const char *text, char *err, size_t errlen)
{
	const char *line = text;
	int lineno = 0;

	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *eq, *key, *val;
		size_t klen, vlen, len;
		int idx, rc;

		if (!eol)
			eol = line + strlen(line);
		lineno++;
		line = trim(line, eol, &len);
		if (len == 0 || line[0] == '#')
			goto next;
		eq = memchr(line, '=', len);
		if (!eq) {
			snprintf(err, errlen, "config: line %d: expected 'key = value'", lineno);
			return PV_EINVAL;
		}
		key = trim(line, eq, &klen);
		val = trim(eq + 1, line + len, &vlen);
		idx = config_index(key, klen);
		if (idx < 0) {
			snprintf(err, errlen, "config: %.*s: unknown key (line %d)",
				 (int)(klen > 64 ? 64 : klen), key, lineno);
			return PV_EINVAL;
		}
		rc = config_set(c, idx, val, vlen, err, errlen);
		if (rc < 0)
			return rc;
next:
		line = *eol ? eol + 1 : eol;
	}
	return 0;
}

/* Environment wins over the file; defaults fill what neither gave. */
static int config_finish(struct config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		char envname[64];
		const char *v;
		size_t j;
		int rc;

		for (j = 0; config_keys[i].name[j] && j + 1 < sizeof(envname); j++) {
			char ch = config_keys[i].name[j];

			envname[j] = ch == '.' ? '_' : (char)toupper((unsigned char)ch);
		}
		envname[j] = '\0';
		v = getenv(envname);
		if (!v && !c->values[i])
			v = config_keys[i].fallback;
		if (!v)
			continue;
		rc = config_set(c, (int)i, v, strlen(v), err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int config_parse(struct config **out, const char *text, char *err, size_t errlen)
{
	struct config *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	rc = c ? config_parse_text(c, text, err, errlen) : PV_ENOMEM;
	if (rc == 0)
		rc = config_finish(c, err, errlen);
	if (rc < 0) {
		/* The promise is one line in err for every failure: a program
		 * prints it and stops, and an empty line would explain nothing
		 * (found by tests/unit/test_alloc_fail.c). */
		if (rc == PV_ENOMEM && errlen > 0)
			snprintf(err, errlen, "config: out of memory");
		config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int config_load(struct config **out, const char *path, char *err, size_t errlen)
{
	char text[65536];
	size_t n = 0;
	FILE *f;

	if (!path)
		path = getenv("PROVISIONING_CONFIG");
	if (!path)
		path = CONFIG_DEFAULT_PATH;
	text[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		if (ferror(f) || n == sizeof(text) - 1) {
			fclose(f);
			snprintf(err, errlen, "config: %s: unreadable or larger than 64 KiB", path);
			return PV_EIO;
		}
		fclose(f);
		text[n] = '\0';
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "config: %s: %s", path, strerror(errno));
		return PV_EIO;
	}
	return config_parse(out, text, err, errlen);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		free(c->values[i]);
	free(c);
}

const char *config_get(const struct config *c, const char *key)
{
	int idx = config_index(key, strlen(key));

	return idx < 0 ? NULL : c->values[idx];
}

long config_get_long(const struct config *c, const char *key)
{
	const char *v = config_get(c, key);

	return v ? strtol(v, NULL, 10) : 0;
}

int config_require(const struct config *c, const char *key, char *err, size_t errlen)
{
	const char *v = config_get(c, key);

	if (v && *v)
		return 0;
	config_fail(err, errlen, key, "required but not set");
	return PV_EINVAL;
}
