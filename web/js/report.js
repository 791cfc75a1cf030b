// /settings/provisioning/slack/syncs/{id}: one sync and every action it took
// (or, when held or a preview, would take), with filters that the Export CSV
// link carries too. The filters live in the address, so a reload or a shared
// link shows the same view.
import { api, isMissingRoute, withQuery, isAbort } from './api.js';
import { h, uid, clear, notice, showIn, pageHeading, busy, timeEl, badge } from './dom.js';
import { syncBadge, COUNT_LABELS, ACTION_LABELS, OUTCOME, FIELD_LABELS, CHANGED_FILTERS } from './labels.js';
import { confirmDialog } from './dialog.js';
import { syncPath, poll, progressText } from './syncs.js';
import { replaceUrl } from './nav.js';

// Rows per page: a 3,000-action first sync is 15 clicks, not 60; the API
// allows up to 500.
const PAGE = 200;
// Typing in the person search waits this long for a pause before asking.
const SEARCH_DELAY_MS = 300;

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const id = params[0];
  // The report is the one wide screen: its table gets the window's width.
  root.classList.add('view--wide');
  root.append(
    h('p', { class: 'breadcrumb' }, h('a', { href: '/settings/provisioning/slack' }, '← Slack provisioning')),
    pageHeading('Sync report'));
  const pageAlert = h('div', { class: 'slot' });
  const body = h('div');
  root.append(pageAlert, body);

  let sync;
  try {
    const res = await api.get(syncPath(id), { signal });
    sync = res.sync || res;
  } catch (err) {
    if (err.status === 401 || isAbort(err)) throw err;
    showIn(pageAlert, notice('error', isMissingRoute(err)
      ? 'Sync reports are not available on this server yet (its API has no sync endpoint).'
      : err.message));
    return;
  }
  // Whether invitations can go out, for the created people's rows.
  try {
    const st = await api.get('/api/v1/settings', { signal });
    ctx.mailConfigured = !!(st.settings && st.settings.mail_configured);
  } catch (err) {
    if (err.status === 401 || isAbort(err)) throw err;
    ctx.mailConfigured = null; // unknown: the row says only what the outbox says
  }
  show(ctx, sync, body, pageAlert);
}

