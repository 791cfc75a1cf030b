/*
 * faults.h - fault rules the control API installs to make Slack misbehave.
 *
 * A rule matches a Slack method by name (or "*" for all).  Every matching
 * request counts towards the rule's "after" (requests let through before
 * it fires) and "count" (how many times it fires; 0 = forever).  Several
 * rules may match one request: all "slow" rules add their delay, and the
 * first other rule that is ready decides the answer; rules that were
 * ready but not chosen are not spent.
 *
 * Errors: 0 or negative errno; -EINVAL comes with a message in `err`.
 */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "http.h"

/* nginx's internal location that drops the connection (return 444). */
#define EMU_RESET_LOCATION "/_emulator_reset_connection"

enum emu_fault_kind {
	EMU_FAULT_HTTP429,	/* 429 + Retry-After, {"ok":false,"error":"ratelimited"} */
	EMU_FAULT_HTTP500,	/* 500 with an HTML body, as a failing proxy gives */
	EMU_FAULT_SLOW,		/* delay_ms before answering normally */
	EMU_FAULT_TRUNCATE,	/* normal answer, body cut in half */
	EMU_FAULT_ERROR,	/* HTTP 200 {"ok":false,"error":...} */
	EMU_FAULT_RESET,	/* the connection is closed with no answer at all */
};

struct emu_fault {
	char method[64];
	enum emu_fault_kind kind;
	long long retry_after;		/* seconds, http429 */
	long long delay_ms;		/* slow */
	char error[64];			/* error */
	char needed[128];		/* error=missing_scope: overrides the method's scope */
	bool declared_length;		/* truncate: declare the full Content-Length */
	long long count, after;
	long long seen, fired;		/* counters */
};

struct emu_faults {
	struct emu_fault *rules;
	size_t n;
};

/* Replaces all rules by the list in `spec` (array, or {"faults":[...]}). */
int emu_faults_set(struct emu_faults *f, json_object *spec, char *err,
		   size_t errlen);
void emu_faults_clear(struct emu_faults *f);
json_object *emu_faults_json(const struct emu_faults *f);

struct emu_fault_hit {
	long long delay_ms;			/* total of ready "slow" rules */
	const struct emu_fault *answer;		/* rule that decides, or NULL */
};

/* Counts the request against the rules and says what applies to it. */
void emu_faults_match(struct emu_faults *f, const char *method,
		      struct emu_fault_hit *hit);

/*
 * Writes the answer of a non-slow, non-truncate rule.  `needed` is the
 * method's scope, `provided` the caller token's scopes (missing_scope).
 */
int emu_fault_respond(const struct emu_fault *rule, struct emu_resp *resp,
		      const char *needed, const char *provided);

#endif
