// Small DOM helpers. Everything from the API goes in as text nodes, never as
// HTML, so a Slack display name cannot inject markup.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'indeterminate']);

/** h('button', {type: 'button', onclick: fn, class: 'x'}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let serial = 0;
export function uid(prefix = 'id') {
  serial += 1;
  return `${prefix}-${serial}`;
}

/**
 * A message box. kind: 'error' | 'success' | 'info' | 'warning'.
 * Errors use role="alert" so a screen reader announces them at once; the rest
 * role="status". An icon and a word back the colour (never colour alone).
 */
export function notice(kind, message, ...extra) {
  const icons = { error: '✕', success: '✓', info: 'ℹ', warning: '⚠' };
  const words = { error: 'Error', success: 'Done', info: 'Note', warning: 'Warning' };
  return h('div', { class: `notice notice--${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'notice__icon', 'aria-hidden': 'true' }, icons[kind]),
    h('div', { class: 'notice__body' },
      h('span', { class: 'visually-hidden' }, `${words[kind]}: `),
      h('p', { class: 'notice__message' }, message),
      extra));
}

/** Replaces the content of a slot with a notice (or empties it with null). */
export function showIn(slot, node) {
  clear(slot);
  if (node) slot.append(node);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return dateFmt.format(d);
}

/** <time datetime=…>readable</time>, or a dash. */
export function timeEl(iso) {
  if (!iso) return h('span', {}, '—');
  return h('time', { datetime: iso }, formatDate(iso));
}

/** A status badge: icon + text + colour. */
export function badge(kind, text) {
  const icons = { ok: '✓', bad: '✕', warn: '⚠', busy: '◌', neutral: '○', info: 'ℹ' };
  return h('span', { class: `badge badge--${kind}` },
    h('span', { class: 'badge__icon', 'aria-hidden': 'true' }, icons[kind] || '•'), text);
}

/** Sets a page title and the h1 that client-side navigation focuses. */
export function pageHeading(text) {
  document.title = `${text} · Provisioning settings`;
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}

/**
 * Runs an async action for a button, showing that it works. The button is
 * marked aria-disabled rather than disabled: a disabled button loses focus,
 * and a keyboard user would be thrown back to the top of the page.
 */
export async function busy(button, fn) {
  if (button.getAttribute('aria-busy') === 'true') return undefined;
  button.setAttribute('aria-busy', 'true');
  button.setAttribute('aria-disabled', 'true');
  try {
    return await fn();
  } finally {
    button.removeAttribute('aria-busy');
    button.removeAttribute('aria-disabled');
  }
}
