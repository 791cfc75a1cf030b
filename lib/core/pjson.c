#include "core/pjson.h"
#include "core/buf.h"
#include "core/err.h"

#include <json-c/printbuf.h>
#include <stdlib.h>
#include <string.h>

/*
 * The strict scanner.  json-c's strict mode still takes single-quoted
 * strings, raw control characters, NaN and Infinity, lone surrogate escapes
 * and \u0000 (which cuts a C string short: "a@x.com\u0000evil" would be
 * stored as "a@x.com"), and silently keeps the last of two equal keys.  So
 * every text is first checked here against RFC 8259 and our own rules, and
 * only then built into objects by json-c.  Each failure names the problem in
 * plain words (static strings).
 */
struct scan {
	const unsigned char *p, *end;
	int depth, max_depth;
	const char *why;
	int rc;
};

struct key {
	const char *s;   /* decoded key: into the text, or into owned */
	size_t len;
	char *owned;
};

static int scan_fail(struct scan *sc, int rc, const char *why)
{
	if (sc->rc == 0) {
		sc->rc = rc;
		sc->why = why;
	}
	return rc;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0: overlong forms,
 * UTF-16 surrogates (U+D800..U+DFFF) and code points past U+10FFFF are
 * invalid.  *surrogate tells the surrogate case apart. */
static int utf8_len(const unsigned char *p, const unsigned char *end, int *surrogate)
{
	unsigned char c = p[0];
	int n;
	unsigned long cp;

	*surrogate = 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (end - p < n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff) {
		*surrogate = 1;
		return 0;
	}
	return n;
}

/* The whole text: UTF-8, without NUL bytes. */
static int check_text(struct scan *sc)
{
	for (const unsigned char *q = sc->p; q < sc->end;) {
		int surrogate, n;

		if (*q == 0)
			return scan_fail(sc, PV_EINVAL, "the body contains a NUL byte");
		n = utf8_len(q, sc->end, &surrogate);
		if (n == 0)
			return scan_fail(sc, PV_EINVAL, surrogate
					 ? "the body contains an encoded UTF-16 surrogate, which is not valid UTF-8"
					 : "the body is not valid UTF-8");
		q += n;
	}
	return 0;
}

static void skip_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' ||
				   *sc->p == '\r'))
		sc->p++;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
	*out = v;
	return 0;
}

