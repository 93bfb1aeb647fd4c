// SPDX-License-Identifier: Apache-2.0
// First run: setup code -> first admin -> add a bus -> add a connection ->
// test it -> apply. Every step after the first can be skipped and redone
// later from the normal pages, so a bad first attempt strands nobody.

import { post, get } from '../api.js';
import { h, page, notice, errorNotice, nextId } from '../ui.js';
import { busEditor } from './buses.js';
import { connectionEditor, runTest } from './export.js';
import { renderChanges, applyChanges } from '../changes.js';

const STEPS = ['Administrator', 'Bus', 'Connection', 'Test', 'Apply'];

function steps(cur) {
  return h('ol.steps', { 'aria-label': 'Setup steps' }, STEPS.map((s, i) => h(`li${i === cur ? '.current' : i < cur ? '.done' : ''}`,
    i === cur ? { 'aria-current': 'step' } : {}, `${i + 1}. ${s}`)));
}

function field(label, input, help) {
  const id = input.id || nextId('s');
  input.id = id;
  return h('div.field', h('label', { for: id }, label), input, help ? h('div.help', help) : null);
}

function adminStep(ctx) {
  const code = h('input', { name: 'code', autocomplete: 'one-time-code', required: true, spellcheck: 'false', id: 'setup-code' });
  const user = h('input', { name: 'user', autocomplete: 'username', required: true, value: 'admin', id: 'setup-user' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, id: 'setup-pass', minlength: 8 });
  const pass2 = h('input', { name: 'password2', type: 'password', autocomplete: 'new-password', required: true, id: 'setup-pass2' });
  const msg = h('div', { 'aria-live': 'assertive' });
  return h('form.card.narrow#setup-form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (pass.value !== pass2.value) { msg.replaceChildren(notice('error', 'The two passwords differ.')); pass2.focus(); return; }
      try {
        const data = await post('setup', { code: code.value.trim(), user: user.value.trim(), password: pass.value }, { noRedirect: true });
        let session = data;
        if (!data || !data.csrf) session = await post('session', { user: user.value.trim(), password: pass.value }, { noRedirect: true });
        ctx.loggedIn({ user: user.value.trim(), role: 'admin', ...session });
        ctx.navigate('setup/1');
      } catch (err) {
        msg.replaceChildren(err.status === 403 || err.status === 401
          ? notice('error', 'The setup code is wrong or was used already.') : errorNotice(err, 'Setup'));
      }
    },
  },
  h('p', 'The setup code is printed to the journal at the first start (', h('code', 'journalctl -u fieldbridge-web'),
    ') and by ', h('code', 'fieldbridgectl web setup-code'), '. It works once.'),
  field('Setup code', code),
  field('Administrator name', user),
  field('Password', pass, 'At least 8 characters.'),
  field('Password again', pass2),
  msg,
  h('div.actions', h('button.primary', { type: 'submit' }, 'Create administrator')));
}

function nav(ctx, n, label = 'Next') {
  return h('div.actions.wizard',
    n > 1 ? h('a.button', { href: `#/setup/${n - 1}` }, 'Back') : null,
    h('a.button.primary', { href: `#/setup/${n + 1}`, id: 'setup-next' }, label),
    h('a.button.link', { href: `#/setup/${n + 1}` }, 'Skip this step'));
}

export async function render(ctx) {
  const n = Number(ctx.args[0] || 0);
  if (n === 0 || !ctx.session) {
    let hint = null;
    try {
      const st = await get('status', { noRedirect: true });
      if (st && st.setup_required === false) hint = notice('info', 'This gateway is set up already: ', h('a', { href: '#/login' }, 'log in'), '.');
    } catch { /* status needs a session */ }
    return page('First-run setup', steps(0), hint, adminStep(ctx));
  }
  if (n === 1) {
    const ed = await busEditor(null, {});
    return page('First-run setup', steps(1), h('p', 'Add the first bus: a serial RS-485 line, a Modbus TCP device or a GPIO chip.'), ed, nav(ctx, 1));
  }
  if (n === 2) {
    const ed = await connectionEditor(null, { onSaved: (name) => sessionStorage.setItem('fb_setup_conn', name) });
    return page('First-run setup', steps(2), h('p', 'Add the connection to your Home Assistant MQTT broker.'), ed, nav(ctx, 2));
  }
  if (n === 3) {
    const name = sessionStorage.getItem('fb_setup_conn');
    const out = h('div.test-out');
    const body = name
      ? [h('p', h('button.primary', { type: 'button', id: 'setup-test', onclick: () => runTest(name, out) }, `Test connection ${name}`)), out]
      : [notice('info', 'No connection was added in the previous step.')];
    return page('First-run setup', steps(3), ...body, nav(ctx, 3));
  }
  let changes = null;
  try { changes = await get('changes'); } catch (err) { changes = null; }
  return page('First-run setup', steps(4),
    h('p', 'These changes are staged. Apply starts the drivers and exporters they need.'),
    changes ? renderChanges(changes) : notice('todo', 'The list of staged changes is not available.'),
    h('div.actions.wizard', h('a.button', { href: '#/setup/3' }, 'Back'),
      h('button.primary', { type: 'button', id: 'setup-apply', onclick: async () => { await applyChanges(); ctx.navigate('overview'); } }, 'Review the plan and apply'),
      h('a.button.link', { href: '#/overview' }, 'Finish without applying')));
}
