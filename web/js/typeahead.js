// The Slack-group type-ahead: an ARIA 1.2 combobox (input + listbox) that
// searches as one types, debounced so a fast typist sends one request, not
// one per key. Up/Down move through the results (aria-activedescendant keeps
// focus in the input), Enter chooses, Escape closes.
import { h, uid, clear } from './dom.js';
import { isAbort } from './api.js';

const DEBOUNCE_MS = 250;

/**
 * groupCombobox({label, hideLabel, search, onPick, exclude, value, hint})
 *  search(q, signal) → Promise<{groups: [{id,name,handle,user_count}], notice?}>
 *  onPick(group|null): a group was chosen (null: the text was changed after
 *    a choice, in single mode)
 *  exclude(): Set of group ids not to offer (those already chosen)
 *  single: the input shows the chosen group (mapping rows); otherwise it
 *    empties after each choice (the chips hold the choices)
 */
export function groupCombobox({ label, hideLabel = false, search, onPick, exclude = () => new Set(),
  single = false, value = null, hint = null }) {
  const inputId = uid('combo');
  const listId = `${inputId}-list`;
  const statusId = `${inputId}-status`;
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;

  const input = h('input', {
    id: inputId, type: 'text', role: 'combobox', autocomplete: 'off', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
    'aria-describedby': [hint ? hintId : null, statusId, errorId].filter(Boolean).join(' '),
    class: 'combo__input', value: single && value ? value.name : '',
    placeholder: 'Type a group name or handle',
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'combo__list', hidden: true,
    'aria-label': `${label}: results` });
  const status = h('p', { id: statusId, class: 'combo__status', 'aria-live': 'polite' });
  const error = h('p', { id: errorId, class: 'field-error' });
  const root = h('div', { class: 'field combo' },
    h('label', { for: inputId, class: hideLabel ? 'visually-hidden' : null }, label),
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    h('div', { class: 'combo__box' }, input, list),
    status, error);

  let results = [];
  let active = -1;
  let timer = null;
  let inflight = null;
  let serial = 0;
  let chosen = single ? value : null;

  function setError(msg) {
    error.textContent = msg ? `✕ ${msg}` : '';
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function setActive(i) {
    const items = list.querySelectorAll('[role="option"]');
    items.forEach((el, j) => el.setAttribute('aria-selected', j === i ? 'true' : 'false'));
    active = i;
    if (i >= 0 && items[i]) {
      input.setAttribute('aria-activedescendant', items[i].id);
      items[i].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function show(groups, q, noticeText) {
    const skip = exclude();
    results = groups.filter((g) => !skip.has(g.id));
    clear(list);
    results.forEach((g, i) => {
      const li = h('li', { id: `${inputId}-opt-${i}`, role: 'option', class: 'combo__option',
        'aria-selected': 'false' },
      h('span', { class: 'combo__name' }, g.name),
      h('span', { class: 'combo__meta' }, ` @${g.handle} · ${g.user_count} ${g.user_count === 1 ? 'member' : 'members'}`));
      // mousedown, not click: the input keeps focus.
      li.addEventListener('mousedown', (e) => {
        e.preventDefault();
        pick(i);
      });
      list.append(li);
    });
    if (results.length) {
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      setActive(0);
      status.textContent = `${results.length} ${results.length === 1 ? 'group' : 'groups'} found.`;
    } else {
      close();
      status.textContent = q ? `No group matches “${q}”.` : 'No group to offer.';
    }
    if (noticeText) status.textContent = `${status.textContent} ${noticeText}`;
  }

  async function run(q) {
    if (inflight) inflight.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    const mine = ++serial;
    status.textContent = 'Searching…';
    try {
      const data = await search(q, ctrl.signal);
      if (mine !== serial) return; // an older answer arriving late
      setError(null);
      show(data.groups || [], q, data.notice);
    } catch (err) {
      if (isAbort(err) || mine !== serial) return;
      close();
      status.textContent = '';
      setError(err.message);
    } finally {
      if (inflight === ctrl) inflight = null;
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => run(input.value.trim()), DEBOUNCE_MS);
  }

  function pick(i) {
    const g = results[i];
    if (!g) return;
    close();
    if (single) {
      chosen = g;
      input.value = g.name;
      status.textContent = `${g.name} chosen.`;
    } else {
      input.value = '';
      status.textContent = `${g.name} added.`;
    }
    onPick(g);
  }

  input.addEventListener('input', () => {
    if (single && chosen) {
      chosen = null;
      onPick(null);
    }
    if (input.value.trim() === '' && !single) {
      clearTimeout(timer);
      if (inflight) inflight.abort();
      close();
      status.textContent = '';
      return;
    }
    schedule();
  });

  input.addEventListener('keydown', (e) => {
    const open = !list.hidden;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) {
        clearTimeout(timer);
        run(input.value.trim());
      } else {
        setActive(Math.min(active + 1, results.length - 1));
      }
    } else if (e.key === 'ArrowUp') {
      if (open) {
        e.preventDefault();
        setActive(Math.max(active - 1, 0));
      }
    } else if (e.key === 'Home' && open) {
      e.preventDefault();
      setActive(0);
    } else if (e.key === 'End' && open) {
      e.preventDefault();
      setActive(results.length - 1);
    } else if (e.key === 'Enter') {
      // Enter never submits the form from here.
      e.preventDefault();
      if (open && active >= 0) pick(active);
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    } else if (e.key === 'Tab') {
      close();
    }
  });

  input.addEventListener('blur', () => {
    // Let a click on an option land first.
    setTimeout(() => {
      if (document.activeElement !== input) close();
    }, 150);
  });

  return {
    root,
    input,
    setError,
    focus: () => input.focus(),
    get value() { return chosen; },
  };
}
