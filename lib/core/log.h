/*
 * log.h - one line per event, with a level, in plain text or JSON.
 *
 * Plain lines (the default, for a terminal) look like
 *   "2026-11-28T14:00:00Z provisioning-api[123] warn: text org=5 req=ab12"
 * (org=, sync= and req= when the context has them; an event's name comes
 * before the text)
 * JSON lines (log.format = json, for a collector) are one object each:
 *   {"time":"...","level":"warn","program":"provisioning-api","pid":123,
 *    "organization":5,"sync":9,"request_id":"ab12","event":"request",
 *    "message":"text"}
 * where organization, sync and request_id appear only when the context set
 * by log_set_context has them, and event is "message" unless log_event names
 * one.
 *
 * Lines go to stderr, or to the file log_open names (opened O_APPEND, so
 * several processes can share it; each line is one write(2) and lines of
 * different processes do not interleave).  A line is cut at 4 KiB.
 *
 * Callers never pass secrets (tokens, passwords, cookies, session ids, OAuth
 * codes or states): the log is read by operators and shipped to other
 * systems.
 *
 * State is per process (a static); nothing here allocates.
 */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_PLAIN, LOG_FMT_JSON };

/* Sets the program name shown on each line (borrowed; keep it alive). */
void log_init(const char *program);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; PV_EINVAL otherwise. */
int log_parse_level(const char *name, enum log_level *out);
/* Parses "plain", "json"; PV_EINVAL otherwise. */
int log_parse_format(const char *name, enum log_format *out);
void log_set_format(enum log_format format);

/* Sends lines to path (appended to, created 0640) instead of stderr; NULL
 * or "" goes back to stderr.  PV_EIO with a message in err when the file
 * cannot be opened; the previous destination stays. */
int log_open(const char *path, char *err, size_t errlen);

/* Applies log.level, log.format and log.file as found (NULL = default).
 * PV_EINVAL or PV_EIO with "config: log.KEY: why" in err. */
int log_configure(const char *level, const char *format, const char *file,
		  char *err, size_t errlen);

/* The context every following line carries: 0 or NULL leaves a field out.
 * request_id is copied (up to 64 bytes). */
void log_set_context(int64_t organization, int64_t sync, const char *request_id);
void log_clear_context(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line with a machine-readable event name ("request", "sync_finished"). */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats one line into out (for tests); returns its length, newline
 * included, cut to fit outlen. */
size_t log_format_line(char *out, size_t outlen, long long when, enum log_level level,
		       const char *event, const char *text);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
