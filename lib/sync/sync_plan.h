/*
 * sync_plan.h - the sync planner (SPEC §2.4): a pure function from a
 * snapshot (lib/snapshot/snapshot.h: the provider's people and groups and
 * the directory, one moment of each) and a configuration snapshot to the
 * list of actions a sync would apply.  It knows no provider: Slack's
 * specifics were turned into neutral kinds and flags when the snapshot was
 * read.
 *
 * Pure: no I/O, no clock, no randomness, no global state.  The same input
 * gives the same plan, byte for byte, whatever the order of the input arrays
 * (Slack answers come "in no particular order").  The run
 * (lib/sync/sync_run.c) reads the snapshot, plans it (in two steps, see
 * sync_plan_people) and hands the result to the applier
 * (lib/sync/sync_apply.c), which applies or holds it; lib/sync/sync_details.c turns each action's kind, reason and
 * changes into a Details sentence.  The planner never writes text for
 * people.
 *
 * Ownership and lifetime
 *   Everything in struct plan_input is borrowed, read only, and must outlive
 *   the plan: actions point into the snapshot (users, teams, people,
 *   strings).
 *   The plan owns its action and change arrays and a few strings it had to
 *   make (a first name cut out of a real name, a value cut to
 *   PLAN_TEXT_MAX characters); sync_plan_release frees them.
 *   Every const char * in an action is therefore either borrowed from the
 *   input, a static literal, or plan-owned: callers never free one.
 *
 * Order of the actions (deterministic)
 *   1. per person of the snapshot ("Slack user" below), in ascending byte
 *      order of id: its create, update (including a link), reactivate,
 *      deactivate or skip — at most one action per Slack user;
 *   2. deactivations of directory users whose linked Slack id is absent from
 *      the snapshot (left_workspace), in ascending directory user id;
 *   3. team changes, by team id; within a team removals (by user id), then
 *      additions (by Slack id), then the skips removed_by_hand of pairs an
 *      administrator removed by hand (by Slack id).
 *   Items 1 and 2 are plan->actions[]; item 3 is plan->team_changes[], in
 *   a compact form (struct plan_team_change: a first sync with 200 mapped
 *   teams plans 1.3 million of them, and a struct plan_action each was most
 *   of the sync's memory).  sync_plan_at walks the whole order, expanding a
 *   team change into a struct plan_action.
 *
 * Rules (the decisions a reviewer should know; SPEC sections in brackets)
 *   Scope [§2.2, §7.4]: a Slack user is in scope when it is a person (not
 *     not_a_person: the reader marks bots, apps and Slackbot), not deleted,
 *     of a kind the toggles admit (full member / multi-channel guest /
 *     single-channel guest; invited also needs the invited_not_joined
 *     toggle), a member of a chosen, enabled group in groups mode, not on the exclusion list, and
 *     with an e-mail domain on the allow-list when there is one.  Bots, app
 *     users and Slackbot are never reported.  Out-of-scope people are
 *     reported only through the deactivation it causes.  A duplicate Slack
 *     id in the snapshot: the first occurrence counts, the others are
 *     ignored.
 *   E-mail [§2.3]: compared as the schema's unique key users_org_email
 *     compares them: MariaDB's LOWER() under utf8mb4_unicode_520_ci, in
 *     every script (lib/core/email_fold.h), so "ÉLODIE@x" and "élodie@x"
 *     are one address and a planner match is never a failed INSERT.
 *     Accents are not folded away ("elodie" is not "élodie"), nor is "ß"
 *     made "ss"; "İ" folds to "i" but "I" never to "ı".  Exclusions and
 *     allowed domains are compared the same way.  A case-only difference
 *     is not a change.  An empty e-mail is no e-mail.
 *   Matching [§2.3, §7.5]: by linked Slack id first; then, for unlinked
 *     Slack users, by e-mail.  Match by e-mail:
 *       - an active directory user not linked to anyone: link (an update
 *         with link = 1 and reason linked_by_email; profile fields are
 *         brought in line with Slack in the same action);
 *       - a user linked to another Slack id: skip email_taken_by_linked_user,
 *         or needs_review when that user is deactivated (§7.5: a new Slack id
 *         with the e-mail of a deactivated user is reviewed, never merged);
 *       - a deactivated unlinked user: skip needs_review (same reason);
 *       - no one: create.
 *     Two Slack users claiming one e-mail (or one unlinked directory user):
 *     linked users' e-mail changes claim first, then the others in Slack id
 *     order; the later claimant is skipped with email_taken_by_linked_user.
 *     A linked user whose new e-mail is held by another directory user is
 *     skipped as a whole (email_taken_by_linked_user when the holder is
 *     linked or claimed, email_taken_by_other_user when the holder is an
 *     unlinked directory user); swaps converge on the next sync.
 *   No e-mail [§2.2, SLACK-API §11.3]: an in-scope Slack user without
 *     e-mail and without a link is skipped (no_email).  A linked one is
 *     matched by id and updated normally, its stored e-mail kept: a missing
 *     users:read.email scope must not wipe e-mails or deactivate anyone.
 *   Long values [§2.4]: first, last, display and job_title are cut to
 *     PLAN_TEXT_MAX characters at a character boundary (never inside a
 *     UTF-8 sequence, a combining mark or an emoji sequence), so the cut
 *     value is what is stored and what the next sync compares: a long
 *     value is one update, then nothing.  The action's shortened bits say
 *     which fields were cut (with a change of that field, or on create).
 *     E-mails are never cut (a cut address is another address).
 *   Profile [§2.4]: first/last = first_name/last_name when either is
 *     non-empty, else full_name cut at its first space (further leading
 *     spaces of the rest dropped), else "".  display = display_name, else
 *     full_name, else handle, else "".  job_title = title.  Guest = any
 *     kind but member.  NULL directory text reads as "".
 *   Picture [§2.5]: the person's picture_key when picture_url is set, else
 *     NULL (the provider's default avatar: no picture).  The picture changes
 *     only when this key differs from the stored picture_key (NULL ==
 *     NULL).
 *   Deactivate [§2.4, §7.7]: only an active, provisioned directory user whose
 *     linked Slack user is deleted (deleted_in_slack), out of scope
 *     (left_scope / excluded / domain_not_allowed) or absent from the
 *     snapshot (left_workspace).  Never the last active administrator: that
 *     deactivation becomes skip last_administrator (active administrators
 *     are counted over the whole organization, reactivations not counted).
 *   Reactivate: a deactivated, provisioned user, not deactivated_by_hand,
 *     whose Slack user is in scope again; field changes ride along.
 *   Hand-made state [§7.7]: a provisioned user deactivated_by_hand whose
 *     Slack user is in scope is skipped (deactivated_by_hand: no
 *     reactivation, no update, no team change); a deactivated user that is
 *     not provisioned is left completely alone (no action).  The directory
 *     reader sets deactivated_by_hand from users.deactivated_by.  A wanted
 *     membership with a SNAP_MS_REMOVED_BY_HAND tombstone (an administrator
 *     removed a sync-made membership; read from team_membership_removals)
 *     is never re-added: a skip removed_by_hand with the team, after the
 *     team's additions.
 *   Teams [§1.7]: only when team mapping is enabled, and only for teams that
 *     are the target of at least one mapping whose team exists.  A managed
 *     team should hold exactly the in-scope, planned-as-managed people in
 *     any enabled group mapped to it: missing ones are added (unless any
 *     membership row for the pair exists, manual or provisioning), and
 *     provisioning memberships of anyone else are removed.  Manual
 *     memberships are never removed or duplicated.  Users that are skipped
 *     or left alone keep their memberships untouched.
 *   Guard [§2.6]: held = deactivations >= minimum AND
 *     100 * deactivations > percent * active_provisioned, in integers.  With
 *     the default 10 % / 10: 100 active provisioned users are held at 11
 *     deactivations, not at 10; 50 users are held at 10, not at 9.  Skips
 *     last_administrator are not deactivations.
 *   Empty read [§7.1]: an empty Slack user list is refused (PV_EINVAL), and
 *     so is a snapshot with no in-scope human while the organization has
 *     active provisioned users: a failed or narrowed read must never plan
 *     "everyone left".  (A deliberate configuration that selects nobody is
 *     refused too; the administrator sees the error and fixes it.)
 *
 * Errors: sync_plan_build returns 0, PV_EINVAL (NULL argument, a NULL
 * required string such as a directory e-mail or a Slack id, a percent above
 * 100, or the §7.1 refusal — plan->why names which) or PV_ENOMEM.  On
 * failure the plan is empty; releasing it is harmless.
 *
 * Cost: O(n log n) in users, groups and memberships (hash maps and sorting,
 * never a scan per user); transient memory of a few hundred bytes per user
 * and 4 bytes per existing membership of a managed team (wanted ones are a
 * bit set per team); the plan keeps 88 bytes per person action and 16 per
 * team change.  100,000 users with 1.3 million mapped memberships plan in
 * well under a second.
 */
