// SPDX-License-Identifier: Apache-2.0
// System: the gateway's own settings, the web TLS certificate,
// backup/restore of the configuration, adding device definitions,
// snapshots and rollback.

import { get, post, request, ApiError } from '../api.js';
import { h, page, notice, errorNotice, nextId, confirmDialog, table } from '../ui.js';
import { Form, showSaveError } from '../form.js';
import { loadSchema, GATEWAY_FIELDS } from '../schema.js';
import { listOf } from './export.js';

function section(title, ...body) { return h('section.card', h('h2', title), ...body); }

// The gateway section's settings (name, log_level): written into the main
// file in place; the fields no tool sets are shown as they are written.
async function gatewaySection() {
  const box = section('Gateway');
  box.id = 'gateway-settings';
  let r;
  try {
    r = await request('GET', 'gateway');
  } catch (err) {
    box.append(errorNotice(err, 'Gateway settings'));
    return box;
  }
  const { schemas } = await loadSchema();
  let etag = r.etag || r.data?._meta?.etag || null;
  const form = new Form(schemas.gateway, GATEWAY_FIELDS, r.data || {});
  const status = h('div.form-status', { 'aria-live': 'polite' });
  const hand = r.data?._hand_written || {};
  const dl = h('dl.kv');
  for (const [k, v] of Object.entries(hand)) {
    if (k.startsWith('_')) continue;
    dl.append(h('dt', k), h('dd', Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)));
  }
  const el = h('form.gateway-form', {
    'aria-label': 'Gateway settings',
    novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      status.replaceChildren();
      form.clearMessages();
      try {
        const res = await request('PUT', 'gateway', await form.read(), { etag });
        etag = res.etag || etag;
        status.replaceChildren(notice('ok', 'Saved in the main file. Every daemon reads it at start: apply restarts them.'));
        window.dispatchEvent(new Event('fb-changed'));
      } catch (err) {
        showSaveError(err, form, status, 'The gateway section');
      }
    },
  },
  form.el,
  status,
  h('div.actions', h('button.primary', { type: 'submit', id: 'gateway-save' }, 'Save')));
  box.append(
    h('p.muted', 'Stored in ', h('code', r.data?._meta?.file || 'the main file'), ' (its comments and other fields stay as written).'),
    el,
    dl.childElementCount ? h('details', h('summary', 'Written by hand (edit the main file to change)'), dl) : null);
  return box;
}

async function tlsSection() {
  const box = section('Web TLS certificate');
  try {
    const st = await get('status');
    const w = st?.web || {};
    const t = w.tls || w.certificate || {};
    const dl = h('dl.kv');
    const row = (k, v) => { if (v !== undefined && v !== null && v !== '') dl.append(h('dt', k), h('dd', String(v))); };
    row('TLS', typeof w.tls === 'string' ? w.tls : typeof w.tls === 'boolean' ? (w.tls ? 'on' : 'off (plain HTTP)') : w.tls_mode);
    const where = Array.isArray(w.listen) ? (w.listen.length ? w.listen.join(', ') : 'every address') : w.listen;
    row('Listening', [where, w.port].filter(Boolean).join(' port '));
    row('Subject', t.subject);
    row('Issuer', t.issuer);
    row('Expires', t.not_after);
    row('SHA-256 fingerprint', t.fingerprint || t.sha256 || w.fingerprint);
    row('Self-signed', t.self_signed === undefined ? undefined : t.self_signed ? 'yes (generated at first start)' : 'no');
    box.append(dl.childElementCount ? dl : notice('todo', 'The gateway does not report its web certificate yet (no "web" in ', h('code', 'api/v1/status'), ').'));
    box.append(h('p.muted', 'To use your own certificate set web.tls_cert and web.tls_key in the configuration.'));
  } catch (err) {
    box.append(errorNotice(err, 'Status'));
  }
  return box;
}

