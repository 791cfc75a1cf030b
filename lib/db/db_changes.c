#include "db/db_changes.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A page: the counter, and room for more without a new layout. */
#define DB_CHANGES_SIZE 4096

struct db_changes {
	uint64_t *count;  /* in the shared mapping */
};

/* Root creating the file (an administrator's command) gives it to the
 * folder's owner, the service's user, who could not open it otherwise. */
static void give_to_folder_owner(int fd, const char *path)
{
	char *copy = strdup(path);
	struct stat st;

	if (copy && geteuid() == 0 && stat(dirname(copy), &st) == 0 && st.st_uid != 0 &&
	    fchown(fd, st.st_uid, st.st_gid) < 0) {
		/* Best effort: the service then reports the file it cannot open. */
	}
	free(copy);
}

int db_changes_open(struct db_changes **out, const char *path, char *err, size_t errlen)
{
	struct db_changes *c;
	struct stat st;
	void *p;
	int fd, created = 1;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return PV_ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		goto fail;
	if (created)
		give_to_folder_owner(fd, path);
	/* Extending zero-fills, so processes starting together cannot undo
	 * each other's counts; a file of another size is only ever grown. */
	if (fstat(fd, &st) < 0 ||
	    (st.st_size < DB_CHANGES_SIZE && ftruncate(fd, DB_CHANGES_SIZE) < 0))
		goto fail;
	p = mmap(NULL, DB_CHANGES_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	c->count = p;
	*out = c;
	return 0;
fail:
	snprintf(err, errlen, "config: db.changes_file: %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(c);
	return PV_EIO;
}

void db_changes_close(struct db_changes *c)
{
	if (!c)
		return;
	munmap(c->count, DB_CHANGES_SIZE);
	free(c);
}

uint64_t db_changes_read(const struct db_changes *c)
{
	return __atomic_load_n(c->count, __ATOMIC_ACQUIRE);
}

void db_changes_bump(struct db_changes *c)
{
	__atomic_add_fetch(c->count, 1, __ATOMIC_RELEASE);
}
