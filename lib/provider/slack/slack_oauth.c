/*
 * slack_oauth.c - OAuth v2 (§1): the authorize URL, the code exchange and
 * the token refresh, both POSTs to oauth.v2.access with the app's client
 * credentials.  Contract in slack.h.
 */
#include "provider/slack/slack_int.h"
#include "core/err.h"
#include "core/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* OAuth v2                                                                  */
/* ------------------------------------------------------------------------ */

void slack_oauth_release(struct slack_oauth *o)
{
	if (!o)
		return;
	slack_wipe_free(o->access_token);
	slack_wipe_free(o->refresh_token);
	free(o->scope);
	free(o->team_id);
	free(o->team_name);
	free(o->bot_user_id);
	free(o->app_id);
	free(o->authed_user_id);
	memset(o, 0, sizeof(*o));
}

int slack_authorize_url(const struct config *cfg, const char *scopes,
			const char *redirect_uri, const char *state, struct buf *out)
{
	const char *base = config_get(cfg, "slack.authorize_url");
	const char *client_id = config_get(cfg, "slack.client_id");
	struct buf q;
	int rc;

	if (!base || !*base || !client_id || !*client_id || !scopes || !*scopes ||
	    !state || !*state)
		return PV_EINVAL;
	buf_init(&q, SLACK_URL_MAX);
	rc = slack_add_param(&q, "client_id", client_id);
	if (rc == 0)
		rc = slack_add_param(&q, "scope", scopes);
	if (rc == 0 && redirect_uri && *redirect_uri)
		rc = slack_add_param(&q, "redirect_uri", redirect_uri);
	if (rc == 0)
		rc = slack_add_param(&q, "state", state);
	if (rc == 0)
		rc = buf_puts(out, base);
	if (rc == 0)
		rc = buf_putc(out, strchr(base, '?') ? '&' : '?');
	if (rc == 0)
		rc = buf_append(out, buf_cstr(&q), q.len);
	buf_release(&q);
	return rc < 0 ? PV_ENOMEM : 0;
}

/* POSTs `form` to oauth.v2.access with the client credentials and decodes
 * the answer into *out. */
static int oauth_call(const struct config *cfg, const struct buf *form,
		      enum slack_policy policy, struct slack_oauth *out,
		      struct slack_error *errout)
{
	const char *id = config_get(cfg, "slack.client_id");
	const char *secret = config_get(cfg, "slack.client_secret");
	struct slack *s = NULL;
	struct slack_error local;
	struct slack_error *err = errout ? errout : &local;
	struct buf cred, header;
	json_object *root = NULL, *team;
	unsigned char *b64 = NULL;
	int rc;

