// login.js: the login form. The answer's token goes to api.js's memory;
// a refusal (wrong password, lockdown, too many tries) shows the
// server's message as it is.

import * as api from '../api.js';
import { h, setText } from '../dom.js';

export function mount(main, ctx) {
  const user = h('input', { id: 'login-user', name: 'user', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'login-error', class: 'form-error', role: 'alert' });
  const submit = h('button', { id: 'login-submit', type: 'submit', class: 'button-primary' }, 'Log in');
  const form = h('form', { class: 'login-form', 'aria-labelledby': 'login-title', novalidate: true },
    h('h1', { id: 'login-title' }, 'Log in to hostagent'),
    ctx.notice ? h('p', { class: 'notice', role: 'status' }, ctx.notice) : null,
    error,
    h('div', { class: 'field' }, h('label', { for: 'login-user' }, 'User name'), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setText(error, '');
    submit.disabled = true;
    try {
      const info = await api.post('/api/v1/session', { user: user.value, password: password.value });
      password.value = '';
      await ctx.loggedIn(info);
    } catch (e) {
      setText(error, e.message);
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h('div', { class: 'login-page' }, form));
  user.focus();
  return null;
}
