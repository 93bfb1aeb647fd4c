// SPDX-License-Identifier: Apache-2.0
// IoT Export: the MQTT export connections. List, add, edit, delete, test.

import { get, del, request, postStream, seg, ApiError } from '../api.js';
import { h, page, notice, errorNotice, table, badge, confirmDialog, nextId, clear } from '../ui.js';
import { Form } from '../form.js';
import { loadSchema, CONNECTION_FIELDS, CONNECTION_ADVANCED } from '../schema.js';

export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  if (data && typeof data === 'object') {
    return Object.entries(data).filter(([, v]) => v && typeof v === 'object').map(([name, v]) => ({ name, ...v }));
  }
  return [];
}

function changed() { window.dispatchEvent(new Event('fb-changed')); }

// A refusal without loader diagnostics ("port: expected a integer") still
// belongs at its field.
export function fieldError(err) {
  const m = err && err.body && typeof err.body.error === 'string' && /^([a-z_]+): /.exec(err.body.error);
  return m ? { severity: 'error', field: m[1], message: err.body.error } : null;
}

function stageLine(s) {
  const ok = s.ok ?? (s.result ? s.result === 'ok' || s.result === 'done' : s.status ? s.status === 'ok' : undefined);
  const name = s.stage || s.step || s.name || '';
  const text = s.message || s.detail || s.error || s.text || '';
  return h(`li.${ok === undefined ? 'info' : ok ? 'ok' : 'bad'}`,
    h('span.mark', { 'aria-hidden': 'true' }, ok === undefined ? '•' : ok ? '✓' : '✗'),
    h('span.sr', ok === undefined ? '' : ok ? 'passed: ' : 'failed: '),
    name ? h('strong', name) : null, name && text ? ': ' : '', text);
}

// Runs the gateway's connection test (fieldbridge-export --test) and shows
// each stage as it streams in. Resolves true when the test passed.
export async function runTest(name, out) {
  clear(out);
  const list = h('ol.stages', { 'aria-live': 'polite' });
  out.append(h('p', `Testing ${name}…`), list);
  let passed = null;
  try {
    await postStream(`connections/${seg(name)}/test`, {}, (item) => {
      if (Array.isArray(item.stages)) item.stages.forEach((s) => list.append(stageLine(s)));
      else if (item.stage || item.step || item.message || item.error) list.append(stageLine(item));
      const okv = item.ok ?? item.passed ?? (item.result === 'ok' ? true : item.result === 'failed' ? false : undefined);
      if (okv !== undefined && (item.final || item.done || !item.stage || item.stages)) passed = !!okv;
    });
  } catch (err) {
    clear(out).append(errorNotice(err, 'Connection test'));
    return false;
  }
  if (passed === null) {
    const items = [...list.children];
    passed = items.length > 0 && items.every((li) => !li.classList.contains('bad'));
  }
  out.firstChild.replaceWith(passed
    ? notice('ok', `Connection ${name}: test passed.`)
    : notice('error', `Connection ${name}: test failed.`));
  return passed;
}

// The add/edit form. opts.onSaved(name) runs after a successful save.
export async function connectionEditor(name, opts = {}) {
  const { schemas, fromGateway, error } = await loadSchema();
  const schema = schemas.connection;
  let values = {};
  let etag = null;
  if (name) {
    const r = await request('GET', `connections/${seg(name)}`);
    values = r.data?.connection || r.data || {};
    etag = r.etag || values._meta?.etag || values.etag || null;
  }
  let users = [];
  const suggest = {
    user: async () => {
      try { users = listOf(await get('users'), 'users').map((u) => u.name); } catch { users = []; }
      return users;
    },
  };
  const form = new Form(schema, CONNECTION_FIELDS, values, { suggest });
  const adv = new Form(schema, CONNECTION_ADVANCED, values);
  const nameId = nextId('conn-name');
  const nameInput = h('input', { id: nameId, name: 'name', required: true, autocomplete: 'off',
    pattern: '[a-z0-9_-]{1,31}', 'aria-describedby': `${nameId}-help`, value: name || '' });
  if (name) nameInput.readOnly = true;
  const status = h('div.form-status', { 'aria-live': 'polite' });
  const testOut = h('div.test-out');
  let savedName = name;

  const save = async () => {
    status.replaceChildren();
    const body = { ...(await form.read()), ...(await adv.read()) };
    const n = nameInput.value.trim();
    try {
      if (savedName) {
        const r = await request('PUT', `connections/${seg(savedName)}`, { name: savedName, ...body }, { etag });
        etag = r.etag || etag;
      } else {
        const r = await request('POST', 'connections', { name: n, ...body });
        etag = r.etag;
        savedName = n;
        nameInput.readOnly = true;
      }
      form.clearMessages();
      adv.clearMessages();
      status.replaceChildren(notice('ok', `Saved connection ${savedName}. It is staged: apply to make it active.`));
      changed();
      // Reload what the gateway stored: certificate details, secrets as "set".
      try {
        const r = await request('GET', `connections/${seg(savedName)}`);
        etag = r.etag || r.data?._meta?.etag || etag;
        const v = r.data?.connection || r.data || {};
        const certs = v._certs || {};
        for (const [k, c] of form.controls) {
          if (c.fresh) {
            let inf = certs[k];
            if (k === 'ssl_client_key' && 'key_matches_certificate' in certs) inf = { ...(inf || {}), key_matches_certificate: certs.key_matches_certificate };
            c.fresh(v[k], inf);
          }
          if (c.p.writeOnly && v[k] && v[k].set) { c.focusEl.value = ''; c.focusEl.placeholder = 'set'; }
        }
      } catch { /* the list shows it */ }
      if (opts.onSaved) opts.onSaved(savedName);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        status.replaceChildren(notice('error', 'This connection was changed elsewhere since you opened it (409). Reload the page to see the current version; your edits are still in the form.'));
      } else if (err instanceof ApiError && (err.diagnostics.length || fieldError(err))) {
        const nd = err.diagnostics.length ? err.diagnostics : [fieldError(err)];
        const errs = form.showDiagnostics(nd.filter((d) => adv.fieldOf(d) === null || form.fieldOf(d)));
        adv.showDiagnostics(nd.filter((d) => adv.fieldOf(d) && !form.fieldOf(d)));
        status.replaceChildren(notice('error', `Not saved: ${errs || nd.length} problem${(errs || nd.length) === 1 ? '' : 's'}, shown at the fields.`));
      } else {
        status.replaceChildren(errorNotice(err, 'Saving'));
      }
      return false;
    }
  };

  const el = h('form.card.conn-form', {
    'aria-label': name ? `Edit connection ${name}` : 'New connection',
    novalidate: true,
    onsubmit: async (ev) => { ev.preventDefault(); await save(); },
  },
  fromGateway ? null : notice('todo', 'The gateway does not publish its schema yet (',
    h('code', 'api/v1/schema'), error && error.status ? ` answers ${error.status}` : ' failed',
    '); the form uses the built-in field list.'),
  h('div.field', h('label', { for: nameId }, 'Connection name', h('span.req', { 'aria-hidden': 'true' }, ' *')),
    nameInput, h('div.help', { id: `${nameId}-help` }, '1 to 31 characters from a-z, 0-9, _ and -. Cannot be changed later.')),
  h('fieldset.params', h('legend', 'Parameters'), form.el),
  h('details.advanced', h('summary', 'Advanced'), adv.el),
  status,
  h('div.actions',
    h('button.primary', { type: 'submit', id: 'conn-save' }, 'Save'),
    h('button', {
      type: 'button',
      id: 'conn-test',
      onclick: async () => { if (await save()) await runTest(savedName, testOut); },
    }, 'Save and test'),
    opts.cancel ? h('button.link', { type: 'button', onclick: opts.cancel }, 'Back to the list') : null),
  testOut);
  el.save = save;
  el.savedName = () => savedName;
  return el;
}