#ifndef PV_SYNC_PLAN_H
#define PV_SYNC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot/snapshot.h"

/* ---- Input: the configuration snapshot (SPEC §1.6-1.7, §2.6, §7.4) ---- */

enum plan_members_mode { PLAN_MEMBERS_EVERYONE, PLAN_MEMBERS_GROUPS };

struct plan_mapping {
	const char *slack_group_id;
	int64_t team_id;
};

struct plan_config {
	enum plan_members_mode members_mode;
	const char *const *group_ids;      /* groups mode: the chosen groups */
	size_t n_group_ids;
	int team_mapping_enabled;
	const struct plan_mapping *mappings; /* several may name one team */
	size_t n_mappings;
	unsigned threshold_percent;        /* 0..100 */
	unsigned threshold_minimum;
	/* §7.4 toggles, all 1 by default. */
	int full_members;
	int multi_channel_guests;
	int single_channel_guests;
	int invited_not_joined;
	/* People never provisioned: an entry with '@' is an e-mail (folded as
	 * the unique key folds it), any other entry a Slack id (exact). */
	const char *const *exclude;
	size_t n_exclude;
	/* When n_allowed_domains > 0, only e-mails whose domain (after the last
	 * '@', folded as e-mails are, exact: no subdomains) is listed are in scope.
	 * Entries are bare domains ("example.com"). */
	const char *const *allowed_domains;
	size_t n_allowed_domains;
};

