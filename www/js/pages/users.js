// SPDX-License-Identifier: Apache-2.0
// Users and rights (admin only), with a preview of the points a set of
// rights patterns gives access to.

import { get, request, del, seg, ApiError } from '../api.js';
import { h, page, notice, errorNotice, table, confirmDialog, nextId, clear } from '../ui.js';
import { Form } from '../form.js';
import { loadSchema } from '../schema.js';
import { devices, subscribe } from '../live.js';
import { listOf } from './export.js';

function changed() { window.dispatchEvent(new Event('fb-changed')); }

// fnmatch(3) without flags: * ? and [...] classes.
function globRe(pat) {
  let re = '';
  for (let i = 0; i < pat.length; i += 1) {
    const c = pat[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = pat.indexOf(']', i + 2);
      if (j < 0) { re += '\\['; continue; }
      let cls = pat.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (cls[0] === '!') cls = `^${cls.slice(1)}`;
      re += `[${cls}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// The users file rule: a device/point pattern beats a device pattern; then
// the longer pattern; then the later one. No match = none.
export function accessOf(rights, dev, point) {
  let best = null;
  rights.forEach(([pat, acc], idx) => {
    const [dp, pp] = pat.includes('/') ? pat.split('/', 2) : [pat, null];
    if (!globRe(dp).test(dev)) return;
    if (pp !== null && !globRe(pp).test(point)) return;
    const rank = [pp !== null ? 1 : 0, pat.length, idx];
    if (!best || rank[0] > best.rank[0] || (rank[0] === best.rank[0] && (rank[1] > best.rank[1]
      || (rank[1] === best.rank[1] && rank[2] > best.rank[2])))) best = { rank, acc };
  });
  return best ? best.acc : 'none';
}

function rightsList(r) {
  if (!r) return [];
  if (typeof r === 'string') return r.split(',').map((x) => x.trim()).filter(Boolean).map((x) => { const i = x.lastIndexOf(':'); return [x.slice(0, i), x.slice(i + 1)]; });
  if (Array.isArray(r)) return r.map((x) => [x.pattern, x.access]);
  return Object.entries(r);
}

function rightsEditor(initial) {
  const id = nextId('rights');
  const area = h('textarea', { id, rows: 6, spellcheck: 'false', 'aria-describedby': `${id}-help` },
    rightsList(initial).map(([p, a]) => `${p}: ${a}`).join('\n'));
  const preview = h('div.preview', { 'aria-live': 'polite' });
  const parse = () => area.value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const i = l.lastIndexOf(':');
    return i < 0 ? [l, 'read'] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
  });
  const draw = () => {
    const rights = parse();
    const rows = [];
    const counts = { none: 0, read: 0, write: 0 };
    for (const d of devices()) {
      for (const p of d.points.values()) {
        const a = accessOf(rights, d.id, p.key);
        counts[a] = (counts[a] || 0) + 1;
        if (a !== 'none') rows.push(h('tr', h('td', d.id), h('td', p.key), h(`td.access-${a}`, a)));
      }
    }
    clear(preview).append(h('p', `Matches: ${counts.write} writable, ${counts.read} read-only, ${counts.none} hidden points.`));
    if (rows.length) preview.append(table(['Device', 'Point', 'Access'], rows.slice(0, 200)));
    else if (!devices().length) preview.append(h('p.muted', 'No live points known yet to preview against.'));
  };
  area.addEventListener('input', draw);
  draw();
  const unsub = subscribe(() => draw());
  const el = h('div.field', h('label', { for: id }, 'Rights'), area,
    h('div.help', { id: `${id}-help` }, 'One PATTERN: ACCESS per line; ACCESS none, read or write; PATTERN a device or device/point with * ? [...]. The most specific pattern wins.'),
    h('h3', 'Preview'), preview);
  return { el, read: () => Object.fromEntries(parse()), cleanup: unsub };
}

async function editor(name, ctx) {
  const { schemas } = await loadSchema();
  let values = {};
  let etag = null;
  if (name) {
    const r = await request('GET', `users/${seg(name)}`);
    values = r.data?.user || r.data || {};
    etag = r.etag;
  }
  const form = new Form(schemas.user, [['role', 'Role'], ['password', 'Password']], values);
  const rights = rightsEditor(values.rights);
  const nid = nextId('user-name');
  const nameInput = h('input', { id: nid, required: true, value: name || '', autocomplete: 'off' });
  if (name) nameInput.readOnly = true;
  const status = h('div.form-status', { 'aria-live': 'polite' });
  const el = h('form.card', {
    novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      const body = { name: name || nameInput.value.trim(), ...(await form.read()), rights: rights.read() };
      try {
        if (name) await request('PUT', `users/${seg(name)}`, body, { etag });
        else await request('POST', 'users', body);
        status.replaceChildren(notice('ok', `Saved user ${body.name}.`));
        changed();
      } catch (err) {
        if (err instanceof ApiError && err.diagnostics.length) form.showDiagnostics(err.diagnostics);
        status.replaceChildren(err.status === 409 ? notice('error', 'Changed elsewhere (409): reload.') : errorNotice(err, 'Saving'));
      }
    },
  },
  h('div.field', h('label', { for: nid }, 'User name'), nameInput),
  form.el, rights.el, status,
  h('div.actions', h('button.primary', { type: 'submit' }, 'Save'), h('button.link', { type: 'button', onclick: () => ctx.navigate('users') }, 'Back')));
  el.cleanup = rights.cleanup;
  return el;
}

export async function render(ctx) {
  if (ctx.session && ctx.session.role && ctx.session.role !== 'admin') {
    return page('Users', notice('error', 'Only an admin can see and edit users.'));
  }
  const [mode, name] = ctx.args;
  if (mode === 'new' || mode === 'edit') {
    try {
      const ed = await editor(mode === 'edit' ? name : null, ctx);
      const el = page(mode === 'new' ? 'New user' : `User ${name}`, ed);
      el.cleanup = ed.cleanup;
      return el;
    } catch (err) { return page('Users', errorNotice(err, 'User')); }
  }
  let users;
  try { users = listOf(await get('users'), 'users'); } catch (err) { return page('Users', errorNotice(err, 'Users')); }
  const msg = h('div');
  const rows = users.map((u) => h('tr',
    h('th', { scope: 'row' }, u.name),
    h('td', u.role || 'viewer'),
    h('td', rightsList(u.rights).map(([p, a]) => `${p}: ${a}`).join(', ') || h('span.muted', 'no access')),
    h('td', u.password_hash || u.password ? 'yes' : 'no'),
    h('td.actions', h('a.button.small', { href: `#/users/edit/${encodeURIComponent(u.name)}` }, 'Edit'),
      h('button.small.danger', {
        type: 'button',
        onclick: async () => {
          if (!await confirmDialog('Delete user', `Delete user ${u.name}?`, 'Delete')) return;
          try {
            const r = await request('GET', `users/${seg(u.name)}`);
            await del(`users/${seg(u.name)}`, { etag: r.etag });
            changed();
            ctx.navigate('users');
          } catch (err) { msg.replaceChildren(errorNotice(err, 'Deleting')); }
        },
      }, 'Delete'))));
  return page('Users and rights', h('p', h('a.button.primary', { href: '#/users/new' }, 'Add user')), msg,
    table(['User', 'Role', 'Rights', 'Web login', ''], rows));
}
