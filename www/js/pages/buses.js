// SPDX-License-Identifier: Apache-2.0
// Buses and their devices: add, edit, delete; serial port, GPIO chip/line
// and definition pickers; the airtime budget checked as you type.

import { get, post, del, request, seg, ApiError, diagnostics } from '../api.js';
import { h, page, notice, errorNotice, table, confirmDialog, nextId, framing, clear } from '../ui.js';
import { Form } from '../form.js';
import { loadSchema, fieldLabel } from '../schema.js';
import { listOf, fieldError } from './export.js';

const TIMING = ['response_timeout_ms', 'byte_timeout_ms', 'retries', 'guard_time_ms',
  'offline_after', 'backoff_max_ms', 'poll_interval_ms'];
const SERIAL = ['baud', 'parity', 'data_bits', 'stop_bits'];
const BY_TRANSPORT = {
  tcp: ['host', 'port', ...TIMING],
  rtu: ['device', ...SERIAL, ...TIMING, 'rs485', 'rts', 'rts_delay_us'],
  rtu_over_tcp: ['host', 'port', ...SERIAL, ...TIMING],
  gpio: ['chip', 'persist_interval_s'],
};

function changed() { window.dispatchEvent(new Event('fb-changed')); }

async function serialPorts() {
  return listOf(await get('serial-ports'), 'ports').map((p) => ({
    value: p.path || p.by_id || p.name,
    label: [p.vendor, p.model, p.serial, p.used_by ? `used by ${p.used_by}` : ''].filter(Boolean).join(' '),
  }));
}

async function gpioChips() {
  return listOf(await get('gpio-chips'), 'chips').map((c) => ({
    value: c.label || c.name,
    label: [c.name, c.lines ? `(${c.lines.length} lines)` : '', c.error || '', c.used_by ? `used by ${c.used_by}` : ''].filter(Boolean).join(' '),
  }));
}

// The diagnostics about the airtime budget, shown under the serial fields.
function airtimeView() {
  const box = h('div.airtime', { 'aria-live': 'polite' },
    h('h3', 'Airtime budget'), h('p.muted', 'The gateway\'s check of the saved configuration, repeated as you edit and after each save.'));
  const meter = h('meter', { min: 0, max: 120, low: 80, high: 100, optimum: 40, value: 0, 'aria-label': 'Airtime budget' });
  const text = h('p');
  box.append(meter, text);
  return {
    el: box,
    show(list, err, bus) {
      if (err) { text.replaceChildren(errorNotice(err, 'Airtime check')); meter.hidden = true; return; }
      const d = list.find((x) => /airtime/i.test(x.message) && (!bus || x.message.includes(`bus ${bus}:`)));
      meter.hidden = false;
      if (!d) { meter.value = 0; text.textContent = 'Within budget (no airtime warning).'; return; }
      const m = /(\d+)% of the line/.exec(d.message);
      if (m) meter.value = Math.min(120, Number(m[1]));
      text.replaceChildren(h(`span.${d.severity === 'error' ? 'bad' : 'warn'}`, d.message));
    },
  };
}

