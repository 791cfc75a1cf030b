/* Session: sign in, sign out, who am I (SPEC §4.1). */
#include "handlers.h"
#include "http.h"
#include "core/config.h"
#include "directory/directory.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"

#include <stdio.h>
#include <string.h>

#define SESSION_COOKIE "pv_session"

/* {user, organization} of the signed-in caller. */
static void answer_me(struct req *req, int status)
{
	json_object *out = NULL, *user = NULL, *org = NULL;
	int rc;

	rc = dir_user_json(req->app->db, req->who.org_id, req->who.user_id, &user);
	if (rc == 0)
		rc = dir_org_json(req->app->db, req->who.org_id, &org);
	if (rc == 0) {
		out = json_object_new_object();
		if (!out)
			rc = PV_ENOMEM;
	}
	if (rc == 0) {
		rc = pjson_add(out, "user", user);
		user = NULL;
	}
	if (rc == 0) {
		rc = pjson_add(out, "organization", org);
		org = NULL;
	}
	if (rc < 0) {
		json_object_put(user);
		json_object_put(org);
		json_object_put(out);
		http_fail(req, rc);
		return;
	}
	http_json(req, status, out);
}

void handle_session_create(struct req *req)
{
	static const char *const keys[] = { "email", "password", NULL };
	char token[TOKEN_HEX_LEN + 1];
	const char *email = NULL, *password = NULL;
	int retry_after = 0, rc;

	if (http_body_keys(req, keys) < 0)
		return;
	if (pjson_get_str(req->body, "email", &email) < 0 || !*email || strlen(email) > 254) {
		http_error(req, 422, "validation_failed", "email is required, as a string.", "email");
		return;
	}
	if (pjson_get_str(req->body, "password", &password) < 0 || !*password ||
	    strlen(password) > 1024) {
		http_error(req, 422, "validation_failed", "password is required, as a string.",
			   "password");
		return;
	}
	rc = session_sign_in(req->app->db, email, password, req->client_ip,
			     req->app->session_ttl_hours, token, &req->who, &retry_after);
	if (rc == PV_EAUTH) {
		http_error(req, 401, "invalid_credentials",
			   "The e-mail address or the password is not right.", NULL);
		return;
	}
	if (rc == PV_ETHROTTLED) {
		char msg[128];

		/* The same words for an account and for an address, so the answer
		 * does not tell which e-mails exist. */
		snprintf(msg, sizeof(msg), "Too many failed sign-ins; try again in %d second%s.",
			 retry_after, retry_after == 1 ? "" : "s");
		http_header(req, "Retry-After: %d", retry_after);
		http_error(req, 429, "too_many_attempts", msg, NULL);
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	req->signed_in = 1;
	rc = http_header(req, "Set-Cookie: " SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax;"
			 " Max-Age=%d%s", token, req->app->session_ttl_hours * 3600,
			 req->app->secure_cookies ? "; Secure" : "");
	memset(token, 0, sizeof(token));
	if (rc < 0) {
		/* A 200 without its cookie would be a sign-in that did not
		 * happen; the session row made expires unused. */
		http_fail(req, rc);
		return;
	}
	log_info("session: user %lld of organization %lld signed in",
		 (long long)req->who.user_id, (long long)req->who.org_id);
	answer_me(req, 200);
}

void handle_session_delete(struct req *req)
{
	int rc = session_end(req->app->db, req->session_token);

	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	http_header(req, "Set-Cookie: " SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Lax;"
		    " Max-Age=0%s", req->app->secure_cookies ? "; Secure" : "");
	http_no_content(req);
}

void handle_me(struct req *req)
{
	answer_me(req, 200);
}
