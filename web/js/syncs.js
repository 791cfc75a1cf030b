// The sync panel ("Your sync is pending", Sync now, a running sync) and the
// sync history of the Slack screen.
import { api, isMissingRoute, withQuery, isAbort } from './api.js';
import { h, uid, clear, notice, showIn, busy, timeEl } from './dom.js';
import { syncBadge, countsText } from './labels.js';

export const SYNCS_PATH = '/api/v1/provisioning/slack/syncs';
const POLL_MS = 2000;

export function syncPath(id) {
  return `${SYNCS_PATH}/${encodeURIComponent(id)}`;
}
export function reportHref(id) {
  return `/settings/provisioning/slack/syncs/${encodeURIComponent(id)}`;
}

const isActive = (s) => s && (s.status === 'pending' || s.status === 'running');

/** Calls fn every ms until it returns true or the signal aborts. */
export function poll(fn, ms, signal) {
  let timer = null;
  const tick = async () => {
    if (signal.aborted) return;
    let done = false;
    try {
      done = await fn();
    } catch (err) {
      if (isAbort(err) || err.status === 401) return;
      done = false; // a hiccup: try again at the next tick
    }
    if (!done && !signal.aborted) timer = setTimeout(tick, ms);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  timer = setTimeout(tick, ms);
}

/**
 * syncPanel({sync, signal, onFinished}) → {root, setPending(bool)}
 * sync: the status's sync block {pending, running, next_scheduled_at, last}
 */
export function syncPanel({ sync, signal, onFinished }) {
  const state = { ...sync };
  const body = h('div', { class: 'sync-panel__body' });
  const alert = h('div', { class: 'slot' });
  const root = h('section', { class: 'card sync-panel', 'aria-labelledby': 'sync-heading' },
    h('h2', { id: 'sync-heading' }, 'Sync'), alert, body);
  let watching = false;
  const dryId = uid('dry-run');

  function controls() {
    const dry = h('input', { type: 'checkbox', id: dryId });
    const now = h('button', { type: 'button', class: 'button button--primary' }, 'Sync now');
    now.addEventListener('click', () => busy(now, async () => {
      showIn(alert, null);
      try {
        const res = await api.post(SYNCS_PATH, { dry_run: dry.checked }, { signal });
        const s = res && res.sync;
        state.pending = false;
        state.last = s || state.last;
        showIn(alert, notice('success', dry.checked
          ? 'Preview queued: the sync computes its changes without applying them.'
          : 'Sync queued. It starts within a minute.'));
        render();
        watch(s && s.id);
      } catch (err) {
        if (err.status === 401 || isAbort(err)) return;
        if (isMissingRoute(err)) {
          showIn(alert, notice('error', 'Syncing on demand is not available on this server yet (its API has no sync endpoint).'));
        } else {
          showIn(alert, notice('error', err.message));
          if (err.status === 409) watch(null);
        }
      }
    }));
    return h('div', { class: 'sync-now' },
      h('div', { class: 'choice' }, dry, h('label', { for: dryId },
        'Preview only (dry run): show what would change, apply nothing')),
      h('div', { class: 'actions' }, now));
  }

  function render() {
    clear(body);
    const last = state.last;
    if (state.running || isActive(last)) {
      const running = state.running || (last && last.status === 'running');
      body.append(h('div', { class: 'notice notice--info', role: 'status' },
        h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        h('div', { class: 'notice__body' },
          h('p', { class: 'notice__message' }, running
            ? 'A sync is running. This page refreshes by itself until it is done.'
            : 'A sync is queued and starts within a minute. This page refreshes by itself.'),
          last && last.id ? h('p', {}, h('a', { href: reportHref(last.id) }, 'Open this sync')) : null)));
      return;
    }
    if (last && last.status === 'held') {
      body.append(notice('warning',
        'The last sync is held: it would deactivate more people than the safety threshold allows. Nothing was applied.',
        h('p', {}, h('a', { href: reportHref(last.id) }, 'Review the held sync and approve or discard it'))));
    }
    if (state.pending) {
      body.append(h('div', { class: 'notice notice--info pending', role: 'status' },
        h('span', { class: 'notice__icon', 'aria-hidden': 'true' }, 'ℹ'),
        h('div', { class: 'notice__body' },
          h('p', { class: 'notice__message' }, h('strong', {}, 'Your sync is pending.')),
          h('p', {}, 'The saved configuration applies at the next sync',
            state.next_scheduled_at ? [' (', timeEl(state.next_scheduled_at), ')'] : '',
            '. Sync now to apply it at once.'),
          controls())));
    } else {
      body.append(h('p', {}, 'Slack is synced once a day. ',
        state.next_scheduled_at ? ['Next scheduled sync: ', timeEl(state.next_scheduled_at), '.'] : ''),
      controls());
    }
  }

  // Follows a queued or running sync until it is done, then tells the screen.
  function watch(id) {
    if (watching) return;
    watching = true;
    poll(async () => {
      let s;
      if (id) {
        s = await api.get(syncPath(id), { signal });
        s = s.sync || s;
      } else {
        const st = await api.get('/api/v1/provisioning/slack', { signal });
        Object.assign(state, st.sync);
        s = st.sync.last;
        if (st.sync.running) s = { ...(s || {}), status: 'running' };
      }
      if (isActive(s)) {
        if (s.status !== (state.last && state.last.status)) {
          state.last = s;
          render();
        }
        return false;
      }
      watching = false;
      state.running = false;
      state.last = s;
      render();
      showIn(alert, s && s.status
        ? notice(s.status === 'failed' ? 'error' : 'success',
          `The sync finished: ${syncBadge(s.status).textContent.replace(/^\W+/, '')}.`,
          s.id ? h('p', {}, h('a', { href: reportHref(s.id) }, 'Open its report')) : null)
        : null);
      if (onFinished) onFinished(s);
      return true;
    }, POLL_MS, signal);
  }

  render();
  if (state.running || isActive(state.last)) watch(state.last && state.last.id);
  return {
    root,
    setPending(p) {
      state.pending = p;
      render();
    },
  };
}

/** syncHistory({signal}) → {root, reload()} */
export function syncHistory({ signal }) {
  const alert = h('div', { class: 'slot' });
  const tbody = h('tbody');
  const table = h('table', { class: 'table table--stack' },
    h('caption', { class: 'visually-hidden' }, 'Sync history, newest first'),
    h('thead', {}, h('tr', {},
      ['Queued', 'Trigger', 'Status', 'Started', 'Finished', 'Changes', 'Report'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Load more');
  const empty = h('p', { class: 'muted', hidden: true }, 'No sync has run yet.');
  const root = h('section', { class: 'card history', 'aria-labelledby': 'history-heading' },
    h('h2', { id: 'history-heading' }, 'Sync history'), alert, empty,
    h('div', { class: 'table-wrap' }, table), h('div', { class: 'actions' }, more));
  let before = null;

  function row(s) {
    const label = (t) => ({ 'data-label': t });
    return h('tr', {},
      h('td', label('Queued'), timeEl(s.queued_at)),
      h('td', label('Trigger'), (s.trigger === 'manual' ? 'Manual' : 'Scheduled') + (s.dry_run ? ' · preview' : '')),
      h('td', label('Status'), syncBadge(s.status),
        s.error ? h('p', { class: 'error-line' }, s.error) : null),
      h('td', label('Started'), timeEl(s.started_at)),
      h('td', label('Finished'), timeEl(s.finished_at)),
      h('td', label('Changes'), countsText(s.counts)),
      h('td', label('Report'), h('a', { href: reportHref(s.id), 'aria-label': `Report of the sync queued ${timeEl(s.queued_at).textContent}` },
        s.status === 'held' ? 'Review' : 'View report')));
  }

  async function load(append) {
    try {
      const data = await api.get(withQuery(SYNCS_PATH, { limit: 10, before: append ? before : null }), { signal });
      if (!append) clear(tbody);
      for (const s of data.syncs || []) tbody.append(row(s));
      before = data.next_before || null;
      more.hidden = !before;
      const none = tbody.children.length === 0;
      empty.hidden = !none;
      table.hidden = none;
      showIn(alert, null);
      return data.syncs || [];
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return [];
      table.hidden = true;
      more.hidden = true;
      showIn(alert, isMissingRoute(err)
        ? notice('info', 'Sync history is not available on this server yet (its API has no sync history endpoint).')
        : notice('error', err.message));
      return [];
    }
  }
  more.addEventListener('click', () => busy(more, async () => {
    const firstNew = tbody.children.length;
    await load(true);
    // Move focus to the first newly loaded row's link, so keyboard users continue there.
    const link = tbody.children[firstNew] && tbody.children[firstNew].querySelector('a');
    if (link) link.focus();
    else more.focus();
  }));
  load(false);
  return { root, reload: () => load(false) };
}