	memset(err, 0, sizeof(*err));
	snprintf(err->method, sizeof(err->method), "oauth.v2.access");
	buf_init(&cred, SLACK_HEADER_MAX);
	buf_init(&header, SLACK_HEADER_MAX);
	if (!id || !*id || !secret || !*secret) {
		slack_err_set(err, SLACK_ERR_FATAL, "not_configured",
			"slack.client_id and slack.client_secret must be configured.");
		rc = PV_EINVAL;
		goto out;
	}
	rc = buf_printf(&cred, "%s:%s", id, secret);
	if (rc < 0)
		goto nomem;
	b64 = malloc(4 * ((cred.len + 2) / 3) + 1);
	if (!b64)
		goto nomem;
	EVP_EncodeBlock(b64, (const unsigned char *)cred.data, (int)cred.len);
	rc = buf_printf(&header, "Authorization: Basic %s", (const char *)b64);
	if (rc < 0)
		goto nomem;
	rc = slack_open(&s, cfg, buf_cstr(&header));
	if (rc == PV_EINVAL) {
		slack_err_set(err, SLACK_ERR_FATAL, "not_configured",
			"slack.api_base must be configured.");
		goto out;
	}
	if (rc < 0)
		goto nomem;
	slack_set_policy(s, policy);
	rc = slack_call(s, "oauth.v2.access", NULL, buf_cstr(form), form->len, &root);
	*err = s->err;
	if (rc < 0)
		goto out;
	team = slack_member(root, "team");
	rc = slack_copy_text(root, "access_token", &out->access_token);
	if (rc == 0)
		rc = slack_copy_text(root, "refresh_token", &out->refresh_token);
	if (rc == 0)
		rc = slack_copy_text(root, "scope", &out->scope);
	if (rc == 0)
		rc = slack_copy_text(team, "id", &out->team_id);
	if (rc == 0)
		rc = slack_copy_text(team, "name", &out->team_name);
	if (rc == 0)
		rc = slack_copy_text(root, "bot_user_id", &out->bot_user_id);
	if (rc == 0)
		rc = slack_copy_text(root, "app_id", &out->app_id);
	if (rc == 0)
		rc = slack_copy_text(slack_member(root, "authed_user"), "id", &out->authed_user_id);
	if (rc < 0)
		goto nomem;
	out->expires_in = (long)slack_count_of(root, "expires_in");
	if (!out->access_token) {
		slack_err_set(err, SLACK_ERR_FATAL, "no_bot_token",
			"Slack's answer carries no bot token; the app must request bot scopes.");
		rc = PV_EREMOTE;
	}
	goto out;
nomem:
	slack_err_set(err, SLACK_ERR_FATAL, "out_of_memory", "out of memory talking to Slack.");
	rc = PV_ENOMEM;
out:
	if (rc < 0)
		slack_oauth_release(out);
	json_object_put(root);
	slack_free(s);
	if (b64) {
		explicit_bzero(b64, strlen((char *)b64));
		free(b64);
	}
	slack_buf_wipe(&header);
	slack_buf_wipe(&cred);
	return rc;
}

int slack_oauth_access_ex(const struct config *cfg, const char *code,
			  const char *redirect_uri, struct slack_oauth *out,
			  struct slack_error *err)
{
	return slack_oauth_access_p(cfg, code, redirect_uri, SLACK_POLICY_BATCH, out, err);
}

int slack_oauth_access_p(const struct config *cfg, const char *code,
			 const char *redirect_uri, enum slack_policy policy,
			 struct slack_oauth *out, struct slack_error *err)
{
	struct buf form;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!code || !*code)
		return PV_EINVAL;
	buf_init(&form, SLACK_FORM_MAX);
	rc = slack_add_param(&form, "grant_type", "authorization_code");
	if (rc == 0)
		rc = slack_add_param(&form, "code", code);
	if (rc == 0 && redirect_uri && *redirect_uri)
		rc = slack_add_param(&form, "redirect_uri", redirect_uri);
	if (rc == 0)
		rc = oauth_call(cfg, &form, policy, out, err);
	else
		rc = PV_ENOMEM;
	slack_buf_wipe(&form);
	return rc;
}

int slack_oauth_refresh_ex(const struct config *cfg, const char *refresh_token,
			   struct slack_oauth *out, struct slack_error *err)
{
	return slack_oauth_refresh_p(cfg, refresh_token, SLACK_POLICY_BATCH, out, err);
}

int slack_oauth_refresh_p(const struct config *cfg, const char *refresh_token,
			  enum slack_policy policy, struct slack_oauth *out,
			  struct slack_error *err)
{
	struct buf form;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!refresh_token || !*refresh_token)
		return PV_EINVAL;
	buf_init(&form, SLACK_FORM_MAX);
	rc = slack_add_param(&form, "grant_type", "refresh_token");
	if (rc == 0)
		rc = slack_add_param(&form, "refresh_token", refresh_token);
	if (rc == 0)
		rc = oauth_call(cfg, &form, policy, out, err);
	else
		rc = PV_ENOMEM;
	slack_buf_wipe(&form);
	return rc;
}

int slack_oauth_refresh(const struct config *cfg, const char *refresh_token,
			struct slack_oauth *out)
{
	return slack_oauth_refresh_ex(cfg, refresh_token, out, NULL);
}
