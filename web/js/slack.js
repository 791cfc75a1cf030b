// /settings/provisioning/slack: the Slack connection (status, Connect,
// Replace, Disconnect), the sync configuration, the sync panel and history.
import { api, isAbort, withQuery } from './api.js';
import { h, notice, pageHeading, showIn, busy, timeEl } from './dom.js';
import { connectionBadge, oauthErrorMessage, STATUS_REASONS } from './labels.js';
import { confirmDialog } from './dialog.js';
import { configForm } from './config.js';
import { syncPanel, syncHistory } from './syncs.js';
import { invitesCard } from './invites.js';
import { replaceUrl } from './nav.js';

const STATUS_PATH = '/api/v1/provisioning/slack';

export async function render({ root, query, signal, app }) {
  root.append(
    h('p', { class: 'breadcrumb' }, h('a', { href: '/settings/provisioning' }, '← Provisioning')),
    pageHeading('Slack provisioning'));

  // The OAuth callback lands here with ?connected=1 or ?error=<code>. The
  // message stays on screen; the address loses the query so a reload does
  // not show it again.
  const oauthSlot = h('div', { class: 'slot' });
  const pageAlert = h('div', { class: 'slot' });
  root.append(oauthSlot, pageAlert);
  if (query.get('connected') === '1') {
    showIn(oauthSlot, notice('success', 'Slack is connected. People are imported at the next sync.'));
  } else if (query.get('error')) {
    showIn(oauthSlot, notice('error', oauthErrorMessage(query.get('error'))));
  } else if (query.get('disconnected') === '1') {
    showIn(oauthSlot, notice('success', 'Slack is disconnected. Users, teams and team memberships were kept.'));
  }
  if (query.has('connected') || query.has('error') || query.has('disconnected')) {
    replaceUrl(location.pathname);
  }

  let status;
  try {
    status = await api.get(STATUS_PATH, { signal });
  } catch (err) {
    if (err.status === 401 || isAbort(err)) throw err;
    showIn(pageAlert, notice('error', err.message));
    return;
  }

  root.append(connectionCard(status, { signal, app, pageAlert, config: status.config }));
  // The history outlives the connection: its reports stay readable.
  if (status.status === 'disconnected') {
    root.append(syncHistory({ signal }).root);
    return;
  }

  // Teams and the names of saved groups, for the configuration form.
  const groups = new Map();
  let teams = [];
  const [teamsRes, groupsRes] = await Promise.allSettled([
    api.get('/api/v1/teams', { signal }),
    api.get(withQuery(`${STATUS_PATH}/groups`, { limit: 100 }), { signal }),
  ]);
  if (signal.aborted) return;
  if (teamsRes.status === 'fulfilled') teams = teamsRes.value.teams || [];
  else if (teamsRes.reason.status !== 401) {
    root.append(notice('error', `The teams could not be loaded: ${teamsRes.reason.message}`));
  }
  if (groupsRes.status === 'fulfilled') {
    for (const g of groupsRes.value.groups || []) groups.set(g.id, g);
    if (groupsRes.value.notice) root.append(notice('info', groupsRes.value.notice));
  }
  // A failure to list groups shows in the type-ahead itself when it is used.

  const search = async (q, s) => {
    const data = await api.get(withQuery(`${STATUS_PATH}/groups`, { q, limit: 20 }), { signal: s });
    for (const g of data.groups || []) groups.set(g.id, g);
    return data;
  };

  const historyBox = syncHistory({ signal });
  const panel = syncPanel({
    sync: status.sync || {},
    signal,
    onFinished: () => historyBox.reload(),
    onQueued: () => historyBox.reload(),
    // A sync with a broken connection can only fail: say so instead.
    blocked: status.status === 'needs_reconnection'
      ? 'Sync now is unavailable until Slack is reconnected (see Connection above).' : null,
  });
  const form = configForm({
    config: status.config,
    teams,
    groups,
    search,
    onSaved: (res) => panel.setPending(res.pending !== false),
  });
  root.append(panel.root, form, invitesCard({ signal }).root, historyBox.root);
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// What a replace does, in numbers the page knows: the chosen groups and
// mappings that mean nothing in another workspace.
function replaceBody(st, config) {
  const groups = (config && config.members && config.members.mode === 'groups' && config.members.group_ids) || [];
  const mappings = (config && config.team_mapping && config.team_mapping.mappings) || [];
  const name = st.workspace ? st.workspace.name : 'the connected workspace';
  const cleared = [];
  if (groups.length) cleared.push(plural(groups.length, 'chosen Slack group', 'chosen Slack groups'));
  if (mappings.length) cleared.push(plural(mappings.length, 'team mapping', 'team mappings'));
  return [
    h('p', {}, `You sign in to Slack again and choose a workspace. The same workspace (${name}) keeps its configuration.`),
    h('p', {}, h('strong', {}, 'Another workspace starts from scratch: '),
      cleared.length
        ? `the ${cleared.join(' and ')} are cleared, because their ids mean nothing there, `
        : 'its configuration is cleared, ',
      'and nobody is imported until you choose whom to import and save.'),
    h('p', {}, 'No one is removed: users, teams and team memberships are kept, and people linked to ',
      `${name} are not deactivated by the change. The sync history is kept.`),
  ];
}

function connectionCard(st, { signal, app, pageAlert, config }) {
  const rows = [];
  const dd = (term, ...value) => rows.push(h('dt', {}, term), h('dd', {}, value));
  if (st.workspace) {
    dd('Workspace', h('span', { class: 'workspace-name' }, st.workspace.name),
      st.workspace.domain ? h('span', { class: 'muted' }, ` (${st.workspace.domain}.slack.com)`) : null);
  }
  if (st.connected_by) dd('Connected by', st.connected_by.name);
  if (st.connected_at) dd('Connected on', timeEl(st.connected_at));

  const alert = h('div', { class: 'slot' });
  const actions = h('div', { class: 'actions' });

  // Connect and Replace both leave for Slack's consent page.
  const startOAuth = (purpose, button) => busy(button, async () => {
    showIn(alert, null);
    try {
      const { authorize_url: url } = await api.post(`${STATUS_PATH}/${purpose}`, {}, { signal });
      window.location.assign(url);
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return;
      showIn(alert, notice('error', err.message));
      button.focus();
    }
  });

  if (st.status === 'disconnected') {
    const connect = h('button', { type: 'button', class: 'button button--primary' }, 'Connect Slack');
    connect.addEventListener('click', () => startOAuth('connect', connect));
    actions.append(connect);
  } else {
    const replace = h('button', { type: 'button', class: st.status === 'needs_reconnection' ? 'button button--primary' : 'button' },
      st.status === 'needs_reconnection' ? 'Reconnect Slack' : 'Replace with another Slack account');
    replace.addEventListener('click', async () => {
      // Reconnecting a broken connection is the way back, not a surprise:
      // it goes straight to Slack.
      if (st.status === 'needs_reconnection') {
        startOAuth('replace', replace);
        return;
      }
      const ok = await confirmDialog({
        title: 'Replace the Slack connection?',
        body: replaceBody(st, config),
        confirmLabel: 'Continue to Slack',
      });
      if (ok) startOAuth('replace', replace);
    });
    const disconnect = h('button', { type: 'button', class: 'button button--danger' }, 'Disconnect');
    disconnect.addEventListener('click', async () => {
      const done = await confirmDialog({
        title: 'Disconnect Slack?',
        body: [
          h('p', {}, `Syncing with ${st.workspace ? st.workspace.name : 'Slack'} stops and the token is revoked at Slack.`),
          h('p', {}, h('strong', {}, 'No one is removed: users, teams and team memberships are kept exactly as they are.')),
          h('p', {}, 'You can connect Slack again later.'),
        ],
        confirmLabel: 'Disconnect Slack',
        danger: true,
        onConfirm: () => api.del(STATUS_PATH, { signal }),
      });
      if (done) app.navigate('/settings/provisioning/slack?disconnected=1', { replace: true });
    });
    actions.append(replace, disconnect);
  }

  const reason = st.status === 'needs_reconnection'
    ? notice('warning', `${STATUS_REASONS[st.status_reason] || 'Slack no longer accepts the stored connection.'} `
      + 'Syncing is stopped until a Slack workspace admin or owner reconnects it.')
    : null;
  return h('section', { class: 'card connection', 'aria-labelledby': 'connection-heading' },
    h('div', { class: 'connection__head' },
      h('h2', { id: 'connection-heading' }, 'Connection'),
      h('span', { class: 'connection__status' }, h('span', { class: 'visually-hidden' }, 'Status: '), connectionBadge(st.status))),
    reason,
    st.status === 'disconnected'
      ? h('p', {}, 'Connect your organization’s Slack workspace to import its people every day. ',
        'A Slack workspace admin or owner must approve the connection.')
      : h('dl', { class: 'facts' }, rows),
    alert, actions);
}
