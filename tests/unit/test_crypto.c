/* Unit tests of lib/crypto: AES-256-GCM sealing of tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "core/crypto.h"
#include "core/err.h"

static const unsigned char key_bytes[32] = "0123456789abcdef0123456789abcdef";

#define AT(org, integration) (&(struct crypto_binding){ (org), (integration), "access_token_sealed" })
#define RT(org, integration) (&(struct crypto_binding){ (org), (integration), "refresh_token_sealed" })

/* A token as the first release sealed it ("v1:", bound to the organization
 * only), written here independently of lib/core/crypto.c with a fixed
 * nonce, to prove such tokens still open. */
static char *seal_v1(long long org, const char *secret)
{
	unsigned char raw[12 + 256 + 16], nonce[12] = "nonce-nonce!";
	char aad[64], *out = malloc(4 + 4 * ((sizeof(raw) + 2) / 3) + 1);
	size_t slen = strlen(secret);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	assert_true(out && ctx && slen <= 256);
	snprintf(aad, sizeof(aad), "provisioning-token:org:%lld", org);
	memcpy(raw, nonce, 12);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key_bytes, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, raw + 12, &n, (const unsigned char *)secret, (int)slen), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, raw + 12 + n, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, raw + 12 + slen), 1);
	EVP_CIPHER_CTX_free(ctx);
	memcpy(out, "v1:", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, raw, (int)(12 + slen + 16));
	return out;
}

static void test_seal_open_round_trip_with_fresh_nonces(void **state)
{
	struct crypto_key *k;
	char *a, *b, *plain;
	static const char *const secrets[] = { "xoxb-1234-abcdef", "x", "", "ünïcødé 🎉" };

	(void)state;
	assert_int_equal(crypto_key_from_bytes(key_bytes, &k), 0);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_int_equal(crypto_seal(k, AT(7, 3), secrets[i], &a), 0);
		assert_int_equal(crypto_seal(k, AT(7, 3), secrets[i], &b), 0);
		assert_memory_equal(a, "v2:", 3);
		assert_string_not_equal(a, b);                 /* fresh nonce each time */
		/* Not in clear (a 1-letter secret may occur in base64 by chance). */
		if (strlen(secrets[i]) > 4)
			assert_null(strstr(a, secrets[i]));
		assert_int_equal(crypto_open(k, AT(7, 3), a, &plain, NULL), 0);
		assert_string_equal(plain, secrets[i]);
		crypto_secret_free(plain);
		free(a);
		free(b);
	}
	crypto_key_free(k);
}

/* Where a sealed token is opened, against where it was sealed: only the
 * same organization, integration and column open it. */
struct binding_case {
	const char *what;
	struct crypto_binding at;
	int rc;
};

static void test_a_token_opens_only_where_it_was_sealed(void **state)
{
	static const struct binding_case cases[] = {
		{ "the same place", { 1, 10, "access_token_sealed" }, 0 },
		{ "another organization", { 2, 10, "access_token_sealed" }, PV_ECRYPTO },
		{ "another integration of the organization", { 1, 11, "access_token_sealed" }, PV_ECRYPTO },
		{ "the refresh token's column", { 1, 10, "refresh_token_sealed" }, PV_ECRYPTO },
		{ "no column", { 1, 10, NULL }, PV_EINVAL },
	};
	struct crypto_key *k;
	char *sealed, *plain;

	(void)state;
	assert_int_equal(crypto_key_from_bytes(key_bytes, &k), 0);
	assert_int_equal(crypto_seal(k, AT(1, 10), "xoxe.xoxp-1-secret", &sealed), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int legacy = -1, rc;

		plain = (char *)1;
		rc = crypto_open(k, &cases[i].at, sealed, &plain, &legacy);
		if (rc != cases[i].rc)
			fail_msg("opened at %s: got %d, want %d", cases[i].what, rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(plain, "xoxe.xoxp-1-secret");
			assert_int_equal(legacy, 0);
		} else {
			assert_null(plain);
		}
		crypto_secret_free(rc == 0 ? plain : NULL);
	}
	assert_int_equal(crypto_seal(k, &(struct crypto_binding){ 1, 10, NULL }, "x", &plain), PV_EINVAL);
	free(sealed);
	crypto_key_free(k);
}

static void test_tokens_sealed_by_v1_still_open_and_say_so(void **state)
{
	struct crypto_key *k;
	char *v1 = seal_v1(5, "xoxb-old-token"), *v2, *plain = NULL;
	int legacy = 0;

	(void)state;
	assert_int_equal(crypto_key_from_bytes(key_bytes, &k), 0);
	/* Bound to the organization only: any integration and column of it. */
	assert_int_equal(crypto_open(k, AT(5, 99), v1, &plain, &legacy), 0);
	assert_string_equal(plain, "xoxb-old-token");
	assert_int_equal(legacy, 1);
	crypto_secret_free(plain);
	assert_int_equal(crypto_open(k, RT(5, 1), v1, &plain, NULL), 0);
	crypto_secret_free(plain);
	assert_int_equal(crypto_open(k, AT(6, 99), v1, &plain, &legacy), PV_ECRYPTO);
	/* A v2 token relabelled v1 does not escape its binding. */
	assert_int_equal(crypto_seal(k, AT(5, 1), "xoxb-new-token", &v2), 0);
	v2[1] = '1';
	assert_int_equal(crypto_open(k, AT(5, 1), v2, &plain, &legacy), PV_ECRYPTO);
	assert_null(plain);
	free(v1);
	free(v2);
	crypto_key_free(k);
}

static void test_wrong_key_and_tampering_fail(void **state)
{
	unsigned char other[32];
	struct crypto_key *k, *k2;
	char *sealed, *plain = (char *)1;

	(void)state;
	memcpy(other, key_bytes, 32);
	other[0] ^= 1;
	assert_int_equal(crypto_key_from_bytes(key_bytes, &k), 0);
	assert_int_equal(crypto_key_from_bytes(other, &k2), 0);
	assert_int_equal(crypto_seal(k, AT(1, 1), "xoxb-secret-token", &sealed), 0);
	assert_int_equal(crypto_open(k, AT(2, 1), sealed, &plain, NULL), PV_ECRYPTO);   /* other org */
	assert_null(plain);
	assert_int_equal(crypto_open(k2, AT(1, 1), sealed, &plain, NULL), PV_ECRYPTO);  /* other key */
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';                                     /* tampered */
	assert_int_equal(crypto_open(k, AT(1, 1), sealed, &plain, NULL), PV_ECRYPTO);
	assert_int_equal(crypto_open(k, AT(1, 1), "v3:abcd", &plain, NULL), PV_EINVAL);
	assert_int_equal(crypto_open(k, AT(1, 1), "v2:abc", &plain, NULL), PV_EINVAL);
	assert_int_equal(crypto_open(k, AT(1, 1), "v2:", &plain, NULL), PV_EINVAL);
	assert_int_equal(crypto_open(k, AT(1, 1), "v1:abc", &plain, NULL), PV_EINVAL);
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
		cmocka_unit_test(test_a_token_opens_only_where_it_was_sealed),
		cmocka_unit_test(test_tokens_sealed_by_v1_still_open_and_say_so),
		cmocka_unit_test(test_wrong_key_and_tampering_fail),
		cmocka_unit_test(test_key_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
