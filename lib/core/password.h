/*
 * password.h - slow salted password hashes (libcrypt, yescrypt "$y$").
 */
#ifndef PV_PASSWORD_H
#define PV_PASSWORD_H

#include <stddef.h>

#define PASSWORD_HASH_MAX 128
#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 1024

/* Hashes pw with a fresh salt into out.  PV_EINVAL when pw is shorter
 * than PASSWORD_MIN_LEN or longer than PASSWORD_MAX_LEN. */
int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);
/* 1 when pw matches hash, 0 when not (or hash is NULL: a dummy hash is
 * computed anyway so that timing does not tell whether an account exists). */
int password_verify(const char *pw, const char *hash);

#endif
