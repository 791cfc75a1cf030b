/*
 * api.h - one call of a Slack Web API method, shared by methods.c (the
 * dispatcher and the read methods) and oauth.c (oauth.v2.access).
 *
 * The dispatcher authenticates before a method runs: for a method that
 * needs a token, `token` and `ws` are set and the scope is checked.  A
 * method answers through `resp` and returns 0, or a negative errno on an
 * internal failure.
 */
#ifndef EMU_API_H
#define EMU_API_H

#include "state.h"

struct emu_call {
	struct emu_state *st;
	const struct emu_req *req;
	struct emu_resp *resp;
	struct emu_token *token;	/* NULL for oauth.v2.access */
	struct emu_workspace *ws;	/* the token's workspace */
};

int emu_oauth_access(struct emu_call *c);

#endif
