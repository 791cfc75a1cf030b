/*
 * provisioning-admin - the operator's command line.
 *
 * Exit codes: 0 done, 1 failed (database, configuration), 2 usage error,
 * 3 already exists, 4 not found.  Passwords are read from standard input
 * (first line) with --password-stdin, or given with --password (visible to
 * other users of the machine in the process list: prefer stdin).
 */
#include "admin_ops.h"
#include "core/config.h"
#include "provider/slack/connection.h"
#include "core/crypto.h"
#include "core/email_fold.h"
#include "db/db.h"
#include "directory/directory.h"
#include "core/err.h"
#include "core/log.h"
#include "db/migrate.h"
#include "core/password.h"
#include "provider/slack/slack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_EXISTS = 3, EXIT_NOTFOUND = 4 };

static const char usage[] =
	"usage: provisioning-admin COMMAND [ARGS]\n"
	"\n"
	"  migrate                         apply the schema migrations not yet applied\n"
	"  create-org NAME                 create an organization; prints its id\n"
	"  create-admin ORG_ID EMAIL [OPTIONS]\n"
	"                                  create an administrator who can sign in\n"
	"  create-user ORG_ID EMAIL [OPTIONS]\n"
	"                                  create a member (add --admin for an administrator)\n"
	"  set-password ORG_ID EMAIL --password-stdin\n"
	"                                  set the password of an existing user (a way back\n"
	"                                  into a locked-out account); ends their sessions\n"
	"  slack-check ORG_ID              open the organization's stored Slack token and ask\n"
	"                                  Slack who it is (auth.test): prints team id and name\n"
	"  seed-demo EMAIL                 create (once) the demo organization with EMAIL as\n"
	"                                  its administrator, teams and users; the password\n"
	"                                  (--password-stdin) is set on every run\n"
	"  doctor                          check this host's set-up, one line per check:\n"
	"                                  OK, or FIX and what to do\n"
	"  rekey NEW_KEY_FILE              re-seal every stored Slack token under the key in\n"
	"                                  NEW_KEY_FILE (stop the API and the sync first)\n"
	"  changed                         after editing the database by hand: the API reads\n"
	"                                  every answer anew instead of giving a kept one\n"
	"\n"
	"options: --first NAME --last NAME --title TITLE --admin\n"
	"         --password-stdin | --password PASSWORD (at least 8 characters)\n"
	"\n"
	"Configuration: PROVISIONING_CONFIG (default " CONFIG_DEFAULT_PATH ") and environment\n"
	"overrides such as DB_SOCKET, DB_NAME (see README.md).\n";

struct user_opts {
	const char *first, *last, *title, *password;
	int admin, password_stdin;
};

static int exit_for(int rc)
{
	switch (rc) {
	case 0: return EXIT_OK;
	case PV_ECONFLICT: return EXIT_EXISTS;
	case PV_ENOTFOUND: return EXIT_NOTFOUND;
	case PV_EINVAL: return EXIT_USAGE;
	}
	return EXIT_FAIL;
}

static int parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 1)
		return PV_EINVAL;
	*out = v;
	return 0;
}

static int parse_user_opts(int argc, char **argv, int first, struct user_opts *o)
{
	for (int i = first; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--admin") == 0) {
			o->admin = 1;
			continue;
		}
		if (strcmp(argv[i], "--password-stdin") == 0) {
			o->password_stdin = 1;
			continue;
		}
		if (strcmp(argv[i], "--first") == 0)
			slot = &o->first;
		else if (strcmp(argv[i], "--last") == 0)
			slot = &o->last;
		else if (strcmp(argv[i], "--title") == 0)
			slot = &o->title;
		else if (strcmp(argv[i], "--password") == 0)
			slot = &o->password;
		if (!slot || i + 1 >= argc) {
			fprintf(stderr, "provisioning-admin: unknown or incomplete option %s\n", argv[i]);
			return PV_EINVAL;
		}
		*slot = argv[++i];
	}
	return 0;
}

