#include "core/log.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "provisioning";
static enum log_level log_level = LOG_LVL_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *program)
{
	log_program = program;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return PV_EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char when[32], text[2048];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level > log_level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines of several processes sharing the
	 * same stderr do not interleave. */
	fprintf(stderr, "%s %s[%ld] %s: %s\n", when, log_program, (long)getpid(),
		level_names[level], text);
}
