/* faults.c - fault rules: parsing, matching, answering (see faults.h). */
#include "faults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A sane upper bound keeps a typo from wedging the single process. */
#define EMU_FAULT_MAX_DELAY_MS 120000LL
#define EMU_FAULT_MAX_RULES 256

static const char *const kind_names[] = {
	[EMU_FAULT_HTTP429] = "http429",
	[EMU_FAULT_HTTP500] = "http500",
	[EMU_FAULT_SLOW] = "slow",
	[EMU_FAULT_TRUNCATE] = "truncate",
	[EMU_FAULT_ERROR] = "error",
	[EMU_FAULT_RESET] = "reset",
};

static int kind_parse(const char *s, enum emu_fault_kind *out)
{
	size_t i;

	for (i = 0; s && i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum emu_fault_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int copy_str(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size)
		return -EINVAL;
	snprintf(dst, size, "%s", src);
	return 0;
}

static int rule_parse(json_object *src, struct emu_fault *r, char *err,
		      size_t errlen)
{
	const char *method = emu_json_str(src, "method");
	const char *error = emu_json_str(src, "error");
	const char *needed = emu_json_str(src, "needed");

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(src, json_type_object) ||
	    kind_parse(emu_json_str(src, "kind"), &r->kind) < 0) {
		snprintf(err, errlen, "fault: \"kind\" must be one of http429, http500, "
			 "slow, truncate, error, reset");
		return -EINVAL;
	}
	if (copy_str(r->method, sizeof(r->method), method ? method : "*") < 0 ||
	    copy_str(r->needed, sizeof(r->needed), needed ? needed : "") < 0) {
		snprintf(err, errlen, "fault: \"method\" or \"needed\" too long");
		return -EINVAL;
	}
	if (r->kind == EMU_FAULT_ERROR &&
	    (!error || !*error || copy_str(r->error, sizeof(r->error), error) < 0)) {
		snprintf(err, errlen, "fault: kind \"error\" needs an \"error\" code");
		return -EINVAL;
	}
	r->retry_after = emu_json_int(src, "retry_after", 1);
	r->delay_ms = emu_json_int(src, "delay_ms", 1000);
	r->count = emu_json_int(src, "count", 0);
	r->after = emu_json_int(src, "after", 0);
	r->declared_length = emu_json_bool(src, "declared_length", false);
	if (r->retry_after < 0 || r->delay_ms < 0 ||
	    r->delay_ms > EMU_FAULT_MAX_DELAY_MS || r->count < 0 || r->after < 0) {
		snprintf(err, errlen, "fault: retry_after, count, after must be >= 0 and "
			 "delay_ms within 0..%lld", EMU_FAULT_MAX_DELAY_MS);
		return -EINVAL;
	}
	return 0;
}

int emu_faults_set(struct emu_faults *f, json_object *spec, char *err,
		   size_t errlen)
{
	json_object *list = spec;
	struct emu_fault *rules = NULL;
	size_t i, n;
	int rc;

	if (json_object_is_type(spec, json_type_object))
		json_object_object_get_ex(spec, "faults", &list);
	if (!json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "faults: expected an array of rules");
		return -EINVAL;
	}
	n = json_object_array_length(list);
	if (n > EMU_FAULT_MAX_RULES) {
		snprintf(err, errlen, "faults: at most %d rules", EMU_FAULT_MAX_RULES);
		return -EINVAL;
	}
	if (n) {
		rules = calloc(n, sizeof(*rules));
		if (!rules)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		rc = rule_parse(json_object_array_get_idx(list, i), &rules[i], err, errlen);
		if (rc < 0) {
			free(rules);
			return rc;
		}
	}
	emu_faults_clear(f);
	f->rules = rules;
	f->n = n;
	return 0;
}

void emu_faults_clear(struct emu_faults *f)
{
	free(f->rules);
	f->rules = NULL;
	f->n = 0;
}