/* Reads the first line of stdin into buf, without its line end. */
static int read_password_line(char *buf, size_t len)
{
	if (!fgets(buf, (int)len, stdin)) {
		fprintf(stderr, "provisioning-admin: no password on standard input\n");
		return PV_EINVAL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* Hashes the password given by the options into hash (empty: none). */
static int password_from_opts(const struct user_opts *o, char hash[PASSWORD_HASH_MAX])
{
	char line[PASSWORD_MAX_LEN + 2];
	const char *pw = o->password;
	int rc;

	hash[0] = '\0';
	if (o->password_stdin) {
		rc = read_password_line(line, sizeof(line));
		if (rc < 0)
			return rc;
		pw = line;
	}
	if (!pw)
		return 0;
	rc = password_hash(pw, hash);
	memset(line, 0, sizeof(line));
	if (rc == PV_EINVAL)
		fprintf(stderr, "provisioning-admin: the password needs %d to %d characters\n",
			PASSWORD_MIN_LEN, PASSWORD_MAX_LEN);
	return rc;
}

static int cmd_migrate(struct db *db)
{
	int applied = 0;
	int rc = migrate_apply(db, migrations, migrations_count, &applied);

	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: migrate: %s: %s\n", pv_strerror(rc),
			db_last_error(db));
		return rc;
	}
	printf("migrations: %d applied, %u known\n", applied, migrations_count);
	return 0;
}

static int cmd_create_org(struct db *db, const char *name)
{
	int64_t id;
	int rc = dir_org_create(db, name, &id);

	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: create-org: %s\n",
			rc == PV_EINVAL ? "the name needs 1 to 200 characters" : pv_strerror(rc));
		return rc;
	}
	printf("%lld\n", (long long)id);
	return 0;
}

static int cmd_create_user(struct db *db, int argc, char **argv, int admin)
{
	struct user_opts o = { 0 };
	struct dir_user_new u = { 0 };
	json_object *org_json = NULL;
	char hash[PASSWORD_HASH_MAX];
	const char *field, *why;
	int64_t org, id;
	int rc;

	if (argc < 4 || parse_id(argv[2], &org) < 0) {
		fprintf(stderr, "provisioning-admin: %s ORG_ID EMAIL [OPTIONS]\n", argv[1]);
		return PV_EINVAL;
	}
	rc = parse_user_opts(argc, argv, 4, &o);
	if (rc == 0)
		rc = password_from_opts(&o, hash);
	if (rc < 0)
		return rc;
	if (admin && !hash[0]) {
		fprintf(stderr, "provisioning-admin: an administrator needs a password"
			" (--password-stdin)\n");
		return PV_EINVAL;
	}
	u.email = argv[3];
	u.first_name = o.first;
	u.last_name = o.last;
	u.job_title = o.title;
	u.is_admin = admin || o.admin;
	u.password_hash = hash[0] ? hash : NULL;
	rc = dir_org_json(db, org, &org_json);
	json_object_put(org_json);
	if (rc == PV_ENOTFOUND)
		fprintf(stderr, "provisioning-admin: no organization %lld\n", (long long)org);
	if (rc < 0)
		return rc;
	rc = dir_user_create(db, org, &u, &id, &field, &why);
	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: %s: %s\n", argv[1], why ? why : pv_strerror(rc));
		return rc;
	}
	printf("%lld\n", (long long)id);
	return 0;
}

/* set-password ORG_ID EMAIL (--password-stdin | --password P): the
 * operator's way back into an account whose password is lost. */
static int cmd_set_password(struct db *db, int argc, char **argv)
{
	struct user_opts o = { 0 };
	char hash[PASSWORD_HASH_MAX];
	int64_t org;
	int rc;

	if (argc < 5 || parse_id(argv[2], &org) < 0) {
		fprintf(stderr, "provisioning-admin: set-password ORG_ID EMAIL --password-stdin\n");
		return PV_EINVAL;
	}
	rc = parse_user_opts(argc, argv, 4, &o);
	if (rc == 0 && (o.first || o.last || o.title || o.admin)) {
		fprintf(stderr, "provisioning-admin: set-password takes only --password-stdin or"
			" --password\n");
		rc = PV_EINVAL;
	}
	if (rc == 0)
		rc = password_from_opts(&o, hash);
	if (rc == 0 && !hash[0]) {
		fprintf(stderr, "provisioning-admin: set-password needs a password (--password-stdin)\n");
		rc = PV_EINVAL;
	}
	if (rc < 0)
		return rc;
	rc = dir_user_set_password(db, org, argv[3], hash);
	memset(hash, 0, sizeof(hash));
	if (rc == PV_ENOTFOUND)
		fprintf(stderr, "provisioning-admin: organization %lld has no user %s\n",
			(long long)org, argv[3]);
	else if (rc < 0)
		fprintf(stderr, "provisioning-admin: set-password: %s\n", pv_strerror(rc));
	return rc;
}

