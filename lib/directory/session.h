/*
 * session.h - signing in and out, and recognizing a signed-in caller (SPEC §4.1).
 *
 * A session id is a random 256-bit token given to the browser in a cookie;
 * the database keeps only its SHA-256 digest, with an absolute expiry.
 *
 * Throttling (SPEC §4.1), built so that no one can lock another person out
 * (table sign_in_throttle, migration 006):
 *  - Per account (an e-mail that some active user with a password has):
 *    the first SESSION_FREE_FAILURES consecutive failures cost nothing;
 *    once they are used up, each attempt must wait 2 seconds since the
 *    last failure, doubling with every further failure (4, 8 ...) up to
 *    SESSION_MAX_DELAY: a guesser gets about a dozen tries an hour, and
 *    the owner waits at most minutes, never a fixed lock.  A right
 *    password resets it.
 *    Failures older than SESSION_FAILURE_MEMORY are forgotten.
 *  - Per client address, only failures against unknown accounts count, up
 *    to SESSION_MAX_ADDRESS_FAILURES in SESSION_ADDRESS_WINDOW seconds;
 *    past that, attempts at unknown accounts from that address wait for the
 *    window.  An account that exists never waits for its address, so a
 *    company NAT or a load balancer shared with a sprayer locks no one out.
 *  - Atomic: an attempt reserves its password check with one UPDATE whose
 *    WHERE decides and whose SET records the attempt as a failure (undone
 *    by success), so concurrent guesses get at most the allowed checks.
 * A throttled attempt never checks the password: PV_ETHROTTLED with
 * *retry_after, the seconds until the next attempt may be checked.
 */
#ifndef PV_SESSION_H
#define PV_SESSION_H

#include <stdint.h>

#include "core/token.h"

struct db;

#define SESSION_FREE_FAILURES 5
#define SESSION_MAX_DELAY 300
#define SESSION_FAILURE_MEMORY (24 * 3600)
#define SESSION_MAX_ADDRESS_FAILURES 500
#define SESSION_ADDRESS_WINDOW (15 * 60)

struct session_who {
	int64_t user_id;
	int64_t org_id;
	int is_admin;
	int64_t expires_at;  /* Unix time the session ends (session_lookup) */
};

/* On success token gets the new session id (give it to the client, never
 * log it).  PV_EAUTH for an unknown e-mail or a wrong password alike;
 * PV_ETHROTTLED with *retry_after in seconds. */
int session_sign_in(struct db *db, const char *email, const char *password,
		    const char *client_ip, int ttl_hours, char token[TOKEN_HEX_LEN + 1],
		    struct session_who *who, int *retry_after);
/* PV_ENOTFOUND when the token is unknown, expired or its user deactivated. */
int session_lookup(struct db *db, const char *token, struct session_who *who);
/* The same by the token's digest (token_digest), for a caller that has
 * computed it already. */
int session_lookup_digest(struct db *db, const char *digest, struct session_who *who);
int session_end(struct db *db, const char *token);

#endif
