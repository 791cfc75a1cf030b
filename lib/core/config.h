/*
 * config.h - the configuration of every program (SPEC §5).
 *
 * One file of "key = value" lines (comments start with '#'), path from
 * PROVISIONING_CONFIG or /etc/provisioning/provisioning.conf.  Every known key
 * can be overridden by an environment variable named after it in upper case
 * with dots as underscores (slack.api_base -> SLACK_API_BASE).  A missing
 * file is fine when the environment provides what is required.
 *
 * Unknown keys, malformed lines and invalid values are refused at load with
 * one message naming the key (and the line), so a program stops at start
 * rather than misbehaving later.
 *
 * Ownership: config_load returns a struct the caller frees with
 * config_free; strings returned by the getters are borrowed from it.
 */
#ifndef PV_CONFIG_H
#define PV_CONFIG_H

#include <stddef.h>

struct config;

#define CONFIG_DEFAULT_PATH "/etc/provisioning/provisioning.conf"

/* path NULL means $PROVISIONING_CONFIG or CONFIG_DEFAULT_PATH.  On failure
 * err holds one line such as "config: db.port: not a port number". */
int config_load(struct config **out, const char *path, char *err, size_t errlen);
/* Parses text as if it were the file (for tests); env overrides apply. */
int config_parse(struct config **out, const char *text, char *err, size_t errlen);
void config_free(struct config *c);

/* The value, or NULL when unset and without default. */
const char *config_get(const struct config *c, const char *key);
/* The value as an integer (validated at load for integer keys). */
long config_get_long(const struct config *c, const char *key);
/* PV_EINVAL with "config: KEY: required" in err when KEY has no value. */
int config_require(const struct config *c, const char *key, char *err, size_t errlen);

#endif
