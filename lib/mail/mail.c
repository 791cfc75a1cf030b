#include "mail/mail.h"
#include "core/buf.h"
#include "core/config.h"
#include "db/db.h"
#include "directory/directory.h"
#include "core/err.h"
#include "core/log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct reader {
	const char *data;
	size_t len, pos;
};

static size_t read_cb(char *out, size_t size, size_t n, void *arg)
{
	struct reader *r = arg;
	size_t room = size * n, left = r->len - r->pos;

	if (room > left)
		room = left;
	memcpy(out, r->data + r->pos, room);
	r->pos += room;
	return room;
}

/* Header text without line breaks: nothing from Slack can add a header. */
static int put_header_text(struct buf *b, const char *s)
{
	int rc = 0;

	for (; s && *s && rc == 0; s++)
		rc = buf_putc(b, (*s == '\r' || *s == '\n') ? ' ' : *s);
	return rc;
}

static int build_message(struct buf *m, const struct config *cfg, long long id, const char *to,
			 const char *name, const char *org)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	rc = buf_printf(m, "Date: %s\r\nFrom: ", date);
	if (rc == 0)
		rc = put_header_text(m, config_get(cfg, "smtp.from"));
	if (rc == 0)
		rc = buf_puts(m, "\r\nTo: ");
	if (rc == 0)
		rc = put_header_text(m, to);
	if (rc == 0)
		rc = buf_printf(m, "\r\nMessage-ID: <invitation-%lld@provisioning>\r\nSubject: ", id);
	if (rc == 0)
		rc = buf_puts(m, "You are invited to join ");
	if (rc == 0)
		rc = put_header_text(m, org);
	if (rc == 0)
		rc = buf_printf(m, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
				"Content-Transfer-Encoding: 8bit\r\n\r\nHello %s,\r\n\r\n%s has invited you to"
				" its employee-engagement space. Sign in at %s to get started.\r\n",
				name && *name ? name : "", org, config_get(cfg, "app.base_url"));
	return rc;
}

static int send_one(const struct config *cfg, const char *to, const char *message, char *err,
		    size_t errlen)
{
	struct curl_slist *rcpt = NULL;
	struct reader r = { message, strlen(message), 0 };
	CURL *c = curl_easy_init();
	CURLcode res;

	if (!c)
		return PV_ENOMEM;
	rcpt = curl_slist_append(rcpt, to);
	curl_easy_setopt(c, CURLOPT_URL, config_get(cfg, "smtp.url"));
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, config_get(cfg, "smtp.from"));
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &r);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	res = curl_easy_perform(c);
	if (res != CURLE_OK)
		snprintf(err, errlen, "%s", curl_easy_strerror(res));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return res == CURLE_OK ? 0 : PV_EREMOTE;
}

/* Claims one due invitation; 1 with its fields, 0 when none is due. */
static int claim(struct db *db, long long *id, char *to, size_t tolen, char *name, size_t namelen,
		 char *org, size_t orglen)
{
	struct db_rows *r = NULL;
	int rc = db_begin(db);

	if (rc < 0)
		return rc;
	/* Only the outbox row is locked: the user and organization rows are
	 * read without locks, so running syncs are not held up. */
	rc = db_query(db, &r, "SELECT id FROM invitation_outbox WHERE sent_at IS NULL"
		      " AND next_attempt_at <= NOW() AND attempts < ?"
		      " AND created_at > NOW() - INTERVAL ? DAY ORDER BY id LIMIT 1"
		      " FOR UPDATE SKIP LOCKED",
		      DB_ARGS(DB_INT(MAIL_MAX_ATTEMPTS), DB_INT(MAIL_MAX_AGE_DAYS)));
	if (rc == 0)
		rc = db_rows_next(r);
	if (rc == 1) {
		*id = db_rows_int(r, 0);
		db_rows_free(r);
		r = NULL;
		rc = db_query(db, &r, "SELECT o.email, u.display_name, g.name FROM invitation_outbox o"
			      " JOIN users u ON u.id = o.user_id AND u.organization_id = o.organization_id"
			      " JOIN organizations g ON g.id = o.organization_id WHERE o.id = ?",
			      DB_ARGS(DB_INT(*id)));
		if (rc == 0 && (rc = db_rows_next(r)) == 0)
			rc = PV_ENOTFOUND;
	}
	if (rc == 1) {
		snprintf(to, tolen, "%s", db_rows_str(r, 0));
		snprintf(name, namelen, "%s", db_rows_str(r, 1) ? db_rows_str(r, 1) : "");
		snprintf(org, orglen, "%s", db_rows_str(r, 2));
		rc = db_exec(db, "UPDATE invitation_outbox SET attempts = attempts + 1,"
			     " next_attempt_at = NOW() + INTERVAL POW(2, attempts) MINUTE WHERE id = ?",
			     DB_ARGS(DB_INT(*id)), NULL);
		if (rc == 0)
			rc = 1;
	}
	db_rows_free(r);
	if (rc == 1 && db_commit(db) < 0)
		rc = PV_EDB;
	if (rc <= 0)
		db_rollback(db);
	return rc;
}