/* Appends code point cp to dst as UTF-8 (dst has room for 4 bytes). */
static size_t put_utf8(char *dst, unsigned long cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at sc->p (the opening quote).  With key set, *key gets its
 * decoded text (pointing into the text when it has no escape). */
static int scan_string(struct scan *sc, struct key *key)
{
	const unsigned char *start = ++sc->p;
	char *dec = NULL;
	size_t dlen = 0;
	int escaped = 0;

	for (;;) {
		unsigned char c;

		if (sc->p >= sc->end) {
			free(dec);
			return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a string is not closed");
		}
		c = *sc->p;
		if (c == '"')
			break;
		if (c < 0x20) {
			free(dec);
			return scan_fail(sc, PV_EINVAL, "a string contains a raw control character;"
					 " write it as an escape such as \\n or \\u0009");
		}
		if (c != '\\') {
			if (dec)
				dec[dlen++] = (char)c;
			sc->p++;
			continue;
		}
		if (!escaped && key) {
			/* Decoded text is never longer than the raw text. */
			dec = malloc((size_t)(sc->end - start) + 1);
			if (!dec)
				return scan_fail(sc, PV_ENOMEM, "out of memory");
			memcpy(dec, start, (size_t)(sc->p - start));
			dlen = (size_t)(sc->p - start);
		}
		escaped = 1;
		if (sc->end - sc->p < 2) {
			free(dec);
			return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a string is not closed");
		}
		c = sc->p[1];
		if (c == 'u') {
			unsigned u, lo;
			unsigned long cp;

			if (hex4(sc->p + 2, sc->end, &u) < 0) {
				free(dec);
				return scan_fail(sc, PV_EINVAL, "a string has a \\u escape without four hex digits");
			}
			sc->p += 6;
			cp = u;
			if (u == 0) {
				free(dec);
				return scan_fail(sc, PV_EINVAL, "a string contains \\u0000 (NUL), which is not accepted");
			}
			if (u >= 0xdc00 && u <= 0xdfff) {
				free(dec);
				return scan_fail(sc, PV_EINVAL, "a string contains an unpaired UTF-16 surrogate escape");
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u' ||
				    hex4(sc->p + 2, sc->end, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
					free(dec);
					return scan_fail(sc, PV_EINVAL,
							 "a string contains an unpaired UTF-16 surrogate escape");
				}
				sc->p += 6;
				cp = 0x10000 + (((unsigned long)u - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (dec)
				dlen += put_utf8(dec + dlen, cp);
			continue;
		}
		if (!strchr("\"\\/bfnrt", c) || c == 0) {
			free(dec);
			return scan_fail(sc, PV_EINVAL, "a string has an unknown escape after a backslash");
		}
		if (dec)
			dec[dlen++] = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n'
				      : c == 'r' ? '\r' : c == 't' ? '\t' : (char)c;
		sc->p += 2;
	}
	if (key) {
		key->owned = dec;
		key->s = dec ? dec : (const char *)start;
		key->len = dec ? dlen : (size_t)(sc->p - start);
	}
	sc->p++;  /* the closing quote */
	return 0;
}

static int scan_number(struct scan *sc)
{
	const unsigned char *q = sc->p;

	if (q < sc->end && *q == '-')
		q++;
	if (q < sc->end && (*q == 'I' || *q == 'N'))
		return scan_fail(sc, PV_EINVAL, "NaN and Infinity are not JSON numbers");
	if (q >= sc->end || *q < '0' || *q > '9')
		return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a number is malformed");
	if (*q == '0') {
		if (++q < sc->end && *q >= '0' && *q <= '9')
			return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a number has a leading zero");
	} else {
		while (q < sc->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < sc->end && *q == '.') {
		if (++q >= sc->end || *q < '0' || *q > '9')
			return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a number is malformed");
		while (q < sc->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < sc->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < sc->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= sc->end || *q < '0' || *q > '9')
			return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a number is malformed");
		while (q < sc->end && *q >= '0' && *q <= '9')
			q++;
	}
	sc->p = q;
	return 0;
}

static int scan_word(struct scan *sc, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, w, n) != 0)
		return scan_fail(sc, PV_EINVAL, "the body is not valid JSON");
	sc->p += n;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

static int scan_value(struct scan *sc);

/* An object; its keys are collected, then sorted to find a duplicate in
 * n log n (a 64 KiB body can hold ten thousand keys). */
static int scan_object(struct scan *sc)
{
	struct key *keys = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		return 0;
	}
	for (;;) {
		if (sc->p >= sc->end || *sc->p != '"') {
			rc = scan_fail(sc, PV_EINVAL, "the body is not valid JSON: an object key must be a"
				       " string in double quotes");
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct key *nk = realloc(keys, ncap * sizeof(*nk));

			if (!nk) {
				rc = scan_fail(sc, PV_ENOMEM, "out of memory");
				goto out;
			}
			keys = nk;
			cap = ncap;
		}
		memset(&keys[n], 0, sizeof(keys[n]));
		rc = scan_string(sc, &keys[n]);
		if (rc < 0)
			goto out;
		n++;
		skip_ws(sc);
		if (sc->p >= sc->end || *sc->p != ':') {
			rc = scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a colon is missing");
			goto out;
		}
		sc->p++;
		rc = scan_value(sc);
		if (rc < 0)
			goto out;
		skip_ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			skip_ws(sc);
			continue;
		}
		if (sc->p < sc->end && *sc->p == '}') {
			sc->p++;
			break;
		}
		rc = scan_fail(sc, PV_EINVAL, "the body is not valid JSON");
		goto out;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < n; i++) {
		if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
			rc = scan_fail(sc, PV_EINVAL, "an object has the same key twice");
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(keys[i].owned);
	free(keys);
	return rc;
}

static int scan_array(struct scan *sc)
{
	int rc;

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == ']') {
		sc->p++;
		return 0;
	}
	for (;;) {
		rc = scan_value(sc);
		if (rc < 0)
			return rc;
		skip_ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			continue;
		}
		if (sc->p < sc->end && *sc->p == ']') {
			sc->p++;
			return 0;
		}
		return scan_fail(sc, PV_EINVAL, "the body is not valid JSON");
	}
}

static int scan_value(struct scan *sc)
{
	int rc;

	skip_ws(sc);
	if (sc->p >= sc->end)
		return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: a value is missing");
	switch (*sc->p) {
	case '{':
	case '[':
		if (++sc->depth > sc->max_depth)
			return scan_fail(sc, PV_ETOOBIG, "the body is nested too deeply");
		rc = *sc->p == '{' ? scan_object(sc) : scan_array(sc);
		sc->depth--;
		return rc;
	case '"':
		return scan_string(sc, NULL);
	case 't':
		return scan_word(sc, "true");
	case 'f':
		return scan_word(sc, "false");
	case 'n':
		return scan_word(sc, "null");
	case 'N':
	case 'I':
		return scan_fail(sc, PV_EINVAL, "NaN and Infinity are not JSON numbers");
	case '\'':
		return scan_fail(sc, PV_EINVAL, "the body is not valid JSON: strings take double quotes");
	}
	return scan_number(sc);
}

/* 0 when text is one strict JSON value with only white space around it. */
static int scan_text(const char *text, size_t len, int max_depth, const char **why)
{
	struct scan sc = { (const unsigned char *)text, (const unsigned char *)text + len,
			   0, max_depth, NULL, 0 };

	if (check_text(&sc) == 0) {
		skip_ws(&sc);
		if (sc.p >= sc.end)
			scan_fail(&sc, PV_EINVAL, "the body is empty; a JSON value was expected");
		else if (scan_value(&sc) == 0) {
			skip_ws(&sc);
			if (sc.p < sc.end)
				scan_fail(&sc, PV_EINVAL, "the body has text after its JSON value");
		}
	}
	if (sc.rc < 0)
		*why = sc.why;
	return sc.rc;
}

int pjson_parse(const char *text, size_t len, int max_depth, json_object **out,
		const char **why)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *obj;
	size_t used;
	int rc = PV_EINVAL;

	*out = NULL;
	*why = "the body is not valid JSON";
	if (len > INT32_MAX)
		return PV_ETOOBIG;
	rc = scan_text(text, len, max_depth, why);
	if (rc < 0)
		return rc;
	rc = PV_EINVAL;
	tok = json_tokener_new_ex(max_depth);
	if (!tok)
		return PV_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* A lone number such as "12" is only complete at end of input. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		used = len;
	} else {
		used = json_tokener_get_parse_end(tok);
	}
	if (jerr == json_tokener_error_depth) {
		*why = "the body is nested too deeply";
		rc = PV_ETOOBIG;
		goto out;
	}
	if (jerr != json_tokener_success || !obj) {
		*why = len == 0 ? "the body is empty; a JSON value was expected"
				: "the body is not valid JSON";
		goto out;
	}
	for (; used < len; used++) {
		if (!strchr(" \t\r\n", text[used])) {
			*why = "the body has text after its JSON value";
			goto out;
		}
	}
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

