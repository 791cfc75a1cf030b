#include "admin_ops.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_changes.h"
#include "db/migrate.h"
#include "provider/slack/slack.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* --- doctor ---------------------------------------------------------------- */

static int doctor_failed;

static void ok(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("OK   %-14s ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void fix(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fix(const char *what, const char *fmt, ...)
{
	va_list ap;

	doctor_failed = 1;
	printf("FIX  %-14s ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A file holding secrets must not be readable by everyone; the key file
 * not even by the group.  other_only: the configuration (group-readable so
 * that the API's group can read it, mode 0640). */
static void check_mode(const char *what, const char *path, int other_only)
{
	struct stat st;
	mode_t bad = other_only ? 0007 : 0077;

	if (stat(path, &st) < 0) {
		fix(what, "%s: %s", path, strerror(errno));
		return;
	}
	if (st.st_mode & bad)
		fix(what, "%s is mode %04o: run chmod %s %s", path, (unsigned)(st.st_mode & 07777),
		    other_only ? "640" : "600", path);
	else
		ok(what, "%s is mode %04o", path, (unsigned)(st.st_mode & 07777));
}

static void check_config_values(const struct config *cfg)
{
	static const char *const required[] = {
		"db.user", "crypto.key_file", "slack.client_id", "slack.client_secret",
	};
	const char *base = config_get(cfg, "app.base_url");
	int missing = 0;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!config_get(cfg, required[i]) || !*config_get(cfg, required[i])) {
			fix("configuration", "%s is not set", required[i]);
			missing = 1;
		}
	}
	if (strncmp(base, "https://", 8) != 0 && !strstr(base, "://127.0.0.1") &&
	    !strstr(base, "://localhost"))
		fix("configuration", "app.base_url is %s: serve the site over https:// (TLS in "
		    "front of nginx) and write that URL here", base);
	else if (!missing)
		ok("configuration", "every required key is set; app.base_url %s", base);
}

static void check_key(const struct config *cfg)
{
	const char *path = config_get(cfg, "crypto.key_file");
	struct crypto_key *key = NULL;

	if (!path)
		return;   /* reported with the configuration */
	if (crypto_key_load(path, &key) < 0) {
		fix("key file", "%s is not a readable 32-byte key (openssl rand 32 > %s)", path, path);
		return;
	}
	crypto_key_free(key);
	check_mode("key file", path, 0);
}

/* The API gives an answer again only with the counter of commits the
 * programs share (db/db_changes.h); without it every request reads the
 * database, which works but costs several times the CPU under a page's
 * polling. */
static void check_answers(const struct config *cfg)
{
	const char *path = config_get(cfg, "db.changes_file");
	long ms = config_get_long(cfg, "api.cache_ms");
	struct db_changes *c = NULL;
	char err[256];

	if (!path || !*path) {
		fix("answers", "db.changes_file is not set: set it (e.g. /var/lib/provisioning/db-changes)"
		    " so the API can give an answer again while nothing changed");
		return;
	}
	if (db_changes_open(&c, path, err, sizeof(err)) < 0) {
		fix("answers", "%s: the programs' user must be able to read and write it", err);
		return;
	}
	db_changes_close(c);
	if (ms == 0)
		ok("answers", "%s; api.cache_ms is 0: every answer is read anew", path);
	else
		ok("answers", "%s; an answer is given again for %ld ms at most", path, ms);
}

static void check_database(const struct config *cfg)
{
	struct db *db = NULL;
	long long n = 0;
	unsigned int applied = 0;
	int rc;

	rc = db_new(&db, cfg);
	if (rc == 0)
		rc = db_ensure(db);
	if (rc < 0) {
		fix("database", "cannot connect: %s (check db.host, db.port or db.socket, db.user, "
		    "db.password, db.name)", db ? db_last_error(db) : pv_strerror(rc));
		db_free(db);
		return;
	}
	ok("database", "connected to %s", config_get(cfg, "db.name"));
	for (unsigned int i = 0; i < migrations_count; i++) {
		rc = db_query_int(db, &n, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?",
				  DB_ARGS(DB_STR(migrations[i].name)));
		if (rc < 0)
			break;
		applied += n == 1;
	}
	if (rc < 0 || applied < migrations_count)
		fix("schema", "%u of %u migrations applied: run provisioning-admin migrate",
		    rc < 0 ? 0 : applied, migrations_count);
	else
		ok("schema", "current (%u migrations, the newest %s)", migrations_count,
		   migrations[migrations_count - 1].name);
	db_free(db);
}

/* Slack answers oauth.v2.access for a made-up code with invalid_code only
 * once it has accepted the client id and secret: a check of reachability
 * and of the app's credentials that changes nothing at Slack. */
static void check_slack(const struct config *cfg)
{
	struct slack_oauth o = { 0 };
	struct slack_error e;
	int rc;

	if (!config_get(cfg, "slack.client_id") || !config_get(cfg, "slack.client_secret"))
		return;
	memset(&e, 0, sizeof(e));
	rc = slack_oauth_access_ex(cfg, "provisioning-doctor-probe", NULL, &o, &e);
	slack_oauth_release(&o);
	if (rc == 0 || strcmp(e.code, "invalid_code") == 0)
		ok("slack", "%s answers and accepts slack.client_id %s",
		   config_get(cfg, "slack.api_base"), config_get(cfg, "slack.client_id"));
	else if (strcmp(e.code, "invalid_client_id") == 0)
		fix("slack", "Slack does not know slack.client_id %s: copy the Client ID from the "
		    "app's Basic Information page", config_get(cfg, "slack.client_id"));
	else if (strcmp(e.code, "bad_client_secret") == 0)
		fix("slack", "Slack refuses slack.client_secret: copy the Client Secret from the "
		    "app's Basic Information page");
	else
		fix("slack", "%s could not be used (%s): check slack.api_base and this host's "
		    "outgoing HTTPS", config_get(cfg, "slack.api_base"), e.code[0] ? e.code : "no answer");
}

/* Splits smtp://host:port or smtps://host[:port] into host and port. */
static int smtp_target(const char *url, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *p = strstr(url, "://"), *end, *colon;
	int tls;

	if (!p)
		return PV_EINVAL;
	tls = strncmp(url, "smtps", 5) == 0;
	p += 3;
	end = p + strcspn(p, "/");
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		colon = end;
	if (colon == p || (size_t)(colon - p) >= hostlen)
		return PV_EINVAL;
	snprintf(host, hostlen, "%.*s", (int)(colon - p), p);
	if (colon < end)
		snprintf(port, portlen, "%.*s", (int)(end - colon - 1), colon + 1);
	else
		snprintf(port, portlen, "%s", tls ? "465" : "25");
	return 0;
}

/* Connects to the SMTP server and, for plain smtp://, reads its greeting. */
static void check_smtp(const struct config *cfg)
{
	const char *url = config_get(cfg, "smtp.url");
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port[16], greet[128];
	struct timeval tv = { 10, 0 };
	ssize_t n;
	int fd = -1, rc;

	if (!url || !*url) {
		ok("smtp", "smtp.url is not set: no invitation e-mail is sent");
		return;
	}
	if (smtp_target(url, host, sizeof(host), port, sizeof(port)) < 0) {
		fix("smtp", "smtp.url %s is not smtp://host:port or smtps://host:port", url);
		return;
	}
	if (!config_get(cfg, "smtp.from"))
		fix("smtp", "smtp.from is not set: invitations need a sender address");
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fix("smtp", "%s: %s", host, gai_strerror(rc));
		return;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fix("smtp", "cannot connect to %s port %s: %s", host, port, strerror(errno));
		goto out;
	}
	if (strncmp(url, "smtps", 5) == 0) {
		ok("smtp", "%s port %s accepts connections (TLS from the first byte)", host, port);
		goto out;
	}
	n = read(fd, greet, sizeof(greet) - 1);
	if (n >= 3 && memcmp(greet, "220", 3) == 0)
		ok("smtp", "%s port %s greets with 220", host, port);
	else
		fix("smtp", "%s port %s answers but not as an SMTP server", host, port);
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
}

int admin_doctor(void)
{
	const char *path = getenv("PROVISIONING_CONFIG");
	struct config *cfg = NULL;
	char err[256];

	doctor_failed = 0;
	if (!path || !*path)
		path = CONFIG_DEFAULT_PATH;
	if (config_load(&cfg, NULL, err, sizeof(err)) < 0) {
		fix("configuration", "%s (%s)", err, path);
		return PV_EINVAL;
	}
	/* The client's retry warnings would bury the one line per check. */
	log_set_level(LOG_LVL_ERROR);
	check_config_values(cfg);
	if (access(path, F_OK) == 0)
		check_mode("config file", path, 1);
	check_key(cfg);
	check_answers(cfg);
	check_database(cfg);
	check_slack(cfg);
	check_smtp(cfg);
	config_free(cfg);
	return doctor_failed ? PV_EINVAL : 0;
}

/* --- rekey ----------------------------------------------------------------- */

struct rekey {
	const struct crypto_key *old_key, *new_key;
	int count;
};

/* Re-seals one column's value, bound to its organization, row and column
 * (crypto.h); a v1 seal opens and is written back as v2.  NULL stays NULL. */
static int reseal(const struct rekey *k, int64_t org, int64_t id, const char *column,
		  const char *sealed, char **out)
{
	const struct crypto_binding b = { org, id, column };
	char *plain = NULL;
	int rc;

	*out = NULL;
	if (!sealed)
		return 0;
	rc = crypto_open(k->old_key, &b, sealed, &plain, NULL);
	if (rc == 0)
		rc = crypto_seal(k->new_key, &b, plain, out);
	crypto_secret_free(plain);
	return rc;
}

static int rekey_tx(struct db *db, void *arg)
{
	struct rekey *k = arg;
	struct db_rows *r = NULL;
	char *access = NULL, *refresh = NULL;
	int rc;

	k->count = 0;
	/* Every organization's rows, on purpose: the key is the host's, not an
	 * organization's.  FOR UPDATE keeps a token refresh from writing a
	 * token under the old key between our read and our write. */
	rc = db_query(db, &r,
		      "SELECT id, organization_id, access_token_sealed, refresh_token_sealed"
		      " FROM provisioning_integrations"
		      " WHERE access_token_sealed IS NOT NULL OR refresh_token_sealed IS NOT NULL"
		      " ORDER BY id FOR UPDATE", DB_NOARGS);
	if (rc < 0)
		goto out;
	while ((rc = db_rows_next(r)) == 1) {
		int64_t id = db_rows_int(r, 0), org = db_rows_int(r, 1);

		rc = reseal(k, org, id, "access_token_sealed", db_rows_str(r, 2), &access);
		if (rc == 0)
			rc = reseal(k, org, id, "refresh_token_sealed", db_rows_str(r, 3), &refresh);
		if (rc < 0) {
			fprintf(stderr, "provisioning-admin: rekey: the token of integration %lld "
				"(organization %lld) does not open with crypto.key_file: %s; nothing "
				"was changed\n", (long long)id, (long long)org, pv_strerror(rc));
			goto out;
		}
		rc = db_exec(db, "UPDATE provisioning_integrations SET access_token_sealed = ?,"
			     " refresh_token_sealed = ? WHERE organization_id = ? AND id = ?",
			     DB_ARGS(DB_STR(access), DB_STR(refresh), DB_INT(org), DB_INT(id)), NULL);
		free(access);
		free(refresh);
		access = refresh = NULL;
		if (rc < 0)
			goto out;
		k->count++;
	}
out:
	free(access);
	free(refresh);
	db_rows_free(r);
	return rc;
}

int admin_rekey(struct config *cfg, struct db *db, const char *new_key_path)
{
	struct crypto_key *old_key = NULL, *new_key = NULL;
	struct rekey k = { 0 };
	int rc;

	rc = crypto_key_load(config_get(cfg, "crypto.key_file"), &old_key);
	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: rekey: crypto.key_file is not a readable "
			"32-byte key\n");
		goto out;
	}
	rc = crypto_key_load(new_key_path, &new_key);
	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: rekey: %s is not a readable 32-byte key "
			"(make one with: openssl rand 32 > %s)\n", new_key_path, new_key_path);
		goto out;
	}
	k.old_key = old_key;
	k.new_key = new_key;
	rc = db_tx_run(db, rekey_tx, &k);
	if (rc < 0) {
		if (rc != PV_ECRYPTO && rc != PV_EINVAL)
			fprintf(stderr, "provisioning-admin: rekey: %s: %s\n", pv_strerror(rc),
				db_last_error(db));
		goto out;
	}
	printf("rekey: %d integrations re-sealed under %s; now point crypto.key_file at it\n",
	       k.count, new_key_path);
out:
	crypto_key_free(new_key);
	crypto_key_free(old_key);
	return rc;
}
