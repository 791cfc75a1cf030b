/*
 * company.h - the workspace of a large company, for the benchmark
 * (`make bench`), and the "one day later" change step applied to it.
 *
 * emu_generate_company() builds, from a spec {"team","users","groups",
 * "seed","shape":"company","max_title"}, a workspace shaped like a real
 * company's:
 *   - USLACKBOT first, the app's bot user second, then people
 *     `UC000000000…`; the first person is the primary owner;
 *   - of the people: 3 % deleted, 1 % bots and 1 % app users, 1 % invited,
 *     1 % without e-mail, 5 % multi-channel and 2 % single-channel guests,
 *     2 % admins; names in Latin, accented, CJK and Korean scripts, some
 *     with combining marks (decomposed), emoji, apostrophes, quotes and
 *     commas; 1 % of titles long, up to `max_title` characters (250, the
 *     default; 20 at least);
 *   - groups `SC0000000…` ranked by size: group r holds about
 *     0.885 × people / r^0.65 members (Zipf-like: one group of almost
 *     everyone, many small ones; past rank 250 sizes drop to a fraction),
 *     so with 100,000 users the first 200 enabled groups hold about 1.36 M
 *     memberships.  Every 20th group is disabled.  Members are drawn
 *     without repetition from the non-bot users (deleted ones included, as
 *     Slack keeps them), in id order.
 * The same spec gives the same workspace, byte for byte.
 *
 * emu_company_change() applies about `percent` % of the users' count of
 * changes, deterministically from `seed` and the current state: renames,
 * new titles, new pictures, e-mail changes, deactivations, returners
 * (deleted people active again), arrivals (new people, each put in one of
 * the mapped groups), removals from mapped groups and moves between mapped
 * groups.  The mapped groups are the first `mapped` enabled groups (200 by
 * default), which is what the benchmark maps to teams.  *counts gets a new
 * object with the number of each kind (caller puts it).
 *
 * Ownership: *out / ws stay the caller's.  Errors: 0, -ENOMEM, or -EINVAL
 * with a message in `err`.
 */
#ifndef EMU_COMPANY_H
#define EMU_COMPANY_H

#include <stddef.h>

#include <json-c/json.h>

#include "workspace.h"
#include "world.h"

int emu_generate_company(json_object *spec, const struct emu_world *w,
			 const char *base_url, struct emu_workspace **out,
			 char *err, size_t errlen);

int emu_company_change(struct emu_workspace *ws, json_object *spec,
		       json_object **counts, char *err, size_t errlen);

#endif
