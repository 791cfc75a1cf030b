/*
 * record.h - what the emulator was asked: one entry per Slack call (and
 * per authorize page), counts per method, and Retry-After violations.
 *
 * Tokens are never stored in entries: only their first characters
 * (EMU_RECORD_TOKEN_PREFIX).  The full token is kept privately while a
 * Retry-After it was answered is running, to recognise a caller that
 * comes back too early.  Entries beyond EMU_RECORD_MAX are counted in
 * "dropped" instead of stored.
 * Errors: 0 or negative errno.
 */
#ifndef EMU_RECORD_H
#define EMU_RECORD_H

#include <stddef.h>

#include <json-c/json.h>

#define EMU_RECORD_MAX 200000
#define EMU_RECORD_TOKEN_PREFIX 12

struct emu_record_entry {
	char method[48];
	long long t_ms;		/* arrival, ms since the Unix epoch */
	long long duration_ms;
	char token[EMU_RECORD_TOKEN_PREFIX + 1];	/* prefix, "" if none */
	char *cursor;		/* NULL when not sent */
	char *limit;		/* as sent, NULL when not sent */
	int status;
	char error[64];		/* Slack error answered, "" when ok */
};

struct emu_retry_window {	/* a running Retry-After */
	char method[48];
	char *token;		/* full token or "" */
	long long until_ms;
};

struct emu_record {
	struct emu_record_entry *entries;
	size_t n, cap;
	long long dropped;
	json_object *counts;	/* method -> number of calls */
	long long violations;
	json_object *violations_by_method;
	struct emu_retry_window *windows;
	size_t n_windows, cap_windows;
};

int emu_record_init(struct emu_record *r);
void emu_record_free(struct emu_record *r);

/*
 * Called when a call arrives: counts a violation if a Retry-After answered
 * to this token for this method is still running.
 */
int emu_record_arrival(struct emu_record *r, const char *method,
		       const char *token, long long now_ms);
/* Starts a Retry-After window of wait_ms after a 429 answer. */
int emu_record_retry_after(struct emu_record *r, const char *method,
			   const char *token, long long now_ms, long long wait_ms);
int emu_record_add(struct emu_record *r, const struct emu_record_entry *e,
		   const char *cursor, const char *limit);

json_object *emu_record_json(const struct emu_record *r);

#endif