/* The safety guard's default (SPEC §2.6): held above 10 % of the active
 * provisioned users and at least 10 deactivations.  The one place these
 * numbers are written in C (lib/provider/slack/connection.c's default
 * configuration JSON sits a layer below and repeats them). */
#define PLAN_DEFAULT_THRESHOLD_PERCENT 10
#define PLAN_DEFAULT_THRESHOLD_MINIMUM 10

/* Defaults: everyone, no mapping, the default threshold, every toggle on,
 * no lists. */
void sync_plan_config_init(struct plan_config *c);

struct plan_input {
	/* Complete: every person of the workspace (a failed or partial read
	 * must not reach the planner), groups with their members when groups
	 * mode or mappings need them (a group absent, disabled or with
	 * member_ids NULL has no members), and the whole directory of one
	 * organization. */
	const struct snapshot *snap;
	const struct plan_config *config;
};

/* ---- Output ---- */

enum plan_kind {
	PLAN_CREATE,
	PLAN_UPDATE,            /* includes linking (link = 1) */
	PLAN_DEACTIVATE,
	PLAN_REACTIVATE,
	PLAN_ADD_TO_TEAM,
	PLAN_REMOVE_FROM_TEAM,
	PLAN_SKIP,
	PLAN_KIND_COUNT
};

