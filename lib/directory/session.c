#include "directory/session.h"
#include "db/db.h"
#include "core/email_fold.h"
#include "core/err.h"
#include "core/log.h"
#include "core/password.h"

#include <string.h>

/* Numbers of session.h spelled into SQL text, so statements stay constant
 * (and cached) while the values live in one place. */
#define STR_(x) #x
#define PV_STR(x) STR_(x)

/* The delay owed after `failures` (a column) consecutive failures of an
 * account: 0 for the free ones, then 2, 4, 8 ... seconds, capped.  The
 * shift's exponent is bounded so it never overflows. */
#define ACCOUNT_DELAY \
	"IF(failures < " PV_STR(SESSION_FREE_FAILURES) ", 0, LEAST(" PV_STR(SESSION_MAX_DELAY) "," \
	" 1 << LEAST(failures - " PV_STR(SESSION_FREE_FAILURES) " + 1, 20)))"
#define ACCOUNT_STALE \
	"last_failure_at < NOW(3) - INTERVAL " PV_STR(SESSION_FAILURE_MEMORY) " SECOND"
#define ADDRESS_STALE \
	"window_start < NOW(3) - INTERVAL " PV_STR(SESSION_ADDRESS_WINDOW) " SECOND"

/* Reserves one password check for the account (is_account) or for the
 * address: 1 when it may go ahead (and is already counted as a failure),
 * 0 when throttled, with *retry_after set; negative on failure.  The
 * UPDATE's WHERE decides and its SET records, under the row's lock, so two
 * concurrent attempts can never both take the last free check. */
static int session_reserve(struct db *db, int is_account, const char *subject, int *retry_after)
{
	const char *scope = is_account ? "account" : "address";
	uint64_t matched = 0;
	long long wait = 0;
	int rc;

	*retry_after = 0;
	rc = db_exec(db, "INSERT IGNORE INTO sign_in_throttle (scope, subject) VALUES (?, " EMAIL_KEY_SQL ")",
		     DB_ARGS(DB_STR(scope), DB_STR(subject)), NULL);
	if (rc < 0)
		return rc;
	if (is_account)
		rc = db_exec(db, "UPDATE sign_in_throttle SET"
			     " failures = IF(" ACCOUNT_STALE ", 1, failures + 1),"
			     " last_failure_at = NOW(3)"
			     " WHERE scope = 'account' AND subject = " EMAIL_KEY_SQL " AND (" ACCOUNT_STALE
			     "  OR last_failure_at + INTERVAL " ACCOUNT_DELAY " SECOND <= NOW(3))",
			     DB_ARGS(DB_STR(subject)), &matched);
	else
		rc = db_exec(db, "UPDATE sign_in_throttle SET"
			     " failures = IF(" ADDRESS_STALE ", 1, failures + 1),"
			     " window_start = IF(" ADDRESS_STALE ", NOW(3), window_start),"
			     " last_failure_at = NOW(3)"
			     " WHERE scope = 'address' AND subject = " EMAIL_KEY_SQL " AND (" ADDRESS_STALE
			     "  OR failures < " PV_STR(SESSION_MAX_ADDRESS_FAILURES) ")",
			     DB_ARGS(DB_STR(subject)), &matched);
	if (rc < 0)
		return rc;
	if (matched == 1)
		return 1;
	if (is_account)
		rc = db_query_int(db, &wait, "SELECT CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3),"
				  " last_failure_at + INTERVAL " ACCOUNT_DELAY " SECOND) / 1000000)"
				  " FROM sign_in_throttle WHERE scope = 'account' AND subject = " EMAIL_KEY_SQL,
				  DB_ARGS(DB_STR(subject)));
	else
		rc = db_query_int(db, &wait, "SELECT CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3),"
				  " window_start + INTERVAL " PV_STR(SESSION_ADDRESS_WINDOW) " SECOND)"
				  " / 1000000) FROM sign_in_throttle"
				  " WHERE scope = 'address' AND subject = " EMAIL_KEY_SQL, DB_ARGS(DB_STR(subject)));
	if (rc < 0)
		return rc;
	*retry_after = wait > 0 ? (int)wait : 1;
	return 0;
}

struct sign_in_tx {
	const char *account;  /* the e-mail as typed; SQL lower-cases it */
	const char *digest;
	const struct session_who *who;
	int ttl_hours;
};

/* Gives back the check session_reserve counted for the account when the
 * attempt was cut short by our own failure (the database, memory) rather
 * than decided by a wrong password: else every such error would count
 * against the account and the throttle would lock out a person whose
 * password is right.  A failure here is only logged: the count then
 * stays, as it did before. */