export async function busEditor(name, opts = {}) {
  const { schemas } = await loadSchema();
  const schema = schemas.bus;
  let values = {};
  let etag = null;
  if (name) {
    const r = await request('GET', `buses/${seg(name)}`);
    values = r.data?.bus || r.data || {};
    etag = r.etag || values._meta?.etag;
  }
  const order = Object.keys(schema.properties || {});
  const form = new Form(schema, order.map((k) => [k, fieldLabel(k)]), values, {
    suggest: { device: serialPorts, chip: gpioChips },
  });
  // Timing and line-control fields have good defaults: folded away.
  const timing = h('details.advanced', h('summary', 'Timing, retries and line control'));
  for (const k of [...TIMING, 'rs485', 'rts', 'rts_delay_us']) {
    const c = form.control(k);
    if (c) timing.append(c.wrap);
  }
  form.el.append(timing);
  const nameId = nextId('bus-name');
  const nameInput = h('input', { id: nameId, name: 'name', required: true, value: name || '', autocomplete: 'off' });
  if (name) nameInput.readOnly = true;
  const status = h('div.form-status', { 'aria-live': 'polite' });
  const air = airtimeView();
  const transport = form.control('transport');
  const sync = () => {
    const t = transport ? transport.read() : undefined;
    const show = new Set(['transport', ...(BY_TRANSPORT[t] || [])]);
    for (const [k, c] of form.controls) c.wrap.hidden = !show.has(k);
    timing.hidden = ![...timing.querySelectorAll('.field')].some((f) => !f.hidden);
    air.el.hidden = !(t === 'rtu' || t === 'rtu_over_tcp');
  };
  if (transport) transport.focusEl.addEventListener('change', sync);
  sync();
  let savedName = name;
  let timer = null;
  const validate = async () => {
    if (air.el.hidden) return;
    try {
      const res = await post('config/validate', { bus: { name: nameInput.value || 'new', ...(await form.read()) } });
      air.show(diagnostics(res), null, savedName || nameInput.value.trim());
    } catch (err) {
      if (err instanceof ApiError && err.diagnostics.length) air.show(err.diagnostics, null, savedName);
      else air.show([], err);
    }
  };
  form.el.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(validate, 600); });
  form.el.addEventListener('change', () => { clearTimeout(timer); timer = setTimeout(validate, 300); });

  const save = async () => {
    status.replaceChildren();
    const body = { name: savedName || nameInput.value.trim(), ...(await form.read()) };
    try {
      if (savedName) {
        const r = await request('PUT', `buses/${seg(savedName)}`, body, { etag });
        etag = r.etag || etag;
      } else {
        const r = await request('POST', 'buses', body);
        etag = r.etag;
        savedName = body.name;
        nameInput.readOnly = true;
      }
      form.clearMessages();
      status.replaceChildren(notice('ok', `Saved bus ${savedName}. It is staged: apply to make it active.`));
      changed();
      validate();
      if (opts.onSaved) opts.onSaved(savedName);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        status.replaceChildren(notice('error', 'This bus was changed elsewhere since you opened it (409). Reload to see the current version.'));
      } else if (err instanceof ApiError && (err.diagnostics.length || fieldError(err))) {
        const nd = err.diagnostics.length ? err.diagnostics : [fieldError(err)];
        form.showDiagnostics(nd);
        air.show(nd);
        status.replaceChildren(notice('error', 'Not saved: see the messages at the fields.'));
      } else {
        status.replaceChildren(errorNotice(err, 'Saving'));
      }
      return false;
    }
  };
  const el = h('form.card.bus-form', {
    novalidate: true,
    'aria-label': name ? `Edit bus ${name}` : 'New bus',
    onsubmit: async (ev) => { ev.preventDefault(); await save(); },
  },
  h('div.field', h('label', { for: nameId }, 'Bus name', h('span.req', { 'aria-hidden': 'true' }, ' *')), nameInput,
    h('div.help', '1 to 31 characters from a-z, 0-9, _ and -.')),
  form.el, air.el, status,
  h('div.actions', h('button.primary', { type: 'submit', id: 'bus-save' }, 'Save'),
    opts.cancel ? h('button.link', { type: 'button', onclick: opts.cancel }, 'Back') : null));
  el.save = save;
  el.savedName = () => savedName;
  if (name) validate();
  return el;
}

// Definition picker: a searchable list from GET definitions.
function definitionPicker(input) {
  const sid = nextId('def-search');
  const search = h('input', { id: sid, type: 'search', placeholder: 'Search manufacturer, model, id', autocomplete: 'off' });
  const results = h('ul.picker', { role: 'listbox', 'aria-label': 'Definitions' });
  let defs = [];
  const show = () => {
    const q = search.value.toLowerCase();
    clear(results);
    for (const d of defs.filter((x) => JSON.stringify(x).toLowerCase().includes(q)).slice(0, 30)) {
      const id = d.id || d.name;
      results.append(h('li', h('button.link', {
        type: 'button',
        role: 'option',
        onclick: () => { input.value = id; input.dispatchEvent(new Event('input', { bubbles: true })); input.focus(); },
      }, h('strong', id), ' ', h('span.muted', [d.manufacturer, d.model, d.protocol].filter(Boolean).join(' · ')))));
    }
  };
  search.addEventListener('input', show);
  const box = h('div.defpicker', h('label', { for: sid }, 'Find a definition'), search, results);
  get('definitions').then((d) => { defs = listOf(d, 'definitions'); show(); })
    .catch((err) => box.append(errorNotice(err, 'Definitions')));
  return box;
}

