// SPDX-License-Identifier: Apache-2.0
// DOM helpers. Everything is built with createElement and textContent, never
// innerHTML, so no value from the gateway can become markup.

import { ApiError } from './api.js';

// h('div.card#id', {attrs}, children...)
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
export function nextId(prefix = 'f') { uid += 1; return `${prefix}-${uid}`; }

// A message box: kind is info | ok | error | warn | todo (endpoint missing).
export function notice(kind, ...text) {
  return h(`div.notice.${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, ...text);
}

// The plain "not implemented yet" notice, or the error text.
export function errorNotice(err, what) {
  if (err instanceof ApiError && err.notImplemented) {
    return notice('todo', `${what}: the gateway does not implement this yet (`,
      h('code', `api/v1/${err.path}`), err.status === 501 ? ' answers 501 Not Implemented).' : ` answers ${err.status}).`);
  }
  return notice('error', what ? `${what}: ` : '', err.message || String(err));
}

export function page(title, ...children) {
  document.title = `${title} · fieldbridge`;
  return h('section.page', h('h1', title), ...children);
}

export function fmtAge(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

// Percentages as the driver gives them (0..100).
export function percent(x) {
  if (x === null || x === undefined || x === '') return null;
  const n = Number(x);
  return Number.isFinite(n) ? n : null;
}

export function badge(ok, yes = 'connected', no = 'disconnected') {
  if (ok === undefined || ok === null) return h('span.badge.unknown', 'unknown');
  return h(`span.badge.${ok ? 'ok' : 'bad'}`, ok ? yes : no);
}

// "RTU 9600 8E1", "TCP 192.168.1.10:502", "GPIO pinctrl-rp1"
export function framing(b) {
  if (!b) return '';
  if (b.framing) return b.framing;
  const t = (b.transport || '').toLowerCase();
  const serial = `${b.baud || 9600} ${b.data_bits || 8}${b.parity || 'N'}${b.stop_bits || 1}`;
  if (t === 'rtu') return `RTU ${serial}`;
  if (t === 'rtu_over_tcp') return `RTU over TCP ${b.host || ''}:${b.port || 502} ${serial}`;
  if (t === 'tcp') return `TCP ${b.host || ''}:${b.port || 502}`;
  if (t === 'gpio') return `GPIO ${b.chip || ''}`;
  return t.toUpperCase();
}

// A modal dialog; resolves with the value of the pressed button.
export function dialog(title, body, buttons = [{ label: 'Close', value: null }]) {
  const dlg = document.getElementById('dialog');
  document.getElementById('dialog-title').textContent = title;
  append(clear(document.getElementById('dialog-body')), [body]);
  const actions = clear(document.getElementById('dialog-actions'));
  return new Promise((resolve) => {
    for (const b of buttons) {
      actions.append(h(`button${b.primary ? '.primary' : ''}`, {
        type: 'button',
        onclick: () => { dlg.close(); resolve(b.value); },
      }, b.label));
    }
    dlg.addEventListener('cancel', () => resolve(null), { once: true });
    dlg.showModal();
    const first = actions.querySelector('button.primary') || actions.querySelector('button');
    if (first) first.focus();
  });
}

export function confirmDialog(title, text, label = 'OK') {
  return dialog(title, h('p', text), [
    { label: 'Cancel', value: false },
    { label, value: true, primary: true },
  ]);
}

export function table(headers, rows, caption) {
  return h('div.table-wrap', h('table',
    caption ? h('caption', caption) : null,
    h('thead', h('tr', headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', rows)));
}

export function copyBlock(text, label) {
  const pre = h('pre.code', text);
  return h('div.copy',
    h('div.copy-head', h('span', label || ''),
      h('button.small', {
        type: 'button',
        onclick: (ev) => {
          navigator.clipboard?.writeText(text).then(() => { ev.target.textContent = 'copied'; },
            () => { ev.target.textContent = 'select and copy'; });
        },
      }, 'Copy')),
    pre);
}
