/*
 * snapshot.h - one moment of a sync's two sides, in words of no provider:
 * the people and groups of the identity provider (Slack today; Entra ID or
 * Google Workspace tomorrow, SPEC §1.2) and the organization's directory
 * (users, teams, memberships).  The planner (lib/sync/sync_plan.h) reads
 * nothing else.
 *
 * Who fills it
 *   The provider's reader (lib/provider/slack/slack_snapshot.c) adds people
 *   and groups, turning the provider's specifics into the neutral fields
 *   below at decode time: Slackbot, bots and app users become
 *   not_a_person; restricted flags become a kind; avatar hashes and the
 *   default avatar become picture_key / picture_url.  The directory reader
 *   (directory_snapshot_read, lib/directory/directory.h) adds the directory
 *   side, all of it from one consistent read.
 *
 * Ownership and lifetime
 *   The snapshot owns everything in it.  Strings live in its pool (one
 *   allocation per 64 KiB chunk, so 100,000 people do not fragment the
 *   heap) and are freed together by snapshot_release; callers never free
 *   one.  The arrays grow by doubling (realloc): a pointer returned by a
 *   snapshot_add_* function stays valid until the next add of the same
 *   kind, and every pointer into the arrays stays valid from the end of the
 *   reads until snapshot_release.  Tests may instead build a snapshot on
 *   the stack pointing at their own arrays (pool NULL, capacities 0): the
 *   planner only reads the arrays and counts.
 *
 * Errors: functions return 0, PV_ENOMEM (the snapshot is left as it was
 * before the call) or PV_EINVAL (NULL snapshot).  snapshot_release of a
 * zeroed or released snapshot is harmless.
 */
#ifndef PV_SNAPSHOT_H
#define PV_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct pool;

/* ---- The provider's side ---- */

/* What a person is to the workspace.  Whether they have joined yet is the
 * separate invited flag: an invitation can be for a guest too. */
enum snap_kind {
	SNAP_MEMBER,                /* a full member */
	SNAP_MULTI_CHANNEL_GUEST,
	SNAP_SINGLE_CHANNEL_GUEST,
};

struct snap_person {
	const char *id;            /* the provider's id; never NULL */
	const char *email;         /* NULL when unknown (no permission to read it) */
	const char *first_name;    /* NULL when not given (also the next five) */
	const char *last_name;
	const char *full_name;     /* one-field name ("Ada Lovelace") */
	const char *display_name;
	const char *handle;        /* the account name, last resort for display */
	const char *title;
	/* The picture, NULL for the provider's default (no picture, SPEC §2.5).
	 * The key changes exactly when the picture does, whatever its URL: the
	 * directory stores it to tell a new picture from a moved one. */
	const char *picture_url;
	const char *picture_key;   /* non-NULL exactly when picture_url is */
	enum snap_kind kind;
	unsigned invited : 1;      /* invited, not joined yet */
	unsigned deleted : 1;      /* deactivated in the provider */
	unsigned not_a_person : 1; /* bot, app, built-in helper: never imported
				    * nor reported */
};

struct snap_group {
	const char *id;            /* never NULL */
	const char *name;
	unsigned enabled : 1;      /* a disabled group has no members for us */
	/* Member ids; NULL when the members were not read (a group no
	 * configuration uses) or the group has none. */
	const char **member_ids;
	size_t n_member_ids;
};

/* ---- The directory's side (one organization) ---- */

enum snap_user_status { SNAP_USER_ACTIVE, SNAP_USER_DEACTIVATED };
enum snap_user_source { SNAP_SOURCE_MANUAL, SNAP_SOURCE_SLACK };

