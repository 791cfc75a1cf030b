/*
 * tokens.h - what the emulator has issued: access tokens, refresh tokens
 * (token rotation) and OAuth authorization codes.
 *
 * Tokens are random strings: access tokens "xoxb-<32 alnum>", refresh
 * tokens "xoxe-1-<40 alnum>", codes "<digits>.<32 alnum>".  The store owns
 * every string; lookups return borrowed pointers that stay valid until the
 * next issue or emu_tokens_clear() (the arrays may move).
 * Errors: 0 or negative errno.
 */
#ifndef EMU_TOKENS_H
#define EMU_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

struct emu_grant {		/* who a token/code speaks for */
	char *team_id;
	char *user_id;		/* the installing user */
	char *scopes;		/* comma-separated */
	char *app_id;
};

struct emu_token {
	char *token;
	struct emu_grant g;
	bool revoked;
	bool predefined;	/* from the fixture, not from oauth.v2.access */
	long long issued_ms;
	long long expires_ms;	/* 0: never expires */
};

struct emu_refresh {
	char *token;
	struct emu_grant g;
	bool used;		/* refresh tokens are single use */
};

struct emu_code {
	char *code;
	struct emu_grant g;
	char *redirect_uri;	/* NULL when authorize had none */
	long long issued_ms;
	bool used;
};

struct emu_tokens {
	struct emu_token *tokens;
	size_t n_tokens, cap_tokens;
	struct emu_refresh *refresh;
	size_t n_refresh, cap_refresh;
	struct emu_code *codes;
	size_t n_codes, cap_codes;
};

/* Deep copy of a grant (NULL members stay NULL, scopes become ""). */
int emu_grant_copy(struct emu_grant *dst, const struct emu_grant *src);
void emu_grant_clear(struct emu_grant *g);

void emu_tokens_clear(struct emu_tokens *s);

/* Registers a token with a known value (fixture). */
int emu_tokens_add(struct emu_tokens *s, const char *token,
		   const struct emu_grant *g, long long expires_ms,
		   bool predefined);
/* Issues a new random access token; ttl_s 0 = never expires. */
int emu_tokens_issue(struct emu_tokens *s, const struct emu_grant *g,
		     long long ttl_s, const struct emu_token **out);
int emu_tokens_issue_refresh(struct emu_tokens *s, const struct emu_grant *g,
			     const struct emu_refresh **out);
int emu_tokens_issue_code(struct emu_tokens *s, const struct emu_grant *g,
			  const char *redirect_uri, const struct emu_code **out);

struct emu_token *emu_tokens_find(struct emu_tokens *s, const char *token);
struct emu_refresh *emu_tokens_find_refresh(struct emu_tokens *s,
					    const char *token);
struct emu_code *emu_tokens_find_code(struct emu_tokens *s, const char *code);

/* Whether a comma-separated scope list contains `scope`. */
bool emu_scopes_have(const char *scopes, const char *scope);

/* [{"token","team","user","scopes","app_id","revoked","expires_at",...}] */
json_object *emu_tokens_json(const struct emu_tokens *s);

#endif
