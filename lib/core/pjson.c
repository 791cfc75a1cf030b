#include "core/pjson.h"
#include "core/err.h"

#include <string.h>

/* json-c's strict mode still takes single-quoted strings; RFC 8259 does
 * not.  Outside double-quoted strings a quote character is never valid. */
static int has_single_quote(const char *text, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_string && text[i] == '\\')
			i++;
		else if (text[i] == '"')
			in_string = !in_string;
		else if (!in_string && text[i] == '\'')
			return 1;
	}
	return 0;
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
	if (has_single_quote(text, len))
		return PV_EINVAL;
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