async function list(ctx) {
  const out = h('div');
  let conns;
  try {
    conns = listOf(await get('connections'), 'connections');
  } catch (err) {
    return page('IoT Export', errorNotice(err, 'Connections'));
  }
  let live = {};
  try {
    const st = await get('status');
    for (const c of listOf(st?.connections, 'connections')) live[c.name] = c;
  } catch { live = {}; }
  const testOut = h('div.test-out', { id: 'test-out' });
  const rows = conns.map((c) => {
    const l = live[c.name] || {};
    return h('tr', { dataset: { name: c.name } },
      h('th', { scope: 'row' }, h('a', { href: `#/export/edit/${encodeURIComponent(c.name)}` }, c.name)),
      h('td', `${c.broker || ''}${c.port ? `:${c.port}` : ''}`),
      h('td', c.connection_mode || 'socket'),
      h('td', String(c.ssl ?? 'off')),
      h('td', c.user || ''),
      h('td', badge(l.connected), l.last_error ? h('div.small.bad', l.last_error) : null),
      h('td.actions',
        h('a.button.small', { href: `#/export/edit/${encodeURIComponent(c.name)}` }, 'Edit'),
        h('button.small', { type: 'button', onclick: () => runTest(c.name, testOut) }, 'Test'),
        h('button.small.danger', {
          type: 'button',
          onclick: async () => {
            if (!await confirmDialog('Delete connection', `Delete connection ${c.name}? The change is staged until you apply it.`, 'Delete')) return;
            try {
              const r = await request('GET', `connections/${seg(c.name)}`);
              await del(`connections/${seg(c.name)}`, { etag: r.etag });
              changed();
              ctx.navigate('export');
            } catch (err) {
              testOut.replaceChildren(errorNotice(err, `Deleting ${c.name}`));
            }
          },
        }, 'Delete')));
  });
  out.append(
    h('p', h('a.button.primary', { href: '#/export/new', id: 'conn-add' }, 'Add connection')),
    conns.length ? table(['Name', 'Broker', 'Mode', 'SSL', 'User', 'State', ''], rows, 'Export connections')
      : notice('info', 'No export connection yet. Add one to send the devices to Home Assistant.'),
    testOut);
  return page('IoT Export', h('p.muted', 'Each connection sends the devices its user may see to one MQTT broker (Home Assistant discovery, state, commands).'), out);
}

export async function render(ctx) {
  const [mode, name] = ctx.args;
  if (mode === 'new' || mode === 'edit') {
    const title = mode === 'new' ? 'New connection' : `Connection ${name}`;
    try {
      const ed = await connectionEditor(mode === 'edit' ? name : null, {
        cancel: () => ctx.navigate('export'),
        onSaved: (n) => { if (mode === 'new') history.replaceState(null, '', `#/export/edit/${encodeURIComponent(n)}`); },
      });
      return page(title, h('p', h('a', { href: '#/export' }, '← IoT Export')), ed);
    } catch (err) {
      return page(title, errorNotice(err, 'Loading the connection'));
    }
  }
  return list(ctx);
}