function backupSection() {
  const secrets = h('input', { type: 'checkbox', id: nextId('secrets') });
  const got = h('div', { 'aria-live': 'polite' });
  // Fetched first, so a refusal shows as a message instead of a saved error.
  const link = h('button', {
    type: 'button',
    id: 'backup-link',
    onclick: async () => {
      got.replaceChildren();
      try {
        const res = await fetch(`api/v1/backup?secrets=${secrets.checked ? 1 : 0}`, { credentials: 'same-origin', cache: 'no-store' });
        if (!res.ok) {
          let body = null;
          try { body = await res.json(); } catch { /* not JSON */ }
          throw new ApiError(res.status, body, 'backup');
        }
        const url = URL.createObjectURL(await res.blob());
        const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
        const a = h('a', { href: url, download: name ? name[1] : 'fieldbridge-backup.json' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (err) {
        got.replaceChildren(errorNotice(err, 'Backup'));
      }
    },
  }, 'Download backup');
  const file = h('input', { type: 'file', id: nextId('restore'), accept: '.json,application/json' });
  const out = h('div', { 'aria-live': 'polite' });
  const restore = h('button', {
    type: 'button',
    onclick: async () => {
      const f = file.files[0];
      if (!f) { out.replaceChildren(notice('error', 'Choose a backup file first.')); return; }
      if (!await confirmDialog('Restore', `Stage the configuration from ${f.name}? Nothing changes until you apply.`, 'Restore')) return;
      try {
        let bundle;
        try { bundle = JSON.parse(await f.text()); } catch { throw new Error(`${f.name} is not a fieldbridge backup (not JSON)`); }
        const r = await post('restore', bundle);
        out.replaceChildren(notice('ok', `Restored ${r?.written ?? ''} file(s), removed ${r?.removed ?? 0}: nothing runs differently until you review and apply.`));
        window.dispatchEvent(new Event('fb-changed'));
      } catch (err) {
        out.replaceChildren(errorNotice(err, 'Restore'));
      }
    },
  }, 'Restore');
  return section('Backup and restore',
    h('p', 'The configuration as one JSON file. Secrets (passwords, keys, the users file, files with a password written inline) are left out unless you ask for them; a restore keeps the ones left out as they are.'),
    h('p', h('label.inline', secrets, ' include secrets')), h('p', link), got,
    h('h3', 'Restore'), h('p', h('label', { for: file.id }, 'Backup file '), file, ' ', restore), out);
}

// A device definition file, checked by the gateway's loader and its test
// vectors before it is stored (POST definitions).
function definitionSection() {
  const file = h('input', { type: 'file', id: nextId('def-file'), accept: '.json,application/json' });
  const id = h('input', { id: nextId('def-id'), placeholder: 'e.g. acme-meter', autocomplete: 'off' });
  const replace = h('input', { type: 'checkbox', id: nextId('def-replace') });
  const out = h('div', { 'aria-live': 'polite' });
  file.addEventListener('change', () => {
    const f = file.files[0];
    if (f && !id.value) id.value = f.name.replace(/\.json$/, '');
  });
  const add = h('button', {
    type: 'button',
    onclick: async () => {
      const f = file.files[0];
      if (!f) { out.replaceChildren(notice('error', 'Choose a definition file first.')); return; }
      try {
        const r = await post('definitions', { id: id.value, content: await f.text(), replace: replace.checked });
        out.replaceChildren(notice('ok', `Stored as ${r.path}: ${r.vectors.vectors} test vector(s) passed. Devices can use "${r.id}" now.`));
      } catch (err) {
        const diags = err instanceof ApiError && Array.isArray(err.body?.diagnostics) ? err.body.diagnostics : [];
        out.replaceChildren(errorNotice(err, 'Definition'),
          diags.length ? h('ul.diagnostics', diags.map((d) => h(`li.${d.severity === 'error' ? 'bad' : 'warn'}`, d.message))) : '');
      }
    },
  }, 'Check and add');
  return section('Device definitions',
    h('p', 'Add a device definition (JSON). The gateway loads it and runs its test vectors first; it is stored in the configuration directory\'s devices/ and wins over a shipped one of the same id.'),
    h('p', h('label', { for: file.id }, 'Definition file '), file),
    h('p', h('label', { for: id.id }, 'Id '), id, ' ', h('label.inline', replace, ' replace an existing one')),
    h('p', add), out);
}

async function snapshotSection() {
  const box = section('Snapshots and rollback');
  const out = h('div', { 'aria-live': 'polite' });
  try {
    const snaps = listOf(await get('snapshots'), 'snapshots');
    box.append(snaps.length ? table(['Snapshot', 'Taken', 'By', ''], snaps.map((s, i) => h('tr',
      h('th', { scope: 'row' }, String(s.id ?? s.n ?? i)),
      h('td', s.time || s.created || s.ts || ''),
      h('td', s.user || ''),
      h('td', h('button.small', {
        type: 'button',
        onclick: async () => {
          if (!await confirmDialog('Roll back', `Stage snapshot ${s.id ?? s.n ?? i}? Apply to make it active.`, 'Roll back')) return;
          try {
            await post(`snapshots/${encodeURIComponent(s.id ?? s.n ?? i)}/restore`, {});
            out.replaceChildren(notice('ok', 'Snapshot staged: review and apply.'));
            window.dispatchEvent(new Event('fb-changed'));
          } catch (err) { out.replaceChildren(errorNotice(err, 'Rollback')); }
        },
      }, 'Roll back to this'))))) : h('p.muted', 'No snapshots yet: one is taken at every apply.'));
  } catch (err) {
    box.append(errorNotice(err, 'Snapshots'));
  }
  box.append(out);
  return box;
}

export async function render(ctx) {
  if (ctx.session && ctx.session.role && ctx.session.role !== 'admin') {
    return page('System', notice('error', 'Only an admin can use the system page.'));
  }
  const [gw, tls, snaps] = await Promise.all([gatewaySection(), tlsSection(), snapshotSection()]);
  return page('System', gw, tls, backupSection(), definitionSection(), snaps);
}

