/*
 * pjson.h - the project's thin layer over json-c.
 *
 * Ownership, one rule for all: parsing returns one reference the caller puts
 * (json_object_put); pjson_add_* take over the value they are given (even on
 * failure); pjson_get_* only borrow, the result lives as long as its parent.
 *
 * Untrusted text is parsed strictly (RFC 8259, no comments or single quotes),
 * with a depth limit, and must hold exactly one value: anything but white
 * space after it is an error.  Beyond json-c's own strict mode, a text is
 * refused when it is not valid UTF-8 (overlong forms and encoded UTF-16
 * surrogates included) or holds a NUL byte; when a string holds a raw
 * control character, \u0000 or an unpaired surrogate escape; for NaN or
 * Infinity; and when one object has the same key twice (compared after
 * decoding escapes), which json-c would silently resolve to the last.
 */
#ifndef PV_PJSON_H
#define PV_PJSON_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define PJSON_MAX_DEPTH 16

/* PV_EINVAL with a plain-words reason in *why (static string, naming the
 * problem: "the body is not valid UTF-8", "an object has the same key
 * twice" ...) on bad JSON, PV_ETOOBIG with *why set when nesting passes
 * max_depth, PV_ENOMEM. */
int pjson_parse(const char *text, size_t len, int max_depth, json_object **out,
		const char **why);

/* Getters: 0 and the value; PV_ENOTFOUND when the key is absent (or null
 * for the _opt variants' callers to decide); PV_EINVAL for a wrong type. */
int pjson_get_str(json_object *obj, const char *key, const char **out);
int pjson_get_bool(json_object *obj, const char *key, int *out);
int pjson_get_int(json_object *obj, const char *key, int64_t *out);
int pjson_get_obj(json_object *obj, const char *key, json_object **out);
int pjson_get_array(json_object *obj, const char *key, json_object **out);

/* Builders; a NULL string becomes JSON null.  0 or PV_ENOMEM. */
int pjson_add_str(json_object *obj, const char *key, const char *s);
int pjson_add_int(json_object *obj, const char *key, int64_t v);
int pjson_add_bool(json_object *obj, const char *key, int v);
int pjson_add(json_object *obj, const char *key, json_object *val);
int pjson_push(json_object *arr, json_object *val);

/* Serializes compactly; the string belongs to obj. */
const char *pjson_text(json_object *obj, size_t *len);

/* Writers: JSON text appended straight to a buffer, for the answers that
 * are large and hot (a page of users, the Slack status with its
 * configuration), where building a json-c tree only to print it costs more
 * than the request's queries.  The bytes are those pjson_text gives for the
 * same values: json-c's escaping (quote, backslash, \b \f \n \r \t, other
 * control characters as \u00xx, '/' and non-ASCII as they are).  0,
 * PV_ENOMEM or PV_ETOOBIG (the buffer's maximum). */
struct buf;
/* s as a JSON string; NULL as null. */
int pjson_buf_str(struct buf *b, const char *s);
/* "key": -- key is a literal of the caller's, written as it is. */
int pjson_buf_key(struct buf *b, const char *key);
/* "key":"s" (or null), preceded by a comma unless first. */
int pjson_buf_kv_str(struct buf *b, int first, const char *key, const char *s);
/* obj's compact text (null for NULL), as pjson_text prints it. */
int pjson_buf_value(struct buf *b, json_object *obj);

/* A value that prints as the given JSON text, copied: stored JSON that the
 * project itself serialized (pjson_text) can go into an answer without
 * being parsed again.  Only for such trusted text -- nothing checks it --
 * and only to print: it reads as an empty object.  NULL on ENOMEM. */
json_object *pjson_raw(const char *text, size_t len);

#endif
