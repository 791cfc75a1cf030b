#include "directory/session.h"
#include "db/db.h"
#include "core/email_fold.h"
#include "core/err.h"
#include "core/log.h"
#include "core/password.h"

#include <string.h>

/* Seconds until the attempt is allowed again, 0 when it is allowed now. */
static int session_throttled(struct db *db, const char *email, const char *ip, int *retry_after)
{
	long long wait = 0;
	int rc;

	*retry_after = 0;
	rc = db_query_int(db, &wait,
			  "SELECT GREATEST("
			  " IFNULL((SELECT TIMESTAMPDIFF(SECOND, NOW(), MIN(f.failed_at) + INTERVAL ? SECOND)"
			  "  FROM (SELECT failed_at FROM sign_in_failures WHERE email_key = " EMAIL_KEY_SQL
			  "   AND failed_at > NOW() - INTERVAL ? SECOND ORDER BY failed_at DESC LIMIT ?) f"
			  "  HAVING COUNT(*) >= ?), 0),"
			  " IFNULL((SELECT TIMESTAMPDIFF(SECOND, NOW(), MIN(g.failed_at) + INTERVAL ? SECOND)"
			  "  FROM (SELECT failed_at FROM sign_in_failures WHERE client_ip = ?"
			  "   AND failed_at > NOW() - INTERVAL ? SECOND ORDER BY failed_at DESC LIMIT ?) g"
			  "  HAVING COUNT(*) >= ?), 0))",
			  DB_ARGS(DB_INT(SESSION_FAILURE_WINDOW), DB_STR(email),
				  DB_INT(SESSION_FAILURE_WINDOW), DB_INT(SESSION_MAX_FAILURES),
				  DB_INT(SESSION_MAX_FAILURES),
				  DB_INT(SESSION_FAILURE_WINDOW), DB_STR(ip),
				  DB_INT(SESSION_FAILURE_WINDOW), DB_INT(SESSION_MAX_IP_FAILURES),
				  DB_INT(SESSION_MAX_IP_FAILURES)));
	if (rc < 0)
		return rc;
	if (wait > 0)
		*retry_after = (int)wait;
	return 0;
}

int session_sign_in(struct db *db, const char *email, const char *password,
		    const char *client_ip, int ttl_hours, char token[TOKEN_HEX_LEN + 1],
		    struct session_who *who, int *retry_after)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	struct db_rows *r = NULL;
	int rc, found = 0, tried = 0;

	token[0] = '\0';
	rc = session_throttled(db, email, client_ip, retry_after);
	if (rc < 0)
		return rc;
	if (*retry_after > 0) {
		log_warn("session: sign-in throttled for %d s", *retry_after);
		return PV_ETHROTTLED;
	}
	/* One e-mail may belong to people of several organizations; the
	 * password tells which one is signing in. */
	rc = db_query(db, &r, "SELECT id, organization_id, role = 'administrator', password_hash"
		      " FROM users WHERE email_key = " EMAIL_KEY_SQL " AND status = 'active'"
		      " AND password_hash IS NOT NULL ORDER BY id LIMIT 10",
		      DB_ARGS(DB_STR(email)));
	if (rc < 0)
		return rc;
	while (!found && (rc = db_rows_next(r)) == 1) {
		tried++;
		if (password_verify(password, db_rows_str(r, 3)) == 1) {
			who->user_id = db_rows_int(r, 0);
			who->org_id = db_rows_int(r, 1);
			who->is_admin = db_rows_int(r, 2) != 0;
			found = 1;
		}
	}
	db_rows_free(r);
	if (rc < 0)
		return rc;
	if (!tried)
		password_verify(password, NULL);  /* same cost as a known e-mail */
	if (!found) {
		rc = db_exec(db, "INSERT INTO sign_in_failures (email_key, client_ip) VALUES (" EMAIL_KEY_SQL ", ?)",
			     DB_ARGS(DB_STR(email), DB_STR(client_ip)), NULL);
		return rc < 0 ? rc : PV_EAUTH;
	}
	rc = token_new(token);
	if (rc == 0)
		rc = token_digest(token, digest);
	if (rc == 0)
		rc = db_exec(db, "INSERT INTO sessions (id_digest, organization_id, user_id, expires_at)"
			     " VALUES (?, ?, ?, NOW() + INTERVAL ? HOUR)",
			     DB_ARGS(DB_STR(digest), DB_INT(who->org_id), DB_INT(who->user_id),
				     DB_INT(ttl_hours)), NULL);
	/* Tidy: forget this address's failures and long-expired rows. */
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM sign_in_failures WHERE email_key = " EMAIL_KEY_SQL
			     " OR failed_at < NOW() - INTERVAL 1 DAY", DB_ARGS(DB_STR(email)), NULL);
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM sessions WHERE expires_at < NOW() - INTERVAL 1 DAY",
			     DB_NOARGS, NULL);
	if (rc < 0)
		token[0] = '\0';
	return rc;
}

int session_lookup(struct db *db, const char *token, struct session_who *who)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	struct db_rows *r = NULL;
	int rc;

	if (strlen(token) != TOKEN_HEX_LEN)
		return PV_ENOTFOUND;
	rc = token_digest(token, digest);
	if (rc < 0)
		return rc;
	rc = db_query(db, &r, "SELECT u.id, u.organization_id, u.role = 'administrator'"
		      " FROM sessions s JOIN users u"
		      " ON u.organization_id = s.organization_id AND u.id = s.user_id"
		      " WHERE s.id_digest = ? AND s.expires_at > NOW() AND u.status = 'active'",
		      DB_ARGS(DB_STR(digest)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		who->user_id = db_rows_int(r, 0);
		who->org_id = db_rows_int(r, 1);
		who->is_admin = db_rows_int(r, 2) != 0;
		rc = 0;
	} else if (rc == 0) {
		rc = PV_ENOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

int session_end(struct db *db, const char *token)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	int rc = token_digest(token, digest);

	if (rc < 0)
		return rc;
	return db_exec(db, "DELETE FROM sessions WHERE id_digest = ?", DB_ARGS(DB_STR(digest)), NULL);
}
