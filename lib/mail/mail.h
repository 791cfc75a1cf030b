/*
 * mail.h - invitation e-mails (SPEC §1.12) over SMTP with libcurl.
 *
 * Users created by a sync get one invitation when their organization's
 * automatic_invites setting is on: the applier writes an invitation_outbox
 * row in the user's own transaction, and each sync pass delivers the rows
 * that are due.  A row is claimed (attempts + 1, next attempt pushed back)
 * in a committed transaction before sending, so two passes never send the
 * same one; sent_at is set after the server accepted the message.  A
 * failure is retried with growing delays, up to MAIL_MAX_ATTEMPTS.  An
 * invitation not sent within MAIL_MAX_AGE_DAYS of the user's creation (no
 * mail server was configured then, or it kept failing) is never sent: a
 * welcome weeks late is a surprise, not a welcome; it is marked with a
 * last_error saying so and attempts at the maximum.  The
 * Message-ID is fixed per invitation, so a receiving server can drop the
 * duplicate of the one unlucky case (a pass killed between the send and its
 * record).  Nothing else in the product sends e-mail.
 */
#ifndef PV_MAIL_H
#define PV_MAIL_H

#include <stddef.h>

struct config;
struct db;

#define MAIL_MAX_ATTEMPTS 8
#define MAIL_MAX_AGE_DAYS 7

/* Delivers up to max due invitations; returns how many were sent, or a
 * negative code when the database failed.  Without smtp.url, nothing. */
int mail_deliver_invitations(struct db *db, const struct config *cfg, int max);

/* Sends one "reset your password" e-mail with link (secret: never logged)
 * over the same SMTP path, now.  PV_EINVAL when no mail server is
 * configured; PV_EREMOTE with err filled when the server refused. */
int mail_send_password_reset(const struct config *cfg, const char *to, const char *name,
			     const char *org, const char *link, char *err, size_t errlen);

#endif