static int pjson_get(json_object *obj, const char *key, json_type type, json_object **out)
{
	json_object *v;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !v)
		return PV_ENOTFOUND;
	if (!json_object_is_type(v, type))
		return PV_EINVAL;
	*out = v;
	return 0;
}

int pjson_get_str(json_object *obj, const char *key, const char **out)
{
	json_object *v;
	int rc = pjson_get(obj, key, json_type_string, &v);

	if (rc == 0)
		*out = json_object_get_string(v);
	return rc;
}

int pjson_get_bool(json_object *obj, const char *key, int *out)
{
	json_object *v;
	int rc = pjson_get(obj, key, json_type_boolean, &v);

	if (rc == 0)
		*out = json_object_get_boolean(v);
	return rc;
}

int pjson_get_int(json_object *obj, const char *key, int64_t *out)
{
	json_object *v;
	int rc = pjson_get(obj, key, json_type_int, &v);

	if (rc == 0)
		*out = json_object_get_int64(v);
	return rc;
}

int pjson_get_obj(json_object *obj, const char *key, json_object **out)
{
	return pjson_get(obj, key, json_type_object, out);
}

int pjson_get_array(json_object *obj, const char *key, json_object **out)
{
	return pjson_get(obj, key, json_type_array, out);
}

int pjson_add(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return PV_ENOMEM;
	}
	return 0;
}