static const struct {
	const char *email, *first, *last, *title, *team;
} demo_people[] = {
	{ "ada.lovelace@demo.example", "Ada", "Lovelace", "Staff Engineer", "Engineering" },
	{ "grace.hopper@demo.example", "Grace", "Hopper", "Engineering Manager", "Engineering" },
	{ "alan.turing@demo.example", "Alan", "Turing", "Research Engineer", "Engineering" },
	{ "katherine.johnson@demo.example", "Katherine", "Johnson", "Account Executive", "Sales" },
	{ "chloé.dubois@demo.example", "Chloé", "Dubois", "Sales Lead", "Sales" },
	{ "hana.sato@demo.example", "花", "佐藤", "People Partner", "People" },
};

/* Proves the stored token opens with the key file and that Slack accepts
 * it; prints "TEAM_ID TEAM_NAME", never the token. */
static int cmd_slack_check(struct config *cfg, struct db *db, const char *org_arg)
{
	struct slack_auth auth = { 0 };
	struct crypto_key *key = NULL;
	struct slack *s = NULL;
	int64_t org;
	int rc = parse_id(org_arg, &org);

	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: slack-check ORG_ID\n");
		return rc;
	}
	rc = crypto_key_load(config_get(cfg, "crypto.key_file"), &key);
	if (rc == 0)
		rc = conn_client(db, cfg, key, org, &s);
	if (rc == PV_ENOTFOUND)
		fprintf(stderr, "provisioning-admin: organization %lld has no Slack connection\n",
			(long long)org);
	else if (rc < 0)
		fprintf(stderr, "provisioning-admin: the stored token cannot be opened: %s\n",
			pv_strerror(rc));
	if (rc == 0) {
		rc = slack_auth_test(s, &auth);
		if (rc < 0)
			fprintf(stderr, "provisioning-admin: Slack refused the token: %s\n",
				slack_last_error(s)->code);
		else
			printf("%s %s\n", auth.team_id ? auth.team_id : "?", auth.team ? auth.team : "?");
	}
	slack_auth_release(&auth);
	slack_free(s);
	crypto_key_free(key);
	return rc;
}

/* The demo organization's name: seed-demo only ever touches the
 * organization of that name it created first, never an administrator of
 * another organization who happens to have the same e-mail. */
#define DEMO_ORG_NAME "Acme Demo"

/* Creates the demo organization once; later runs only set the password of
 * EMAIL's administrator in that organization (adding them if needed). */