struct snap_user {
	int64_t id;
	const char *email;          /* required */
	const char *first_name;     /* NULL reads as "" (also the next three) */
	const char *last_name;
	const char *display_name;
	const char *job_title;
	const char *picture_url;    /* stored picture, NULL = none; report only */
	const char *picture_key;    /* key of the stored picture (users.avatar_hash), NULL = none */
	/* The linked person of the connected workspace, NULL when unlinked.
	 * A link to a previous workspace (SPEC §1.5 replace) is read as NULL
	 * with provisioned = 0: such a user is never deactivated by absence and
	 * may be re-linked by e-mail. */
	const char *slack_user_id;
	enum snap_user_status status;
	enum snap_user_source source; /* informational; rules use provisioned */
	unsigned is_guest : 1;
	unsigned is_admin : 1;      /* role = administrator */
	unsigned provisioned : 1;   /* created or linked by a sync */
	/* Deactivated by a person, not by a sync (users.deactivated_by =
	 * 'person').  0 for rows written before the schema recorded it. */
	unsigned deactivated_by_hand : 1;
};

struct snap_team {
	int64_t id;
	const char *name;
};

enum snap_membership_source {
	SNAP_MS_MANUAL,           /* added by an administrator: never touched */
	SNAP_MS_PROVISIONING,     /* added by a sync: may be removed */
	SNAP_MS_REMOVED_BY_HAND,  /* tombstone: never re-add this pair (read
				   * from team_membership_removals) */
};

struct snap_membership {
	int64_t team_id;
	int64_t user_id;
	enum snap_membership_source source;
};

struct snapshot {
	struct pool *pool;          /* every string below */
	struct snap_person *people;
	size_t n_people;
	struct snap_group *groups;
	size_t n_groups;
	struct snap_user *users;
	size_t n_users;
	struct snap_team *teams;
	size_t n_teams;
	struct snap_membership *memberships;
	size_t n_memberships;
	/* private: capacities of the arrays above */
	size_t cap_people, cap_groups, cap_users, cap_teams, cap_memberships;
	/* private: the people's ids, a hash index (id_index_mask + 1 slots)
	 * for snapshot_group_set_members; built for n_indexed people (rebuilt
	 * when n_people differs). */
	const char **id_index;
	size_t id_index_mask;
	size_t n_indexed;
};

/* An empty snapshot with its pool.  0 or PV_ENOMEM. */
int snapshot_init(struct snapshot *s);
/* Frees the arrays and the pool and zeroes *s; NULL is fine. */
void snapshot_release(struct snapshot *s);

/* Forgets the people (a listing that restarted from its first page); their
 * strings stay in the pool until release. */
void snapshot_clear_people(struct snapshot *s);

/* Moves src's directory side (users, teams, memberships) into dst, whose
 * own directory side must be empty (PV_EINVAL otherwise), and src's pool
 * with it (freed with dst's): the directory read on its own thread into a
 * snapshot of its own while the provider's side fills dst.  src is
 * released either way (unless NULL); PV_ENOMEM leaves dst as it was. */
int snapshot_take_directory(struct snapshot *dst, struct snapshot *src);

/* A new zeroed element at the end of its array, in *out.  0 or PV_ENOMEM. */
int snapshot_add_person(struct snapshot *s, struct snap_person **out);
int snapshot_add_group(struct snapshot *s, struct snap_group **out);
int snapshot_add_user(struct snapshot *s, struct snap_user **out);
int snapshot_add_team(struct snapshot *s, struct snap_team **out);
int snapshot_add_membership(struct snapshot *s, struct snap_membership **out);

/* A copy of str[0..len) in the snapshot's pool in *out; NULL str gives
 * NULL.  0 or PV_ENOMEM. */
int snapshot_strndup(struct snapshot *s, const char *str, size_t len, const char **out);
/* The same for a NUL-terminated string. */
int snapshot_strdup(struct snapshot *s, const char *str, const char **out);
/* Sets n ids as g's members (replacing any): an id of a person already in
 * the snapshot points at that person's id (a group's members are people
 * read before it, and 1.4 million members of 200 mapped groups need not be
 * 1.4 million copies), any other is copied into the pool.  Either way the
 * snapshot owns them.  0 or PV_ENOMEM. */
int snapshot_group_set_members(struct snapshot *s, struct snap_group *g,
			       char *const *ids, size_t n);

#endif
