// /settings/users: the organization's directory — who was imported, from
// where, active or deactivated, in which team — with each person's
// provisioning facts one click away, and deactivate or reactivate by hand
// (PATCH /api/v1/users/{id}: a change a sync never undoes, SPEC §7.7).
// The filters live in the address, like the report's.
import { api, isAbort, withQuery } from './api.js';
import { h, uid, clear, notice, showIn, pageHeading, busy, badge, timeEl } from './dom.js';
import { confirmDialog } from './dialog.js';
import { replaceUrl } from './nav.js';
import { reportHref } from './syncs.js';
import { ACTION_LABELS } from './labels.js';

const PAGE = 100;
const SEARCH_DELAY_MS = 300;

function statusBadge(u) {
  if (u.status === 'active') return badge('ok', 'Active');
  if (u.deactivated_by === 'administrator') return badge('warn', 'Deactivated by an administrator');
  if (u.deactivated_by === 'sync') return badge('neutral', 'Deactivated by a sync');
  return badge('neutral', 'Deactivated');
}

// The person's picture: the product's own copy (SPEC §2.5), or their
// initials when there is none (Slack's default avatar is no picture).  The
// name is next to it, so the image itself says nothing more (alt="").
function picture(u, shown) {
  if (u.picture_url) {
    return h('img', { class: 'person__picture', src: u.picture_url, alt: '', width: '40', height: '40',
      loading: 'lazy', decoding: 'async' });
  }
  const initials = (u.first_name || u.last_name)
    ? `${[...(u.first_name || '')][0] || ''}${[...(u.last_name || '')][0] || ''}`
    : [...shown][0] || '?';
  return h('span', { class: 'person__picture person__picture--none', 'aria-hidden': 'true' }, initials.toUpperCase());
}