enum plan_reason {
	PLAN_R_NEW_IN_SCOPE,              /* create */
	PLAN_R_PROFILE_CHANGED,           /* update */
	PLAN_R_LINKED_BY_EMAIL,           /* update with link = 1 */
	PLAN_R_BACK_IN_SCOPE,             /* reactivate */
	PLAN_R_DELETED_IN_SLACK,          /* deactivate */
	PLAN_R_LEFT_WORKSPACE,            /* deactivate: absent from users.list */
	PLAN_R_LEFT_SCOPE,                /* deactivate: groups mode or toggles */
	PLAN_R_EXCLUDED,                  /* deactivate: on the exclusion list */
	PLAN_R_DOMAIN_NOT_ALLOWED,        /* deactivate: domain allow-list */
	PLAN_R_IN_MAPPED_GROUP,           /* add_to_team */
	PLAN_R_NOT_IN_MAPPED_GROUP,       /* remove_from_team */
	PLAN_R_NO_EMAIL,                  /* skip */
	PLAN_R_EMAIL_TAKEN_BY_LINKED_USER, /* skip */
	PLAN_R_EMAIL_TAKEN_BY_OTHER_USER, /* skip */
	PLAN_R_NEEDS_REVIEW,              /* skip (§7.5) */
	PLAN_R_LAST_ADMINISTRATOR,        /* skip: deactivation refused (§7.7) */
	PLAN_R_DEACTIVATED_BY_HAND,       /* skip: not reactivated nor updated (§7.7) */
	PLAN_R_REMOVED_BY_HAND,           /* skip (with team): not added back (§7.7) */
	/* Given by the applier, never the planner: a team addition whose
	 * person's create failed in this sync, recorded skipped (one failed
	 * row per person, not one per team). */
	PLAN_R_ACCOUNT_NOT_CREATED,
	PLAN_REASON_COUNT
};

enum plan_field {
	PLAN_F_FIRST_NAME,
	PLAN_F_LAST_NAME,
	PLAN_F_DISPLAY_NAME,
	PLAN_F_EMAIL,
	PLAN_F_PICTURE,     /* from/to are picture URLs, NULL = no picture */
	PLAN_F_JOB_TITLE,
	PLAN_F_IS_GUEST,    /* "true" / "false" */
	PLAN_F_STATUS,      /* "active" / "deactivated" */
	PLAN_FIELD_COUNT
};

struct plan_change {
	enum plan_field field;
	const char *from;   /* never NULL except for PLAN_F_PICTURE */
	const char *to;
};

/* The new user's values (create only).  Text is never NULL ("" instead)
 * except picture_url and picture_key (NULL = no picture). */
struct plan_profile {
	const char *first_name;
	const char *last_name;
	const char *display_name;
	const char *email;
	const char *job_title;
	const char *picture_url;
	const char *picture_key;
	int is_guest;
};

#define PLAN_NO_ACTION ((size_t)-1)

/* The directory's limit for names, display names and job titles, in
 * characters (sql/007: VARCHAR(1000)).  The planner cuts longer Slack
 * values to it at a character boundary (lib/core/utf8_cut.h) and marks
 * the field in plan_action.shortened. */
#define PLAN_TEXT_MAX 1000
#define PLAN_SHORTENED(f) (1u << (unsigned)(f))

struct plan_action {
	enum plan_kind kind;
	enum plan_reason reason;
	/* The directory user acted on; NULL for create, for a team change of a
	 * user created in this plan, and for a skip with no matched user. */
	const struct snap_user *user;
	/* The Slack user behind the action; NULL for left_workspace, for skip
	 * last_administrator of such a user, and for removals from teams. */
	const struct snap_person *slack;
	/* Team changes: the team; NULL otherwise. */
	const struct snap_team *team;
	/* Team addition of a user created in this plan: the index of its
	 * create action in actions[]; PLAN_NO_ACTION otherwise. */
	size_t created_by;
	/* Skips over an e-mail: the directory user holding it (may be NULL)
	 * and the Slack user that claimed it first in this plan (may be NULL). */
	const struct snap_user *holder;
	const struct snap_person *rival;
	/* Update: record slack->id as the user's link and mark it provisioned. */
	int link;
	/* Update, reactivate, deactivate: the number of changes (at most
	 * PLAN_FIELD_COUNT; next to link so that the two share 8 bytes). */
	unsigned n_changes;
	/* Create: the new user's values (plan-owned); NULL for every other
	 * kind.  Out of line: a plan of a first sync with mapped teams is
	 * mostly team changes, and 64 bytes of profile in each of 1.4
	 * million actions were half of the plan's memory. */
	const struct plan_profile *profile;
	/* The changes, in enum plan_field order; create and team changes and
	 * skips have none.  When a PLAN_F_PICTURE change is present,
	 * picture_key is the key to store with it. */
	const struct plan_change *changes;
	const char *picture_key;
	/* Create, update, reactivate: PLAN_SHORTENED(field) for each value
	 * (profile or change) cut to PLAN_TEXT_MAX characters; 0 otherwise. */
	unsigned shortened;
};

