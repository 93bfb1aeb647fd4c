// SPDX-License-Identifier: Apache-2.0
// Live values from GET events (Server-Sent Events): a snapshot first, then
// coalesced updates. Keeps the newest state of every device and point and
// tells the open page what changed.

import { on, eventStatus } from './api.js';

const store = {
  devices: new Map(),  // "bus/device" -> {bus, id, name, available, points: Map}
  buses: new Map(),    // bus name -> status fields
  connections: new Map(),
  listeners: new Set(),
  started: false,
  snapshot: false,
};

const pointKey = (p) => p.point ?? p.key ?? p.id ?? p.name;

function stamp(p) {
  const now = Date.now();
  if (Number.isFinite(p.age_ms)) return now - p.age_ms;
  if (Number.isFinite(p.read_ts) && p.read_ts > 0) return p.read_ts;
  if (Number.isFinite(p.ts_ms)) return p.ts_ms;
  if (Number.isFinite(p.ts)) return p.ts > 1e12 ? p.ts : p.ts * 1000;
  if (typeof p.ts === 'string' && !Number.isNaN(Date.parse(p.ts))) return Date.parse(p.ts);
  return now;
}

function device(bus, id, extra) {
  const k = `${bus}/${id}`;
  let d = store.devices.get(k);
  if (!d) {
    d = { bus, id, points: new Map() };
    store.devices.set(k, d);
  }
  if (extra) {
    for (const [f, v] of Object.entries(extra)) if (f !== 'points') d[f] = v;
  }
  return d;
}

function setPoint(bus, dev, p, changed) {
  const key = pointKey(p);
  if (key === undefined) return;
  const d = device(bus, dev);
  const old = d.points.get(key) || {};
  const np = { ...old, ...p, key, at: 'value' in p || !old.at ? stamp(p) : old.at };
  d.points.set(key, np);
  changed.push({ bus, device: dev, point: key });
}

function absorbDevices(bus, devices, changed) {
  for (const dv of Array.isArray(devices) ? devices : []) {
    const id = dv.id ?? dv.device ?? dv.name;
    if (id === undefined) {
      // {bus, attached:false}: the driver of that bus went away.
      if (dv.bus !== undefined) {
        store.buses.set(dv.bus, { ...(store.buses.get(dv.bus) || {}), ...dv, name: dv.bus });
        changed.push({ buses: true });
      }
      continue;
    }
    const extra = { ...dv, id, bus: bus ?? dv.bus };
    if ('online' in dv && !('available' in dv)) extra.available = dv.online;
    device(bus ?? dv.bus, id, extra);
    const pts = Array.isArray(dv.points) ? dv.points
      : dv.points && typeof dv.points === 'object' ? Object.entries(dv.points).map(([k, v]) => (typeof v === 'object' ? { point: k, ...v } : { point: k, value: v })) : [];
    for (const p of pts) setPoint(bus ?? dv.bus, id, p, changed);
    changed.push({ bus: bus ?? dv.bus, device: id });
  }
}

// {name: {...}} -> [{name, ...}] (the snapshot keys buses, devices and
// points by name; updates list them).
function entries(x, key) {
  if (Array.isArray(x)) return x;
  if (!x || typeof x !== 'object') return x;
  return Object.entries(x).map(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v)
    ? { [key]: k, ...v } : { [key]: k, value: v }));
}

function absorb(data) {
  if (!data || typeof data !== 'object') return [];
  if (data.buses && !Array.isArray(data.buses)) {
    data = { ...data, buses: entries(data.buses, 'name').map((b) => ({ ...b, devices: entries(b.devices, 'id') })) };
  }
  const changed = [];
  const list = Array.isArray(data) ? data : null;
  if (list) { for (const x of list) changed.push(...absorb(x)); return changed; }
  if (Array.isArray(data.buses)) {
    for (const b of data.buses) {
      const { devices, ...rest } = b;
      // GET status counts devices; the event stream lists them.
      if (!Array.isArray(devices) && devices !== undefined) rest.devices = devices;
      store.buses.set(b.name ?? b.bus, { ...(store.buses.get(b.name ?? b.bus) || {}), ...rest });
      if (Array.isArray(devices)) absorbDevices(b.name ?? b.bus, devices, changed);
    }
    changed.push({ buses: true });
  }
  if (Array.isArray(data.connections)) {
    for (const c of data.connections) store.connections.set(c.name, { ...(store.connections.get(c.name) || {}), ...c });
    changed.push({ connections: true });
  }
  if (Array.isArray(data.devices)) absorbDevices(data.bus, data.devices, changed);
  if (Array.isArray(data.points)) {
    for (const p of data.points) setPoint(p.bus ?? data.bus, p.device ?? data.device, p, changed);
  }
  if (data.bus !== undefined && data.device !== undefined && pointKey(data) !== undefined && !data.points) {
    setPoint(data.bus, data.device, data, changed);
  } else if (data.bus !== undefined && data.device !== undefined && 'available' in data) {
    device(data.bus, data.device, { available: data.available });
    changed.push({ bus: data.bus, device: data.device });
  }
  if (data.connection && typeof data.connection === 'string') {
    store.connections.set(data.connection, { ...(store.connections.get(data.connection) || {}), ...data, name: data.connection });
    changed.push({ connections: true });
  }
  return changed;
}

function notify(changed, kind) {
  if (!changed.length && kind !== 'snapshot') return;
  for (const fn of store.listeners) fn(changed, kind);
}

export function startLive() {
  if (store.started) return;
  store.started = true;
  on('snapshot', (d) => {
    store.devices.clear();
    store.snapshot = true;
    notify(absorb(d), 'snapshot');
  });
  for (const n of ['message', 'update', 'points', 'point', 'status', 'bus', 'connection', 'availability']) {
    on(n, (d) => notify(absorb(d), n));
  }
  on('_status', (s) => { for (const fn of store.listeners) fn([], `stream-${s}`); });
}

export function subscribe(fn) {
  startLive();
  store.listeners.add(fn);
  return () => store.listeners.delete(fn);
}

export function devices() { return [...store.devices.values()]; }
export function busesLive() { return store.buses; }
export function connectionsLive() { return store.connections; }
export function haveSnapshot() { return store.snapshot; }
export { eventStatus };
export { absorb as absorbStatus };
