/*
 * log.h - one line per event on stderr, with a level.
 *
 * Lines look like "2026-11-28T14:00:00Z provisioning-api[123] warn: text".
 * Callers never pass secrets (tokens, passwords, cookies, session ids): the
 * log is read by operators and shipped to other systems.  log_redact() is for
 * the rare message that must mention a secret-bearing value.
 */
#ifndef PV_LOG_H
#define PV_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the program name shown on each line (borrowed; keep it alive). */
void log_init(const char *program);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; PV_EINVAL otherwise. */
int log_parse_level(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
