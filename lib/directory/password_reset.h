/*
 * password_reset.h - "Forgot password" (issue 14): single-use links that
 * expire, stored hashed, throttled, with the same outcome for the caller
 * whether or not an account exists.
 *
 * A request for an address records itself (password_reset_requests) and,
 * unless throttled, makes one link per account with that address that can
 * sign in (active, with a password; one address may have an account in
 * several organizations).  The caller gets the links' raw tokens to mail
 * and must never log them; only their SHA-256 is stored.  A link works
 * once, for PWRESET_TTL_MINUTES; using it sets the password, ends every
 * session of the account and spends every other outstanding link of it.
 *
 * Errors: PV_ETHROTTLED (too many requests for the address or from the
 * client: the caller answers as if it had worked), PV_ENOTFOUND (a link
 * that is unknown, used or expired), PV_EINVAL (a password out of
 * PASSWORD_MIN_LEN..PASSWORD_MAX_LEN), database errors.
 */
#ifndef PV_PASSWORD_RESET_H
#define PV_PASSWORD_RESET_H

#include "core/token.h"

#include <stddef.h>
#include <stdint.h>

struct db;

#define PWRESET_TTL_MINUTES 60
#define PWRESET_MAX_PER_EMAIL 3      /* requests per address per hour */
#define PWRESET_MAX_PER_IP 20        /* requests per client per 15 minutes */
#define PWRESET_MAX_ACCOUNTS 10      /* links made by one request at most */

struct pwreset_link {
	char token[TOKEN_HEX_LEN + 1];  /* secret: goes in the e-mail only */
	char email[255];
	char name[201];
	char org[201];
};

/* Records a request for email from client_ip and fills links[0..*n) (at
 * most max) with the links to send.  *n is 0 when the address has no
 * account that can sign in: not an error. */
int pwreset_request(struct db *db, const char *email, const char *client_ip,
		    struct pwreset_link *links, size_t max, size_t *n);

/* Spends the link token and sets the account's password to password. */
int pwreset_confirm(struct db *db, const char *token, const char *password);

#endif
