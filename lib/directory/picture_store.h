/*
 * picture_store.h - the product's own copy of profile pictures (SPEC §2.5),
 * behind one small interface so that the backend can change (a local
 * folder today; a shared mount, or an object store later) without the sync
 * or the API knowing.
 *
 * Layout: content-addressed files in one folder (config key pictures.dir,
 * default /var/lib/provisioning/pictures; scripts/stack.sh sets
 * <run folder>/pictures).  A picture's name is the hex SHA-256 of its bytes
 * and the extension of its checked type, "<64 hex>.<png|jpg|gif|webp>", so
 * the same bytes are stored once however many people or syncs bring them,
 * and a name never changes meaning: nginx serves /pictures/<name> from the
 * folder with immutable, year-long caching (nginx/site.conf.in).
 *
 * Writes are atomic: the bytes go to a temporary file in the same folder
 * (".tmp-XXXXXX", never served: nginx only serves well-formed names), are
 * flushed with fsync, and are renamed onto their name; a reader sees the
 * whole picture or none, and two writers of one picture (two sync hosts)
 * rename identical bytes onto each other harmlessly.  Several API or sync
 * hosts share pictures by mounting one folder (NFS, a cloud file share) at
 * the same path on each; rename within one folder is atomic there too.
 * Nothing is deleted by this module: an unused picture is a few KiB, and
 * its name may still be in a report or a browser cache.
 *
 * Ownership: struct picture_store is the caller's; it holds copies of the
 * folder and URL prefix.  No allocation is kept between calls.
 *
 * Errors: PV_EINVAL for a bad argument (an empty folder, bytes that are
 * not a picture of an accepted type, a malformed name); PV_ETOOBIG for a
 * path or URL longer than its buffer; PV_EIO when the folder cannot be
 * created or written (errno's text goes to the log, with the folder).
 */
#ifndef PV_PICTURE_STORE_H
#define PV_PICTURE_STORE_H

#include <stddef.h>

/* "<64 hex>.webp" and its NUL. */
#define PICTURE_NAME_MAX 72
/* The largest picture accepted (Slack's image_512 is ~100 KiB). */
#define PICTURE_MAX_BYTES (2 * 1024 * 1024)

struct picture_store {
	char dir[512];
	char url_prefix[512];	/* e.g. "https://hr.example/pictures/" */
	/* 0: each put is durable when it returns (fsync before the rename).
	 * 1: puts are flushed together by picture_store_flush, which the
	 * caller must call before it publishes any of their names (a sync
	 * stores a batch's pictures, flushes once, then commits the users
	 * that name them): one flush of the folder for hundreds of pictures
	 * instead of an fsync each, which cost ~0.8 ms apiece here and
	 * dominated a first sync's picture step. */
	int deferred;
};

/* Creates the folder when missing (0755, parents too) and checks that it
 * can be written.  url_prefix is what a stored name is appended to in a
 * picture_url (end it with '/'). */
int picture_store_open(struct picture_store *ps, const char *dir, const char *url_prefix);

/* The accepted type of a picture by its first bytes (PNG, JPEG, GIF,
 * WebP signatures): "png", "jpg", "gif" or "webp"; NULL for anything else.
 * Pure. */
const char *picture_sniff(const void *data, size_t len);

/* The extension a Content-Type names ("image/png" -> "png"; parameters
 * after ';' ignored, case-insensitive); NULL when not accepted. */
const char *picture_type_ext(const char *content_type);

/* Stores the bytes under their name (written into `name`); a picture
 * already there is not written again.  The type is sniffed: bytes that are
 * not an accepted picture are refused (PV_EINVAL), as are empty or
 * oversized ones (PV_ETOOBIG past PICTURE_MAX_BYTES). */
int picture_store_put(struct picture_store *ps, const void *data, size_t len,
		      char name[PICTURE_NAME_MAX]);

/* Makes every picture put so far durable, names included (syncfs of the
 * folder's file system: the data, and the renames that fsync of a file
 * alone would not cover).  PV_EIO when it fails. */
int picture_store_flush(struct picture_store *ps);

/* The public URL of a stored name: url_prefix + name. */
int picture_store_url(const struct picture_store *ps, const char *name, char *url, size_t cap);

/* 1 when a picture of that name is stored, 0 when not, PV_EINVAL for a
 * malformed name. */
int picture_store_has(const struct picture_store *ps, const char *name);

#endif
