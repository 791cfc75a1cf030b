/* "Forgot password" (issue 14): ask for a link by e-mail, then set a new
 * password with it.  Both are public routes; lib/directory/password_reset.h
 * holds the rules.  The request's answer is the same whether or not the
 * address has an account, and whether or not it was throttled. */
#include "handlers.h"
#include "http.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "directory/password_reset.h"
#include "mail/mail.h"

#include <stdio.h>
#include <string.h>

static const char requested[] =
	"If an account uses this address, an e-mail with a link to choose a new password is on "
	"its way. The link works once, within an hour.";

void handle_password_reset_request(struct req *req)
{
	static const char *const keys[] = { "email", NULL };
	struct pwreset_link links[PWRESET_MAX_ACCOUNTS];
	const char *email = NULL;
	json_object *out;
	size_t n = 0;
	int rc;

	if (http_body_keys(req, keys) < 0)
		return;
	if (pjson_get_str(req->body, "email", &email) < 0 || !email || !*email ||
	    strlen(email) > 254) {
		http_error(req, 422, "validation_failed", "email must be the account's e-mail address.",
			   "email");
		return;
	}
	rc = pwreset_request(req->app->db, email, req->client_ip, links, PWRESET_MAX_ACCOUNTS, &n);
	if (rc == PV_ETHROTTLED) {
		log_info("password reset: request throttled");
		rc = 0;
		n = 0;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct buf link;
		char err[256];

		buf_init(&link, 1024);
		if (buf_printf(&link, "%s/signin/reset?token=%s",
			       config_get(req->app->cfg, "app.base_url"), links[i].token) == 0) {
			int sent = mail_send_password_reset(req->app->cfg, links[i].email, links[i].name,
							    links[i].org, buf_cstr(&link), err, sizeof(err));

			if (sent == PV_EINVAL)
				log_warn("password reset: no mail server configured (smtp.url): the link "
					 "was not sent");
			else if (sent < 0)
				log_warn("password reset: the e-mail was not sent: %s", err);
		}
		/* The link is a secret: it leaves no copy in the heap. */
		if (link.data)
			memset(link.data, 0, link.len);
		buf_release(&link);
		memset(links[i].token, 0, sizeof(links[i].token));
	}
	out = json_object_new_object();
	if (!out || pjson_add_str(out, "message", requested) < 0) {
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 202, out);
}

void handle_password_reset_confirm(struct req *req)
{
	static const char *const keys[] = { "token", "password", NULL };
	const char *token = NULL, *password = NULL;
	int rc;

	if (http_body_keys(req, keys) < 0)
		return;
	if (pjson_get_str(req->body, "token", &token) < 0 || !token) {
		http_error(req, 422, "validation_failed", "token is the code from the e-mail's link.",
			   "token");
		return;
	}
	if (pjson_get_str(req->body, "password", &password) < 0 || !password) {
		http_error(req, 422, "validation_failed", "password is required.", "password");
		return;
	}
	rc = pwreset_confirm(req->app->db, token, password);
	if (rc == PV_EINVAL) {
		http_error(req, 422, "validation_failed",
			   "The password needs at least 8 characters (and at most 1024).", "password");
		return;
	}
	if (rc == PV_ENOTFOUND) {
		http_error(req, 400, "invalid_token",
			   "This link is not valid any more: it was already used, is more than an hour "
			   "old, or was copied incompletely. Ask for a new one.", "token");
		return;
	}
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	http_no_content(req);
}
