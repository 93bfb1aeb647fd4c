// SPDX-License-Identifier: Apache-2.0
// Modbus Servers: the Modbus TCP servers that answer other masters (an
// EV charger, a PLC, a second SCADA) from the buses' state tables. List
// with each server's state from its own table, add, edit, delete.

import { get, del, request, seg } from '../api.js';
import { h, page, notice, errorNotice, table, badge, confirmDialog, nextId } from '../ui.js';
import { Form, showSaveError } from '../form.js';
import { loadSchema, SERVER_FIELDS } from '../schema.js';
import { listOf } from './export.js';

function changed() { window.dispatchEvent(new Event('fb-changed')); }

const names = (path, key) => async () => listOf(await get(path), key).map((o) => o.name);

function stateCell(st) {
  if (!st) return h('td', badge(undefined));
  const figures = st.running ? [
    `${st.clients ?? 0} client${st.clients === 1 ? '' : 's'}`,
    st.requests_per_s !== undefined ? `${Number(st.requests_per_s).toFixed(1)} req/s` : null,
    st.errors_per_s ? `${Number(st.errors_per_s).toFixed(1)} exceptions/s` : null,
  ].filter(Boolean).join(', ') : st.reason || '';
  return h('td', badge(!!st.running, 'running', 'stopped'), figures ? h('div.small', figures) : null);
}

export async function serverEditor(name, opts = {}) {
  const { schemas } = await loadSchema();
  let values = {};
  let etag = null;
  if (name) {
    const r = await request('GET', `mbservers/${seg(name)}`);
    values = r.data || {};
    etag = r.etag || values._meta?.etag || null;
  }
  // The file's shapes as the fields' text: several buses ["a", "b"] as
  // "a, b", unit ids {"m1": 5} as "m1:5" (the tools' own syntax).
  const shown = { ...values };
  if (Array.isArray(values.bus)) shown.bus = values.bus.join(', ');
  if (values.unit_ids && typeof values.unit_ids === 'object') {
    shown.unit_ids = Object.entries(values.unit_ids).map(([d, u]) => `${d}:${u}`).join(', ');
  }
  const form = new Form(schemas.server, SERVER_FIELDS, shown, {
    suggest: { bus: names('buses', 'buses'), user: names('users', 'users') },
  });
  const nameId = nextId('mbs-name');
  const nameInput = h('input', { id: nameId, name: 'name', required: true, autocomplete: 'off',
    pattern: '[a-z0-9_-]{1,27}', 'aria-describedby': `${nameId}-help ${nameId}-msg`, value: name || '' });
  if (name) nameInput.readOnly = true;
  const nameMsg = h('div.field-msg', { id: `${nameId}-msg`, 'aria-live': 'polite' });
  const status = h('div.form-status', { 'aria-live': 'polite' });
  let savedName = name;

  const save = async () => {
    status.replaceChildren();
    nameMsg.replaceChildren();
    form.clearMessages();
    const body = await form.read();
    try {
      if (savedName) {
        const r = await request('PUT', `mbservers/${seg(savedName)}`, body, { etag });
        etag = r.etag || etag;
      } else {
        const n = nameInput.value.trim();
        const r = await request('POST', 'mbservers', { name: n, ...body });
        etag = r.etag;
        savedName = n;
        nameInput.readOnly = true;
      }
      status.replaceChildren(notice('ok', `Saved Modbus server ${savedName}. It is staged: apply to start it.`));
      changed();
      if (opts.onSaved) opts.onSaved(savedName);
      return true;
    } catch (err) {
      showSaveError(err, form, status, 'This server');
      // "server x: expected a name of ..." belongs at the name.
      const general = [...form.general.children];
      for (const p of general) {
        if (/\bserver [^:]*: expected a name|at most 27/.test(p.textContent)) nameMsg.append(p);
      }
      return false;
    }
  };

  const el = h('form.card.mbs-form', {
    'aria-label': name ? `Edit Modbus server ${name}` : 'New Modbus server',
    novalidate: true,
    onsubmit: async (ev) => { ev.preventDefault(); await save(); },
  },
  h('div.field', h('label', { for: nameId }, 'Server name', h('span.req', { 'aria-hidden': 'true' }, ' *')),
    nameInput, h('div.help', { id: `${nameId}-help` }, '1 to 27 characters from a-z, 0-9, _ and -. Cannot be changed later.'), nameMsg),
  h('fieldset.params', h('legend', 'Parameters'), form.el),
  status,
  h('div.actions',
    h('button.primary', { type: 'submit', id: 'mbs-save' }, 'Save'),
    opts.cancel ? h('button.link', { type: 'button', onclick: opts.cancel }, 'Back to the list') : null));
  return el;
}

async function list(ctx, admin) {
  let servers;
  try {
    servers = listOf(await get('mbservers'), 'servers');
  } catch (err) {
    return page('Modbus Servers', errorNotice(err, 'Modbus servers'));
  }
  const out = h('div', { 'aria-live': 'polite' });
  const rows = servers.map((s) => h('tr', { dataset: { name: s.name } },
    h('th', { scope: 'row' }, admin ? h('a', { href: `#/mbservers/edit/${encodeURIComponent(s.name)}` }, s.name) : s.name),
    h('td', `${s.listen || '127.0.0.1'}:${s.port || 5020}`),
    h('td', Array.isArray(s.bus) ? s.bus.join(', ') : s.bus || ''),
    h('td', s.user || ''),
    h('td', s.writes || 'off'),
    stateCell(s._status),
    h('td.actions', admin ? [
      h('a.button.small', { href: `#/mbservers/edit/${encodeURIComponent(s.name)}` }, 'Edit'),
      h('button.small.danger', {
        type: 'button',
        onclick: async () => {
          if (!await confirmDialog('Delete Modbus server', `Delete Modbus server ${s.name}? The change is staged until you apply it.`, 'Delete')) return;
          try {
            const r = await request('GET', `mbservers/${seg(s.name)}`);
            await del(`mbservers/${seg(s.name)}`, { etag: r.etag });
            changed();
            ctx.navigate('mbservers');
          } catch (err) {
            out.replaceChildren(errorNotice(err, `Deleting ${s.name}`));
          }
        },
      }, 'Delete')] : null)));
  return page('Modbus Servers',
    h('p.muted', 'Each server answers Modbus TCP requests from other masters with the values the gateway already polled, so the RS-485 line keeps one master. Writes are refused unless forwarded to the driver.'),
    admin ? h('p', h('a.button.primary', { href: '#/mbservers/new', id: 'mbs-add' }, 'Add Modbus server')) : null,
    servers.length ? table(['Name', 'Listens on', 'Bus', 'User', 'Writes', 'State', ''], rows, 'Modbus TCP servers')
      : notice('info', 'No Modbus server yet.'),
    out);
}

export async function render(ctx) {
  const admin = !ctx.session?.role || ctx.session.role === 'admin';
  const [mode, name] = ctx.args;
  if (admin && (mode === 'new' || mode === 'edit')) {
    const title = mode === 'new' ? 'New Modbus server' : `Modbus server ${name}`;
    try {
      const ed = await serverEditor(mode === 'edit' ? name : null, {
        cancel: () => ctx.navigate('mbservers'),
        onSaved: (n) => { if (mode === 'new') history.replaceState(null, '', `#/mbservers/edit/${encodeURIComponent(n)}`); },
      });
      return page(title, h('p', h('a', { href: '#/mbservers' }, '← Modbus Servers')), ed);
    } catch (err) {
      return page(title, errorNotice(err, 'Loading the server'));
    }
  }
  return list(ctx, admin);
}
