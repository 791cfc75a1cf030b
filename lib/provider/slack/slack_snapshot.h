/*
 * slack_snapshot.h - Slack's people and groups read into a sync's snapshot
 * (lib/snapshot/snapshot.h), in the snapshot's neutral words.
 *
 * Every Slack specific the planner used to know ends here, at decode time:
 *   - Slackbot (id USLACKBOT), bots (is_bot) and app users (is_app_user)
 *     are not_a_person: never imported, never reported;
 *   - is_ultra_restricted is a single-channel guest, else is_restricted a
 *     multi-channel guest, else a member; is_invited_user is invited;
 *   - the picture is profile's image URL (slack_decode_user keeps one only
 *     when is_custom_image: Slack's default avatar is no picture), keyed by
 *     avatar_hash (the URL itself when the hash is missing): Slack serves
 *     pictures under hash-named URLs, so the hash changes exactly when the
 *     picture does (SPEC §2.5);
 *   - real_name is the full name, name the handle.
 *
 * Strings are copied once into the snapshot's pool.  (The client's
 * iterator still decodes each page into its own heap copies first; decoding
 * straight from the page's JSON needs the client's internal call, which
 * comes with slack.c's split behind slack_int.h.)
 *
 * Errors: 0, PV_ENOMEM, PV_EINVAL (NULL argument or a user without id), or
 * the client's errors (slack.h; slack_last_error says which) for the reads.
 */
#ifndef PV_SLACK_SNAPSHOT_H
#define PV_SLACK_SNAPSHOT_H

#include <stddef.h>

struct slack;
struct slack_error;
struct slack_user;
struct slack_group;
struct snapshot;

/* Appends one decoded Slack user to s->people (pure; unit tested). */
int slack_snapshot_add_user(struct snapshot *s, const struct slack_user *u);
/* Appends one decoded group (its user_ids become member_ids). */
int slack_snapshot_add_group(struct snapshot *s, const struct slack_group *g);

/* The whole users.list, page by page, into s->people.  A listing that
 * restarts from page 1 (invalid_cursor, slack.h) starts the people over, so
 * nobody is counted twice.  On failure s->people is partial: never plan it. */
int slack_snapshot_read_people(struct slack *c, int limit, struct snapshot *s);

/* usergroups.list (disabled groups included) into s->groups, and the
 * members of each enabled group for which wanted(arg, id) is true. */
int slack_snapshot_read_groups(struct slack *c, int (*wanted)(void *arg, const char *id),
			       void *arg, struct snapshot *s);

/*
 * Both reads of a sync side by side: users.list on the calling thread
 * with c (its tick, slack_set_tick, keeps the caller's lease and is only
 * ever called on this thread), and usergroups.list with the members of
 * the wanted groups on a second thread with a second client
 * (slack_clone: its own connection).  Slack counts each method apart
 * (SLACK-API.md §6.1), so under the tiers the groups' calls cost no time
 * beside the longer users.list.  The groups go into s once both are done,
 * so that their member ids point at the people.  While the people are
 * read and the groups are not, c's tick is called about every
 * SLACK_TICK_MS.  wanted NULL: the people only, no thread.
 *
 * wanted is called on the second thread: it must only read what nothing
 * changes meanwhile (the run's configuration).
 *
 * A failure of either side stops the other (between pages, or in its
 * wait) and is returned, the people's first; *err (when not NULL) is then
 * the failed client's slack_last_error (its kind says what to do: an
 * expired token, a lost connection), cleared on success.  A negative
 * return of c's tick is returned as it is.  On failure s is partial:
 * never plan it.  Without memory for a second client or thread the reads
 * run one after the other.
 */
int slack_snapshot_read(struct slack *c, int limit, int (*wanted)(void *arg, const char *id),
			void *arg, struct snapshot *s, struct slack_error *err);

#endif
