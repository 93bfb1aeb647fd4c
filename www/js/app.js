// SPDX-License-Identifier: Apache-2.0
// Router (hash routes, so the server needs one static page and every link
// stays relative), session and navigation.

import { get, del, setCsrf, onUnauthorized, openEvents, closeEvents, ApiError } from './api.js';
import { h, clear, errorNotice } from './ui.js';
import { startChanges, stopChanges } from './changes.js';
import { startLive } from './live.js';

const PAGES = {
  login: () => import('./pages/login.js'),
  setup: () => import('./pages/setup.js'),
  overview: () => import('./pages/overview.js'),
  devices: () => import('./pages/devices.js'),
  export: () => import('./pages/export.js'),
  buses: () => import('./pages/buses.js'),
  mbservers: () => import('./pages/mbservers.js'),
  users: () => import('./pages/users.js'),
  logs: () => import('./pages/logs.js'),
  system: () => import('./pages/system.js'),
};
const PUBLIC = new Set(['login', 'setup']);

const app = {
  session: null,
  cleanup: null,
  renderSeq: 0,
};

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const name = parts[0] || 'overview';
  return { name: PAGES[name] ? name : 'overview', args: parts.slice(1) };
}

export function navigate(path) {
  if (location.hash === `#/${path}`) render();
  else location.hash = `#/${path}`;
}

function setSession(s) {
  app.session = s;
  const who = document.getElementById('who');
  const nav = document.getElementById('nav');
  const logout = document.getElementById('logout');
  const toggle = document.getElementById('menu-toggle');
  if (s) {
    who.textContent = `${s.user || ''}${s.role ? ` (${s.role})` : ''}`;
    nav.hidden = false;
    logout.hidden = false;
    toggle.hidden = false;
    for (const a of nav.querySelectorAll('[data-role]')) {
      a.parentElement.hidden = a.dataset.role === 'admin' && s.role && s.role !== 'admin';
    }
    startLive();
    openEvents();
    startChanges(() => render());
  } else {
    who.textContent = '';
    nav.hidden = true;
    logout.hidden = true;
    toggle.hidden = true;
    closeEvents();
    stopChanges();
  }
}

// Called by the login and setup pages with POST session's answer.
export function loggedIn(data) {
  if (data && data.csrf) setCsrf(data.csrf);
  setSession({ user: data?.user, role: data?.role || 'admin', expires: data?.expires });
}

async function render() {
  const seq = ++app.renderSeq;
  const { name, args } = route();
  const main = document.getElementById('main');
  if (!app.session && !PUBLIC.has(name)) {
    navigate('login');
    return;
  }
  if (app.cleanup) { try { app.cleanup(); } catch { /* page gone */ } app.cleanup = null; }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.getElementById('nav').classList.remove('open');
  document.getElementById('menu-toggle').setAttribute('aria-expanded', 'false');
  let mod;
  try {
    mod = await PAGES[name]();
  } catch (err) {
    clear(main).append(errorNotice(err, 'Loading the page'));
    return;
  }
  const ctx = { session: app.session, args, navigate, loggedIn };
  let el;
  try {
    el = await mod.render(ctx);
  } catch (err) {
    el = h('section.page', errorNotice(err, name));
  }
  if (seq !== app.renderSeq) { if (el && el.cleanup) el.cleanup(); return; }
  clear(main).append(el);
  app.cleanup = el.cleanup || null;
  main.dataset.page = name;
  const heading = main.querySelector('h1');
  if (heading && document.activeElement === document.body) heading.setAttribute('tabindex', '-1');
}

async function boot() {
  document.getElementById('menu-toggle').addEventListener('click', (ev) => {
    const nav = document.getElementById('nav');
    const open = !nav.classList.contains('open');
    nav.classList.toggle('open', open);
    ev.currentTarget.setAttribute('aria-expanded', String(open));
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try { await del('session', { noRedirect: true }); } catch { /* gone already */ }
    setCsrf('');
    setSession(null);
    navigate('login');
  });
  onUnauthorized(() => {
    if (!app.session) return;
    setCsrf('');
    setSession(null);
    navigate('login');
  });
  try {
    const s = await get('session', { noRedirect: true });
    if (s && s.csrf) setCsrf(s.csrf);
    setSession({ user: s?.user, role: s?.role, expires: s?.expires });
  } catch (err) {
    setSession(null);
    // No administrator yet: the first-run flow instead of a login that
    // cannot succeed.
    if (err instanceof ApiError && err.body && err.body.setup_required && route().name !== 'setup') {
      history.replaceState(null, '', '#/setup');
    }
  }
  window.addEventListener('hashchange', render);
  await render();
}

boot();
