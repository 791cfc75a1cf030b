#include "core/password.h"
#include "core/err.h"
#include "core/token.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>

/* A real yescrypt hash of a random string, used to spend the same time on
 * unknown accounts as on known ones. */
static const char dummy_hash[] =
	"$y$j9T$xdYTCJBfq88ybZsUCFu5c.$YK/srIhkzykza.fUwANaJdUCLgvD3NyS9LDya3cGub/";

int password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char entropy[32];
	struct crypt_data data;
	const char *h;
	size_t n = strlen(pw);

	if (n < PASSWORD_MIN_LEN || n > PASSWORD_MAX_LEN)
		return PV_EINVAL;
	if (token_random(entropy, sizeof(entropy)) < 0)
		return PV_ECRYPTO;
	if (!crypt_gensalt_rn("$y$", 0, (const char *)entropy, sizeof(entropy),
			      salt, sizeof(salt)))
		return PV_ECRYPTO;
	memset(&data, 0, sizeof(data));
	h = crypt_r(pw, salt, &data);
	if (!h || h[0] == '*' || strlen(h) >= PASSWORD_HASH_MAX)
		return PV_ECRYPTO;
	snprintf(out, PASSWORD_HASH_MAX, "%s", h);
	return 0;
}

int password_verify(const char *pw, const char *hash)
{
	struct crypt_data data;
	const char *h;
	int match;

	memset(&data, 0, sizeof(data));
	h = crypt_r(pw, hash ? hash : dummy_hash, &data);
	if (!h || h[0] == '*')
		return 0;
	match = token_equal(h, hash ? hash : dummy_hash);
	return hash ? match : 0;
}
