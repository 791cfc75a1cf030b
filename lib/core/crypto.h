/*
 * crypto.h - sealing secrets at rest (Slack tokens) with AES-256-GCM.
 *
 * The key lives in a file outside the database (config crypto.key_file):
 * exactly 32 raw bytes, or 64 hexadecimal characters.  Each seal uses a fresh
 * random 96-bit nonce, and binds the secret to its organization through the
 * associated data, so a sealed token copied to another organization's row
 * does not open.
 *
 * Sealed text: "v1:" followed by base64 of nonce (12) | ciphertext | tag (16).
 *
 * Ownership: crypto_key_load returns a key the caller frees with
 * crypto_key_free (which wipes it).  Sealed and opened strings are malloc'd
 * for the caller; free an opened secret with crypto_secret_free, which wipes
 * it first.  Errors: PV_EIO (key file unreadable), PV_EINVAL (key file of the
 * wrong size, sealed text malformed), PV_ECRYPTO (authentication failed:
 * wrong key, wrong organization or tampered text), PV_ENOMEM.
 */
#ifndef PV_CRYPTO_H
#define PV_CRYPTO_H

#include <stdint.h>

struct crypto_key;

int crypto_key_load(const char *path, struct crypto_key **out);
/* A key from 32 raw bytes (tests). */
int crypto_key_from_bytes(const unsigned char raw[32], struct crypto_key **out);
void crypto_key_free(struct crypto_key *key);

int crypto_seal(const struct crypto_key *key, int64_t org, const char *secret, char **sealed);
int crypto_open(const struct crypto_key *key, int64_t org, const char *sealed, char **secret);
/* Wipes and frees an opened secret; NULL is fine. */
void crypto_secret_free(char *secret);

#endif
