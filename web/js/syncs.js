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

const PHASES = { reading: 'Reading Slack', planning: 'Planning the changes', applying: 'Applying the changes' };

/** "Reading Slack: 400 people so far" — the live progress of a running sync, or null. */
export function progressText(s) {
  const p = s && s.progress;
  if (!p || !PHASES[p.phase]) return null;
  const what = p.phase === 'applying' ? 'actions' : 'people';
  const count = p.total != null ? `${p.done} of ${p.total} ${what}` : `${p.done} ${what} so far`;
  return `${PHASES[p.phase]}: ${count}.`;
}

/** Cancels a queued sync; resolves to the sync as it is now. */
export async function cancelSync(id, signal) {
  const res = await api.post(`${syncPath(id)}/cancel`, {}, { signal });
  return res.sync || res;
}

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

// How a finished sync is announced: a held or partly failed sync is not a
// green "Done".
const FINISHED_KIND = {
  succeeded: 'success',
  completed_with_errors: 'warning',
  held: 'warning',
  failed: 'error',
  discarded: 'info',
};

/**
 * syncPanel({sync, signal, onFinished, blocked}) → {root, setPending(bool)}
 * sync: the status's sync block {pending, running, next_scheduled_at, last}
 * blocked: null, or the sentence saying why Sync now cannot run (the
 *   connection needs reconnecting): the button is then disabled.
 */
