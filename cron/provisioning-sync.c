/*
 * provisioning-sync - the cron-invoked sync pass (SPEC §2.9).
 *
 * This build has no provisioning integration yet (Slack connection and the
 * sync planner come with their own changes): a pass checks that the
 * configuration loads and the database answers, says that there is nothing
 * to sync, and exits 0, so that the crontab line and `make run`'s loop can
 * already be installed.  Exit codes: 0 pass done, 1 configuration or
 * database failure, 2 usage.
 */
#include "config.h"
#include "db.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: provisioning-sync [--help]\n"
	"\n"
	"Runs one pass: claims the syncs that are due across all organizations,\n"
	"runs them and exits.  Meant to be run every minute from cron.\n"
	"This build knows no provisioning integration yet, so a pass only checks\n"
	"the configuration and the database.\n";

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct db *db = NULL;
	long long orgs = 0;
	char err[256];
	int rc;

	log_init("provisioning-sync");
	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0;

		fputs(usage, help ? stdout : stderr);
		return help ? 0 : 2;
	}
	rc = config_load(&cfg, NULL, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "provisioning-sync: %s\n", err);
		return 1;
	}
	rc = db_new(&db, cfg);
	if (rc == 0)
		rc = db_query_int(db, &orgs, "SELECT COUNT(*) FROM organizations", DB_NOARGS);
	if (rc < 0)
		log_error("sync: database: %s", db ? db_last_error(db) : pv_strerror(rc));
	else
		log_info("sync: %lld organizations, no provisioning integration in this build",
			 orgs);
	db_free(db);
	config_free(cfg);
	return rc < 0 ? 1 : 0;
}
