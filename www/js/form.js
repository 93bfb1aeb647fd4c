// SPDX-License-Identifier: Apache-2.0
// Schema-driven form: one labelled control per field, with its allowed
// values, default and help, and room for the loader's message at the field.

import { h, nextId, clear, append, notice, errorNotice } from './ui.js';
import { CHOICE_LABELS, fieldLabel } from './schema.js';
import { diagnostics, ApiError } from './api.js';

const isSecret = (p) => p.writeOnly || p['x-fieldbridge-type'] === 'secret';
const fbType = (p) => p['x-fieldbridge-type'] || '';
const isFile = (p) => ['cert', 'certificate', 'key'].includes(fbType(p));
const defaultOf = (p) => (p['x-default'] !== undefined ? p['x-default'] : p.default);

function boolOf(v) {
  if (v === true || v === 'on' || v === 'true' || v === 1) return true;
  if (v === false || v === 'off' || v === 'false' || v === 0) return false;
  return undefined;
}

function choicesOf(name, p) {
  if (Array.isArray(p.enum)) return p.enum;
  if (p.type === 'integer' && Number.isFinite(p.minimum) && Number.isFinite(p.maximum)
      && p.maximum - p.minimum <= 2) {
    const out = [];
    for (let v = p.minimum; v <= p.maximum; v += 1) out.push(v);
    return out;
  }
  return null;
}

function helpText(p) {
  const parts = [];
  if (p.description) {
    const t = p.description;
    parts.push(/[.!?]$/.test(t) ? t : `${t}.`);
  }
  const d = defaultOf(p);
  if (d !== undefined && d !== null && d !== '') parts.push(`Default: ${d}.`);
  if (p.type === 'integer' && !p.enum && Number.isFinite(p.minimum)) parts.push(`Range ${p.minimum}..${p.maximum}.`);
  return parts.join(' ');
}

// Certificate/key field. The gateway keeps the file (copied under certs/)
// and shows what it found in it ({subject, issuer, not_after, expired,
// problem}, key_matches_certificate); the page uploads the PEM text and
// sends {"set": true} to keep the stored file, null to remove it.
function fileControl(id, name, value, info0, help) {
  const info = h('div.certinfo', { 'aria-live': 'polite' });
  const stored = !!(info0 && info0.set) || (typeof value === 'string' && value !== '') || !!(value && value.path);
  const shown = h('input', { id, name, type: 'text', readonly: true, tabindex: -1, 'aria-describedby': help,
    value: typeof value === 'string' ? value : value?.path || (stored ? 'set' : ''),
    placeholder: 'none: upload a PEM file' });
  const file = h('input', { type: 'file', accept: '.pem,.crt,.cer,.key,application/x-pem-file',
    'aria-label': `Upload ${name} (PEM)`, id: `${id}-upload`, dataset: { upload: name } });
  let pem = null;
  let removed = false;
  let loading = null; // a chosen file still being read (Save waits for it)
  const showInfo = (v) => {
    clear(info);
    if (!v || typeof v !== 'object') return;
    const dl = h('dl.kv');
    const row = (k, x) => { if (x !== undefined && x !== null) append(dl, [h('dt', k), h('dd', String(x))]); };
    row('Subject', v.subject);
    row('Issuer', v.issuer);
    if (v.not_after) row('Expires', `${v.not_after}${v.expired ? ' (expired)' : ''}`);
    const m = v.key_matches_certificate ?? v.matches_certificate;
    if (m !== undefined) row('Key matches certificate', m === null ? 'unknown' : m ? 'yes' : 'NO');
    row('Problem', v.problem || v.error);
    if (dl.childElementCount) info.append(dl);
  };
  showInfo(info0 || (value && typeof value === 'object' ? value : null));
  file.addEventListener('change', () => { loading = load(); });
  const load = async () => {
    const f = file.files[0];
    if (!f) return;
    const text = await f.text();
    if (file.files[0] !== f) return; // removed or replaced meanwhile
    pem = text;
    removed = false;
    shown.value = `${f.name} (uploaded, checked when saved)`;
    clear(info);
    const ok = /-----BEGIN [A-Z0-9 ]+-----/.test(pem);
    info.append(h(`p.${ok ? 'hint' : 'bad'}`, ok
      ? `${f.name}: ${pem.length} bytes of PEM; subject, issuer and expiry are shown after saving.`
      : `${f.name} does not look like a PEM file.`));
  };
  const remove = h('button.small.link', {
    type: 'button',
    onclick: () => { pem = null; removed = true; file.value = ''; shown.value = ''; clear(info); },
  }, 'Remove');
  const wrap = h('div.filefield', shown, h('div.upload', h('label', { for: file.id }, 'Upload PEM file: '), file, stored ? remove : null), info);
  return {
    el: wrap,
    focusEl: file,
    pending: () => loading,
    read: () => (pem ? pem : removed ? null : stored ? { set: true } : undefined),
    showInfo,
    fresh: (v, inf) => {
      pem = null;
      removed = false;
      file.value = '';
      shown.value = typeof v === 'string' ? v : inf && inf.set ? 'set' : '';
      showInfo(inf);
    },
  };
}

