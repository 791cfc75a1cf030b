/*
 * tiers.h - Slack's rate-limit tiers (SLACK-API.md §6.1), off by default.
 *
 * Slack counts calls per method, per workspace, per app, in windows of a
 * minute: Tier 2 allows 20 calls a minute (users.list, usergroups.list,
 * usergroups.users.list), Tier 3 50 (team.info, auth.revoke), Tier 4 100
 * (users.info); auth.test is "special, several hundred a minute" (600
 * here).  oauth.v2.access, which has no workspace yet, is not limited.
 *
 * Turned on per workspace with a speed factor: factor F shrinks the
 * minute to 60/F seconds, keeping the per-window allowance, so ×60 lets
 * 20 users.list calls through per second.  The window slides: a call is
 * let through when fewer than the allowance were let through in the last
 * window; otherwise it is refused with HTTP 429 and `Retry-After`, the
 * whole seconds (at least 1) until the oldest of those leaves the window.
 * Refused calls do not count.
 *
 * Ownership: struct emu_tiers owns its tables; emu_tiers_clear frees them
 * (state reset).  Errors: 0 or -ENOMEM.
 */
#ifndef EMU_TIERS_H
#define EMU_TIERS_H

#include <stddef.h>

#include <json-c/json.h>

struct emu_tier_team {
	char team[64];
	double factor;			/* > 0 */
};

struct emu_tier_window {		/* one method of one app in one workspace */
	char team[64], app[32], method[48];
	long long *times;		/* ring of the last `allowance` calls let through */
	size_t allowance, n, head;
};

struct emu_tiers {
	struct emu_tier_team *teams;
	size_t n_teams, cap_teams;
	struct emu_tier_window *windows;
	size_t n_windows, cap_windows;
};

/* Calls a minute the method's tier allows; 0 when not limited. */
int emu_tier_allowance(const char *method);

/* factor 0 turns the tiers off for the team (and forgets its windows). */
int emu_tiers_set(struct emu_tiers *t, const char *team, double factor);
double emu_tiers_factor(const struct emu_tiers *t, const char *team);

/*
 * Counts a call arriving at now_ms.  *retry_after_ms is 0 when it may go
 * through, else the Retry-After to answer, in milliseconds.
 */
int emu_tiers_admit(struct emu_tiers *t, const char *team, const char *app,
		    const char *method, long long now_ms, long long *retry_after_ms);

/* {"factor":F,"window_ms":W,"methods":{"users.list":20,…}} for a team. */
json_object *emu_tiers_json(const struct emu_tiers *t, const char *team);

void emu_tiers_clear(struct emu_tiers *t);

#endif
