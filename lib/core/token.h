/*
 * token.h - random secrets and their digests (OpenSSL).
 *
 * Session ids and OAuth states are random strings; only their SHA-256 digest
 * is stored, so a copy of the database cannot be used to sign in.
 */
#ifndef PV_TOKEN_H
#define PV_TOKEN_H

#include <stddef.h>

#define TOKEN_BYTES 32                  /* 256 bits of randomness */
#define TOKEN_HEX_LEN (TOKEN_BYTES * 2) /* characters, without the NUL */
#define TOKEN_DIGEST_HEX_LEN 64

/* Fills buf with n random bytes; PV_ECRYPTO if the generator fails. */
int token_random(void *buf, size_t n);
/* Writes a new random token as lower-case hex into out (TOKEN_HEX_LEN+1). */
int token_new(char out[TOKEN_HEX_LEN + 1]);
/* Writes the hex SHA-256 digest of s into out (65 bytes). */
int token_digest(const char *s, char out[TOKEN_DIGEST_HEX_LEN + 1]);
/* Compares two strings in time independent of where they differ. */
int token_equal(const char *a, const char *b);

#endif