json_object *emu_faults_json(const struct emu_faults *f)
{
	json_object *arr = json_object_new_array(), *o;
	size_t i;
	int rc = arr ? 0 : -ENOMEM;

	for (i = 0; rc == 0 && i < f->n; i++) {
		const struct emu_fault *r = &f->rules[i];

		o = json_object_new_object();
		rc = o ? emu_json_push(arr, o) : -ENOMEM;
		if (rc == 0) rc = emu_json_add_str(o, "method", r->method);
		if (rc == 0) rc = emu_json_add_str(o, "kind", kind_names[r->kind]);
		if (rc == 0 && r->kind == EMU_FAULT_HTTP429)
			rc = emu_json_add_int(o, "retry_after", r->retry_after);
		if (rc == 0 && r->kind == EMU_FAULT_SLOW)
			rc = emu_json_add_int(o, "delay_ms", r->delay_ms);
		if (rc == 0 && r->kind == EMU_FAULT_ERROR)
			rc = emu_json_add_str(o, "error", r->error);
		if (rc == 0) rc = emu_json_add_int(o, "count", r->count);
		if (rc == 0) rc = emu_json_add_int(o, "after", r->after);
		if (rc == 0) rc = emu_json_add_int(o, "seen", r->seen);
		if (rc == 0) rc = emu_json_add_int(o, "fired", r->fired);
	}
	if (rc < 0) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

void emu_faults_match(struct emu_faults *f, const char *method,
		      struct emu_fault_hit *hit)
{
	size_t i;

	hit->delay_ms = 0;
	hit->answer = NULL;
	for (i = 0; i < f->n; i++) {
		struct emu_fault *r = &f->rules[i];

		if (strcmp(r->method, "*") != 0 && strcmp(r->method, method) != 0)
			continue;
		r->seen++;
		if (r->seen <= r->after || (r->count && r->fired >= r->count))
			continue;
		if (r->kind == EMU_FAULT_SLOW) {
			r->fired++;
			hit->delay_ms += r->delay_ms;
		} else if (!hit->answer) {
			r->fired++;
			hit->answer = r;
		}
	}
}

int emu_fault_respond(const struct emu_fault *rule, struct emu_resp *resp,
		      const char *needed, const char *provided)
{
	static const char html500[] =
		"<html><head><title>500 Internal Server Error</title></head>"
		"<body><h1>Internal Server Error</h1></body></html>\n";
	int rc;

	emu_resp_clear(resp);
	switch (rule->kind) {
	case EMU_FAULT_HTTP429:
		rc = emu_resp_slack_error(resp, "ratelimited");
		resp->status = 429;
		if (rc == 0)
			rc = emu_resp_header(resp, "Retry-After", "%lld", rule->retry_after);
		return rc;
	case EMU_FAULT_HTTP500:
		snprintf(resp->error, sizeof(resp->error), "http500");
		return emu_resp_text(resp, 500, "text/html", html500, sizeof(html500) - 1);
	case EMU_FAULT_ERROR:
		if (strcmp(rule->error, "missing_scope") != 0)
			return emu_resp_slack_error(resp, rule->error);
		return emu_resp_missing_scope(resp, rule->needed[0] ? rule->needed : needed,
					      provided);
	case EMU_FAULT_RESET:
		/* A FastCGI program cannot touch the client's socket: nginx's
		 * internal location (nginx/emulator-site.conf.in) answers 444,
		 * i.e. closes the connection without a byte, so the client's
		 * receive-error branch runs (curl: "Empty reply from server"). */
		snprintf(resp->error, sizeof(resp->error), "reset");
		rc = emu_resp_text(resp, 200, "text/plain", "", 0);
		if (rc == 0)
			rc = emu_resp_header(resp, "X-Accel-Redirect", "%s", EMU_RESET_LOCATION);
		return rc;
	case EMU_FAULT_SLOW:
	case EMU_FAULT_TRUNCATE:
		break;
	}
	return -EINVAL;	/* cannot happen: the caller handles slow/truncate */
}
