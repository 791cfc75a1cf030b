// Plain words for the codes the API and the OAuth callback use.
import { badge } from './dom.js';

// The OAuth callback lands on /settings/provisioning/slack?error=<code>.
export const OAUTH_ERRORS = {
  state_missing: 'Slack sent the person back without the security code this page started with. Start connecting again from this page.',
  state_unknown: 'This connection attempt was not started from this page, or it is too old to be recognised. Start connecting again from this page.',
  state_used: 'This connection link was already used. If Slack is not connected below, start connecting again.',
  state_expired: 'The connection took more than 10 minutes and expired. Start connecting again.',
  session_mismatch: 'The connection was started by another administrator or in another organization than the one signed in here. Sign in as the administrator who started it, or start again.',
  access_denied: 'Slack access was not granted: the request was cancelled on Slack’s page. Nothing changed.',
  not_slack_admin: 'Only a Slack workspace admin or owner can connect Slack. Ask one of them to connect it.',
  missing_scope: 'Slack did not grant every permission the integration needs. Connect again and allow all the permissions Slack asks for.',
  slack_error: 'Slack answered with an error while connecting. Try again in a moment.',
  already_connected: 'Slack is already connected. To use another Slack account or workspace, choose “Replace with another Slack account”.',
  not_connected: 'Slack was not connected any more, so there was nothing to replace. Choose “Connect Slack” instead.',
  server_error: 'Something went wrong on our side while connecting Slack. Try again; if it keeps happening, contact support.',
};

export function oauthErrorMessage(code) {
  return OAUTH_ERRORS[code] || `Connecting Slack did not work (${code}). Try again.`;
}

// Connection status: text and icon, never colour alone.
export function connectionBadge(status) {
  if (status === 'connected') return badge('ok', 'Connected');
  if (status === 'needs_reconnection') return badge('warn', 'Needs reconnection');
  return badge('neutral', 'Disconnected');
}

// Why a connection broke (status_reason is Slack's code).
export const STATUS_REASONS = {
  token_revoked: 'The Slack token was revoked (the app was removed or access was withdrawn in Slack).',
  invalid_auth: 'Slack no longer accepts the stored token.',
  account_inactive: 'The Slack account that connected the app is deactivated.',
  token_expired: 'The Slack token expired and could not be refreshed.',
  missing_scope: 'The Slack app is missing a permission it needs.',
  app_uninstalled: 'The Slack app was uninstalled from the workspace.',
};

export const SYNC_STATUS = {
  pending: ['busy', 'Queued'],
  running: ['busy', 'Running'],
  held: ['warn', 'Held for approval'],
  succeeded: ['ok', 'Succeeded'],
  completed_with_errors: ['warn', 'Completed with errors'],
  failed: ['bad', 'Failed'],
  discarded: ['neutral', 'Discarded'],
};

export function syncBadge(status) {
  const [kind, text] = SYNC_STATUS[status] || ['neutral', status];
  return badge(kind, text);
}

export const COUNT_LABELS = [
  ['created', 'created'],
  ['updated', 'updated'],
  ['deactivated', 'deactivated'],
  ['reactivated', 'reactivated'],
  ['added_to_team', 'added to a team'],
  ['removed_from_team', 'removed from a team'],
  ['skipped', 'skipped'],
  ['failed', 'failed'],
];

/** "3 created, 1 updated" — only the non-zero counts; "No changes" otherwise. */
export function countsText(counts) {
  if (!counts) return '—';
  const parts = COUNT_LABELS.filter(([k]) => counts[k]).map(([k, w]) => `${counts[k]} ${w}`);
  return parts.length ? parts.join(', ') : 'No changes';
}

export const ACTION_LABELS = {
  create: 'Create user',
  update: 'Update user',
  deactivate: 'Deactivate user',
  reactivate: 'Reactivate user',
  add_to_team: 'Add to team',
  remove_from_team: 'Remove from team',
  skip: 'Skip',
};

export const OUTCOME = {
  succeeded: ['ok', 'Succeeded'],
  failed: ['bad', 'Failed'],
  skipped: ['neutral', 'Skipped'],
  // A held sync's or a preview's actions were planned, not applied.
  planned: ['info', 'Planned (not applied)'],
};

export const FIELD_LABELS = {
  first_name: 'First name',
  last_name: 'Last name',
  display_name: 'Display name',
  email: 'E-mail',
  picture: 'Picture',
  job_title: 'Job title',
  is_guest: 'Guest',
  status: 'Status',
  team: 'Team',
};

// The report's "changed data" filter values (SPEC §4.2).
export const CHANGED_FILTERS = [
  ['name', 'Name'],
  ['email', 'E-mail'],
  ['picture', 'Picture'],
  ['job_title', 'Job title'],
  ['status', 'Status'],
  ['team_membership', 'Team membership'],
];
