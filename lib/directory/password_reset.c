#include "directory/password_reset.h"
#include "core/email_fold.h"
#include "core/err.h"
#include "core/log.h"
#include "core/password.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

int pwreset_request(struct db *db, const char *email, const char *client_ip,
		    struct pwreset_link *links, size_t max, size_t *n)
{
	struct db_rows *r = NULL;
	long long by_email = 0, by_ip = 0;
	int rc;

	*n = 0;
	if (max > PWRESET_MAX_ACCOUNTS)
		max = PWRESET_MAX_ACCOUNTS;
	/* Counted before the check, so that a flood is counted whole. */
	rc = db_exec(db, "INSERT INTO password_reset_requests (email_key, client_ip)"
		     " VALUES (" EMAIL_KEY_SQL ", ?)", DB_ARGS(DB_STR(email), DB_STR(client_ip)), NULL);
	if (rc == 0)
		rc = db_query_int(db, &by_email, "SELECT COUNT(*) FROM password_reset_requests"
				  " WHERE email_key = " EMAIL_KEY_SQL " AND requested_at > NOW() - INTERVAL 1 HOUR",
				  DB_ARGS(DB_STR(email)));
	if (rc == 0)
		rc = db_query_int(db, &by_ip, "SELECT COUNT(*) FROM password_reset_requests"
				  " WHERE client_ip = ? AND requested_at > NOW() - INTERVAL 15 MINUTE",
				  DB_ARGS(DB_STR(client_ip)));
	if (rc < 0)
		return rc;
	if (by_email > PWRESET_MAX_PER_EMAIL || by_ip > PWRESET_MAX_PER_IP)
		return PV_ETHROTTLED;
	rc = db_query(db, &r, "SELECT u.id, u.organization_id, u.email, u.display_name, o.name"
		      " FROM users u JOIN organizations o ON o.id = u.organization_id"
		      " WHERE u.email_key = " EMAIL_KEY_SQL " AND u.status = 'active'"
		      " AND u.password_hash IS NOT NULL ORDER BY u.id LIMIT ?",
		      DB_ARGS(DB_STR(email), DB_INT(max)));
	if (rc < 0)
		return rc;
	while ((rc = db_rows_next(r)) == 1) {
		struct pwreset_link *l = &links[*n];
		char digest[TOKEN_DIGEST_HEX_LEN + 1];

		rc = token_new(l->token);
		if (rc == 0)
			rc = token_digest(l->token, digest);
		if (rc == 0)
			rc = db_exec(db, "INSERT INTO password_resets (token_digest, organization_id,"
				     " user_id, expires_at) VALUES (?, ?, ?, NOW() + INTERVAL ? MINUTE)",
				     DB_ARGS(DB_STR(digest), DB_INT(db_rows_int(r, 1)),
					     DB_INT(db_rows_int(r, 0)), DB_INT(PWRESET_TTL_MINUTES)), NULL);
		if (rc < 0)
			break;
		snprintf(l->email, sizeof(l->email), "%s", db_rows_str(r, 2));
		snprintf(l->name, sizeof(l->name), "%s", db_rows_str(r, 3) ? db_rows_str(r, 3) : "");
		snprintf(l->org, sizeof(l->org), "%s", db_rows_str(r, 4));
		(*n)++;
	}
	db_rows_free(r);
	return rc < 0 ? rc : 0;
}

struct confirm {
	const char *digest, *hash;
};

static int confirm_tx(struct db *db, void *arg)
{
	struct confirm *c = arg;
	struct db_rows *r = NULL;
	int64_t org, user;
	int rc;

	rc = db_query(db, &r, "SELECT organization_id, user_id FROM password_resets"
		      " WHERE token_digest = ? AND used_at IS NULL AND expires_at > NOW() FOR UPDATE",
		      DB_ARGS(DB_STR(c->digest)));
	if (rc < 0)
		return rc;
	rc = db_rows_next(r);
	if (rc == 0)
		rc = PV_ENOTFOUND;
	if (rc < 0)
		goto out;
	org = db_rows_int(r, 0);
	user = db_rows_int(r, 1);
	rc = db_exec(db, "UPDATE users SET password_hash = ? WHERE organization_id = ? AND id = ?"
		     " AND status = 'active'", DB_ARGS(DB_STR(c->hash), DB_INT(org), DB_INT(user)), NULL);
	/* This link and every other outstanding one of the account are spent. */
	if (rc == 0)
		rc = db_exec(db, "UPDATE password_resets SET used_at = NOW()"
			     " WHERE organization_id = ? AND user_id = ? AND used_at IS NULL",
			     DB_ARGS(DB_INT(org), DB_INT(user)), NULL);
	if (rc == 0)
		rc = db_exec(db, "DELETE FROM sessions WHERE organization_id = ? AND user_id = ?",
			     DB_ARGS(DB_INT(org), DB_INT(user)), NULL);
	if (rc == 0)
		log_info("password reset: user %lld of organization %lld set a new password",
			 (long long)user, (long long)org);
out:
	db_rows_free(r);
	return rc;
}

int pwreset_confirm(struct db *db, const char *token, const char *password)
{
	char digest[TOKEN_DIGEST_HEX_LEN + 1], hash[PASSWORD_HASH_MAX];
	struct confirm c = { digest, hash };
	int rc;

	if (!token || strlen(token) != TOKEN_HEX_LEN)
		return PV_ENOTFOUND;
	rc = password_hash(password, hash);
	if (rc < 0)
		return rc;
	rc = token_digest(token, digest);
	if (rc == 0)
		rc = db_tx_run(db, confirm_tx, &c);
	memset(hash, 0, sizeof(hash));
	return rc;
}
