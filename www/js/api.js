// SPDX-License-Identifier: Apache-2.0
// The /api/v1 client. Every URL is relative to the page, so the UI works
// behind a reverse proxy under any sub-path.

const BASE = 'api/v1/';

export class ApiError extends Error {
  constructor(status, body, path) {
    super(ApiError.text(status, body, path));
    this.status = status;
    this.body = body;
    this.path = path;
  }

  static text(status, body, path) {
    if (status === 501 || (status === 404 && body && body.error === 'no such resource')) {
      return `Not implemented by this gateway yet (${path}).`;
    }
    if (status === 0) return 'The gateway does not answer.';
    if (body && typeof body.error === 'string') return body.error;
    if (body && typeof body.message === 'string') return body.message;
    if (body && typeof body.reason === 'string') return body.reason;
    if (body && typeof body.status === 'string') return body.status;
    const d = diagnostics(body);
    if (d.length) return d.map((x) => x.message).join('\n');
    return `HTTP ${status}`;
  }

  // 501, or a 404 for a route this gateway does not have at all.
  get notImplemented() {
    return this.status === 501 || (this.status === 404 && (!this.body || this.body.error === 'no such resource'));
  }
  get diagnostics() { return diagnostics(this.body); }
}

// Loader messages come as [{severity, file, path, field, message}], either
// bare or under "diagnostics"/"errors".
export function diagnostics(body) {
  if (!body) return [];
  if (Array.isArray(body)) return body.filter((d) => d && d.message);
  for (const k of ['diagnostics', 'errors', 'messages']) {
    if (Array.isArray(body[k])) return body[k].filter((d) => d && d.message);
  }
  return [];
}

const state = {
  csrf: sessionStorage.getItem('fb_csrf') || '',
  onUnauthorized: null,
};

export function setCsrf(token) {
  state.csrf = token || '';
  if (token) sessionStorage.setItem('fb_csrf', token);
  else sessionStorage.removeItem('fb_csrf');
}

export function onUnauthorized(fn) { state.onUnauthorized = fn; }

export function seg(s) { return encodeURIComponent(s); }

async function parse(res) {
  const type = res.headers.get('Content-Type') || '';
  const text = await res.text();
  if (!text) return null;
  if (type.includes('json') || /^[[{]/.test(text.trim())) {
    try { return JSON.parse(text); } catch { return text; }
  }
  return text;
}

function headers(method, opts) {
  const h = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    h['X-CSRF-Token'] = state.csrf;
    if (opts.body !== undefined) h['Content-Type'] = 'application/json';
  }
  if (opts.etag) h['If-Match'] = opts.etag;
  return h;
}

// Returns {data, etag, status}; throws ApiError for any non-2xx answer.
export async function request(method, path, body, opts = {}) {
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers: headers(method, { ...opts, body }),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, null, path);
  }
  const data = await parse(res);
  if (!res.ok) {
    if (res.status === 401 && state.onUnauthorized && !opts.noRedirect) state.onUnauthorized();
    throw new ApiError(res.status, data, path);
  }
  return { data, etag: res.headers.get('ETag'), status: res.status };
}

export const get = (p, o) => request('GET', p, undefined, o).then((r) => r.data);
export const post = (p, b, o) => request('POST', p, b === undefined ? {} : b, o).then((r) => r.data);
export const del = (p, o) => request('DELETE', p, undefined, o).then((r) => r.data);

// POST whose answer is streamed: newline-delimited JSON objects (or one JSON
// document). onItem is called for every object as it arrives.
export async function postStream(path, body, onItem) {
  let res;
  try {
    res = await fetch(BASE + path, {
      method: 'POST',
      headers: headers('POST', { body }),
      body: JSON.stringify(body || {}),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, null, path);
  }
  if (!res.ok) throw new ApiError(res.status, await parse(res), path);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let all = '';
  const emit = (line) => {
    const t = line.replace(/^data:\s*/, '').trim();
    if (!t || t.startsWith(':') || t.startsWith('event:')) return true;
    try { onItem(JSON.parse(t)); return true; } catch { return false; }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const chunk = dec.decode(value, { stream: true });
    buf += chunk;
    all += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      emit(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  // A pretty-printed single document does not split into lines.
  if (buf.trim() && !emit(buf)) {
    try { onItem(JSON.parse(all)); } catch { onItem({ message: all.trim() }); }
  }
}

// One EventSource for the whole page; listeners subscribe by event name.
const events = { source: null, listeners: new Map(), status: 'closed' };

function dispatch(name, ev) {
  let data = ev.data;
  try { data = JSON.parse(ev.data); } catch { /* plain text event */ }
  for (const fn of events.listeners.get(name) || []) fn(data, name);
  for (const fn of events.listeners.get('*') || []) fn(data, name);
}

const EVENT_NAMES = ['snapshot', 'update', 'points', 'point', 'status', 'bus',
  'connection', 'availability', 'apply', 'log', 'changes'];

export function openEvents() {
  if (events.source) return;
  const es = new EventSource(BASE + 'events', { withCredentials: true });
  events.source = es;
  es.onmessage = (ev) => dispatch('message', ev);
  for (const n of EVENT_NAMES) es.addEventListener(n, (ev) => dispatch(n, ev));
  es.onopen = () => setEventStatus('open');
  es.onerror = () => setEventStatus(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
}

function setEventStatus(s) {
  events.status = s;
  for (const fn of events.listeners.get('_status') || []) fn(s);
}

export function closeEvents() {
  if (events.source) events.source.close();
  events.source = null;
  setEventStatus('closed');
}

export function eventStatus() { return events.status; }

// Returns an unsubscribe function.
export function on(name, fn) {
  if (!events.listeners.has(name)) events.listeners.set(name, new Set());
  events.listeners.get(name).add(fn);
  return () => events.listeners.get(name).delete(fn);
}