export function syncPanel({ sync, signal, onFinished, onQueued, blocked = null }) {
  const state = { ...sync };
  const body = h('div', { class: 'sync-panel__body' });
  const alert = h('div', { class: 'slot' });
  const root = h('section', { class: 'card sync-panel', 'aria-labelledby': 'sync-heading' },
    h('h2', { id: 'sync-heading' }, 'Sync'), alert, body);
  let watching = false;
  const dryId = uid('dry-run');

  function controls() {
    const dry = h('input', { type: 'checkbox', id: dryId, disabled: !!blocked });
    const blockedId = uid('sync-blocked');
    const now = h('button', { type: 'button', class: 'button button--primary', disabled: !!blocked,
      'aria-describedby': blocked ? blockedId : null }, 'Sync now');
    now.addEventListener('click', () => busy(now, async () => {
      showIn(alert, null);
      try {
        const res = await api.post(SYNCS_PATH, { dry_run: dry.checked }, { signal });
        const s = res && res.sync;
        state.pending = false;
        state.last = s || state.last;
        // One notice at a time: the panel's own "queued" box says it, and
        // takes the focus that the vanished button had.
        state.queuedPreview = dry.checked;
        render();
        const box = body.querySelector('.sync-active');
        if (box) box.focus();
        if (onQueued) onQueued(s);
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
      blocked ? h('p', { class: 'hint', id: blockedId }, blocked) : null,
      h('div', { class: 'choice' }, dry, h('label', { for: dryId },
        'Preview only (dry run): show what would change, apply nothing')),
      h('div', { class: 'actions' }, now));
  }

  function render() {
    clear(body);
    const last = state.last;
    if (state.running || isActive(last)) {
      const running = state.running || (last && last.status === 'running');
      const what = state.queuedPreview ? 'A preview (nothing is applied)' : 'A sync';
      body.append(h('div', { class: 'notice notice--info sync-active', role: 'status', tabindex: '-1' },
        h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        h('div', { class: 'notice__body' },
          h('p', { class: 'notice__message' }, running
            ? `${what} is running. This page refreshes by itself until it is done.`
            : `${what} is queued and starts shortly. This page refreshes by itself.`),
          running && progressText(last) ? h('p', { class: 'sync-progress' }, progressText(last)) : null,
          !running && last && last.id ? cancelButton(last) : null,
          last && last.id ? h('p', {}, h('a', { href: reportHref(last.id) }, 'Open this sync')) : null)));
      return;
    }
    if (last && last.status === 'held') {
      body.append(notice('warning',
        'The sync finished: Held for approval. It would deactivate more people than the safety threshold allows. Nothing was applied.',
        h('p', {}, h('a', { href: reportHref(last.id) }, 'Open its report'), ' to review the held sync and approve or discard it.')));
    }
    if (state.pending) {
      body.append(h('div', { class: 'notice notice--info pending', role: 'status' },
        h('span', { class: 'notice__icon', 'aria-hidden': 'true' }, 'ℹ'),
        h('div', { class: 'notice__body' },
          h('p', { class: 'notice__message' }, h('strong', {}, 'Your sync is pending.')),
          blocked
            ? h('p', {}, 'The saved configuration applies at the first sync after Slack is reconnected.')
            : h('p', {}, 'The saved configuration applies at the next sync',
              state.next_scheduled_at ? [' (', timeEl(state.next_scheduled_at), ')'] : '',
              '. Sync now to apply it at once.'),
          controls())));
    } else {
      body.append(h('p', {}, 'Slack is synced once a day. ',
        state.next_scheduled_at ? ['Next scheduled sync: ', timeEl(state.next_scheduled_at), '.'] : ''),
      controls());
    }
  }

  function cancelButton(last) {
    const b = h('button', { type: 'button', class: 'button' }, 'Cancel this sync');
    b.addEventListener('click', () => busy(b, async () => {
      try {
        await cancelSync(last.id, signal);
      } catch (err) {
        if (err.status === 401 || isAbort(err)) return;
        // 409: it started meanwhile; the watch shows it running.
        showIn(alert, notice(err.status === 409 ? 'info' : 'error', err.message));
      }
    }));
    return h('div', { class: 'actions' }, b);
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
        const was = state.last || {};
        if (s.status !== was.status || progressText(s) !== progressText(was)) {
          const hadFocus = body.contains(document.activeElement);
          state.last = s;
          render();
          const box = body.querySelector('.sync-active');
          if (hadFocus && box) box.focus();
        }
        return false;
      }
      watching = false;
      state.running = false;
      state.queuedPreview = false;
      state.last = s;
      // Focus was on the vanished "queued" box: it moves to the notice
      // that replaces it.
      const hadFocus = body.contains(document.activeElement);
      render();
      // A held sync already has its own warning box with the way forward.
      const finished = s && s.status && s.status !== 'held'
        ? notice(FINISHED_KIND[s.status] || 'info',
          `The sync finished: ${syncBadge(s.status).textContent.replace(/^\W+/, '')}.`,
          s.id ? h('p', {}, h('a', { href: reportHref(s.id) }, 'Open its report')) : null)
        : null;
      showIn(alert, finished);
      if (hadFocus) {
        const target = finished || body.querySelector('.notice');
        if (target) {
          target.setAttribute('tabindex', '-1');
          target.focus();
        }
      }
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
    let cancel = null;
    if (s.status === 'pending') {
      cancel = h('button', { type: 'button', class: 'button button--quiet' }, 'Cancel');
      cancel.addEventListener('click', () => busy(cancel, async () => {
        try {
          await cancelSync(s.id, signal);
        } catch (err) {
          if (err.status === 401 || isAbort(err)) return;
          showIn(alert, notice(err.status === 409 ? 'info' : 'error', err.message));
        }
        await load(false);
        const first = tbody.querySelector('a, button');
        if (first) first.focus();
      }));
    }
    return h('tr', {},
      h('td', label('Queued'), timeEl(s.queued_at)),
      h('td', label('Trigger'), (s.trigger === 'manual' ? 'Manual' : 'Scheduled') + (s.dry_run ? ' · preview' : ''),
        s.workspace && s.workspace.name ? h('span', { class: 'muted history__workspace' }, s.workspace.name) : null),
      h('td', label('Status'), syncBadge(s.status),
        progressText(s) ? h('p', { class: 'sync-progress' }, progressText(s)) : null,
        s.error ? h('p', { class: 'error-line' }, s.error) : null, cancel),
      h('td', label('Started'), timeEl(s.started_at)),
      h('td', label('Finished'), timeEl(s.finished_at)),
      h('td', label('Changes'), isActive(s) ? '—' : countsText(s.counts)),
      h('td', label('Report'), isActive(s) ? h('span', { class: 'muted' }, 'When it is done')
        : h('a', { href: reportHref(s.id), 'aria-label': `Report of the sync queued ${timeEl(s.queued_at).textContent}` },
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
