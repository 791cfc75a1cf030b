// Boot and client-side router of the settings page. nginx serves index.html
// for every unknown path, so each route below is also a real URL that can be
// reloaded, bookmarked, and reached from the OAuth callback's redirect.
import { api, onUnauthorized, isAbort } from './js/api.js';
import { h, clear, notice, pageHeading } from './js/dom.js';
import { DEFAULT_PATH, setShown, isShown, mustAskBeforeLeaving, setLeaveGuard } from './js/nav.js';
import { confirmDialog } from './js/dialog.js';
import * as signin from './js/signin.js';
import * as providers from './js/providers.js';
import * as slack from './js/slack.js';
import * as report from './js/report.js';
import * as users from './js/users.js';
import * as teams from './js/teams.js';
import * as password from './js/password.js';

const routes = [
  { re: /^\/signin\/?$/, view: signin, public: true },
  { re: /^\/signin\/(forgot|reset)\/?$/, view: password, public: true },
  { re: /^\/settings\/provisioning\/?$/, view: providers },
  { re: /^\/settings\/provisioning\/slack\/?$/, view: slack },
  { re: /^\/settings\/provisioning\/slack\/syncs\/([^/]+)\/?$/, view: report },
  { re: /^\/settings\/users\/?$/, view: users },
  { re: /^\/settings\/teams\/?$/, view: teams },
  { re: /^\/settings\/teams\/(\d+)\/?$/, view: teams },
];

const app = {
  me: null, // {user, organization} once known
  navigate,
  setMe,
};

let current = null; // {controller} of the view on screen
let firstRender = true;

function match(pathname) {
  for (const r of routes) {
    const m = pathname.match(r.re);
    if (m) return { route: r, params: m.slice(1).map(decodeURIComponent) };
  }
  return null;
}

function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

function setMe(me) {
  app.me = me;
  const box = document.getElementById('account');
  const who = document.getElementById('account-who');
  const nav = document.getElementById('site-nav');
  if (me) {
    who.textContent = `${me.user.name} · ${me.organization.name}`;
    box.hidden = false;
    nav.hidden = false;
  } else {
    who.textContent = '';
    box.hidden = true;
    nav.hidden = true;
  }
}

async function render() {
  if (current) current.controller.abort();
  const controller = new AbortController();
  current = { controller };
  const main = document.getElementById('main');
  let { pathname } = location;
  if (pathname === '/' || pathname === '/settings' || pathname === '/settings/') {
    history.replaceState(null, '', DEFAULT_PATH);
    pathname = DEFAULT_PATH;
  }
  setShown(pathname + location.search);
  const found = match(pathname);
  // Each render gets a fresh container, so a late answer of the previous
  // screen writes into a detached node and never into this one.
  const root = h('div', { class: 'view' });
  clear(main).append(root);

  if (!found) {
    root.append(pageHeading('Page not found'),
      notice('error', 'There is no such page.'),
      h('p', {}, h('a', { href: DEFAULT_PATH }, 'Go to the provisioning settings')));
    finish(root);
    return;
  }
  try {
    if (!found.route.public && !app.me) {
      setMe(await api.get('/api/v1/me', { signal: controller.signal }));
    }
    const done = found.route.view.render({
      root, params: found.params, query: new URLSearchParams(location.search),
      signal: controller.signal, app,
    });
    // Views put their heading up before their first request: move focus to
    // it now, so the new page is announced while its data loads.
    focusHeading(root);
    await done;
  } catch (err) {
    if (isAbort(err) || controller.signal.aborted) return;
    if (err.status === 401) return; // the 401 handler has moved on to /signin
    root.append(pageHeading('Something went wrong'), notice('error', err.message));
  }
  if (!controller.signal.aborted) finish(root);
}

// After a client-side navigation, focus moves to the new page's heading so a
// screen reader announces it and Tab starts from the top of the content. The
// very first load leaves focus where the browser puts it.
function focusHeading(root) {
  if (firstRender) return;
  const h1 = root.querySelector('h1');
  const active = document.activeElement;
  if (h1 && (!active || active === document.body || !active.isConnected || !root.contains(active))) h1.focus();
}

function finish(root) {
  focusHeading(root);
  firstRender = false;
}

onUnauthorized(() => {
  setMe(null);
  if (location.pathname.startsWith('/signin')) return;
  const next = location.pathname + location.search;
  navigate(`/signin?next=${encodeURIComponent(next)}`, { replace: true });
});

// Same-site links that are routes of this page are followed without a reload.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !match(url.pathname)) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  e.preventDefault();
  leaveThen(() => navigate(url.pathname + url.search));
});

// Unsaved edits are never lost without a word: leaving asks first.
async function leaveThen(go) {
  if (mustAskBeforeLeaving()) {
    const leave = await confirmDialog({
      title: 'Leave without saving?',
      body: h('p', {}, 'Your changes to the sync configuration are not saved. If you leave, they are lost.'),
      confirmLabel: 'Leave without saving',
      cancelLabel: 'Stay and keep editing',
      danger: true,
    });
    if (!leave) return;
  }
  setLeaveGuard(null);
  go();
}

// Back and forward re-render; a jump to an anchor of this page (the skip
// link) also fires popstate, and must not rebuild the page under the focus.
window.addEventListener('popstate', () => {
  if (isShown(location.pathname + location.search)) return;
  render();
});

document.getElementById('sign-out').addEventListener('click', async (e) => {
  const btn = e.currentTarget;
  btn.setAttribute('aria-busy', 'true');
  try {
    await api.del('/api/v1/session', { auth: false });
  } catch (err) {
    // A session that already ended is signed out all the same.
    if (err.status !== 401) {
      btn.removeAttribute('aria-busy');
      const main = document.getElementById('main');
      main.prepend(notice('error', `Signing out failed: ${err.message}`));
      return;
    }
  }
  btn.removeAttribute('aria-busy');
  setMe(null);
  navigate('/signin?signed_out=1');
});

render();
