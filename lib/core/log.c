#include "core/log.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static const char *log_program = "provisioning";
static enum log_level log_level = LOG_LVL_INFO;
static enum log_format log_fmt = LOG_FMT_PLAIN;
static int log_fd = 2;
static int64_t ctx_org, ctx_sync;
static char ctx_request[65];
static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const format_names[] = { "plain", "json" };

void log_init(const char *program)
{
	log_program = program;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_set_format(enum log_format format)
{
	log_fmt = format;
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (name && strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return PV_EINVAL;
}

int log_parse_format(const char *name, enum log_format *out)
{
	for (int i = 0; i <= LOG_FMT_JSON; i++) {
		if (name && strcmp(name, format_names[i]) == 0) {
			*out = (enum log_format)i;
			return 0;
		}
	}
	return PV_EINVAL;
}

int log_open(const char *path, char *err, size_t errlen)
{
	int fd;

	if (!path || !*path) {
		if (log_fd != 2)
			close(log_fd);
		log_fd = 2;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "config: log.file: cannot open %s: %s", path, strerror(errno));
		return PV_EIO;
	}
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int log_configure(const char *level, const char *format, const char *file,
		  char *err, size_t errlen)
{
	enum log_level lv = LOG_LVL_INFO;
	enum log_format fm = LOG_FMT_PLAIN;

	if (level && log_parse_level(level, &lv) < 0) {
		snprintf(err, errlen, "config: log.level: not one of error, warn, info, debug");
		return PV_EINVAL;
	}
	if (format && log_parse_format(format, &fm) < 0) {
		snprintf(err, errlen, "config: log.format: not one of plain, json");
		return PV_EINVAL;
	}
	if (log_open(file, err, errlen) < 0)
		return PV_EIO;
	log_level = lv;
	log_fmt = fm;
	return 0;
}

void log_set_context(int64_t organization, int64_t sync, const char *request_id)
{
	ctx_org = organization;
	ctx_sync = sync;
	ctx_request[0] = '\0';
	if (request_id)
		snprintf(ctx_request, sizeof(ctx_request), "%s", request_id);
}

void log_clear_context(void)
{
	log_set_context(0, 0, NULL);
}

/* Appends s to out as the inside of a JSON string: quotes, backslashes and
 * control characters escaped, so a message cannot break the line or the
 * object whatever it contains.  Returns the new length, kept below outlen. */
static size_t json_escape(char *out, size_t len, size_t outlen, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s && len + 7 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[len++] = '\\';
			out[len++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[len++] = '\\';
			out[len++] = 'u';
			out[len++] = '0';
			out[len++] = '0';
			out[len++] = hex[c >> 4];
			out[len++] = hex[c & 15];
		} else {
			out[len++] = (char)c;
		}
	}
	out[len] = '\0';
	return len;
}

/* snprintf that appends and never runs past outlen. */
static size_t add(char *out, size_t len, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t add(char *out, size_t len, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len + 1 >= outlen)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(out + len, outlen - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return len;
	len += (size_t)n;
	return len < outlen ? len : outlen - 1;
}

size_t log_format_line(char *out, size_t outlen, long long when, enum log_level level,
		       const char *event, const char *text)
{
	char stamp[32];
	struct tm tm;
	time_t t = (time_t)when;
	size_t len = 0;

	if (outlen < 64)
		return 0;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Room for the closing part of a JSON line and the newline is kept
	 * back, so that a cut message still ends as a valid object. */
	outlen -= 4;
	if (log_fmt == LOG_FMT_PLAIN) {
		len = add(out, len, outlen, "%s %s[%ld] %s: ", stamp, log_program, (long)getpid(),
			  level_names[level]);
		if (event)
			len = add(out, len, outlen, "%s ", event);
		len = add(out, len, outlen, "%s", text);
		if (ctx_org > 0)
			len = add(out, len, outlen, " org=%" PRId64, ctx_org);
		if (ctx_sync > 0)
			len = add(out, len, outlen, " sync=%" PRId64, ctx_sync);
		if (ctx_request[0])
			len = add(out, len, outlen, " req=%s", ctx_request);
		/* A newline inside a message would forge a second line. */
		for (size_t i = 0; i < len; i++)
			if (out[i] == '\n' || out[i] == '\r')
				out[i] = ' ';
		out[len++] = '\n';
		out[len] = '\0';
		return len;
	}
	len = add(out, len, outlen, "{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"", stamp,
		  level_names[level]);
	len = json_escape(out, len, outlen, log_program);
	len = add(out, len, outlen, "\",\"pid\":%ld", (long)getpid());
	if (ctx_org > 0)
		len = add(out, len, outlen, ",\"organization\":%" PRId64, ctx_org);
	if (ctx_sync > 0)
		len = add(out, len, outlen, ",\"sync\":%" PRId64, ctx_sync);
	if (ctx_request[0]) {
		len = add(out, len, outlen, ",\"request_id\":\"");
		len = json_escape(out, len, outlen, ctx_request);
		len = add(out, len, outlen, "\"");
	}
	len = add(out, len, outlen, ",\"event\":\"");
	len = json_escape(out, len, outlen, event ? event : "message");
	len = add(out, len, outlen, "\",\"message\":\"");
	len = json_escape(out, len, outlen, text);
	/* The four bytes held back above. */
	out[len++] = '"';
	out[len++] = '}';
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

static void log_write(enum log_level level, const char *event, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX], line[LOG_LINE_MAX + 512];
	size_t n, off = 0;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = log_format_line(line, sizeof(line), (long long)time(NULL), level, event, text);
	/* One write per line (O_APPEND): lines of several processes sharing
	 * one file or one stderr do not interleave. */
	while (off < n) {
		ssize_t w = write(log_fd, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_write(level, NULL, fmt, ap);
	va_end(ap);
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_write(level, event, fmt, ap);
	va_end(ap);
}