int mail_deliver_invitations(struct db *db, const struct config *cfg, int max)
{
	int sent = 0, rc = 0;

	if (!config_get(cfg, "smtp.url") || !config_get(cfg, "smtp.from"))
		return 0;
	/* Too old to send (mail.h): recorded as given up, before any is claimed. */
	rc = db_exec(db, "UPDATE invitation_outbox SET attempts = GREATEST(attempts, ?),"
		     " last_error = 'Not sent: the invitation is older than a week (no mail server was"
		     " configured in time).' WHERE sent_at IS NULL AND attempts < ?"
		     " AND created_at <= NOW() - INTERVAL ? DAY",
		     DB_ARGS(DB_INT(MAIL_MAX_ATTEMPTS), DB_INT(MAIL_MAX_ATTEMPTS),
			     DB_INT(MAIL_MAX_AGE_DAYS)), NULL);
	if (rc < 0)
		return rc;
	while (sent < max) {
		char to[300], name[800], org[800], err[256] = "";
		struct buf msg;
		long long id = 0;

		rc = claim(db, &id, to, sizeof(to), name, sizeof(name), org, sizeof(org));
		if (rc <= 0)
			break;
		buf_init(&msg, 64 * 1024);
		rc = dir_email_valid(to) ? build_message(&msg, cfg, id, to, name, org) : PV_EINVAL;
		if (rc == 0)
			rc = send_one(cfg, to, buf_cstr(&msg), err, sizeof(err));
		buf_release(&msg);
		if (rc == 0) {
			rc = db_exec(db, "UPDATE invitation_outbox SET sent_at = NOW(), last_error = NULL"
				     " WHERE id = ?", DB_ARGS(DB_INT(id)), NULL);
			if (rc < 0)
				break;
			sent++;
			log_info("mail: invitation %lld sent", id);
		} else {
			log_warn("mail: invitation %lld not sent: %s", id, err[0] ? err : pv_strerror(rc));
			rc = db_exec(db, "UPDATE invitation_outbox SET last_error = ? WHERE id = ?",
				     DB_ARGS(DB_STR(err[0] ? err : pv_strerror(rc)), DB_INT(id)), NULL);
			if (rc < 0)
				break;
		}
	}
	return rc < 0 ? rc : sent;
}

int mail_send_password_reset(const struct config *cfg, const char *to, const char *name,
			     const char *org, const char *link, char *err, size_t errlen)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	struct buf m;
	int rc;

	err[0] = '\0';
	if (!config_get(cfg, "smtp.url") || !config_get(cfg, "smtp.from"))
		return PV_EINVAL;
	if (!dir_email_valid(to))
		return PV_EINVAL;
	buf_init(&m, 64 * 1024);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	rc = buf_printf(&m, "Date: %s\r\nFrom: ", date);
	if (rc == 0)
		rc = put_header_text(&m, config_get(cfg, "smtp.from"));
	if (rc == 0)
		rc = buf_puts(&m, "\r\nTo: ");
	if (rc == 0)
		rc = put_header_text(&m, to);
	if (rc == 0)
		rc = buf_puts(&m, "\r\nSubject: Reset your password for ");
	if (rc == 0)
		rc = put_header_text(&m, org);
	if (rc == 0)
		rc = buf_printf(&m, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
				"Content-Transfer-Encoding: 8bit\r\n\r\nHello %s,\r\n\r\nSomeone asked to"
				" reset the password of your account in %s. To choose a new password,"
				" open this link within an hour; it works once:\r\n\r\n%s\r\n\r\nIf it was"
				" not you, ignore this e-mail: your password stays as it is.\r\n",
				name && *name ? name : "", org, link);
	if (rc == 0)
		rc = send_one(cfg, to, buf_cstr(&m), err, errlen);
	buf_release(&m);
	return rc;
}
