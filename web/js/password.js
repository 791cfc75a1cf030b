// /signin/forgot (ask for a link by e-mail) and /signin/reset?token=… (choose
// a new password with it).  Both are public; the answer to a request is the
// same whether or not an account uses the address.
import { api } from './api.js';
import { h, notice, pageHeading, showIn, busy, uid } from './dom.js';
import { replaceUrl } from './nav.js';

export async function render({ root, params, query, app }) {
  app.setMe(null);
  if (params[0] === 'reset') return renderReset({ root, query, app });
  const alert = h('div', { class: 'slot' });
  const email = h('input', { id: 'forgot-email', type: 'email', autocomplete: 'username', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Send me a link');
  const form = h('form', { class: 'card form', novalidate: true },
    h('p', {}, 'Enter the e-mail address you sign in with. We send a link to choose a new password; it works once, within an hour.'),
    alert,
    h('div', { class: 'field' }, h('label', { for: 'forgot-email' }, 'E-mail address'), email),
    h('div', { class: 'actions' }, submit, h('a', { href: '/signin' }, 'Back to sign in')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!email.value.trim()) {
      showIn(alert, notice('error', 'Enter your e-mail address.'));
      email.focus();
      return;
    }
    busy(submit, async () => {
      try {
        const res = await api.post('/api/v1/password-reset', { email: email.value.trim() }, { auth: false });
        const done = notice('success', res.message);
        form.replaceWith(h('div', { class: 'card' }, done, h('p', {}, h('a', { href: '/signin' }, 'Back to sign in'))));
        done.setAttribute('tabindex', '-1');
        done.focus();
      } catch (err) {
        showIn(alert, notice('error', err.message));
        email.focus();
      }
    });
  });
  root.append(h('div', { class: 'narrow' }, pageHeading('Forgot your password?'), form));
  email.focus();
}

function renderReset({ root, query, app }) {
  const token = query.get('token') || '';
  // The token leaves the address bar (and the history) at once.
  replaceUrl(location.pathname);
  const alert = h('div', { class: 'slot' });
  const ids = { a: uid('pw'), b: uid('pw2') };
  const pw = h('input', { id: ids.a, type: 'password', autocomplete: 'new-password', 'aria-describedby': `${ids.a}-hint` });
  const pw2 = h('input', { id: ids.b, type: 'password', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Set the new password');
  const form = h('form', { class: 'card form', novalidate: true }, alert,
    h('div', { class: 'field' }, h('label', { for: ids.a }, 'New password'),
      h('p', { class: 'hint', id: `${ids.a}-hint` }, 'At least 8 characters.'), pw),
    h('div', { class: 'field' }, h('label', { for: ids.b }, 'The same password again'), pw2),
    h('div', { class: 'actions' }, submit));
  const clear = () => showIn(alert, null);
  pw.addEventListener('input', clear);
  pw2.addEventListener('input', clear);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (pw.value.length < 8) {
      showIn(alert, notice('error', 'The password needs at least 8 characters.'));
      pw.focus();
      return;
    }
    if (pw.value !== pw2.value) {
      showIn(alert, notice('error', 'The two passwords are not the same.'));
      pw2.focus();
      return;
    }
    busy(submit, async () => {
      try {
        await api.post('/api/v1/password-reset/confirm', { token, password: pw.value }, { auth: false });
        app.navigate('/signin?reset=1', { replace: true });
      } catch (err) {
        showIn(alert, notice('error', err.message,
          err.code === 'invalid_token' ? h('p', {}, h('a', { href: '/signin/forgot' }, 'Ask for a new link')) : null));
        pw.focus();
      }
    });
  });
  root.append(h('div', { class: 'narrow' }, pageHeading('Choose a new password'), form));
  pw.focus();
}
