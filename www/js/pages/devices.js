// SPDX-License-Identifier: Apache-2.0
// Devices: every device and point with value, unit, quality and age, live;
// controls for writable points; each device's MQTT topics and discovery.

import { get, post, seg, ApiError } from '../api.js';
import { h, page, notice, errorNotice, fmtAge, clear, copyBlock, nextId } from '../ui.js';
import { subscribe, devices, haveSnapshot, eventStatus } from '../live.js';
import { listOf } from './export.js';

function fmtValue(p) {
  const v = p.value;
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number' && Number.isFinite(p.precision)) return v.toFixed(p.precision);
  return String(v);
}

function kindOf(p) {
  const k = String(p.control || p.component || p.kind || p.type || p.platform || '').toLowerCase();
  if (/switch|light|valve|relay|coil|output|bool/.test(k)) return 'switch';
  if (/button|pulse/.test(k)) return 'button';
  if (/select|enum/.test(k)) return 'select';
  if (/number|holding|float|int/.test(k)) return 'number';
  return typeof p.value === 'boolean' ? 'switch' : 'number';
}

// Without point metadata from the gateway, an on/off point gets a switch;
// the gateway refuses a command to a read-only point and the row says so.
// Diagnostics (keys starting with _) never take commands.
const writable = (p) => p.writable === true || p.access === 'write' || p.rights === 'write' || p.command === true
  || (p.writable === undefined && p.access === undefined && typeof p.value === 'boolean'
    && !String(p.key).startsWith('_'));

async function command(d, p, value, out, revert) {
  out.className = 'result busy';
  out.textContent = 'sending…';
  try {
    const r = await post(`points/${seg(d.bus)}/${seg(d.id)}/${seg(p.key)}`, { value });
    const failed = r && (['failed', 'timeout', 'superseded', 'refused'].includes(r.result || r.status) || r.ok === false);
    out.className = `result ${failed ? 'bad' : 'ok'}`;
    out.textContent = failed ? `failed${r.reason || r.error ? `: ${r.reason || r.error}` : ''}` : 'done';
    if (failed && revert) revert();
  } catch (err) {
    if (revert) revert();
    out.className = 'result bad';
    out.textContent = err instanceof ApiError && err.status === 501
      ? 'failed: commands are not implemented by this gateway yet (501)'
      : `failed: ${err.message}`;
  }
}

// The control shows the point's value again after a refused command; a
// viewer gets it disabled (viewers send no commands).
function control(d, p, role) {
  if (!writable(p)) return null;
  const cur = () => d.points.get(p.key) || p;
  const out = h('span.result', { 'aria-live': 'polite' });
  const label = `${d.id} ${p.name || p.key}`;
  const id = nextId('ctl');
  let el;
  switch (kindOf(p)) {
    case 'switch': {
      const input = h('input', { id, type: 'checkbox', role: 'switch', 'aria-label': `Switch ${label}`,
        dataset: { control: 'switch' } });
      input.checked = p.value === true || p.value === 1 || p.value === 'on' || p.value === 'ON';
      const on = (np) => np.value === true || np.value === 1 || np.value === 'on' || np.value === 'ON';
      input.addEventListener('change', () => command(d, p, input.checked, out, () => { input.checked = on(cur()); }));
      el = h('label.switch', input, h('span.slider', { 'aria-hidden': 'true' }));
      el.sync = (np) => { if (document.activeElement !== input) input.checked = on(np); };
      break;
    }
    case 'button':
      el = h('button.small', { type: 'button', dataset: { control: 'button' }, 'aria-label': `Press ${label}`,
        // A button's press value comes from its definition: no value sent.
        onclick: () => command(d, p, undefined, out) }, p.press_label || 'Press');
      break;
    case 'select': {
      // Options are labels; the command sends the label. A value that is no
      // label (a raw number) leaves the list on "– set –".
      const opts = Array.isArray(p.options) ? p.options
        : Object.entries(p.options || {}).map(([, l]) => l);
      const sel = h('select', { 'aria-label': `Set ${label}`, dataset: { control: 'select' } },
        h('option', { value: '' }, '– set –'),
        opts.map((o) => h('option', { value: typeof o === 'object' ? o.label ?? o.value : o }, typeof o === 'object' ? o.label ?? o.value : o)));
      const show = (np) => {
        sel.value = String(np.value ?? '');
        if (sel.selectedIndex < 0) sel.value = '';
      };
      show(p);
      sel.addEventListener('change', () => {
        if (sel.value !== '') command(d, p, sel.value, out, () => show(cur()));
      });
      el = sel;
      el.sync = (np) => { if (document.activeElement !== sel) show(np); };
      break;
    }
    default: {
      const input = h('input', { type: 'number', step: p.step ?? 'any', min: p.min, max: p.max,
        'aria-label': `New value for ${label}`, value: p.value ?? '' });
      el = h('form.inline', {
        dataset: { control: 'number' },
        onsubmit: (ev) => { ev.preventDefault(); command(d, p, Number(input.value), out); },
      }, input, h('button.small', { type: 'submit' }, 'Set'));
      break;
    }
  }
  if (role === 'viewer') {
    for (const c of el.querySelectorAll ? [el, ...el.querySelectorAll('input, select, button')] : [el]) {
      if ('disabled' in c) c.disabled = true;
    }
    el.title = 'Viewers cannot send commands';
  }
  const wrap = h('span.control', el, out);
  wrap.sync = el.sync;
  return wrap;
}