export class Form {
  // fields: [[name, label], ...]; values: the object as GET returned it.
  constructor(schema, fields, values = {}, opts = {}) {
    this.schema = schema;
    this.values = values;
    this.opts = opts;
    this.controls = new Map();
    this.general = h('div.form-messages', { 'aria-live': 'polite' });
    this.el = h('div.form-fields', this.general);
    for (const [name, label] of fields) {
      const p = (schema.properties || {})[name];
      if (!p) continue;
      this.el.append(this.field(name, label || fieldLabel(name), p, values[name]));
    }
  }

  field(name, label, p, value) {
    const id = nextId(`f-${name}`);
    const helpId = `${id}-help`;
    const msgId = `${id}-msg`;
    const required = (this.schema.required || []).includes(name);
    const described = `${helpId} ${msgId}`;
    let ctl;
    const choices = choicesOf(name, p);
    const d = defaultOf(p);
    let wrap = null;
    if (p.type === 'boolean') {
      const input = h('input', { id, name, type: 'checkbox', 'aria-describedby': described });
      const v = boolOf(value);
      input.checked = v === undefined ? boolOf(d) !== false : v;
      ctl = { el: h('span.check', input, h('span.onoff')), focusEl: input, read: () => input.checked };
    } else if (choices) {
      const sel = h('select', { id, name, 'aria-describedby': described });
      if (d === undefined || d === null) sel.append(h('option', { value: '' }, '– choose –'));
      const labels = CHOICE_LABELS[name] || {};
      for (const c of choices) {
        const text = (labels[c] || String(c)) + (String(c) === String(d) ? ' (default)' : '');
        sel.append(h('option', { value: String(c) }, text));
      }
      const cur = value !== undefined && value !== null ? value : d;
      if (cur !== undefined && cur !== null) sel.value = String(cur === 'trust all' ? 'trust_all' : cur);
      ctl = {
        el: sel,
        focusEl: sel,
        read: () => {
          if (sel.value === '') return undefined;
          return p.type === 'integer' ? Number(sel.value) : sel.value;
        },
      };
    } else if (isFile(p)) {
      const certs = this.values._certs || {};
      let inf = certs[name];
      if (fbType(p) === 'key' && 'key_matches_certificate' in certs) {
        inf = { ...(inf || {}), key_matches_certificate: certs.key_matches_certificate };
      }
      ctl = fileControl(id, label, value, inf, described);
    } else if (isSecret(p)) {
      const set = value && typeof value === 'object' && value.set;
      const input = h('input', { id, name, type: 'password', autocomplete: 'new-password',
        placeholder: set ? 'set' : 'not set', 'aria-describedby': described });
      ctl = {
        el: input,
        focusEl: input,
        // {"set": true} round-trips "keep the stored secret".
        read: () => (input.value !== '' ? input.value : set ? { set: true } : undefined),
      };
    } else if (p.type === 'integer') {
      const input = h('input', { id, name, type: 'number', inputmode: 'numeric', step: 1,
        min: p.minimum, max: p.maximum, placeholder: d ?? '', 'aria-describedby': described,
        required: required || undefined });
      if (value !== undefined && value !== null) input.value = String(value);
      ctl = { el: input, focusEl: input, read: () => (input.value === '' ? undefined : Number(input.value)) };
    } else {
      const input = h('input', { id, name, type: 'text', autocomplete: 'off', spellcheck: 'false',
        placeholder: d ?? '', 'aria-describedby': described, required: required || undefined });
      if (typeof value === 'string' || typeof value === 'number') input.value = String(value);
      const suggest = this.opts.suggest && this.opts.suggest[name];
      if (suggest) {
        const listId = `${id}-list`;
        input.setAttribute('list', listId);
        const dl = h('datalist', { id: listId });
        Promise.resolve(suggest()).then((items) => {
          for (const it of items || []) {
            const o = typeof it === 'string' ? { value: it } : it;
            dl.append(h('option', { value: o.value }, o.label || ''));
          }
        }).catch((err) => {
          // Say plainly when the gateway cannot list them; typing still works.
          if (err && err.status) {
            wrap.querySelector('.help').append(` (No list to pick from: api/v1/${err.path} answers ${err.status}.)`);
          }
        });
        ctl = { el: h('span', input, dl), focusEl: input, read: () => input.value.trim() || undefined };
      } else {
        ctl = { el: input, focusEl: input, read: () => input.value.trim() || undefined };
      }
    }
    const msg = h('div.field-msg', { id: msgId, 'aria-live': 'polite' });
    wrap = h('div.field', { dataset: { field: name } },
      h('label', { for: id }, label, required ? h('span.req', { 'aria-hidden': 'true' }, ' *') : null),
      ctl.el,
      h('div.help', { id: helpId }, helpText(p)),
      msg);
    this.controls.set(name, { ...ctl, wrap, msg, p });
    return wrap;
  }

