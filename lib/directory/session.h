/*
 * session.h - signing in and out, and recognizing a signed-in caller (SPEC §4.1).
 *
 * A session id is a random 256-bit token given to the browser in a cookie;
 * the database keeps only its SHA-256 digest, with an absolute expiry.
 *
 * Throttling: more than SESSION_MAX_FAILURES failed sign-ins for one e-mail
 * address, or SESSION_MAX_IP_FAILURES from one client address, within
 * SESSION_FAILURE_WINDOW seconds make further attempts fail with
 * PV_ETHROTTLED (even with the right password) until the oldest failure
 * leaves the window.
 */
#ifndef PV_SESSION_H
#define PV_SESSION_H

#include <stdint.h>

#include "core/token.h"

struct db;

#define SESSION_MAX_FAILURES 5
#define SESSION_MAX_IP_FAILURES 50
#define SESSION_FAILURE_WINDOW (15 * 60)

struct session_who {
	int64_t user_id;
	int64_t org_id;
	int is_admin;
};

/* On success token gets the new session id (give it to the client, never
 * log it).  PV_EAUTH for an unknown e-mail or a wrong password alike;
 * PV_ETHROTTLED with *retry_after in seconds. */
int session_sign_in(struct db *db, const char *email, const char *password,
		    const char *client_ip, int ttl_hours, char token[TOKEN_HEX_LEN + 1],
		    struct session_who *who, int *retry_after);
/* PV_ENOTFOUND when the token is unknown, expired or its user deactivated. */
int session_lookup(struct db *db, const char *token, struct session_who *who);
int session_end(struct db *db, const char *token);

#endif