export async function deviceEditor(bus, id, opts = {}) {
  const { schemas } = await loadSchema();
  const schema = schemas.device;
  let values = {};
  let etag = null;
  if (id) {
    const r = await request('GET', `buses/${seg(bus)}/devices/${seg(id)}`);
    values = r.data?.device || r.data || {};
    etag = r.etag;
  }
  const form = new Form(schema, Object.keys(schema.properties || {}).map((k) => [k, fieldLabel(k)]), values);
  const idId = nextId('dev-id');
  const idInput = h('input', { id: idId, name: 'id', required: true, value: id || '', autocomplete: 'off' });
  if (id) idInput.readOnly = true;
  const status = h('div.form-status', { 'aria-live': 'polite' });
  const def = form.control('definition');
  if (def) def.wrap.append(definitionPicker(def.focusEl));
  // Per-device timing overrides default to the bus's: folded away.
  const timing = h('details.advanced', h('summary', 'Timing (overrides the bus)'));
  for (const k of ['poll_interval_ms', 'response_timeout_ms', 'byte_timeout_ms', 'retries', 'guard_time_ms']) {
    const c = form.control(k);
    if (c) timing.append(c.wrap);
  }
  form.el.append(timing);
  const el = h('form.card.device-form', {
    novalidate: true,
    'aria-label': id ? `Edit device ${id}` : `New device on ${bus}`,
    onsubmit: async (ev) => {
      ev.preventDefault();
      status.replaceChildren();
      const body = { id: id || idInput.value.trim(), ...(await form.read()) };
      try {
        if (id) await request('PUT', `buses/${seg(bus)}/devices/${seg(id)}`, body, { etag });
        else await request('POST', `buses/${seg(bus)}/devices`, body);
        form.clearMessages();
        status.replaceChildren(notice('ok', `Saved device ${body.id}. It is staged: apply to make it active.`));
        changed();
        if (opts.onSaved) opts.onSaved(body.id);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) status.replaceChildren(notice('error', 'Changed elsewhere (409): reload.'));
        else if (err instanceof ApiError && (err.diagnostics.length || fieldError(err))) {
          form.showDiagnostics(err.diagnostics.length ? err.diagnostics : [fieldError(err)]);
          status.replaceChildren(notice('error', 'Not saved: see the messages at the fields.'));
        } else status.replaceChildren(errorNotice(err, 'Saving'));
      }
    },
  },
  h('div.field', h('label', { for: idId }, 'Device ID', h('span.req', { 'aria-hidden': 'true' }, ' *')), idInput,
    h('div.help', 'Unique across the gateway; used in MQTT topics.')),
  form.el, status,
  h('div.actions', h('button.primary', { type: 'submit' }, 'Save'),
    opts.cancel ? h('button.link', { type: 'button', onclick: opts.cancel }, 'Back') : null));
  return el;
}

async function list(ctx) {
  let buses;
  try {
    buses = listOf(await get('buses'), 'buses');
  } catch (err) {
    return page('Buses', errorNotice(err, 'Buses'));
  }
  const msg = h('div', { 'aria-live': 'polite' });
  const cards = [];
  for (const b of buses) {
    let devices = Array.isArray(b.devices) ? b.devices : null;
    if (!devices) {
      try { devices = listOf(await get(`buses/${seg(b.name)}/devices`), 'devices'); } catch { devices = []; }
    }
    const rows = devices.map((d) => h('tr',
      h('th', { scope: 'row' }, d.id),
      h('td', d.definition || ''),
      h('td', d.unit_id ?? ''),
      h('td', d.name || ''),
      h('td.actions',
        h('a.button.small', { href: `#/buses/device/${encodeURIComponent(b.name)}/${encodeURIComponent(d.id)}` }, 'Edit'),
        h('button.small.danger', {
          type: 'button',
          onclick: async () => {
            if (!await confirmDialog('Delete device', `Delete device ${d.id}?`, 'Delete')) return;
            try {
              const r = await request('GET', `buses/${seg(b.name)}/devices/${seg(d.id)}`);
              await del(`buses/${seg(b.name)}/devices/${seg(d.id)}`, { etag: r.etag });
              changed();
              ctx.navigate('buses');
            } catch (err) { msg.replaceChildren(errorNotice(err, 'Deleting')); }
          },
        }, 'Delete'))));
    const scanOut = h('div.scan', { 'aria-live': 'polite' });
    cards.push(h('section.card', h('h2', b.name, ' ', h('span.framing', framing(b))),
      devices.length ? table(['Device', 'Definition', 'Unit', 'Name', ''], rows) : h('p.muted', 'No devices yet.'),
      scanOut,
      h('div.actions',
        b.transport === 'gpio' ? null : h('button.small', {
          type: 'button',
          onclick: (ev) => runScan(b.name, scanOut, ev.currentTarget),
        }, 'Scan'),
        h('a.button.small', { href: `#/buses/edit/${encodeURIComponent(b.name)}` }, 'Edit bus'),
        h('a.button.small', { href: `#/buses/add-device/${encodeURIComponent(b.name)}` }, 'Add device'),
        h('button.small.danger', {
          type: 'button',
          onclick: async () => {
            if (!await confirmDialog('Delete bus', `Delete bus ${b.name} and its devices?`, 'Delete')) return;
            try {
              const r = await request('GET', `buses/${seg(b.name)}`);
              await del(`buses/${seg(b.name)}`, { etag: r.etag });
              changed();
              ctx.navigate('buses');
            } catch (err) { msg.replaceChildren(errorNotice(err, 'Deleting')); }
          },
        }, 'Delete bus'))));
  }
  return page('Buses', h('p', h('a.button.primary', { href: '#/buses/new', id: 'bus-add' }, 'Add bus')), msg,
    cards.length ? cards : notice('info', 'No bus yet.'));
}

