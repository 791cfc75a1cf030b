/*
 * generate.h - synthetic workspaces for load tests.
 *
 * Spec: {"team":"T..","users":N,"groups":G,"members_per_group":M,
 *        "seed":S,"name":"..","domain":"..","shape":"uniform"}: groups of
 * M random members each.  "shape":"company" gives the benchmark's
 * company-shaped workspace instead (company.h; members_per_group unused).  The same spec always gives
 * the same workspace (a seeded splitmix64 generator, no libc rand()).
 * A workspace with that team id that already exists lends its team name,
 * domain and bot; otherwise they are derived from the team id.
 *
 * On success *out is a new workspace the caller owns.
 * Errors: 0, -ENOMEM, or -EINVAL with a message in `err`.
 */
#ifndef EMU_GENERATE_H
#define EMU_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "workspace.h"
#include "world.h"

#define EMU_GENERATE_MAX_USERS 500000
#define EMU_GENERATE_MAX_GROUPS 20000
#define EMU_GENERATE_MAX_MEMBERS 10000

/* The generator's random numbers: splitmix64 step on *state. */
uint64_t emu_gen_rand(uint64_t *state);

int emu_generate(json_object *spec, const struct emu_world *w,
		 const char *base_url, struct emu_workspace **out, char *err,
		 size_t errlen);

#endif