static void session_unreserve(struct db *db, const char *account)
{
	if (db_exec(db, "UPDATE sign_in_throttle SET failures = GREATEST(failures, 1) - 1"
		    " WHERE scope = 'account' AND subject = " EMAIL_KEY_SQL,
		    DB_ARGS(DB_STR(account)), NULL) < 0)
		log_warn("session: a sign-in stopped by an error stays counted: %s",
			 db_last_error(db));
}

/* The session, the account's clean slate and the tidying, together. */
static int session_create_tx(struct db *db, void *arg)
{
	struct sign_in_tx *t = arg;
	int rc;

	rc = db_exec(db, "INSERT INTO sessions (id_digest, organization_id, user_id, expires_at)"
		     " VALUES (?, ?, ?, NOW() + INTERVAL ? HOUR)",
		     DB_ARGS(DB_STR(t->digest), DB_INT(t->who->org_id), DB_INT(t->who->user_id),
			     DB_INT(t->ttl_hours)), NULL);
	if (rc == 0)
		rc = db_exec(db, "UPDATE sign_in_throttle SET failures = 0"
			     " WHERE scope = 'account' AND subject = " EMAIL_KEY_SQL, DB_ARGS(DB_STR(t->account)), NULL);
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM sign_in_throttle WHERE last_failure_at < NOW(3) - INTERVAL ? SECOND"
			     " AND window_start < NOW(3) - INTERVAL ? SECOND",
			     DB_ARGS(DB_INT(SESSION_FAILURE_MEMORY), DB_INT(SESSION_FAILURE_MEMORY)), NULL);
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM sessions WHERE expires_at < NOW() - INTERVAL 1 DAY",
			     DB_NOARGS, NULL);
	return rc;
}

int session_sign_in(struct db *db, const char *email, const char *password,
		    const char *client_ip, int ttl_hours, char token[TOKEN_HEX_LEN + 1],
		    struct session_who *who, int *retry_after)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	struct sign_in_tx tx = { email, digest, who, ttl_hours };
	struct db_rows *r = NULL;
	long long known = 0;
	int rc, found = 0;

	token[0] = '\0';
	*retry_after = 0;
	/* Whose attempt this is decides which throttle applies; it tells the
	 * caller nothing, as both kinds answer the same 401 or 429. */
	rc = db_query_int(db, &known, "SELECT COUNT(*) FROM users WHERE email_key = " EMAIL_KEY_SQL
			  " AND status = 'active' AND password_hash IS NOT NULL",
			  DB_ARGS(DB_STR(email)));
	if (rc < 0)
		return rc;
	rc = session_reserve(db, known > 0, known > 0 ? email : client_ip, retry_after);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		log_warn("session: sign-in throttled for %d s (%s)", *retry_after,
			 known > 0 ? "account" : "address");
		return PV_ETHROTTLED;
	}
	if (!known) {
		password_verify(password, NULL);  /* same cost as a known e-mail */
		return PV_EAUTH;
	}
	/* One e-mail may belong to people of several organizations; the
	 * password tells which one is signing in. */
	rc = db_query(db, &r, "SELECT id, organization_id, role = 'administrator', password_hash"
		      " FROM users WHERE email_key = " EMAIL_KEY_SQL " AND status = 'active'"
		      " AND password_hash IS NOT NULL ORDER BY id LIMIT 10",
		      DB_ARGS(DB_STR(email)));
	if (rc < 0)
		goto fail;
	while (!found && (rc = db_rows_next(r)) == 1) {
		if (password_verify(password, db_rows_str(r, 3)) == 1) {
			who->user_id = db_rows_int(r, 0);
			who->org_id = db_rows_int(r, 1);
			who->is_admin = db_rows_int(r, 2) != 0;
			found = 1;
		}
	}
	db_rows_free(r);
	if (rc < 0)
		goto fail;
	if (!found)
		return PV_EAUTH;  /* already counted by the reservation */
	rc = token_new(token);
	if (rc == 0)
		rc = token_digest(token, digest);
	if (rc == 0)
		rc = db_tx_run(db, session_create_tx, &tx);
	if (rc == 0)
		return 0;
fail:
	token[0] = '\0';
	session_unreserve(db, email);
	return rc;
}

int session_lookup(struct db *db, const char *token, struct session_who *who)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1];
	int rc;

	if (strlen(token) != TOKEN_HEX_LEN)
		return PV_ENOTFOUND;
	rc = token_digest(token, digest);
	return rc < 0 ? rc : session_lookup_digest(db, digest, who);
}

int session_lookup_digest(struct db *db, const char *digest, struct session_who *who)
{
	struct db_rows *r = NULL;
	int rc;

	rc = db_query(db, &r, "SELECT u.id, u.organization_id, u.role = 'administrator',"
		      " UNIX_TIMESTAMP(s.expires_at)"
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
		who->expires_at = db_rows_int(r, 3);
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