  // Async: a file chosen just before Save is still being read, and the
  // body must carry its text, not the stored file's.
  async read() {
    await Promise.all([...this.controls.values()].map((c) => c.pending?.()));
    const out = {};
    for (const [name, c] of this.controls) {
      if (c.wrap.hidden) continue;
      const v = c.read();
      if (v !== undefined) out[name] = v;
    }
    return out;
  }

  clearMessages() {
    clear(this.general);
    for (const c of this.controls.values()) {
      clear(c.msg);
      c.wrap.classList.remove('invalid', 'warn');
      c.focusEl.removeAttribute('aria-invalid');
    }
  }

  // Places each loader message at its field (by "field", else by the last
  // component of "path" or of the "...: field: ..." message); the rest go on
  // top of the form. Returns the number of errors.
  showDiagnostics(body) {
    this.clearMessages();
    const list = Array.isArray(body) ? body : diagnostics(body);
    let errors = 0;
    let first = null;
    for (const d of list) {
      const sev = d.severity || 'error';
      if (sev === 'error') errors += 1;
      const name = this.fieldOf(d);
      const c = name && this.controls.get(name);
      const line = h(`p.${sev === 'error' ? 'bad' : 'warn'}`, d.message);
      if (c) {
        c.msg.append(line);
        c.wrap.classList.add(sev === 'error' ? 'invalid' : 'warn');
        if (sev === 'error') {
          c.focusEl.setAttribute('aria-invalid', 'true');
          first = first || c;
        }
      } else {
        this.general.append(line);
      }
    }
    if (first) first.focusEl.focus();
    return errors;
  }

  fieldOf(d) {
    const cands = [];
    if (d.field) cands.push(d.field);
    if (d.path) {
      const last = String(d.path).split(/[.[\]]/).filter(Boolean).pop();
      if (last) cands.push(last);
    }
    // "file.json: connection (ha).broker: expected ...": every "word: " of
    // the message, the first that names a field of this form wins.
    for (const m of String(d.message || '').matchAll(/([a-z_]+)(?:\[\d+\])?: /g)) cands.push(m[1]);
    for (const c of cands) {
      const base = c.replace(/_file$/, '');
      if (this.controls.has(c)) return c;
      if (this.controls.has(base)) return base;
    }
    return null;
  }

  control(name) { return this.controls.get(name); }
}

// A refused save, said where it belongs: a stale edit (409) above the form,
// the loader's messages at their fields (a refusal without diagnostics,
// "port: expected ...", at its field too), anything else as one notice.
// what: "This server"; status: the element above the actions.
export function showSaveError(err, form, status, what) {
  if (err instanceof ApiError && err.status === 409 && err.body && err.body.etag) {
    status.replaceChildren(notice('error', `${what} was changed elsewhere since you opened it (409). Reload the page to see the current version; your edits are still in the form.`));
    return;
  }
  let list = err instanceof ApiError ? err.diagnostics : [];
  const m = err instanceof ApiError && typeof err.body?.error === 'string' && /^([a-z_]+): /.exec(err.body.error);
  if (!list.length && m) list = [{ severity: 'error', field: m[1], message: err.body.error }];
  if (list.length) {
    const errs = form.showDiagnostics(list);
    status.replaceChildren(notice('error', `Not saved: ${errs || list.length} problem${(errs || list.length) === 1 ? '' : 's'}, shown at the fields.`));
    return;
  }
  if (err instanceof ApiError && err.status === 409) {
    status.replaceChildren(notice('error', `Not saved: ${err.body?.error || err.message}`));
    return;
  }
  status.replaceChildren(errorNotice(err, 'Saving'));
}
