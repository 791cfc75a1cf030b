// The "Automatic invites" card of the Slack screen: the organization
// setting (PATCH /api/v1/settings), whether a mail server can send at all,
// and how many people the next sync would invite, as far as the page knows.
import { api, isAbort, withQuery } from './api.js';
import { h, uid, notice, showIn } from './dom.js';
import { confirmDialog } from './dialog.js';
import { SYNCS_PATH } from './syncs.js';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// An estimate from the history: the newest preview after the last applied
// sync says how many accounts the next sync creates; before any sync, the
// first one creates everyone it imports.
export function inviteEstimate(syncs) {
  const done = (syncs || []).filter((s) => ['succeeded', 'completed_with_errors', 'held'].includes(s.status));
  const lastReal = done.find((s) => !s.dry_run && s.status !== 'held');
  const preview = done.find((s) => s.dry_run || s.status === 'held');
  if (preview && (!lastReal || preview.id > lastReal.id)) {
    const n = (preview.counts && preview.counts.created) || 0;
    return { count: n, text: `About ${plural(n, 'person', 'people')}: the last preview would create ${n === 1 ? 'this account' : 'these accounts'}, and each new account gets an invitation.` };
  }
  if (!lastReal) {
    return { count: null, text: 'The first sync invites everyone it imports. Run a preview (dry run) to see how many people that is.' };
  }
  return { count: null, text: 'The next sync invites only the people it creates: those who joined Slack, or the import, since the last sync.' };
}

export function invitesCard({ signal }) {
  const alert = h('div', { class: 'slot' });
  const switchId = uid('invites');
  const toggle = h('input', { type: 'checkbox', id: switchId, role: 'switch', class: 'switch', disabled: true });
  const mail = h('p', { class: 'invites__mail' }, 'Checking the mail server…');
  const estimate = h('p', { class: 'hint invites__estimate' });
  const root = h('section', { class: 'card invites', 'aria-labelledby': `${switchId}-heading` },
    h('h2', { id: `${switchId}-heading` }, 'Automatic invites'),
    h('div', { class: 'choice' }, toggle, h('label', { for: switchId }, 'E-mail an invitation to each person a sync creates')),
    mail, estimate, alert);
  let settings = null;
  let est = { count: null, text: '' };

  function show() {
    toggle.checked = !!settings.automatic_invites;
    toggle.disabled = false;
    if (settings.mail_configured) {
      mail.textContent = 'Mail server: configured. Invitations go out within minutes of the sync.';
      mail.className = 'invites__mail';
    } else {
      mail.textContent = 'No mail server: invitations are not sent. They wait, and any not sent within a week of the sync are never sent. Ask your operator to configure one.';
      mail.className = 'invites__mail invites__mail--none';
    }
    estimate.textContent = settings.automatic_invites || est.count ? est.text : '';
  }

  toggle.addEventListener('change', async () => {
    const on = toggle.checked;
    if (on) {
      const ok = await confirmDialog({
        title: 'Turn automatic invites on?',
        body: [
          h('p', {}, 'From the next sync on, each person a sync creates gets the normal invitation e-mail. Nobody else is e-mailed.'),
          h('p', {}, h('strong', {}, est.text)),
          settings && !settings.mail_configured
            ? h('p', {}, 'No mail server is configured: nothing is sent until one is, and invitations older than a week are never sent.')
            : null,
        ],
        confirmLabel: 'Turn invites on',
      });
      if (!ok) {
        toggle.checked = false;
        return;
      }
    }
    toggle.disabled = true;
    try {
      const res = await api.patch('/api/v1/settings', { automatic_invites: on }, { signal });
      settings = res.settings || settings;
      showIn(alert, notice('success', on ? 'Automatic invites are on.' : 'Automatic invites are off: syncs e-mail nobody.'));
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return;
      showIn(alert, notice('error', `The setting was not changed: ${err.message}`));
    }
    show();
    toggle.focus();
  });

  (async () => {
    try {
      const [s, list] = await Promise.all([
        api.get('/api/v1/settings', { signal }),
        api.get(withQuery(SYNCS_PATH, { limit: 20 }), { signal }).catch(() => ({ syncs: [] })),
      ]);
      settings = s.settings;
      est = inviteEstimate(list.syncs);
      show();
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return;
      mail.textContent = '';
      showIn(alert, notice('error', `The invitation setting could not be loaded: ${err.message}`));
    }
  })();
  return { root };
}
