// Overview: every bus (framing, connected, utilisation, errors) and every
// export connection (connected, last error), live.

import { get } from '../api.js';
import { h, page, errorNotice, table, badge, framing, percent, clear, notice } from '../ui.js';
import { subscribe, busesLive, connectionsLive, absorbStatus } from '../live.js';
import { listOf } from './export.js';

function errorsOf(b) {
  const e = b.errors && typeof b.errors === 'object' ? b.errors : b;
  const parts = [];
  const add = (label, v) => { if (Number.isFinite(Number(v)) && v !== null && v !== undefined) parts.push(`${label} ${v}`); };
  add('timeouts', e.timeouts ?? e.timeout);
  add('CRC', e.crc ?? e.crc_errors);
  add('exceptions', e.exceptions);
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
  return [...busesLive().values()].map((b) => h('tr', { dataset: { bus: b.name } },
    h('th', { scope: 'row' }, b.name),
    h('td.framing', framing(b)),
    h('td', badge(b.connected ?? b.attached ?? b.up, b.attached !== undefined && b.connected === undefined ? 'driver running' : 'connected', b.attached !== undefined && b.connected === undefined ? 'driver not running' : 'disconnected')),
    h('td', utilisation(b)),
    h('td', errorsOf(b)),
    h('td', b.devices_online !== undefined ? `${b.devices_online} / ${b.devices_total ?? b.devices ?? '?'} online` : (b.unit?.active_state || b.state || '–'))));
}

function connRows() {
  return [...connectionsLive().values()].map((c) => h('tr', { dataset: { connection: c.name } },
    h('th', { scope: 'row' }, h('a', { href: `#/export/edit/${encodeURIComponent(c.name)}` }, c.name)),
    h('td', `${c.broker || ''}${c.port ? `:${c.port}` : ''}`),
    h('td', badge(c.connected)),
    h('td', c.last_error ? h('span.bad', c.last_error) : h('span.muted', 'none'))));
}

export async function render() {
  const busBox = h('div');
  const connBox = h('div');
  const info = h('div');
  const draw = () => {
    clear(busBox).append(busesLive().size
      ? table(['Bus', 'Framing', 'State', 'Utilisation', 'Errors', 'Devices'], busRows(), 'Buses')
      : notice('info', 'No bus configured. ', h('a', { href: '#/buses/new' }, 'Add a bus'), '.'));
    clear(connBox).append(connectionsLive().size
      ? table(['Connection', 'Broker', 'State', 'Last error'], connRows(), 'Export connections')
      : notice('info', 'No export connection. ', h('a', { href: '#/export/new' }, 'Add one'), '.'));
  };
  const load = async () => {
    try {
      const st = await get('status');
      absorbStatus({ buses: listOf(st?.buses, 'buses'), connections: listOf(st?.connections, 'connections') });
      clear(info);
      if (st?.gateway || st?.version) {
        info.append(h('p.muted', [st.gateway?.name || st.gateway?.id || st.gateway, st.version ? `version ${st.version}` : ''].filter(Boolean).join(' · ')));
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
  const unsub = subscribe((changed) => { if (changed.some((c) => c.buses || c.connections)) draw(); });
  const timer = setInterval(load, 5000);
  const el = page('Overview', info, h('h2', 'Buses'), busBox, h('h2', 'Export connections'), connBox);
  el.cleanup = () => { unsub(); clearInterval(timer); };
  return el;
}
