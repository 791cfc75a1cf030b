/*
 * directory-snapshot-probe - reads one organization's directory side of a
 * sync snapshot (directory_snapshot_read) and prints what it saw, for
 * tests/integration/test_directory_snapshot.py:
 *
 *   directory-snapshot-probe ORG WORKSPACE_ID
 *   users=N teams=N memberships=N
 *   user <id> <email> <linked slack id or -> <provisioned> <deactivated_by_hand>
 *   team <id> <name>
 *
 * The database comes from PROVISIONING_CONFIG.  Exit 0 on success; 1 after
 * printing "error <code>"; 2 on bad usage.
 */
#include "core/config.h"
#include "core/err.h"
#include "db/db.h"
#include "directory/directory.h"
#include "snapshot/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct db *db = NULL;
	struct snapshot s = { 0 };
	char err[256];
	char *end;
	long long org;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: directory-snapshot-probe ORG WORKSPACE_ID\n");
		return 2;
	}
	errno = 0;
	org = strtoll(argv[1], &end, 10);
	if (errno || *end || org <= 0) {
		fprintf(stderr, "directory-snapshot-probe: bad organization id\n");
		return 2;
	}
	rc = config_load(&cfg, NULL, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "directory-snapshot-probe: %s\n", err);
		return 1;
	}
	rc = db_new(&db, cfg);
	if (rc == 0)
		rc = snapshot_init(&s);
	if (rc == 0)
		rc = directory_snapshot_read(db, org, argv[2], &s);
	if (rc < 0) {
		printf("error %s\n", pv_strerror(rc));
		goto out;
	}
	printf("users=%zu teams=%zu memberships=%zu\n", s.n_users, s.n_teams, s.n_memberships);
	for (size_t i = 0; i < s.n_users; i++)
		printf("user %lld %s %s %d %d\n", (long long)s.users[i].id, s.users[i].email,
		       s.users[i].slack_user_id ? s.users[i].slack_user_id : "-",
		       s.users[i].provisioned, s.users[i].deactivated_by_hand);
	for (size_t i = 0; i < s.n_teams; i++)
		printf("team %lld %s\n", (long long)s.teams[i].id, s.teams[i].name);
out:
	snapshot_release(&s);
	db_free(db);
	config_free(cfg);
	return rc < 0 ? 1 : 0;
}
