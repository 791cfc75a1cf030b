#include "core/token.h"
#include "core/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int token_random(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : PV_ECRYPTO;
}

int token_new(char out[TOKEN_HEX_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];
	int rc = token_random(raw, sizeof(raw));

	if (rc < 0)
		return rc;
	hex(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int token_digest(const char *s, char out[TOKEN_DIGEST_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return PV_ECRYPTO;
	hex(md, mdlen, out);
	return 0;
}

int token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}
