/*
 * fuzz_config.c - libFuzzer target: the configuration file parser
 * (lib/core/config.c, config_parse) on arbitrary text.
 *
 * Checks, beyond the sanitizers: a refusal returns no struct and one line
 * of error text (non-empty, no newline, NUL-terminated within the buffer);
 * an accepted file answers every known key's getter, and integer keys
 * validated at load read back without trouble.
 */
#include "core/config.h"
#include "core/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"db.host", "db.port", "db.socket", "db.user", "db.password", "db.name",
		"app.base_url", "session.ttl_hours", "log.level", "slack.api_base",
		"slack.authorize_url", "slack.client_id", "slack.client_secret",
		"crypto.key_file", "smtp.url", "smtp.from", "sync.lease_seconds",
		"sync.batch_size", "sync.writers", "no.such.key",
	};
	struct config *c = NULL;
	char err[256];
	char *text;
	int rc;

	/* The file is text: a NUL ends it, as it would for the reader. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	rc = config_parse(&c, text, err, sizeof(err));
	if (rc < 0) {
		if (c || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0' ||
		    strchr(err, '\n') != NULL)
			abort();
	} else {
		if (!c)
			abort();
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *v = config_get(c, keys[k]);

			if (v)
				(void)strlen(v);
			(void)config_require(c, keys[k], err, sizeof(err));
		}
		(void)config_get_long(c, "db.port");
		(void)config_get_long(c, "session.ttl_hours");
		(void)config_get_long(c, "sync.batch_size");
		config_free(c);
	}
	free(text);
	return 0;
}
