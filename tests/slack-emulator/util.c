/* util.c - clock, random tokens, codecs and the json-c layer (see util.h). */
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

/* Deepest JSON nesting accepted from clients (fixtures are ~5 deep). */
#define EMU_JSON_MAX_DEPTH 32

long long emu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int emu_random_alnum(char *out, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[256];
	size_t i;

	if (n > sizeof(raw))
		return -EINVAL;
	if (RAND_bytes(raw, (int)n) != 1)
		return -EIO;
	/* 62 does not divide 256: the bias is irrelevant for test tokens. */
	for (i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	out[n] = '\0';
	return 0;
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int emu_b64_encode(const void *in, size_t len, struct emu_buf *out)
{
	const unsigned char *p = in;
	char quad[4];
	size_t i;
	int rc;

	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		quad[0] = b64_alphabet[(v >> 18) & 63];
		quad[1] = b64_alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < len ? b64_alphabet[v & 63] : '=';
		rc = emu_buf_append(out, quad, 4);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

int emu_b64_decode(const char *in, struct emu_buf *out)
{
	unsigned v = 0;
	int bits = 0, rc;
	size_t i, n = strlen(in);

	while (n > 0 && in[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		int d = b64_value(in[i]);
		unsigned char byte;

		if (d < 0)
			return -EINVAL;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (unsigned char)((v >> bits) & 0xff);
			rc = emu_buf_append(out, &byte, 1);
			if (rc < 0)
				return rc;
		}
	}
	/* A single leftover sextet cannot come from a valid encoding. */
	return bits >= 6 ? -EINVAL : 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int emu_url_decode(const char *in, size_t len, struct emu_buf *out)
{
	size_t i;
	int rc;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < len &&
			   hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
			c = (char)(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
			i += 2;
		}
		rc = emu_buf_append(out, &c, 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int emu_url_encode(const char *in, struct emu_buf *out)
{
	const unsigned char *p;
	int rc = 0;

	for (p = (const unsigned char *)in; *p && rc == 0; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			rc = emu_buf_append(out, p, 1);
		else
			rc = emu_buf_printf(out, "%%%02X", *p);
	}
	return rc;
}

int emu_parse_long(const char *s, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

bool emu_parse_bool(const char *s)
{
	return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

char *emu_strdup(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

int emu_json_parse(const char *text, size_t len, json_object **out)
{
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	size_t end;
	int rc = -EINVAL;

	*out = NULL;
	if (len > (size_t)INT32_MAX)
		return -E2BIG;
	tok = json_tokener_new_ex(EMU_JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!strchr(" \t\r\n", text[end]))
			goto out;
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

const char *emu_json_str(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool emu_json_bool(json_object *obj, const char *key, bool def)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return def;
	if (json_object_is_type(v, json_type_string))
		return emu_parse_bool(json_object_get_string(v));
	return json_object_get_boolean(v);
}

long long emu_json_int(json_object *obj, const char *key, long long def)
{
	json_object *v;
	long long n;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return def;
	if (json_object_is_type(v, json_type_string))
		return emu_parse_long(json_object_get_string(v), &n) == 0 ? n : def;
	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double) ||
	    json_object_is_type(v, json_type_boolean))
		return json_object_get_int64(v);
	return def;
}

int emu_json_add(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int emu_json_push(json_object *arr, json_object *val)
{
	if (json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int emu_json_add_str(json_object *obj, const char *key, const char *s)
{
	json_object *v = NULL;

	if (s) {
		v = json_object_new_string(s);
		if (!v)
			return -ENOMEM;
	}
	return emu_json_add(obj, key, v);
}

int emu_json_add_bool(json_object *obj, const char *key, bool b)
{
	json_object *v = json_object_new_boolean(b);

	return v ? emu_json_add(obj, key, v) : -ENOMEM;
}

int emu_json_add_int(json_object *obj, const char *key, long long n)
{
	json_object *v = json_object_new_int64(n);

	return v ? emu_json_add(obj, key, v) : -ENOMEM;
}

const char *emu_json_text(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
}
