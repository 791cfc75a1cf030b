/*
 * slack_install.c - the end of an OAuth install (see slack_install.h).
 */
#include "provider/slack/slack_install.h"
#include "provider/slack/connection.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

static int has_scope(const char *granted, const char *scope, size_t n)
{
	for (const char *p = granted; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, scope, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

int slack_install_has_scopes(const char *granted)
{
	const char *p = CONN_SCOPES;

	while (granted && *p) {
		size_t n = strcspn(p, ",");

		if (!has_scope(granted, p, n))
			return 0;
		p += n;
		if (*p == ',')
			p++;
	}
	return granted != NULL;
}

int slack_install_complete(struct db *db, const struct config *cfg,
			   const struct crypto_key *key, int64_t org, int64_t user,
			   const struct slack_install *in, struct slack_install_result *res,
			   const char **error)
{
	struct slack_oauth oauth = { 0 };
	struct slack_error serr = { 0 };
	struct slack_user installer = { 0 };
	struct slack_team team = { 0 };
	struct slack *s = NULL;
	int rc, keep_token = 0;

	memset(res, 0, sizeof(*res));
	*error = "slack_error";
	rc = slack_oauth_access_p(cfg, in->code, in->redirect_uri, in->policy, &oauth, &serr);
	if (rc < 0) {
		log_warn("oauth: organization %lld: code exchange failed: %s", (long long)org,
			 serr.code[0] ? serr.code : pv_strerror(rc));
		goto out;
	}
	rc = slack_new(&s, cfg, oauth.access_token);
	if (rc < 0) {
		/* No client, so nothing to revoke the token with either. */
		log_error("oauth: organization %lld: no Slack client: %s", (long long)org,
			  pv_strerror(rc));
		*error = "server_error";
		goto out;
	}
	slack_set_policy(s, in->policy);
	if (!slack_install_has_scopes(oauth.scope)) {
		*error = "missing_scope";
		rc = PV_EAUTH;
		goto out;
	}
	rc = slack_user_info(s, oauth.authed_user_id, &installer);
	if (rc == 0 && !installer.is_admin && !installer.is_owner) {
		*error = "not_slack_admin";
		rc = PV_EAUTH;
		goto out;
	}
	if (rc == 0)
		rc = slack_team_info(s, &team);
	if (rc < 0) {
		log_warn("oauth: organization %lld: %s failed: %s", (long long)org,
			 slack_last_error(s)->method, slack_last_error(s)->code);
		goto out;
	}
	rc = conn_store(db, key, org, user,
			&(struct conn_grant){ .workspace_id = team.id, .workspace_name = team.name,
					      .workspace_domain = team.domain,
					      .installer_slack_user_id = installer.id,
					      .bot_user_id = oauth.bot_user_id, .scopes = oauth.scope,
					      .access_token = oauth.access_token,
					      .refresh_token = oauth.refresh_token,
					      .expires_in = oauth.expires_in },
			in->replace, &res->workspace_changed);
	if (rc == PV_ECONFLICT) {
		*error = "already_connected";
		goto out;
	}
	if (rc == PV_ENOTFOUND) {
		*error = "not_connected";
		goto out;
	}
	if (rc < 0) {
		*error = "server_error";
		goto out;
	}
	keep_token = 1;
	*error = NULL;
	snprintf(res->workspace_id, sizeof(res->workspace_id), "%s", team.id);
	log_info("oauth: organization %lld: Slack workspace %s %s%s", (long long)org, team.id,
		 in->replace ? "replaced the connection" : "connected",
		 res->workspace_changed == 2 ? " (configuration cleared: another workspace)" : "");
out:
	/* A token we will not keep is given back, so the app does not stay
	 * installed in a workspace we refused (best effort). */
	if (!keep_token && s && slack_auth_revoke(s) < 0)
		log_warn("oauth: organization %lld: could not revoke a refused token",
			 (long long)org);
	slack_free(s);
	slack_oauth_release(&oauth);
	slack_user_release(&installer);
	slack_team_release(&team);
	return rc;
}
