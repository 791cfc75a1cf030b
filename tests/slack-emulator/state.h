/*
 * state.h - the whole state of the emulator process.  All of it lives in
 * memory in the one FastCGI process; it is rebuilt from the start fixture
 * by emu_state_reset() (POST /_emulator/reset).
 *
 * Request handlers share one signature, emu_handler: they fill `resp` and
 * return 0, or return a negative errno for an internal failure (the main
 * loop then answers 500).  Client mistakes are answers, not failures.
 */
#ifndef EMU_STATE_H
#define EMU_STATE_H

#include <stdbool.h>

#include "faults.h"
#include "http.h"
#include "record.h"
#include "tiers.h"
#include "tokens.h"
#include "world.h"

/* Lifetime of rotating access tokens (Slack: 12 hours). */
#define EMU_DEFAULT_EXPIRES_IN 43200
/* Lifetime of OAuth codes (Slack: 10 minutes). */
#define EMU_DEFAULT_CODE_TTL 600

struct emu_state {
	const char *fixture_path;	/* EMULATOR_FIXTURE */
	const char *public_url;		/* EMULATOR_PUBLIC_URL, no trailing '/' */
	struct emu_world world;
	struct emu_tokens tokens;
	struct emu_faults faults;
	struct emu_record record;
	struct emu_tiers tiers;		/* rate-limit tiers, per workspace */
	char install_team[64];		/* "" = first workspace */
	char install_user[64];		/* "" = its primary owner */
	bool install_deny;		/* next authorize answers access_denied */
	long long expires_in;		/* seconds, for rotating tokens */
	long long code_ttl;		/* seconds an OAuth code stays valid */
};

typedef int (*emu_handler)(struct emu_state *st, struct emu_req *req,
			   struct emu_resp *resp);

/* Loads the fixture; on failure `err` says why. */
int emu_state_init(struct emu_state *st, const char *fixture_path,
		   const char *public_url, char *err, size_t errlen);
/* Reloads the fixture and forgets tokens, faults, record, tiers, install choice.
 * On failure the previous state is kept. */
int emu_state_reset(struct emu_state *st, char *err, size_t errlen);
void emu_state_free(struct emu_state *st);

/* Slack methods under /api/ (methods.c). */
int emu_api_handle(struct emu_state *st, struct emu_req *req,
		   struct emu_resp *resp);
/* GET /oauth/v2/authorize (oauth.c). */
int emu_oauth_authorize(struct emu_state *st, struct emu_req *req,
			struct emu_resp *resp);
/* The /_emulator/ control API (control.c). */
int emu_control_handle(struct emu_state *st, struct emu_req *req,
		       struct emu_resp *resp);
/* GET /avatars/... : a small PNG for every avatar link, distinct per link,
 * and the count of fetches per link (avatars.c). */
int emu_avatar_handle(struct emu_state *st, struct emu_req *req,
		      struct emu_resp *resp);
/* {"total":N,"fetches":{"<link under /avatars/>":n}}; NULL on ENOMEM. */
json_object *emu_avatar_counts_json(void);
void emu_avatar_counts_reset(void);

#endif