function qualityBadge(p) {
  if (p.component === 'button') return h('span.muted', '–');
  const q = p.quality ?? (p.available === false ? 'offline' : undefined);
  if (q === undefined || q === null) return h('span.muted', '–');
  const good = q === 'good' || q === 'ok' || q === true;
  return h(`span.badge.${good ? 'ok' : 'bad'}`, typeof q === 'string' ? q : good ? 'good' : String(q));
}

// MQTT topics and discovery payload of a device, per connection, as the
// exporter builds them (GET buses/{b}/devices/{d}/discovery).
function connTopics(one) {
  const lines = [`${one.topic}   (discovery, retained)`, one.state_topic, ...one.availability_topics];
  let cmps = {};
  try { cmps = JSON.parse(one.payload).cmps || {}; } catch { cmps = {}; }
  for (const c of Object.values(cmps)) if (c.command_topic) lines.push(`${c.command_topic}   (command)`);
  return lines.join('\n');
}

function mqttDetails(d) {
  const box = h('div');
  const det = h('details.mqtt', h('summary', 'MQTT topics and discovery'), box);
  let loaded = false;
  det.addEventListener('toggle', async () => {
    if (!det.open || loaded) return;
    loaded = true;
    try {
      const doc = await get(`buses/${seg(d.bus)}/devices/${seg(d.id)}/discovery`);
      const conns = listOf(doc, 'connections');
      if (!conns.length) { box.append(h('p.muted', 'No export connection: nothing is published.')); return; }
      for (const one of conns) {
        box.append(h('h4', `Connection ${one.connection}`));
        if (one.diagnostics) { box.append(errorNotice({ message: one.diagnostics.map((x) => x.message).join('\n') }, 'Users file')); continue; }
        if (one.exported === false) { box.append(h('p.muted', 'Not exported: the connection\'s user may see none of its points.')); continue; }
        let pretty = one.payload;
        try { pretty = JSON.stringify(JSON.parse(one.payload), null, 2); } catch { /* as sent */ }
        box.append(copyBlock(connTopics(one), 'Topics'), copyBlock(pretty, 'Discovery payload'));
      }
    } catch (err) {
      box.append(errorNotice(err, 'MQTT topics and discovery'));
    }
  });
  return det;
}