function show(ctx, sync, body, pageAlert) {
  const { signal, query } = ctx;
  clear(body);
  body.append(summary(sync));

  if (sync.status === 'pending' || sync.status === 'running') {
    body.append(h('div', { class: 'notice notice--info', role: 'status' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('div', { class: 'notice__body' }, h('p', { class: 'notice__message' },
        sync.status === 'running'
          ? 'This sync is running. Its report appears when it is done; this page refreshes by itself.'
          : 'This sync is queued and starts shortly. Its report appears when it is done; this page refreshes by itself.'),
        progressText(sync) ? h('p', { class: 'sync-progress' }, progressText(sync)) : null)));
    poll(async () => {
      const res = await api.get(syncPath(sync.id), { signal });
      const s = res.sync || res;
      if (s.status === 'pending' || s.status === 'running') {
        if (s.status === sync.status && progressText(s) === progressText(sync)) return false; // keep polling
        show(ctx, s, body, pageAlert); // queued → running: show() polls on
        return true;
      }
      show(ctx, s, body, pageAlert);
      body.querySelector('.summary h2').focus();
      return true;
    }, 2000, signal);
    return;
  }

  if (sync.status === 'held') body.append(heldBox(ctx, sync, body, pageAlert));
  if (sync.status === 'discarded') {
    body.append(notice('info', 'This sync was discarded: nothing was applied. The actions below were planned only.'));
  }
  body.append(actionsSection(sync, query, signal, ctx.mailConfigured));
}

function summary(s) {
  const rows = [];
  const dd = (term, ...value) => rows.push(h('div', { class: 'facts__row' }, h('dt', {}, term), h('dd', {}, value)));
  dd('Status', syncBadge(s.status));
  dd('Trigger', s.trigger === 'manual' ? 'Manual' : 'Scheduled');
  if (s.workspace && s.workspace.name) dd('Workspace', s.workspace.name);
  if (s.dry_run) dd('Kind', badge('info', 'Preview (dry run): nothing was applied'));
  dd('Queued', timeEl(s.queued_at));
  dd('Started', timeEl(s.started_at));
  dd('Finished', timeEl(s.finished_at));
  const counts = s.counts || {};
  const list = h('ul', { class: 'counts' },
    COUNT_LABELS.map(([k, w]) => h('li', {}, h('strong', {}, String(counts[k] || 0)), ` ${w}`)));
  return h('section', { class: 'card summary', 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading', tabindex: '-1' }, 'Summary'),
    // A held sync's "error" explains the hold; the held box below says what to do.
    s.error ? notice(s.status === 'held' || s.status === 'discarded' ? 'warning' : 'error', s.error) : null,
    h('dl', { class: 'facts facts--grid' }, rows),
    h('h3', { class: 'subhead' }, 'Actions by kind'), list);
}

function heldBox(ctx, sync, body, pageAlert) {
  const slot = h('div', { class: 'slot' });
  const approve = h('button', { type: 'button', class: 'button button--primary' }, 'Approve and apply');
  const discard = h('button', { type: 'button', class: 'button' }, 'Discard');
  const deactivations = (sync.counts && sync.counts.deactivated) || 0;
  const act = (what, button) => async () => {
    const ok = await confirmDialog(what === 'approve' ? {
      title: 'Approve this sync?',
      body: h('p', {}, `The planned actions are applied now, including ${deactivations} deactivation${deactivations === 1 ? '' : 's'}.`),
      confirmLabel: 'Approve and apply',
      onConfirm: async () => {
        const res = await api.post(`${syncPath(sync.id)}/approve`, {}, { signal: ctx.signal });
        sync = (res && (res.sync || res)) || sync;
      },
    } : {
      title: 'Discard this sync?',
      body: h('p', {}, 'Nothing of it is applied. The next sync plans again from scratch.'),
      confirmLabel: 'Discard',
      danger: true,
      onConfirm: async () => {
        const res = await api.post(`${syncPath(sync.id)}/discard`, {}, { signal: ctx.signal });
        sync = (res && (res.sync || res)) || sync;
      },
    });
    if (!ok) return;
    showIn(pageAlert, notice('success', what === 'approve'
      ? 'Approved: the sync applies its actions now.' : 'Discarded: nothing was applied.'));
    // Show the sync as it is now (the approve answer may be the sync itself).
    try {
      const res = await api.get(syncPath(sync.id), { signal: ctx.signal });
      show(ctx, res.sync || res, body, pageAlert);
    } catch (err) {
      if (!isAbort(err) && err.status !== 401) showIn(pageAlert, notice('error', err.message));
    }
  };
  approve.addEventListener('click', () => busy(approve, act('approve', approve)));
  discard.addEventListener('click', () => busy(discard, act('discard', discard)));
  return h('section', { class: 'notice notice--warning held', 'aria-labelledby': 'held-heading' },
    h('span', { class: 'notice__icon', 'aria-hidden': 'true' }, '⚠'),
    h('div', { class: 'notice__body' },
      h('h2', { id: 'held-heading', class: 'notice__title' }, 'This sync is held'),
      h('p', {}, `It would deactivate ${deactivations} ${deactivations === 1 ? 'person' : 'people'}, more than the safety threshold allows. `,
        'Nothing has been applied. Review the planned actions below, then approve or discard the sync.'),
      slot,
      h('div', { class: 'actions' }, approve, discard)));
}

// A created person's invitation, in words ("Invitation sent").
function invitationLine(inv, mailConfigured) {
  if (!inv) return null;
  let kind = 'neutral';
  let text = 'Invitation queued';
  if (inv.state === 'sent') { kind = 'ok'; text = 'Invitation sent'; }
  else if (inv.state === 'failed') { kind = 'bad'; text = 'Invitation not sent'; }
  else if (mailConfigured === false) { kind = 'warn'; text = 'Invitation waiting: no mail server'; }
  return h('p', { class: 'invitation' }, badge(kind, text),
    inv.state !== 'sent' && inv.error ? h('span', { class: 'muted invitation__why' }, ` ${inv.error}`) : null);
}

function actionsSection(sync, query, signal, mailConfigured) {
  const filters = {
    q: (query.get('q') || '').trim(),
    outcome: query.get('outcome') || '',
    changed: (query.get('changed') || '').split(',').filter((c) => CHANGED_FILTERS.some(([k]) => k === c)),
  };
  const outcomeId = uid('outcome');
  const outcome = h('select', { id: outcomeId },
    h('option', { value: '' }, 'All outcomes'),
    Object.entries(OUTCOME)
      .filter(([k]) => k !== 'planned' || sync.status === 'held' || sync.status === 'discarded' || sync.dry_run)
      .map(([k, [, text]]) => h('option', { value: k, selected: filters.outcome === k }, text)));
  const changedBoxes = CHANGED_FILTERS.map(([k, text]) => {
    const cbId = uid(`changed-${k}`);
    const cb = h('input', { type: 'checkbox', id: cbId, value: k, checked: filters.changed.includes(k) });
    return { cb, el: h('div', { class: 'choice choice--inline' }, cb, h('label', { for: cbId }, text)) };
  });
  const searchId = uid('q');
  const search = h('input', {
    type: 'search', id: searchId, value: filters.q, maxlength: '100', autocomplete: 'off',
    'aria-describedby': `${searchId}-hint`,
  });
  const exportLink = h('a', { class: 'button', download: '' }, 'Export CSV');
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const alert = h('div', { class: 'slot' });
  const tbody = h('tbody');
  const table = h('table', { class: 'table table--stack report' },
    h('caption', { class: 'visually-hidden' }, 'Actions of this sync'),
    h('colgroup', {}, ['action', 'person', 'outcome', 'changes', 'details'].map((c) => h('col', { class: `col-${c}` }))),
    h('thead', {}, h('tr', {}, ['Action', 'Person', 'Outcome', 'Changes', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more actions');
  let cursor = null;
  let inflight = null;

  const params = () => ({ q: filters.q, outcome: filters.outcome, changed: filters.changed.join(',') });
  const filtered = () => !!(filters.q || filters.outcome || filters.changed.length);

  function updateAddress() {
    const url = withQuery(location.pathname, params());
    replaceUrl(url);
    exportLink.href = withQuery(`${syncPath(sync.id)}/export.csv`, params());
  }

  function row(a) {
    const [kind, text] = OUTCOME[a.outcome] || ['neutral', a.outcome];
    const person = a.user
      ? [h('span', { class: 'person__name' }, a.user.name || a.user.email), a.user.email ? h('span', { class: 'muted person__email' }, a.user.email) : null]
      : [h('span', { class: 'muted' }, a.slack_user_id ? `Slack user ${a.slack_user_id}` : '—')];
    const changes = changesCell(a.changes || []);
    const label = (t) => ({ 'data-label': t });
    return h('tr', {},
      h('td', { ...label('Action'), class: 'action-cell' }, ACTION_LABELS[a.action] || a.action),
      h('td', { ...label('Person'), class: 'person-cell' }, h('div', { class: 'person' }, person)),
      h('td', { ...label('Outcome'), class: 'outcome-cell' }, badge(kind, text)),
      h('td', { ...label('Changes'), class: 'changes-cell' }, changes),
      h('td', { ...label('Details'), class: 'details' }, a.details || '', invitationLine(a.invitation, mailConfigured)));
  }

  async function load(append) {
    if (inflight) inflight.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    signal.addEventListener('abort', () => ctrl.abort());
    status.textContent = 'Loading actions…';
    try {
      const data = await api.get(withQuery(`${syncPath(sync.id)}/actions`,
        { ...params(), limit: PAGE, cursor: append ? cursor : null }), { signal: ctrl.signal });
      if (!append) clear(tbody);
      const actions = data.actions || [];
      for (const a of actions) tbody.append(row(a));
      cursor = data.next_cursor || null;
      more.hidden = !cursor;
      const n = tbody.children.length;
      table.hidden = n === 0;
      let none = 'This sync took no action.';
      if (filtered()) none = 'No action matches these filters.';
      else if (sync.status === 'failed') none = 'This sync stopped before taking any action.';
      status.textContent = n === 0
        ? none
        : `Showing ${n} action${n === 1 ? '' : 's'}${cursor ? '; more can be loaded' : ''}.`;
      showIn(alert, null);
      exportLink.hidden = false;
      return actions.length;
    } catch (err) {
      if (isAbort(err) || err.status === 401) return 0;
      status.textContent = '';
      table.hidden = true;
      more.hidden = true;
      if (isMissingRoute(err)) {
        exportLink.hidden = true;
        showIn(alert, notice('info', 'The list of actions is not available on this server yet (its API has no report endpoint).'));
      } else {
        showIn(alert, notice('error', err.message));
      }
      return 0;
    } finally {
      if (inflight === ctrl) inflight = null;
    }
  }

  const apply = () => {
    filters.outcome = outcome.value;
    filters.changed = changedBoxes.filter((b) => b.cb.checked).map((b) => b.cb.value);
    updateAddress();
    load(false);
  };
  outcome.addEventListener('change', apply);
  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const q = search.value.trim();
      if (q === filters.q) return;
      filters.q = q;
      updateAddress();
      load(false);
    }, SEARCH_DELAY_MS);
  });
  signal.addEventListener('abort', () => clearTimeout(typing));
  changedBoxes.forEach((b) => b.cb.addEventListener('change', apply));
  more.addEventListener('click', () => busy(more, async () => {
    const first = tbody.children.length;
    await load(true);
    const cell = tbody.children[first] && tbody.children[first].querySelector('td');
    if (cell) {
      cell.setAttribute('tabindex', '-1');
      cell.focus();
    } else if (!more.hidden) more.focus();
  }));

  updateAddress();
  load(false);
  return h('section', { class: 'card report-actions', 'aria-labelledby': 'actions-heading' },
    h('div', { class: 'report-actions__head' },
      h('h2', { id: 'actions-heading' }, sync.status === 'held' || sync.dry_run ? 'Planned actions' : 'Actions'),
      exportLink),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the actions', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field field--search' }, h('label', { for: searchId }, 'Search by person'), search,
        h('p', { class: 'hint', id: `${searchId}-hint` }, 'Part of a name, an e-mail address or a Slack user ID.')),
      h('div', { class: 'field' }, h('label', { for: outcomeId }, 'Outcome'), outcome),
      h('fieldset', { class: 'fieldset--plain' }, h('legend', {}, 'Data that changed'),
        h('div', { class: 'choices-inline' }, changedBoxes.map((b) => b.el)))),
    alert, status,
    h('div', { class: 'table-wrap' }, table),
    h('div', { class: 'actions' }, more));
}

// One change as "Field: from → to".
function changeLine(c) {
  return h('li', {},
    h('span', { class: 'changes__field' }, `${FIELD_LABELS[c.field] || c.field}: `),
    h('span', { class: 'changes__from value' }, fmt(c.from)), ' → ', h('span', { class: 'changes__to value' }, fmt(c.to)));
}

// A row stays one or two lines tall: one change is shown whole, several are
// summarised by their fields and open with one click.
function changesCell(changes) {
  if (!changes.length) return h('span', { class: 'muted' }, '—');
  if (changes.length === 1) return h('ul', { class: 'changes' }, changeLine(changes[0]));
  const fields = [...new Set(changes.map((c) => FIELD_LABELS[c.field] || c.field))];
  return h('details', { class: 'changes-more' },
    h('summary', {}, `${changes.length} changes: ${fields.join(', ')}`),
    h('ul', { class: 'changes' }, changes.map(changeLine)));
}

function fmt(v) {
  if (v === null || v === undefined || v === '') return '(empty)';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}
