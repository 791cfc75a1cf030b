/* state.c - building and resetting the emulator state (see state.h). */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Registers the fixture's predefined tokens ("tokens": [...]). */
static int load_predefined_tokens(struct emu_state *st, char *err, size_t errlen)
{
	json_object *list = st->world.tokens;
	const char *app_id = st->world.n_apps ? st->world.apps[0].app_id : "A0EMUAPP01";
	size_t i;
	int rc;

	for (i = 0; list && i < json_object_array_length(list); i++) {
		json_object *t = json_object_array_get_idx(list, i);
		const char *token = emu_json_str(t, "token");
		long long ttl = emu_json_int(t, "expires_in", 0);
		struct emu_grant g = {
			.team_id = (char *)emu_json_str(t, "team"),
			.user_id = (char *)emu_json_str(t, "user"),
			.scopes = (char *)emu_json_str(t, "scopes"),
			.app_id = (char *)app_id,
		};

		if (!token || !g.team_id || !emu_world_workspace(&st->world, g.team_id)) {
			snprintf(err, errlen, "fixture: token %zu needs \"token\" and the "
				 "\"team\" of a workspace", i);
			return -EINVAL;
		}
		rc = emu_tokens_add(&st->tokens, token, &g,
				    ttl > 0 ? emu_now_ms() + ttl * 1000 : 0, true);
		if (rc < 0)
			return rc;
		if (emu_json_bool(t, "revoked", false))
			st->tokens.tokens[st->tokens.n_tokens - 1].revoked = true;
	}
	return 0;
}

int emu_state_reset(struct emu_state *st, char *err, size_t errlen)
{
	struct emu_world world;
	struct emu_record record;
	int rc;

	rc = emu_world_load(st->fixture_path, st->public_url, &world, err, errlen);
	if (rc < 0)
		return rc;
	rc = emu_record_init(&record);
	if (rc < 0) {
		emu_world_free(&world);
		return rc;
	}
	emu_world_free(&st->world);
	emu_tokens_clear(&st->tokens);
	emu_faults_clear(&st->faults);
	emu_record_free(&st->record);
	emu_tiers_clear(&st->tiers);
	st->world = world;
	st->record = record;
	st->install_team[0] = '\0';
	st->install_user[0] = '\0';
	st->install_deny = false;
	st->expires_in = EMU_DEFAULT_EXPIRES_IN;
	st->code_ttl = EMU_DEFAULT_CODE_TTL;
	return load_predefined_tokens(st, err, errlen);
}

int emu_state_init(struct emu_state *st, const char *fixture_path,
		   const char *public_url, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->fixture_path = fixture_path;
	st->public_url = public_url;
	return emu_state_reset(st, err, errlen);
}

void emu_state_free(struct emu_state *st)
{
	emu_world_free(&st->world);
	emu_tokens_clear(&st->tokens);
	emu_faults_clear(&st->faults);
	emu_record_free(&st->record);
	emu_tiers_clear(&st->tiers);
}
