// Where the page sends people.
export const DEFAULT_PATH = '/settings/provisioning';

// Only same-site paths, never "//host" or "/\host" (an open redirect via ?next=).
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') ||
      next.startsWith('/\\') || next.startsWith('/signin')) return DEFAULT_PATH;
  return next;
}

// The address the screen on show was rendered for. A view that rewrites its
// own address (filters, a consumed ?connected=1) says so through replaceUrl,
// so the router can tell a real back/forward from a jump to an anchor.
let shown = '';
export function setShown(url) {
  shown = url;
}
export function isShown(url) {
  return url === shown;
}
export function replaceUrl(url) {
  history.replaceState(null, '', url);
  shown = location.pathname + location.search;
}

// A screen with unsaved edits says so here; the router asks before leaving
// it, and the browser before closing or reloading the tab.
let leaveGuard = null;
export function setLeaveGuard(fn) {
  leaveGuard = fn;
}
export function mustAskBeforeLeaving() {
  try {
    return !!(leaveGuard && leaveGuard());
  } catch {
    return false;
  }
}
window.addEventListener('beforeunload', (e) => {
  if (!mustAskBeforeLeaving()) return;
  e.preventDefault();
  e.returnValue = '';
});