static int cmd_seed_demo(struct db *db, int argc, char **argv)
{
	static const char *const teams[] = { "Engineering", "Sales", "People" };
	struct user_opts o = { .password_stdin = 1 };
	char hash[PASSWORD_HASH_MAX];
	const char *field, *why;
	long long existing = 0, demo = 0;
	int64_t org, id, admin;
	int rc;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--password-stdin"))) {
		fprintf(stderr, "provisioning-admin: seed-demo EMAIL --password-stdin\n");
		return PV_EINVAL;
	}
	rc = password_from_opts(&o, hash);
	if (rc < 0)
		return rc;
	rc = db_query_int(db, &demo, "SELECT id FROM organizations WHERE name = ? ORDER BY id LIMIT 1",
			  DB_ARGS(DB_STR(DEMO_ORG_NAME)));
	if (rc == 0)
		rc = db_query_int(db, &existing, "SELECT id FROM users WHERE organization_id = ?"
				  " AND email_key = " EMAIL_KEY_SQL " AND role = 'administrator'",
				  DB_ARGS(DB_INT(demo), DB_STR(argv[2])));
	if (rc == 0) {
		rc = db_exec(db, "UPDATE users SET password_hash = ? WHERE organization_id = ? AND id = ?",
			     DB_ARGS(DB_STR(hash), DB_INT(demo), DB_INT(existing)), NULL);
		if (rc == 0)
			printf("demo: already seeded; password of %s set\n", argv[2]);
		return rc;
	}
	if (rc != PV_ENOTFOUND)
		return rc;
	if (demo) {
		rc = dir_user_create(db, demo, &(struct dir_user_new){ .email = argv[2],
				     .first_name = "Demo", .last_name = "Administrator",
				     .job_title = "HR Director", .is_admin = 1,
				     .password_hash = hash }, &admin, &field, &why);
		if (rc < 0) {
			fprintf(stderr, "provisioning-admin: seed-demo: %s\n", why ? why : pv_strerror(rc));
			return rc;
		}
		printf("demo: already seeded; administrator %s added\n", argv[2]);
		return 0;
	}
	rc = dir_org_create(db, DEMO_ORG_NAME, &org);
	if (rc == 0)
		rc = dir_user_create(db, org, &(struct dir_user_new){ .email = argv[2],
				     .first_name = "Demo", .last_name = "Administrator",
				     .job_title = "HR Director", .is_admin = 1,
				     .password_hash = hash }, &admin, &field, &why);
	for (size_t t = 0; rc == 0 && t < sizeof(teams) / sizeof(teams[0]); t++) {
		json_object *team = NULL;

		rc = dir_team_create(db, org, teams[t], &team, &why);
		json_object_put(team);
	}
	for (size_t i = 0; rc == 0 && i < sizeof(demo_people) / sizeof(demo_people[0]); i++) {
		long long team;

		rc = dir_user_create(db, org, &(struct dir_user_new){ .email = demo_people[i].email,
				     .first_name = demo_people[i].first,
				     .last_name = demo_people[i].last,
				     .job_title = demo_people[i].title }, &id, &field, &why);
		if (rc == 0)
			rc = db_query_int(db, &team, "SELECT id FROM teams WHERE organization_id = ?"
					  " AND name = ?", DB_ARGS(DB_INT(org),
					  DB_STR(demo_people[i].team)));
		if (rc == 0)
			rc = dir_team_add_member(db, org, team, id, "manual");
	}
	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: seed-demo: %s\n", pv_strerror(rc));
		return rc;
	}
	printf("demo: organization %lld seeded\n", (long long)org);
	return 0;
}

/* Edits made outside the programs are not counted (db/db_changes.h):
 * this counts one, so every API process reads its answers anew. */
static int cmd_changed(struct db *db)
{
	if (db_count_change(db) < 0) {
		printf("db.changes_file is not set: the API keeps no answer, nothing to do\n");
		return 0;
	}
	printf("counted: the API reads every answer anew\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct db *db = NULL;
	enum log_level level;
	char err[256];
	int rc;

	log_init("provisioning-admin");
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	/* The doctor reads the configuration itself: a broken one is its
	 * first finding, not a reason to stop. */
	if (strcmp(argv[1], "doctor") == 0 && argc == 2)
		return admin_doctor() < 0 ? EXIT_FAIL : EXIT_OK;
	rc = config_load(&cfg, NULL, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: %s\n", err);
		return EXIT_FAIL;
	}
	if (log_parse_level(config_get(cfg, "log.level"), &level) == 0)
		log_set_level(level);
	rc = db_new(&db, cfg);
	if (rc == 0)
		rc = db_ensure(db);
	if (rc < 0) {
		fprintf(stderr, "provisioning-admin: database: %s\n", db ? db_last_error(db) : "");
		rc = PV_EDBDOWN;
		goto out;
	}
	if (strcmp(argv[1], "migrate") == 0 && argc == 2)
		rc = cmd_migrate(db);
	else if (strcmp(argv[1], "create-org") == 0 && argc == 3)
		rc = cmd_create_org(db, argv[2]);
	else if (strcmp(argv[1], "create-admin") == 0)
		rc = cmd_create_user(db, argc, argv, 1);
	else if (strcmp(argv[1], "create-user") == 0)
		rc = cmd_create_user(db, argc, argv, 0);
	else if (strcmp(argv[1], "set-password") == 0)
		rc = cmd_set_password(db, argc, argv);
	else if (strcmp(argv[1], "slack-check") == 0 && argc == 3)
		rc = cmd_slack_check(cfg, db, argv[2]);
	else if (strcmp(argv[1], "rekey") == 0 && argc == 3)
		rc = admin_rekey(cfg, db, argv[2]);
	else if (strcmp(argv[1], "seed-demo") == 0)
		rc = cmd_seed_demo(db, argc, argv);
	else if (strcmp(argv[1], "changed") == 0 && argc == 2)
		rc = cmd_changed(db);
	else {
		fputs(usage, stderr);
		rc = PV_EINVAL;
	}
out:
	db_free(db);
	config_free(cfg);
	return exit_for(rc);
}