// Asks the bus's running driver to scan its line (docs/bus-scan.md) and
// lists what answered; polling pauses meanwhile.
async function runScan(bus, out, button) {
  button.disabled = true;
  const live = h('p.progress', 'starting…');
  const foundList = h('ul.found');
  out.replaceChildren(h('p', `Scanning bus ${bus}: polling is paused until the scan ends…`), live, foundList);
  // What the scan reported so far, once a second until the POST answers.
  let polling = true;
  const poll = async () => {
    while (polling) {
      await new Promise((res) => setTimeout(res, 1000));
      if (!polling) break;
      try {
        const p = await get(`buses/${seg(bus)}/scan`);
        if (!polling) break;
        if (p.progress) live.textContent = p.progress;
        foundList.replaceChildren(...(p.found || []).map((f) => h('li', `found ${f}`)));
      } catch (err) { /* the final answer reports errors */ }
    }
  };
  poll();
  try {
    const r = await post(`buses/${seg(bus)}/scan`, {}).finally(() => { polling = false; });
    const devs = Array.isArray(r.devices) ? r.devices : [];
    const rows = devs.map((d) => h('tr',
      h('th', { scope: 'row' }, String(d.unit_id)),
      h('td', d.baud ? `${d.baud} ${d.parity || ''}${d.stop_bits || ''}` : ''),
      h('td', d.exception ? `exception ${d.exception}` : d.value !== undefined ? `value ${d.value}` : (d.how || '')),
      h('td', `${d.latency_ms_p50 ?? ''}/${d.latency_ms_p99 ?? ''} ms`),
      h('td', String(d.suggested_response_timeout_ms ?? '')),
      h('td', [d.late_reply ? 'late reply' : '', d.duplicate_suspect ? 'duplicate address?' : ''].filter(Boolean).join(', ')),
      h('td', (d.definition_candidates || []).join(', '))));
    out.replaceChildren(notice('ok', `Scan of ${bus}: ${r.summary || 'done'}.`),
      devs.length ? table(['Unit', 'Framing', 'Answered', 'Latency p50/p99', 'Suggested timeout (ms)', 'Flags', 'Definitions'], rows, `Devices found on ${bus}`)
        : h('p.muted', 'No device answered.'));
  } catch (err) {
    out.replaceChildren(errorNotice(err, 'Scan'));
  } finally {
    button.disabled = false;
  }
}

export async function render(ctx) {
  const [mode, a, b] = ctx.args;
  const back = () => ctx.navigate('buses');
  try {
    if (mode === 'new') return page('New bus', await busEditor(null, { cancel: back }));
    if (mode === 'edit') return page(`Bus ${a}`, await busEditor(a, { cancel: back }));
    if (mode === 'add-device') return page(`New device on ${a}`, await deviceEditor(a, null, { cancel: back }));
    if (mode === 'device') return page(`Device ${b}`, await deviceEditor(a, b, { cancel: back }));
  } catch (err) {
    return page('Buses', errorNotice(err, 'Loading'));
  }
  return list(ctx);
}
