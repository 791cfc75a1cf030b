// Sign-in screen. After a 401 anywhere, the page comes here with ?next= and
// goes back there once signed in.
import { api, isAbort } from './api.js';
import { h, notice, pageHeading, showIn, busy } from './dom.js';
import { safeNext } from './nav.js';

export async function render({ root, query, signal, app }) {
  const next = safeNext(query.get('next'));
  // Already signed in (a bookmark of /signin, the back button): go on.
  if (!query.get('signed_out')) {
    try {
      const me = await api.get('/api/v1/me', { signal, auth: false });
      app.setMe(me);
      app.navigate(next, { replace: true });
      return;
    } catch (err) {
      if (isAbort(err)) throw err;
      // 401 is the expected answer here; any other failure shows at submit.
    }
  }
  app.setMe(null);

  const alertSlot = h('div', { class: 'slot' });
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', required: true,
    autocomplete: 'username', spellcheck: 'false' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password',
    required: true, autocomplete: 'current-password' });
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Sign in');
  const form = h('form', { class: 'card form signin', novalidate: true },
    alertSlot,
    h('div', { class: 'field' }, h('label', { for: 'signin-email' }, 'E-mail address'), email),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, 'Password'), password),
    h('div', { class: 'actions' }, submit,
      h('a', { href: '/signin/forgot' }, 'Forgot your password?')));

  const intro = [];
  if (query.get('signed_out')) intro.push(notice('success', 'You are signed out.'));
  else if (query.get('reset') === '1') intro.push(notice('success', 'Your new password is set. Sign in with it.'));
  else if (query.get('next')) intro.push(notice('info', 'Sign in to continue.'));

  root.append(h('div', { class: 'narrow' }, pageHeading('Sign in'), intro, form));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!email.value.trim() || !password.value) {
      showIn(alertSlot, notice('error', 'Enter your e-mail address and your password.'));
      (email.value.trim() ? password : email).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const me = await api.post('/api/v1/session',
          { email: email.value.trim(), password: password.value }, { auth: false });
        app.setMe(me);
        app.navigate(next, { replace: true });
      } catch (err) {
        // Wrong e-mail and wrong password give the same message (the API's).
        showIn(alertSlot, notice('error', err.message));
        password.value = '';
        password.focus();
      }
    });
  });
  email.focus();
}
