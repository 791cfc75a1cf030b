/*
 * util.h - small helpers shared by every module: clock, random tokens,
 * base64, URL coding, number parsing, and the thin json-c layer.
 *
 * JSON ownership rule (the same everywhere in the emulator): adding a value
 * to an object or array hands the reference over; getters only borrow;
 * emu_json_parse() returns one reference the caller must json_object_put().
 *
 * Errors: 0 on success, a negative errno value on failure.
 */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

/* Wall clock in milliseconds since the Unix epoch. */
long long emu_now_ms(void);
void emu_sleep_ms(long ms);

/* Writes `n` random characters from [A-Za-z0-9] and a NUL to out[n + 1]. */
int emu_random_alnum(char *out, size_t n);

/* Standard base64 with padding. */
int emu_b64_encode(const void *in, size_t len, struct emu_buf *out);
/* Accepts padded or unpadded input; -EINVAL on any other character. */
int emu_b64_decode(const char *in, struct emu_buf *out);

/* application/x-www-form-urlencoded decoding ('+' is a space). */
int emu_url_decode(const char *in, size_t len, struct emu_buf *out);
/* Percent-encodes everything but unreserved characters (RFC 3986). */
int emu_url_encode(const char *in, struct emu_buf *out);

/* Whole-string base-10 parse; -EINVAL on junk or overflow. */
int emu_parse_long(const char *s, long long *out);
/* Slack's boolean arguments: "true"/"1" are true, anything else false. */
bool emu_parse_bool(const char *s);

/* strdup that maps NULL to NULL; sets *err to -ENOMEM on failure. */
char *emu_strdup(const char *s, int *err);

/*
 * Parses untrusted JSON in strict mode with a depth limit and rejects
 * trailing bytes other than whitespace.  -EINVAL when malformed.
 */
int emu_json_parse(const char *text, size_t len, json_object **out);
/* Borrowed string member, NULL when absent or not a string. */
const char *emu_json_str(json_object *obj, const char *key);
/* Boolean member; `def` when absent or null; strings "true"/"1" accepted. */
bool emu_json_bool(json_object *obj, const char *key, bool def);
/* Integer member; `def` when absent or null; numeric strings accepted. */
long long emu_json_int(json_object *obj, const char *key, long long def);
/* Adds a string member, or JSON null when s is NULL.  -ENOMEM on failure. */
int emu_json_add_str(json_object *obj, const char *key, const char *s);
int emu_json_add_bool(json_object *obj, const char *key, bool v);
int emu_json_add_int(json_object *obj, const char *key, long long v);
/* Adds `val` (reference taken even on failure). */
int emu_json_add(json_object *obj, const char *key, json_object *val);
/* Appends `val` to an array (reference taken even on failure). */
int emu_json_push(json_object *arr, json_object *val);
/* Compact serialisation, '/' not escaped. */
const char *emu_json_text(json_object *obj);

#endif
