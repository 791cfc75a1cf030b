#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
/* v2 binds a secret to its organization, integration and column; v1 (the
 * organization only) is still opened, never written. */
#define SEAL_PREFIX "v2:"
#define SEAL_PREFIX_V1 "v1:"
#define SECRET_MAX 4096

struct crypto_key {
	unsigned char bytes[KEY_LEN];
};

int crypto_key_from_bytes(const unsigned char raw[32], struct crypto_key **out)
{
	struct crypto_key *k = malloc(sizeof(*k));

	*out = NULL;
	if (!k)
		return PV_ENOMEM;
	memcpy(k->bytes, raw, KEY_LEN);
	*out = k;
	return 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return PV_EINVAL;
		out[i] = (unsigned char)v;
	}
	return 0;
}

int crypto_key_load(const char *path, struct crypto_key **out)
{
	unsigned char raw[KEY_LEN * 2 + 2];
	struct stat st;
	size_t n;
	FILE *f;
	int rc;

	*out = NULL;
	if (!path || !*path)
		return PV_EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		log_error("crypto: %s: cannot open the key file", path);
		return PV_EIO;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warn("crypto: %s: readable by group or others; chmod 600 it", path);
	n = fread(raw, 1, sizeof(raw), f);
	fclose(f);
	if (n == KEY_LEN) {
		rc = crypto_key_from_bytes(raw, out);
	} else if (n == KEY_LEN * 2 || (n == KEY_LEN * 2 + 1 && raw[KEY_LEN * 2] == '\n')) {
		unsigned char key[KEY_LEN];

		raw[KEY_LEN * 2] = '\0';
		rc = unhex((const char *)raw, key, KEY_LEN);
		if (rc == 0)
			rc = crypto_key_from_bytes(key, out);
		OPENSSL_cleanse(key, sizeof(key));
	} else {
		log_error("crypto: %s: a key file holds 32 bytes or 64 hex characters", path);
		rc = PV_EINVAL;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

void crypto_key_free(struct crypto_key *key)
{
	if (!key)
		return;
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}

void crypto_secret_free(char *secret)
{
	if (!secret)
		return;
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
}

/* The associated data: authenticated with the ciphertext, stored nowhere.
 * PV_EINVAL for a binding without a column (or one too long to spell). */
static int associated_data(const struct crypto_binding *b, int v1, char *aad, size_t len)
{
	int n;

	if (v1)
		n = snprintf(aad, len, "provisioning-token:org:%lld", (long long)b->org);
	else if (!b->column || !*b->column)
		return PV_EINVAL;
	else
		n = snprintf(aad, len, "provisioning-token:v2:org:%lld:integration:%lld:column:%s",
			     (long long)b->org, (long long)b->integration, b->column);
	return n < 0 || (size_t)n >= len ? PV_EINVAL : 0;
}

int crypto_seal(const struct crypto_key *key, const struct crypto_binding *b, const char *secret,
		char **sealed)
{
	size_t slen = strlen(secret), rawlen, b64len;
	unsigned char *raw = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	char aad[CRYPTO_AAD_MAX], *out = NULL;
	int n, rc = PV_ECRYPTO;

	*sealed = NULL;
	if (slen > SECRET_MAX)
		return PV_ETOOBIG;
	if (associated_data(b, 0, aad, sizeof(aad)) < 0)
		return PV_EINVAL;
	rawlen = NONCE_LEN + slen + TAG_LEN;
	raw = malloc(rawlen);
	b64len = 4 * ((rawlen + 2) / 3) + 1;
	out = malloc(strlen(SEAL_PREFIX) + b64len);
	ctx = EVP_CIPHER_CTX_new();
	if (!raw || !out || !ctx) {
		rc = PV_ENOMEM;
		goto out;
	}
	if (token_random(raw, NONCE_LEN) < 0)
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->bytes, raw) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &n, (const unsigned char *)secret, (int)slen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + slen) != 1)
		goto out;
	memcpy(out, SEAL_PREFIX, strlen(SEAL_PREFIX));
	EVP_EncodeBlock((unsigned char *)out + strlen(SEAL_PREFIX), raw, (int)rawlen);
	*sealed = out;
	out = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (raw)
		OPENSSL_cleanse(raw, rawlen);
	free(raw);
	free(out);
	return rc;
}

int crypto_open(const struct crypto_key *key, const struct crypto_binding *b, const char *sealed,
		char **secret, int *legacy)
{
	const char *b64;
	unsigned char *raw = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	char aad[CRYPTO_AAD_MAX], *plain = NULL;
	size_t b64len, rawlen, ctlen = 0;
	int n, decoded, v1, rc = PV_EINVAL;

	*secret = NULL;
	if (legacy)
		*legacy = 0;
	v1 = strncmp(sealed, SEAL_PREFIX_V1, strlen(SEAL_PREFIX_V1)) == 0;
	if (!v1 && strncmp(sealed, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0)
		return PV_EINVAL;
	/* Both prefixes have the same length. */
	b64 = sealed + strlen(SEAL_PREFIX);
	b64len = strlen(b64);
	if (b64len % 4 || b64len > 4 * ((SECRET_MAX + NONCE_LEN + TAG_LEN + 2) / 3))
		return PV_EINVAL;
	raw = malloc(b64len / 4 * 3 + 1);
	if (!raw)
		return PV_ENOMEM;
	decoded = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)b64len);
	if (decoded < 0)
		goto out;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	rawlen = (size_t)decoded - (b64len && b64[b64len - 1] == '=') -
		 (b64len > 1 && b64[b64len - 2] == '=');
	if (rawlen < NONCE_LEN + TAG_LEN)
		goto out;
	ctlen = rawlen - NONCE_LEN - TAG_LEN;
	plain = malloc(ctlen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!plain || !ctx) {
		rc = PV_ENOMEM;
		goto out;
	}
	rc = associated_data(b, v1, aad, sizeof(aad));
	if (rc < 0)
		goto out;
	rc = PV_ECRYPTO;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->bytes, raw) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n, raw + NONCE_LEN, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + ctlen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n, &n) != 1)
		goto out;
	plain[ctlen] = '\0';
	if (strlen(plain) != ctlen)   /* a NUL inside is not one of our secrets */
		goto out;
	*secret = plain;
	plain = NULL;
	if (legacy)
		*legacy = v1;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (plain) {
		OPENSSL_cleanse(plain, ctlen);
		free(plain);
	}
	if (raw)
		OPENSSL_cleanse(raw, b64len / 4 * 3 + 1);
	free(raw);
	return rc;
}