export async function render({ root, query, signal, app }) {
  root.append(pageHeading('Users'),
    h('p', { class: 'lead' }, 'Everyone in your organization: people a sync imported from Slack and people added by hand. ',
      'A deactivation or reactivation you make here is never undone by a sync.'));
  const filters = {
    q: (query.get('q') || '').trim(),
    source: ['slack', 'manual'].includes(query.get('source')) ? query.get('source') : '',
    status: ['active', 'deactivated'].includes(query.get('status')) ? query.get('status') : '',
    team: /^\d+$/.test(query.get('team') || '') ? query.get('team') : '',
  };
  let teams = [];
  try {
    teams = (await api.get('/api/v1/teams', { signal })).teams || [];
  } catch (err) {
    if (err.status === 401 || isAbort(err)) throw err;
  }
  const ids = { q: uid('q'), source: uid('source'), status: uid('status'), team: uid('team') };
  const search = h('input', { type: 'search', id: ids.q, value: filters.q, maxlength: '200', autocomplete: 'off' });
  const select = (id, value, options) => h('select', { id },
    options.map(([v, text]) => h('option', { value: v, selected: value === v }, text)));
  const source = select(ids.source, filters.source, [['', 'Any source'], ['slack', 'Imported from Slack'], ['manual', 'Added by hand']]);
  const status = select(ids.status, filters.status, [['', 'Any status'], ['active', 'Active'], ['deactivated', 'Deactivated']]);
  const team = select(ids.team, filters.team, [['', 'Any team'], ...teams.map((t) => [String(t.id), t.name])]);
  const statusLine = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const alert = h('div', { class: 'slot' });
  const list = h('ul', { class: 'people', 'aria-label': 'Users' });
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more users');
  let cursor = null;
  let inflight = null;
  const me = app.me && app.me.user ? app.me.user.id : null;

  function params() {
    return { q: filters.q, source: filters.source, status: filters.status, team: filters.team };
  }

  async function facts(u, box, button) {
    if (!box.hidden) {
      box.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    button.setAttribute('aria-expanded', 'true');
    box.hidden = false;
    clear(box).append(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await api.get(`/api/v1/users/${u.id}`, { signal });
      const p = res.user.provisioning || {};
      const rows = [];
      const dd = (term, ...value) => rows.push(h('div', { class: 'facts__row' }, h('dt', {}, term), h('dd', {}, value)));
      dd('Slack member', p.slack_user_id ? p.slack_user_id : 'Not linked to Slack');
      dd('Managed by a sync', p.provisioned ? 'Yes: a sync created or linked this account' : 'No');
      if (p.status_changed_by) {
        dd(res.user.status === 'active' ? 'Reactivated by hand' : 'Deactivated by hand',
          `${p.status_changed_by.name}, `, timeEl(p.status_changed_at));
      } else if (p.deactivated_by === 'sync') {
        dd('Deactivated by a sync', timeEl(p.deactivated_at));
      }
      const last = p.last_sync_action;
      dd('Last change by a sync', last
        ? [`${ACTION_LABELS[last.action] || last.action}, `, timeEl(last.at), ' — ',
          h('a', { href: reportHref(last.sync_id) }, `report of sync ${last.sync_id}`)]
        : 'None');
      clear(box).append(h('dl', { class: 'facts' }, rows), last && last.details ? h('p', { class: 'hint' }, last.details) : null);
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return;
      clear(box).append(notice('error', err.message));
    }
  }

  function item(u) {
    const factsId = uid('facts');
    const box = h('div', { id: factsId, class: 'person-facts', hidden: true });
    const more = h('button', { type: 'button', class: 'button button--quiet', 'aria-expanded': 'false', 'aria-controls': factsId },
      'Provisioning details');
    more.addEventListener('click', () => facts(u, box, more));
    let toggle = null;
    if (u.id !== me) {
      const deactivate = u.status === 'active';
      toggle = h('button', { type: 'button', class: deactivate ? 'button button--danger' : 'button' },
        deactivate ? 'Deactivate' : 'Reactivate');
      toggle.addEventListener('click', async () => {
        const name = u.display_name || u.email;
        let changed = null;
        const ok = await confirmDialog({
          title: deactivate ? `Deactivate ${name}?` : `Reactivate ${name}?`,
          body: deactivate
            ? [h('p', {}, `${name} can no longer sign in and is signed out everywhere now. Their data and team memberships are kept.`),
              h('p', {}, h('strong', {}, 'A sync never reactivates them: '), 'only an administrator can, here.')]
            : [h('p', {}, `${name} can sign in again.`),
              u.source === 'slack' ? h('p', {}, 'If they are no longer in the Slack import, a later sync may deactivate them again, with a line in its report.') : null],
          confirmLabel: deactivate ? 'Deactivate' : 'Reactivate',
          danger: deactivate,
          onConfirm: async () => {
            changed = (await api.patch(`/api/v1/users/${u.id}`, { status: deactivate ? 'deactivated' : 'active' }, { signal })).user;
          },
        });
        // After the dialog has closed (and given focus back): the row is
        // redrawn, and the button that was pressed is gone, so its twin
        // takes the focus.
        if (!ok || !changed) return;
        const fresh = item(changed);
        li.replaceWith(fresh);
        showIn(alert, notice('success', deactivate ? `${name} is deactivated.` : `${name} is active again.`));
        const twin = fresh.querySelector('.person__toggle');
        if (twin) twin.focus();
      });
      toggle.classList.add('person__toggle');
    }
    const shown = u.display_name || `${u.first_name} ${u.last_name}`.trim() || u.email;
    const li = h('li', { class: 'card person-row', 'data-user-id': String(u.id) },
      h('div', { class: 'person-row__head' },
        h('div', { class: 'person-row__who' },
          picture(u, shown),
          h('div', { class: 'person' },
            h('span', { class: 'person__name' }, shown),
            h('span', { class: 'muted person__email' }, u.email))),
        h('div', { class: 'person-row__meta' }, statusBadge(u),
          h('span', { class: 'muted' }, u.source === 'slack' ? 'Imported from Slack' : 'Added by hand'),
          u.role === 'administrator' ? badge('info', 'Administrator') : null)),
      h('div', { class: 'actions' }, more, toggle), box);
    return li;
  }

  async function load(append) {
    if (inflight) inflight.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    signal.addEventListener('abort', () => ctrl.abort());
    statusLine.textContent = 'Loading users…';
    try {
      const data = await api.get(withQuery('/api/v1/users', { ...params(), limit: PAGE, cursor: append ? cursor : null }),
        { signal: ctrl.signal });
      if (!append) clear(list);
      for (const u of data.users || []) list.append(item(u));
      cursor = data.next_cursor || null;
      more.hidden = !cursor;
      const n = list.children.length;
      const filtered = filters.q || filters.source || filters.status || filters.team;
      statusLine.textContent = n === 0
        ? (filtered ? 'No user matches these filters.' : 'Your organization has no users yet.')
        : `Showing ${n} user${n === 1 ? '' : 's'}${cursor ? '; more can be loaded' : ''}.`;
      showIn(alert, null);
    } catch (err) {
      if (isAbort(err) || err.status === 401) return;
      statusLine.textContent = '';
      showIn(alert, notice('error', err.message));
    } finally {
      if (inflight === ctrl) inflight = null;
    }
  }

  const apply = () => {
    filters.source = source.value;
    filters.status = status.value;
    filters.team = team.value;
    replaceUrl(withQuery(location.pathname, params()));
    load(false);
  };
  [source, status, team].forEach((s) => s.addEventListener('change', apply));
  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      if (search.value.trim() === filters.q) return;
      filters.q = search.value.trim();
      apply();
    }, SEARCH_DELAY_MS);
  });
  signal.addEventListener('abort', () => clearTimeout(typing));
  more.addEventListener('click', () => busy(more, async () => {
    const first = list.children.length;
    await load(true);
    const next = list.children[first] && list.children[first].querySelector('button');
    if (next) next.focus();
  }));

  root.append(
    h('form', { class: 'card filters', role: 'search', 'aria-label': 'Filter the users', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field field--search' }, h('label', { for: ids.q }, 'Search'), search,
        h('p', { class: 'hint' }, 'Part of a name, an e-mail address or a Slack user ID.')),
      h('div', { class: 'field' }, h('label', { for: ids.source }, 'Source'), source),
      h('div', { class: 'field' }, h('label', { for: ids.status }, 'Status'), status),
      h('div', { class: 'field' }, h('label', { for: ids.team }, 'Team'), team)),
    alert, statusLine, list, h('div', { class: 'actions' }, more));
  await load(false);
}
