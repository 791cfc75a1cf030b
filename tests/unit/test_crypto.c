/* Unit tests of lib/crypto: AES-256-GCM sealing of tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/crypto.h"
#include "core/err.h"

static const unsigned char key_bytes[32] = "0123456789abcdef0123456789abcdef";

static void test_seal_open_round_trip_with_fresh_nonces(void **state)
{
	struct crypto_key *k;
	char *a, *b, *plain;
	static const char *const secrets[] = { "xoxb-1234-abcdef", "x", "", "ünïcødé 🎉" };

	(void)state;
	assert_int_equal(crypto_key_from_bytes(key_bytes, &k), 0);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_int_equal(crypto_seal(k, 7, secrets[i], &a), 0);
		assert_int_equal(crypto_seal(k, 7, secrets[i], &b), 0);
		assert_memory_equal(a, "v1:", 3);
		assert_string_not_equal(a, b);                 /* fresh nonce each time */
		/* Not in clear (a 1-letter secret may occur in base64 by chance). */
		if (strlen(secrets[i]) > 4)
			assert_null(strstr(a, secrets[i]));
		assert_int_equal(crypto_open(k, 7, a, &plain), 0);
		assert_string_equal(plain, secrets[i]);
		crypto_secret_free(plain);
		free(a);
		free(b);
	}
	crypto_key_free(k);
}

static void test_wrong_org_wrong_key_and_tampering_fail(void **state)
{
	unsigned char other[32];
	struct crypto_key *k, *k2;
	char *sealed, *plain = (char *)1;

	(void)state;
	memcpy(other, key_bytes, 32);
	other[0] ^= 1;
	assert_int_equal(crypto_key_from_bytes(key_bytes, &k), 0);
	assert_int_equal(crypto_key_from_bytes(other, &k2), 0);
	assert_int_equal(crypto_seal(k, 1, "xoxb-secret-token", &sealed), 0);
	assert_int_equal(crypto_open(k, 2, sealed, &plain), PV_ECRYPTO);   /* other org */
	assert_null(plain);
	assert_int_equal(crypto_open(k2, 1, sealed, &plain), PV_ECRYPTO);  /* other key */
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';                         /* tampered */
	assert_int_equal(crypto_open(k, 1, sealed, &plain), PV_ECRYPTO);
	assert_int_equal(crypto_open(k, 1, "v2:abcd", &plain), PV_EINVAL);
	assert_int_equal(crypto_open(k, 1, "v1:abc", &plain), PV_EINVAL);
	assert_int_equal(crypto_open(k, 1, "v1:", &plain), PV_EINVAL);
	free(sealed);
	crypto_key_free(k);
	crypto_key_free(k2);
}

static void test_key_files(void **state)
{
	char path[] = "/tmp/pv-key-XXXXXX";
	struct crypto_key *k;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
	fclose(f);
	assert_int_equal(crypto_key_load(path, &k), 0);
	crypto_key_free(k);
	f = fopen(path, "w");
	fputs("too short", f);
	fclose(f);
	assert_int_equal(crypto_key_load(path, &k), PV_EINVAL);
	unlink(path);
	assert_int_equal(crypto_key_load(path, &k), PV_EIO);
	assert_int_equal(crypto_key_load(NULL, &k), PV_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open_round_trip_with_fresh_nonces),
		cmocka_unit_test(test_wrong_org_wrong_key_and_tampering_fail),
		cmocka_unit_test(test_key_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
