// The one way the page talks to the API: JSON in and out, the error envelope
// {"error": {code, message, field?}} turned into an ApiError, and a 401 sending
// the person to /signin (and back to where they were afterwards).

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

// Set by app.js: what to do when the session is gone.
let unauthorizedHandler = null;
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

// Plain words for when the API (or nginx in front of it) gave no envelope.
function fallbackMessage(status) {
  if (status === 401) return 'Your session has ended. Sign in again.';
  if (status === 403) return 'Only an administrator of the organization can do this.';
  if (status === 404) return 'This was not found. It may have been removed.';
  if (status === 409) return 'This conflicts with the current state. Reload the page and try again.';
  if (status === 429) return 'Too many attempts. Wait a moment and try again.';
  if (status >= 500) return 'The server had a problem. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

/**
 * request('GET', '/api/v1/me') → parsed JSON (null for 204).
 * Options: body (sent as JSON), signal (AbortSignal), auth: false to not
 * redirect on 401 (the sign-in form handles its own 401).
 */
export async function request(method, path, { body, signal, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error',
      'The server could not be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const env = data && data.error ? data.error : {};
    const err = new ApiError(res.status, env.code || `http_${res.status}`,
      env.message || fallbackMessage(res.status), env.field);
    if (res.status === 401 && auth && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  return data;
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body: body === undefined ? {} : body }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body }),
  patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
};

// A route the running API does not have yet (an older deployment): the UI says
// so instead of breaking.
export function isMissingRoute(err) {
  return err instanceof ApiError && err.status === 404 && err.code === 'route_not_found';
}

export function isAbort(err) {
  return err && err.name === 'AbortError';
}

// Builds "path?k=v&..." leaving out empty values.
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
