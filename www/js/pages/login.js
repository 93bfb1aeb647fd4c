// SPDX-License-Identifier: Apache-2.0
// Login; points to the first-run flow while the gateway has no admin yet.

import { post, get } from '../api.js';
import { h, page, notice, nextId } from '../ui.js';

export async function render(ctx) {
  const uid = nextId('login-user');
  const pid = nextId('login-pass');
  const msg = h('div', { 'aria-live': 'assertive' });
  const user = h('input', { id: uid, name: 'user', autocomplete: 'username', required: true });
  const pass = h('input', { id: pid, name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form.card.narrow#login-form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      msg.replaceChildren();
      form.querySelector('button').disabled = true;
      try {
        const data = await post('session', { user: user.value, password: pass.value }, { noRedirect: true });
        ctx.loggedIn({ user: user.value, ...data });
        ctx.navigate('overview');
      } catch (err) {
        msg.replaceChildren(notice('error', err.status === 401 || err.status === 403
          ? 'Wrong user name or password.' : err.message));
        pass.select();
      } finally {
        form.querySelector('button').disabled = false;
      }
    },
  },
  h('div.field', h('label', { for: uid }, 'User'), user),
  h('div.field', h('label', { for: pid }, 'Password'), pass),
  msg,
  h('div.actions', h('button.primary', { type: 'submit' }, 'Log in')));

  const first = h('p.muted', 'First start? ', h('a', { href: '#/setup', id: 'setup-link' }, 'Set up this gateway with its setup code'), '.');
  const el = page('Log in', form, first);
  get('status', { noRedirect: true }).then((st) => {
    if (st && (st.setup_required || st.needs_setup || st.first_run)) {
      el.insertBefore(notice('info', 'This gateway has no administrator yet. ',
        h('a', { href: '#/setup' }, 'Start the first-run setup'), ' with the setup code from the journal ',
        '(or ', h('code', 'fieldbridgectl web setup-code'), ').'), form);
    }
  }).catch(() => {});
  setTimeout(() => user.focus(), 0);
  return el;
}
