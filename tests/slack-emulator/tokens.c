/* tokens.c - issued access tokens, refresh tokens and codes (tokens.h). */
#include "tokens.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Grows *arr (of `size`-byte items) so that one more item fits. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void emu_grant_clear(struct emu_grant *g)
{
	free(g->team_id);
	free(g->user_id);
	free(g->scopes);
	free(g->app_id);
	memset(g, 0, sizeof(*g));
}

int emu_grant_copy(struct emu_grant *dst, const struct emu_grant *src)
{
	int rc = 0;

	dst->team_id = emu_strdup(src->team_id, &rc);
	dst->user_id = emu_strdup(src->user_id, &rc);
	dst->scopes = emu_strdup(src->scopes ? src->scopes : "", &rc);
	dst->app_id = emu_strdup(src->app_id, &rc);
	if (rc < 0)
		emu_grant_clear(dst);
	return rc;
}

void emu_tokens_clear(struct emu_tokens *s)
{
	size_t i;

	for (i = 0; i < s->n_tokens; i++) {
		free(s->tokens[i].token);
		emu_grant_clear(&s->tokens[i].g);
	}
	for (i = 0; i < s->n_refresh; i++) {
		free(s->refresh[i].token);
		emu_grant_clear(&s->refresh[i].g);
	}
	for (i = 0; i < s->n_codes; i++) {
		free(s->codes[i].code);
		free(s->codes[i].redirect_uri);
		emu_grant_clear(&s->codes[i].g);
	}
	free(s->tokens);
	free(s->refresh);
	free(s->codes);
	memset(s, 0, sizeof(*s));
}

int emu_tokens_add(struct emu_tokens *s, const char *token,
		   const struct emu_grant *g, long long expires_ms,
		   bool predefined)
{
	struct emu_token *t;
	int rc;

	rc = grow((void **)&s->tokens, &s->cap_tokens, s->n_tokens, sizeof(*t));
	if (rc < 0)
		return rc;
	t = &s->tokens[s->n_tokens];
	memset(t, 0, sizeof(*t));
	t->token = strdup(token);
	if (!t->token)
		return -ENOMEM;
	rc = emu_grant_copy(&t->g, g);
	if (rc < 0) {
		free(t->token);
		return rc;
	}
	t->predefined = predefined;
	t->issued_ms = emu_now_ms();
	t->expires_ms = expires_ms;
	s->n_tokens++;
	return 0;
}

int emu_tokens_issue(struct emu_tokens *s, const struct emu_grant *g,
		     long long ttl_s, const struct emu_token **out)
{
	char token[64] = "xoxb-";
	long long now = emu_now_ms();
	int rc;

	rc = emu_random_alnum(token + 5, 32);
	if (rc == 0)
		rc = emu_tokens_add(s, token, g, ttl_s > 0 ? now + ttl_s * 1000 : 0,
				    false);
	if (rc == 0)
		*out = &s->tokens[s->n_tokens - 1];
	return rc;
}

int emu_tokens_issue_refresh(struct emu_tokens *s, const struct emu_grant *g,
			     const struct emu_refresh **out)
{
	char token[64] = "xoxe-1-";
	struct emu_refresh *r;
	int rc;

	rc = grow((void **)&s->refresh, &s->cap_refresh, s->n_refresh, sizeof(*r));
	if (rc == 0)
		rc = emu_random_alnum(token + 7, 40);
	if (rc < 0)
		return rc;
	r = &s->refresh[s->n_refresh];
	memset(r, 0, sizeof(*r));
	r->token = strdup(token);
	if (!r->token)
		return -ENOMEM;
	rc = emu_grant_copy(&r->g, g);
	if (rc < 0) {
		free(r->token);
		return rc;
	}
	s->n_refresh++;
	*out = r;
	return 0;
}

int emu_tokens_issue_code(struct emu_tokens *s, const struct emu_grant *g,
			  const char *redirect_uri, const struct emu_code **out)
{
	char code[96], rnd[33];
	struct emu_code *c;
	int rc = 0;

	rc = grow((void **)&s->codes, &s->cap_codes, s->n_codes, sizeof(*c));
	if (rc == 0)
		rc = emu_random_alnum(rnd, 32);
	if (rc < 0)
		return rc;
	/* Slack's codes look like "<team number>.<number>.<hex>". */
	snprintf(code, sizeof(code), "%lld.%zu.%s", emu_now_ms() / 1000,
		 s->n_codes + 1, rnd);
	c = &s->codes[s->n_codes];
	memset(c, 0, sizeof(*c));
	c->code = emu_strdup(code, &rc);
	c->redirect_uri = emu_strdup(redirect_uri, &rc);
	if (rc == 0)
		rc = emu_grant_copy(&c->g, g);
	if (rc < 0) {
		free(c->code);
		free(c->redirect_uri);
		return rc;
	}
	c->issued_ms = emu_now_ms();
	s->n_codes++;
	*out = c;
	return 0;
}

struct emu_token *emu_tokens_find(struct emu_tokens *s, const char *token)
{
	size_t i;

	for (i = 0; token && i < s->n_tokens; i++)
		if (strcmp(s->tokens[i].token, token) == 0)
			return &s->tokens[i];
	return NULL;
}

struct emu_refresh *emu_tokens_find_refresh(struct emu_tokens *s,
					    const char *token)
{
	size_t i;

	for (i = 0; token && i < s->n_refresh; i++)
		if (strcmp(s->refresh[i].token, token) == 0)
			return &s->refresh[i];
	return NULL;
}

struct emu_code *emu_tokens_find_code(struct emu_tokens *s, const char *code)
{
	size_t i;

	for (i = 0; code && i < s->n_codes; i++)
		if (strcmp(s->codes[i].code, code) == 0)
			return &s->codes[i];
	return NULL;
}

bool emu_scopes_have(const char *scopes, const char *scope)
{
	size_t n = strlen(scope);
	const char *p = scopes;

	while (p && *p) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, scope, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

json_object *emu_tokens_json(const struct emu_tokens *s)
{
	json_object *arr = json_object_new_array(), *o;
	size_t i;
	int rc = arr ? 0 : -ENOMEM;

	for (i = 0; rc == 0 && i < s->n_tokens; i++) {
		const struct emu_token *t = &s->tokens[i];

		o = json_object_new_object();
		rc = o ? emu_json_push(arr, o) : -ENOMEM;
		if (rc == 0) rc = emu_json_add_str(o, "token", t->token);
		if (rc == 0) rc = emu_json_add_str(o, "team", t->g.team_id);
		if (rc == 0) rc = emu_json_add_str(o, "user", t->g.user_id);
		if (rc == 0) rc = emu_json_add_str(o, "scopes", t->g.scopes);
		if (rc == 0) rc = emu_json_add_str(o, "app_id", t->g.app_id);
		if (rc == 0) rc = emu_json_add_bool(o, "revoked", t->revoked);
		if (rc == 0) rc = emu_json_add_bool(o, "predefined", t->predefined);
		if (rc == 0) rc = emu_json_add_int(o, "issued_at_ms", t->issued_ms);
		if (rc == 0)
			rc = t->expires_ms ? emu_json_add_int(o, "expires_at_ms", t->expires_ms)
					   : emu_json_add(o, "expires_at_ms", NULL);
		if (rc == 0)
			rc = emu_json_add_bool(o, "expired",
					       t->expires_ms && t->expires_ms <= emu_now_ms());
	}
	if (rc < 0) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}