/* A team change (order item 3), by index into the plan's input snapshot:
 * 16 bytes where a struct plan_action is 88.  sync_plan_at expands one:
 * kind and reason, user, slack, team and created_by as described above. */
#define PLAN_TC_NONE UINT32_MAX

struct plan_team_change {
	uint32_t team;      /* index into snap->teams */
	uint32_t user;      /* index into snap->users; PLAN_TC_NONE: a person this
			     * plan creates (then person's create action says) */
	uint32_t person;    /* index into snap->people; PLAN_TC_NONE for a removal */
	uint8_t kind;       /* PLAN_ADD_TO_TEAM (in_mapped_group),
			     * PLAN_REMOVE_FROM_TEAM (not_in_mapped_group) or
			     * PLAN_SKIP (removed_by_hand) */
};

struct plan_arena;

struct sync_plan {
	/* The person actions (order items 1 and 2): everything but the team
	 * changes, which follow them in the plan's order. */
	struct plan_action *actions;
	size_t n_actions;
	struct plan_team_change *team_changes;
	size_t n_team_changes;
	size_t count[PLAN_KIND_COUNT];  /* actions per kind */
	size_t active_provisioned;       /* the guard's denominator */
	int held;                        /* §2.6 guard tripped */
	const char *why;                 /* static text on failure, else NULL */
	/* private */
	struct plan_change *change_store;
	size_t n_change_store;
	struct plan_arena *arena;
	const struct snapshot *snap;     /* the input, for the team changes */
	uint32_t *create_of;             /* per person: its create action, or
					  * PLAN_TC_NONE; NULL without team changes */
};

/* Computes the plan of *in into *out (which need not be initialised).  On
 * success the caller releases it with sync_plan_release. */
int sync_plan_build(const struct plan_input *in, struct sync_plan *out);

/* The same in two steps, so that the person actions can be written while
 * the team changes are made (with 200 mapped teams these are most of a
 * re-sync's planning, and none of the person actions depends on them).
 * sync_plan_people makes everything but the team changes: the person
 * actions (sync_plan_at below n_actions), their counts and held, all
 * final; *step keeps what the team changes need.  sync_plan_teams(step)
 * then adds the team changes and frees step; while it runs, another
 * thread may read the person actions (and only them: n_actions, actions[]
 * and what they borrow).  Errors as sync_plan_build's; a failed
 * sync_plan_people leaves no step and an empty plan, a failed
 * sync_plan_teams leaves the person actions, for the caller to release
 * once no one reads them. */
struct plan_step;
int sync_plan_people(const struct plan_input *in, struct sync_plan *out, struct plan_step **step);
int sync_plan_teams(struct plan_step *step);

/* Frees what the plan owns and empties it; NULL or an empty plan is fine. */
void sync_plan_release(struct sync_plan *p);

/* The number of actions in the plan's order: n_actions + n_team_changes. */
size_t sync_plan_size(const struct sync_plan *p);

/* Action i (< sync_plan_size) of the plan's order: &p->actions[i], or team
 * change i - n_actions expanded into *tmp, which is returned.  The result
 * borrows from the plan and its input, like any action. */
const struct plan_action *sync_plan_at(const struct sync_plan *p, size_t i,
				       struct plan_action *tmp);

/* The kind of action i, without expanding it. */
enum plan_kind sync_plan_kind_at(const struct sync_plan *p, size_t i);

/* snake_case names for the API and the report ("create", "left_scope",
 * "first_name" ...); "unknown" for a value out of range.  Static. */
const char *sync_plan_kind_name(enum plan_kind k);
const char *sync_plan_reason_name(enum plan_reason r);
const char *sync_plan_field_name(enum plan_field f);
/* The reverse: the value named name (exactly as above) in *out; PV_EINVAL
 * for NULL or a name no value has ("unknown" included).  Stored payloads
 * name their values (sync_apply.c), so that a value added in the middle of
 * an enum does not re-label what is already stored. */
int sync_plan_kind_of(const char *name, enum plan_kind *out);
int sync_plan_reason_of(const char *name, enum plan_reason *out);
int sync_plan_field_of(const char *name, enum plan_field *out);

#endif
