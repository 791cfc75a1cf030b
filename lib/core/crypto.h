/*
 * crypto.h - sealing secrets at rest (Slack tokens) with AES-256-GCM.
 *
 * The key lives in a file outside the database (config crypto.key_file):
 * exactly 32 raw bytes, or 64 hexadecimal characters.  Each seal uses a fresh
 * random 96-bit nonce, and binds the secret to where it is stored through the
 * associated data: its organization, its integration (the row's id) and its
 * column.  A sealed token copied to another organization's row, to another
 * integration of the same organization, or from the refresh token's column
 * to the access token's, does not open.
 *
 * Sealed text: "v2:" followed by base64 of nonce (12) | ciphertext | tag (16).
 * Tokens sealed before (v1, bound to the organization only) still open, and
 * crypto_open says so through *legacy, so that the caller seals them again
 * (as v2) when it next writes them; nothing is ever sealed as v1.  A v2
 * text relabelled "v1:" does not open (its associated data differs).
 *
 * Ownership: crypto_key_load returns a key the caller frees with
 * crypto_key_free (which wipes it).  Sealed and opened strings are malloc'd
 * for the caller; free an opened secret with crypto_secret_free, which wipes
 * it first.  Errors: PV_EIO (key file unreadable), PV_EINVAL (key file of the
 * wrong size, sealed text malformed, a binding without a column),
 * PV_ECRYPTO (authentication failed: wrong key, wrong organization,
 * integration or column, or tampered text), PV_ENOMEM.
 */
#ifndef PV_CRYPTO_H
#define PV_CRYPTO_H

#include <stdint.h>

struct crypto_key;

int crypto_key_load(const char *path, struct crypto_key **out);
/* A key from 32 raw bytes (tests). */
int crypto_key_from_bytes(const unsigned char raw[32], struct crypto_key **out);
void crypto_key_free(struct crypto_key *key);

/* Where a sealed secret lives; column is borrowed (a constant such as
 * "access_token_sealed"). */
struct crypto_binding {
	int64_t org;
	int64_t integration;
	const char *column;
};

#define CRYPTO_AAD_MAX 160

int crypto_seal(const struct crypto_key *key, const struct crypto_binding *b, const char *secret,
		char **sealed);
/* *legacy (optional) is set to 1 when the text was a v1 seal: seal it again. */
int crypto_open(const struct crypto_key *key, const struct crypto_binding *b, const char *sealed,
		char **secret, int *legacy);
/* Wipes and frees an opened secret; NULL is fine. */
void crypto_secret_free(char *secret);

#endif
