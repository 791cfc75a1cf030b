#include "sync/sync_details.h"
#include "core/err.h"

/* The sentence for what was (or, when planned, would be) done.  Each
 * reason belongs to one kind, so the reason alone decides it. */
static const char *what(enum plan_reason reason)
{
	switch (reason) {
	case PLAN_R_NEW_IN_SCOPE:
		return "Created: this Slack member is in the import scope and had no account yet.";
	case PLAN_R_PROFILE_CHANGED:
		return "Updated from Slack:";
	case PLAN_R_LINKED_BY_EMAIL:
		return "Linked: an existing account with the same e-mail address now follows this Slack"
		       " member; no duplicate account was created.";
	case PLAN_R_BACK_IN_SCOPE:
		return "Reactivated: this person is back in the Slack workspace and in the import scope.";
	case PLAN_R_DELETED_IN_SLACK:
		return "Deactivated: this member was deactivated in Slack. The account and its data are"
		       " kept.";
	case PLAN_R_LEFT_WORKSPACE:
		return "Deactivated: this member is no longer in the Slack workspace. The account and its"
		       " data are kept.";
	case PLAN_R_LEFT_SCOPE:
		return "Deactivated: this member is no longer in the Slack groups or member types chosen"
		       " for import.";
	case PLAN_R_EXCLUDED:
		return "Deactivated: this member is on the list of people never provisioned.";
	case PLAN_R_DOMAIN_NOT_ALLOWED:
		return "Deactivated: this member's e-mail domain is not among the allowed domains.";
	case PLAN_R_IN_MAPPED_GROUP:
		return "Added to team";
	case PLAN_R_NOT_IN_MAPPED_GROUP:
		return "Removed from team";
	case PLAN_R_NO_EMAIL:
		return "Skipped: this Slack member has no e-mail address, so no account can be created"
		       " for them. Add an e-mail address to their Slack profile.";
	case PLAN_R_EMAIL_TAKEN_BY_LINKED_USER:
		return "Skipped: this e-mail address is already used by an account that follows another"
		       " Slack member";
	case PLAN_R_EMAIL_TAKEN_BY_OTHER_USER:
		return "Skipped: the new e-mail address from Slack is already used by another account in"
		       " your organization. Change one of the two addresses to resolve it.";
	case PLAN_R_NEEDS_REVIEW:
		return "Skipped for review: this e-mail address belongs to a deactivated account. If it is"
		       " the same person, reactivate that account by hand; the next sync will then link it.";
	case PLAN_R_LAST_ADMINISTRATOR:
		return "Not deactivated: this is the organization's last active administrator, whom a sync"
		       " never deactivates. Make someone else an administrator first.";
	case PLAN_R_DEACTIVATED_BY_HAND:
		return "Not reactivated: an administrator deactivated this account by hand, and a sync"
		       " keeps that choice. To bring the person back, reactivate the account on the"
		       " Users page; the next sync then keeps it up to date again.";
	case PLAN_R_REMOVED_BY_HAND:
		return "Not added back to team";
	case PLAN_R_ACCOUNT_NOT_CREATED:
		return "Not added to team";
	case PLAN_REASON_COUNT:
		break;
	}
	return "Changed by the sync.";
}

int sync_details(enum plan_kind kind, enum plan_reason reason,
		 const struct sync_details_ctx *ctx, struct buf *out)
{
	int rc = 0;

	if (ctx->failure)
		return buf_printf(out, "Failed: %s The sync went on with everyone else and will try again"
				  " at the next sync; if this keeps failing, check this person's account"
				  " and Slack profile.", ctx->failure);
	if (ctx->picture_why && ctx->picture_only)
		return buf_printf(out, "Not updated: the new picture was not stored, because %s. The"
				  " previous picture stays, and the next sync tries again.",
				  ctx->picture_why);
	if (reason == PLAN_R_ACCOUNT_NOT_CREATED)
		return buf_printf(out, "%s %s: this person's account could not be created in this sync"
				  " (the failed create row says why), so they cannot join the team yet."
				  " The next sync adds them once the account exists.", what(reason),
				  ctx->team_name ? ctx->team_name : "?");
	if (ctx->planned && kind != PLAN_SKIP)
		rc = buf_puts(out, "Planned (not applied yet): ");
	if (rc == 0)
		rc = buf_puts(out, what(reason));
	if (rc == 0 && reason == PLAN_R_PROFILE_CHANGED)
		rc = buf_printf(out, " %s.", ctx->fields && *ctx->fields ? ctx->fields : "profile");
	if (rc == 0 && (kind == PLAN_ADD_TO_TEAM || kind == PLAN_REMOVE_FROM_TEAM))
		rc = buf_printf(out, " %s: %s", ctx->team_name ? ctx->team_name : "?",
				kind == PLAN_ADD_TO_TEAM
				? "this person is in a Slack group mapped to the team."
				: "this person is no longer in any Slack group mapped to the team. Memberships"
				  " added by hand are never removed.");
	if (rc == 0 && reason == PLAN_R_REMOVED_BY_HAND)
		rc = buf_printf(out, " %s: an administrator removed this person from the team by hand,"
				" and a sync keeps that choice. To undo it, add the person to the team"
				" again on the team's page.", ctx->team_name ? ctx->team_name : "?");
	if (rc == 0 && reason == PLAN_R_EMAIL_TAKEN_BY_LINKED_USER)
		rc = buf_printf(out, "%s%s%s. Check both Slack profiles: one e-mail address can belong"
				" to one account only.", ctx->rival ? " (Slack member " : "",
				ctx->rival ? ctx->rival : "", ctx->rival ? ")" : "");
	if (rc == 0 && ctx->shortened && *ctx->shortened)
		rc = buf_printf(out, " Shortened to fit the directory's limit of 1,000 characters: %s.",
				ctx->shortened);
	if (rc == 0 && ctx->picture_why)
		rc = buf_printf(out, " The %spicture was not stored, because %s;%s the next sync tries"
				" again.", kind == PLAN_CREATE ? "" : "new ", ctx->picture_why,
				kind == PLAN_CREATE ? "" : " the previous one stays, and");
	if (rc == 0 && kind == PLAN_CREATE && ctx->invited)
		rc = buf_puts(out, " An invitation e-mail will be sent.");
	return rc;
}
