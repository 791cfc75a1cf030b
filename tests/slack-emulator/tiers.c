/* tiers.c - Slack's per-method rate-limit tiers (see tiers.h). */
#include "tiers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
	const char *method;
	int per_minute;
} tier_table[] = {
	{ "users.list", 20 },			/* Tier 2 */
	{ "usergroups.list", 20 },		/* Tier 2 */
	{ "usergroups.users.list", 20 },	/* Tier 2 */
	{ "team.info", 50 },			/* Tier 3 */
	{ "auth.revoke", 50 },			/* Tier 3 */
	{ "users.info", 100 },			/* Tier 4 */
	{ "auth.test", 600 },			/* special: several hundred */
};

int emu_tier_allowance(const char *method)
{
	size_t i;

	for (i = 0; i < sizeof(tier_table) / sizeof(tier_table[0]); i++)
		if (strcmp(tier_table[i].method, method) == 0)
			return tier_table[i].per_minute;
	return 0;
}

static struct emu_tier_team *team_find(const struct emu_tiers *t, const char *team)
{
	size_t i;

	for (i = 0; i < t->n_teams; i++)
		if (strcmp(t->teams[i].team, team) == 0)
			return &t->teams[i];
	return NULL;
}

double emu_tiers_factor(const struct emu_tiers *t, const char *team)
{
	const struct emu_tier_team *tt = team_find(t, team);

	return tt ? tt->factor : 0;
}

/* Drops the team's windows, so a new factor starts from a clean slate. */
static void forget_windows(struct emu_tiers *t, const char *team)
{
	size_t i = 0;

	while (i < t->n_windows) {
		if (strcmp(t->windows[i].team, team) == 0) {
			free(t->windows[i].times);
			t->windows[i] = t->windows[--t->n_windows];
		} else {
			i++;
		}
	}
}

int emu_tiers_set(struct emu_tiers *t, const char *team, double factor)
{
	struct emu_tier_team *tt = team_find(t, team);

	forget_windows(t, team);
	if (factor <= 0) {
		if (tt)
			*tt = t->teams[--t->n_teams];
		return 0;
	}
	if (!tt) {
		if (t->n_teams == t->cap_teams) {
			size_t cap = t->cap_teams ? t->cap_teams * 2 : 4;
			struct emu_tier_team *p = realloc(t->teams, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			t->teams = p;
			t->cap_teams = cap;
		}
		tt = &t->teams[t->n_teams++];
		snprintf(tt->team, sizeof(tt->team), "%s", team);
	}
	tt->factor = factor;
	return 0;
}

static struct emu_tier_window *window_get(struct emu_tiers *t, const char *team,
					  const char *app, const char *method,
					  size_t allowance)
{
	struct emu_tier_window *w;
	size_t i;

	for (i = 0; i < t->n_windows; i++) {
		w = &t->windows[i];
		if (strcmp(w->method, method) == 0 && strcmp(w->team, team) == 0 &&
		    strcmp(w->app, app) == 0)
			return w;
	}
	if (t->n_windows == t->cap_windows) {
		size_t cap = t->cap_windows ? t->cap_windows * 2 : 8;
		struct emu_tier_window *p = realloc(t->windows, cap * sizeof(*p));

		if (!p)
			return NULL;
		t->windows = p;
		t->cap_windows = cap;
	}
	w = &t->windows[t->n_windows];
	memset(w, 0, sizeof(*w));
	w->times = calloc(allowance, sizeof(*w->times));
	if (!w->times)
		return NULL;
	w->allowance = allowance;
	snprintf(w->team, sizeof(w->team), "%s", team);
	snprintf(w->app, sizeof(w->app), "%s", app);
	snprintf(w->method, sizeof(w->method), "%s", method);
	t->n_windows++;
	return w;
}

/*
 * Slack's Retry-After for a wait of wait_ms of our (shrunk) time: Slack
 * answers whole seconds of its own minute-long window, so the answer is
 * the wait counted in Slack's seconds, rounded up, shrunk back by the
 * factor: at x60 a multiple of 1/60 s.  Whole seconds of our time instead
 * would round a window of one second up to the next second and make
 * every 429 cost up to a whole window that Slack would not charge.
 */
static long long slack_retry_after_ms(long long wait_ms, double factor)
{
	long long slack_s = (long long)((double)wait_ms * factor / 1000.0);
	long long ms;

	if ((double)slack_s * 1000.0 < (double)wait_ms * factor)
		slack_s++;
	if (slack_s < 1)
		slack_s = 1;
	ms = (long long)((double)slack_s * 1000.0 / factor);
	if ((double)ms * factor < (double)slack_s * 1000.0)
		ms++;
	return ms;
}

int emu_tiers_admit(struct emu_tiers *t, const char *team, const char *app,
		    const char *method, long long now_ms, long long *retry_after_ms)
{
	double factor = emu_tiers_factor(t, team);
	int allowance = emu_tier_allowance(method);
	struct emu_tier_window *w;
	long long window_ms, oldest, wait_ms;

	*retry_after_ms = 0;
	if (factor <= 0 || allowance <= 0)
		return 0;
	window_ms = (long long)(60000.0 / factor + 0.5);
	w = window_get(t, team, app ? app : "", method, (size_t)allowance);
	if (!w)
		return -ENOMEM;
	if (w->n == w->allowance) {
		/* head is the oldest call let through once the ring is full. */
		oldest = w->times[w->head];
		if (oldest > now_ms - window_ms) {
			wait_ms = oldest + window_ms - now_ms;
			*retry_after_ms = slack_retry_after_ms(wait_ms, factor);
			return 0;
		}
		w->times[w->head] = now_ms;
		w->head = (w->head + 1) % w->allowance;
		return 0;
	}
	w->times[(w->head + w->n) % w->allowance] = now_ms;
	w->n++;
	return 0;
}

json_object *emu_tiers_json(const struct emu_tiers *t, const char *team)
{
	double factor = emu_tiers_factor(t, team);
	json_object *o = json_object_new_object(), *m = json_object_new_object();
	size_t i;
	int rc = o && m ? 0 : -ENOMEM;

	for (i = 0; rc == 0 && i < sizeof(tier_table) / sizeof(tier_table[0]); i++)
		rc = emu_json_add_int(m, tier_table[i].method, tier_table[i].per_minute);
	if (rc == 0) rc = emu_json_add_str(o, "team", team);
	if (rc == 0) rc = emu_json_add(o, "factor", json_object_new_double(factor));
	if (rc == 0)
		rc = emu_json_add_int(o, "window_ms",
				      factor > 0 ? (long long)(60000.0 / factor + 0.5) : 0);
	if (rc == 0) {
		rc = emu_json_add(o, "per_window", m);
		m = NULL;
	}
	json_object_put(m);
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

void emu_tiers_clear(struct emu_tiers *t)
{
	size_t i;

	for (i = 0; i < t->n_windows; i++)
		free(t->windows[i].times);
	free(t->windows);
	free(t->teams);
	memset(t, 0, sizeof(*t));
}