export async function render(ctx) {
  const role = ctx && ctx.session ? ctx.session.role : undefined;
  const list = h('div.devices');
  const state = h('p.muted', { 'aria-live': 'polite' });
  const filterId = nextId('filter');
  const filter = h('input', { id: filterId, type: 'search', placeholder: 'device, point or bus', autocomplete: 'off' });
  const rows = new Map(); // "bus/dev/point" -> {value, quality, age, ctl, point}
  const cards = new Map(); // "bus/dev" -> card element
  // Display names come from the configuration; the stream carries ids.
  const names = new Map();
  try {
    const cfg = await get('config');
    for (const dv of listOf(cfg?.devices, 'devices')) if (dv.name) names.set(`${dv.bus}/${dv.id}`, dv.name);
  } catch { /* ids only */ }

  const card = (d) => {
    const tbody = h('tbody');
    const avail = h('span');
    const setAvail = () => avail.replaceChildren(d.available === false ? h('span.badge.bad', 'unavailable')
      : d.available === true ? h('span.badge.ok', 'available') : '');
    setAvail();
    const el = h('section.card.device', { dataset: { bus: d.bus, device: d.id } },
      h('h2', d.name || names.get(`${d.bus}/${d.id}`) || d.id, ' ', h('span.muted.small', `${d.id} on ${d.bus}`), ' ', avail),
      h('div.table-wrap', h('table.points',
        h('thead', h('tr', ['Point', 'Value', 'Unit', 'Quality', 'Age', 'Control'].map((x) => h('th', { scope: 'col' }, x)))),
        tbody)),
      mqttDetails(d));
    el.tbody = tbody;
    el.setAvail = setAvail;
    return el;
  };

  const row = (d, p) => {
    const cells = {
      value: h('td.value', fmtValue(p)),
      unit: h('td', p.unit || ''),
      quality: h('td', qualityBadge(p)),
      age: h('td.age', p.component === 'button' ? '–' : fmtAge(Date.now() - p.at)),
      ctl: control(d, p, role),
      point: p,
    };
    const tr = h(`tr${String(p.key).startsWith('_diag_') ? '.diag' : ''}`, { dataset: { point: p.key } },
      h('th', { scope: 'row' }, p.name || p.key, p.name && p.name !== p.key ? h('div.small.muted', p.key) : null),
      cells.value, cells.unit, cells.quality, cells.age, h('td', cells.ctl));
    cells.tr = tr;
    return cells;
  };

  const drawAll = () => {
    clear(list);
    rows.clear();
    cards.clear();
    const all = devices().sort((a, b) => `${a.bus}/${a.id}`.localeCompare(`${b.bus}/${b.id}`));
    for (const d of all) {
      const c = card(d);
      for (const p of d.points.values()) {
        const r = row(d, p);
        rows.set(`${d.bus}/${d.id}/${p.key}`, r);
        c.tbody.append(r.tr);
      }
      cards.set(`${d.bus}/${d.id}`, c);
      list.append(c);
    }
    applyFilter();
    if (!all.length) {
      list.append(haveSnapshot() ? notice('info', 'No devices visible to you.')
        : notice('info', 'Waiting for the live values (', h('code', 'api/v1/events'), ')…'));
    }
  };

  const applyFilter = () => {
    const q = filter.value.trim().toLowerCase();
    for (const [k, c] of cards) {
      let any = false;
      for (const tr of c.tbody.children) {
        const show = !q || `${k}/${tr.dataset.point}`.toLowerCase().includes(q);
        tr.hidden = !show;
        any = any || show;
      }
      c.hidden = !any && !!q;
    }
  };
  filter.addEventListener('input', applyFilter);

  const update = (changed, kind) => {
    if (kind === 'snapshot') { drawAll(); return; }
    if (kind.startsWith('stream-')) { showState(); return; }
    let structural = false;
    for (const c of changed) {
      if (c.point === undefined) {
        const card0 = cards.get(`${c.bus}/${c.device}`);
        if (c.device !== undefined && !card0) structural = true;
        else if (card0) card0.setAvail();
        continue;
      }
      const r = rows.get(`${c.bus}/${c.device}/${c.point}`);
      const d = devices().find((x) => x.bus === c.bus && x.id === c.device);
      const p = d && d.points.get(c.point);
      if (!r || !p) { structural = true; continue; }
      const text = fmtValue(p);
      if (r.value.textContent !== text) {
        r.value.textContent = text;
        r.value.classList.remove('flash');
        void r.value.offsetWidth;
        r.value.classList.add('flash');
      }
      r.quality.replaceChildren(qualityBadge(p));
      r.point = p;
      if (p.component !== 'button') r.age.textContent = fmtAge(Date.now() - p.at);
      if (r.ctl && r.ctl.sync) r.ctl.sync(p);
    }
    if (structural) drawAll();
  };

  const showState = () => {
    const s = eventStatus();
    state.textContent = s === 'open' ? 'Live.' : s === 'reconnecting' ? 'Live updates interrupted; reconnecting…' : 'Live updates closed.';
  };
  const unsub = subscribe(update);
  const tick = setInterval(() => {
    for (const r of rows.values()) if (r.point.component !== 'button') r.age.textContent = fmtAge(Date.now() - r.point.at);
  }, 1000);
  drawAll();
  showState();
  const diagId = nextId('diag');
  const diag = h('input', { type: 'checkbox', id: diagId });
  diag.addEventListener('change', () => list.classList.toggle('show-diag', diag.checked));
  const el = page('Devices', h('div.toolbar', h('label', { for: filterId }, 'Filter '), filter,
    h('label.inline', { for: diagId }, diag, ' Show diagnostics'), state), list);
  el.cleanup = () => { unsub(); clearInterval(tick); };
  return el;
}
