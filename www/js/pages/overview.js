// SPDX-License-Identifier: Apache-2.0
// Overview: every bus (framing, connected, utilisation, errors) and every
// export connection (connected, last error), live.

import { get, post, diagnostics } from '../api.js';
import { h, page, errorNotice, table, badge, framing, percent, clear, notice } from '../ui.js';
import { subscribe, busesLive, connectionsLive, absorbStatus, devices } from '../live.js';
import { listOf } from './export.js';

// What the driver's diagnostic points say about a bus: utilisation (the
// same on every device) and the error counters summed over its devices.
function fromDiag(name) {
  const out = {};
  for (const d of devices()) {
    if (d.bus !== name) continue;
    const v = (k) => { const p = d.points.get(k); return p && Number.isFinite(Number(p.value)) ? Number(p.value) : undefined; };
    const u = v('_diag_bus_utilisation');
    if (u !== undefined) out.utilisation = Math.max(out.utilisation ?? 0, u);
    for (const [k, f] of [['_diag_timeouts', 'timeouts'], ['_diag_crc_errors', 'crc'], ['_diag_errors', 'failed']]) {
      const x = v(k);
      if (x !== undefined) out[f] = (out[f] ?? 0) + x;
    }
    const c = d.points.get('_diag_bus_connected');
    if (c && typeof c.value === 'boolean') out.connected = c.value;
  }
  return out;
}

function errorsOf(b) {
  const e = b.errors && typeof b.errors === 'object' ? b.errors : b;
  const parts = [];
  const add = (label, v) => { if (Number.isFinite(Number(v)) && v !== null && v !== undefined) parts.push(`${label} ${v}`); };
  add('timeouts', e.timeouts ?? e.timeout);
  add('CRC', e.crc ?? e.crc_errors);
  add('exceptions', e.exceptions);
  add('failed requests', e.failed);
  if (typeof b.errors === 'number') parts.push(String(b.errors));
  return parts.length ? parts.join(', ') : '–';
}

function utilisation(b) {
  const p = percent(b.utilisation ?? b.utilization ?? b.airtime ?? b.load);
  if (p === null) return h('span.muted', '–');
  return h('span.util', h('meter', { min: 0, max: 100, low: 80, high: 100, optimum: 30, value: p,
    'aria-label': `utilisation of ${b.name}` }), ` ${p.toFixed(p < 10 ? 1 : 0)} %`);
}

function busRows() {
  return [...busesLive().values()].map((b0) => ({ ...fromDiag(b0.name), ...b0 })).map((b) => h('tr', { dataset: { bus: b.name } },
    h('th', { scope: 'row' }, b.name),
    h('td.framing', framing(b)),
    h('td', b.attached === false ? badge(false, '', 'driver not running') : badge(b.connected ?? b.attached ?? b.up,
      b.connected === undefined ? 'driver running' : 'connected', 'disconnected')),
    h('td', utilisation(b)),
    h('td', errorsOf(b)),
    h('td', b.devices_online !== undefined ? `${b.devices_online} / ${b.devices_total ?? b.devices ?? '?'} online` : (b.unit?.active_state || b.state || '–'))));
}

function connRows() {
  return [...connectionsLive().values()].map((c) => h('tr', { dataset: { connection: c.name } },
    h('th', { scope: 'row' }, h('a', { href: `#/export/edit/${encodeURIComponent(c.name)}` }, c.name)),
    h('td', `${c.broker || ''}${c.port ? `:${c.port}` : ''}`),
    h('td', badge(c.connected)),
    h('td', c.last_error ? h('span.bad', c.last_error)
      : h('span.muted', c.connected === undefined ? 'not reported by the gateway' : 'none'))));
}

export async function render() {
  const busBox = h('div');
  const connBox = h('div');
  const info = h('div');
  const draw = () => {
    clear(busBox).append(busesLive().size
      ? table(['Bus', 'Framing', 'State', 'Utilisation', 'Errors', 'Devices'], busRows())
      : notice('info', 'No bus configured. ', h('a', { href: '#/buses/new' }, 'Add a bus'), '.'));
    clear(connBox).append(connectionsLive().size
      ? table(['Connection', 'Broker', 'State', 'Last error'], connRows())
      : notice('info', 'No export connection. ', h('a', { href: '#/export/new' }, 'Add one'), '.'));
  };
  let problems = null; // the loader's errors, fetched once per visit
  const load = async () => {
    try {
      const st = await get('status');
      absorbStatus({ buses: listOf(st?.buses, 'buses'), connections: listOf(st?.connections, 'connections') });
      clear(info);
      if (st?.gateway || st?.version) {
        info.append(h('p.muted', [st.gateway?.name || st.gateway?.id || st.gateway, st.version ? `version ${st.version}` : ''].filter(Boolean).join(' · ')));
      }
      if (st?.degraded) {
        // Started on a broken configuration: say what to fix, in the
        // loader's words, instead of an empty page.
        const box = notice('error', 'The configuration has errors, so the gateway runs without its buses until they are fixed and it is restarted:');
        info.append(box);
        if (!problems) {
          try {
            const v = await post('config/validate', {});
            problems = diagnostics(v).filter((d) => (d.severity || 'error') === 'error').map((d) => d.message);
          } catch (err) {
            problems = [err.message];
          }
        }
        box.append(h('ul', problems.map((m) => h('li', m))));
      }
      const warnings = Array.isArray(st?.warnings) ? st.warnings : [];
      for (const w of warnings) info.append(notice('warn', typeof w === 'string' ? w : w.message));
      draw();
    } catch (err) {
      clear(info).append(errorNotice(err, 'Status'));
    }
  };
  draw();
  await load();
  let pending = null;
  // Redraw at most once a second: point updates arrive up to 4 times a second.
  const unsub = subscribe((changed) => {
    if (pending || !changed.length) return;
    pending = setTimeout(() => { pending = null; draw(); }, changed.some((c) => c.buses || c.connections) ? 0 : 1000);
  });
  const timer = setInterval(load, 5000);
  const el = page('Overview', info, h('h2', 'Buses'), busBox, h('h2', 'Export connections'), connBox);
  el.cleanup = () => { unsub(); clearInterval(timer); clearTimeout(pending); };
  return el;
}
