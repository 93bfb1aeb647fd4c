// SPDX-License-Identifier: Apache-2.0
// Logs: the journal of the fieldbridge units, with a level filter and follow.

import { get } from '../api.js';
import { h, page, errorNotice, nextId, clear } from '../ui.js';
import { listOf } from './export.js';

const LEVELS = [['3', 'errors'], ['4', 'warnings and worse'], ['6', 'info and worse'], ['7', 'everything (debug)']];
const NAMES = { 0: 'emerg', 1: 'alert', 2: 'crit', 3: 'err', 4: 'warning', 5: 'notice', 6: 'info', 7: 'debug' };

function when(e) {
  const t = e.ts_ms ?? e.ts ?? e.time ?? e.__REALTIME_TIMESTAMP;
  if (t === undefined) return '';
  const n = Number(t);
  const ms = Number.isFinite(n) ? (n > 1e14 ? n / 1000 : n > 1e11 ? n : n * 1000) : Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms).toLocaleTimeString() : String(t);
}

export async function render() {
  const lid = nextId('level');
  const uid = nextId('unit');
  const level = h('select', { id: lid }, LEVELS.map(([v, l]) => h('option', { value: v }, l)));
  level.value = '6';
  const unit = h('input', { id: uid, type: 'search', placeholder: 'e.g. fieldbridge-modbus@meters', autocomplete: 'off' });
  const follow = h('input', { type: 'checkbox', id: nextId('follow'), checked: true });
  const out = h('div.log', { role: 'log', 'aria-live': 'polite', tabindex: '0' });
  const msg = h('div');
  let timer = null;
  let cursor = null;
  let busy = false;

  const load = async (reset) => {
    if (busy) return;
    busy = true;
    const q = new URLSearchParams({ priority: level.value });
    if (unit.value.trim()) q.set('unit', unit.value.trim());
    if (!reset && cursor) q.set('since', cursor);
    try {
      const data = await get(`logs?${q}`);
      const entries = listOf(data, 'entries').length ? listOf(data, 'entries') : listOf(data, 'lines');
      if (reset) clear(out);
      for (const e of typeof data === 'string' ? data.split('\n').filter(Boolean).map((m) => ({ message: m })) : entries) {
        const pr = Number(e.priority ?? e.PRIORITY ?? 6);
        out.append(h(`div.logline.p${pr}`,
          h('span.ts', when(e)), ' ', h('span.lvl', NAMES[pr] || String(pr)), ' ',
          h('span.unit', e.unit || e._SYSTEMD_UNIT || ''), ' ', h('span.msg', e.message ?? e.MESSAGE ?? '')));
      }
      cursor = data?.cursor || data?.next || (entries.length ? entries[entries.length - 1].cursor || entries[entries.length - 1].ts : cursor);
      while (out.childElementCount > 2000) out.firstChild.remove();
      if (follow.checked) out.scrollTop = out.scrollHeight;
      msg.replaceChildren();
      out.hidden = false;
      if (reset && !out.childElementCount) out.append(h('p.muted', 'No log lines.'));
    } catch (err) {
      msg.replaceChildren(errorNotice(err, 'Logs'));
      follow.checked = false;
      out.hidden = !out.childElementCount;
    } finally {
      busy = false;
    }
  };
  const arm = () => {
    clearInterval(timer);
    if (follow.checked) timer = setInterval(() => load(false), 2000);
  };
  level.addEventListener('change', () => { cursor = null; load(true); });
  unit.addEventListener('change', () => { cursor = null; load(true); });
  follow.addEventListener('change', arm);
  await load(true);
  arm();
  const el = page('Logs',
    h('div.toolbar',
      h('label', { for: lid }, 'Level '), level,
      h('label', { for: uid }, 'Unit '), unit,
      h('label.inline', follow, ' Follow'),
      h('button.small', { type: 'button', onclick: () => clear(out) }, 'Clear')),
    msg, out);
  el.cleanup = () => clearInterval(timer);
  return el;
}