int pjson_push(json_object *arr, json_object *val)
{
	if (json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return PV_ENOMEM;
	}
	return 0;
}

int pjson_add_str(json_object *obj, const char *key, const char *s)
{
	json_object *v = NULL;

	if (s) {
		v = json_object_new_string(s);
		if (!v)
			return PV_ENOMEM;
	}
	return pjson_add(obj, key, v);
}

int pjson_add_int(json_object *obj, const char *key, int64_t n)
{
	json_object *v = json_object_new_int64(n);

	return v ? pjson_add(obj, key, v) : PV_ENOMEM;
}

int pjson_add_bool(json_object *obj, const char *key, int b)
{
	json_object *v = json_object_new_boolean(b);

	return v ? pjson_add(obj, key, v) : PV_ENOMEM;
}

const char *pjson_text(json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

int pjson_buf_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;
	int rc;

	if (!s)
		return buf_append(b, "null", 4);
	rc = buf_putc(b, '"');
	/* Runs of bytes that need no escape are copied at once. */
	for (run = s; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		rc = buf_append(b, run, (size_t)(s - run));
		if (rc == 0)
			rc = buf_append(b, esc, n);
		run = s + 1;
	}
	if (rc == 0)
		rc = buf_append(b, run, (size_t)(s - run));
	return rc ? rc : buf_putc(b, '"');
}

int pjson_buf_key(struct buf *b, const char *key)
{
	int rc = buf_putc(b, '"');

	if (rc == 0)
		rc = buf_puts(b, key);
	return rc ? rc : buf_append(b, "\":", 2);
}

int pjson_buf_kv_str(struct buf *b, int first, const char *key, const char *s)
{
	int rc = first ? 0 : buf_putc(b, ',');

	if (rc == 0)
		rc = pjson_buf_key(b, key);
	return rc ? rc : pjson_buf_str(b, s);
}

int pjson_buf_value(struct buf *b, json_object *obj)
{
	size_t len;
	const char *text;

	if (!obj)
		return buf_append(b, "null", 4);
	text = pjson_text(obj, &len);
	return text ? buf_append(b, text, len) : PV_ENOMEM;
}

struct raw_text {
	size_t len;
	char text[];
};

static int raw_print(json_object *obj, struct printbuf *pb, int level, int flags)
{
	const struct raw_text *raw = json_object_get_userdata(obj);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, raw->text, (int)raw->len) < 0 ? -1 : 0;
}

static void raw_free(json_object *obj, void *userdata)
{
	(void)obj;
	free(userdata);
}

json_object *pjson_raw(const char *text, size_t len)
{
	json_object *obj;
	struct raw_text *raw;

	if (len > (size_t)INT32_MAX)
		return NULL;
	raw = malloc(sizeof(*raw) + len + 1);
	obj = raw ? json_object_new_object() : NULL;
	if (!obj) {
		free(raw);
		return NULL;
	}
	raw->len = len;
	memcpy(raw->text, text, len);
	raw->text[len] = '\0';
	json_object_set_serializer(obj, raw_print, raw, raw_free);
	return obj;
}
