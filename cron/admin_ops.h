/*
 * admin_ops.h - provisioning-admin's operator commands: doctor (is this host
 * set up right?) and rekey (re-seal every stored token under a new key).
 *
 * Both print for a person: one line per check or per result, plain words,
 * never a secret.  They return 0 or a negative PV_E* code (the caller maps
 * it to an exit code).
 */
#ifndef PV_ADMIN_OPS_H
#define PV_ADMIN_OPS_H

struct config;
struct db;

/* Loads the configuration itself (a broken one is the first finding) and
 * checks, one line each, "OK: ..." or "FIX: ...": configuration, its file's
 * permissions, the key file and its permissions, the database and its
 * schema, Slack with the client id and secret, the SMTP server.  Goes on
 * after a failed check; PV_EINVAL when any check failed. */
int admin_doctor(void);

/* Opens every sealed token with crypto.key_file and seals it again with
 * the key in new_key_path, all in one transaction: either every token is
 * under the new key or none is.  Prints how many integrations were
 * re-sealed.  PV_ECRYPTO names the first token that does not open with the
 * current key (nothing is changed then). */
int admin_rekey(struct config *cfg, struct db *db, const char *new_key_path);

#endif
