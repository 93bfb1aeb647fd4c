// SPDX-License-Identifier: Apache-2.0
// The global "N changes not applied yet — Review — Apply" bar. Its diff is
// the one `fieldbridgectl config diff` prints; Apply shows the plan (what
// restarts) before it changes anything.

import { get, post, ApiError } from './api.js';
import { h, clear, dialog, notice, errorNotice } from './ui.js';

let timer = null;
let last = null;
let lastRefreshPage = null;

function count(data) {
  if (!data) return 0;
  if (Number.isInteger(data.count)) return data.count;
  if (Array.isArray(data.changes)) return data.changes.length;
  if (Array.isArray(data)) return data.length;
  return 0;
}

function changeLine(c) {
  if (typeof c === 'string') return h('li', c);
  const op = c.op || c.action || c.change || 'change';
  const what = [c.kind || c.type, c.bus ? `${c.bus}/${c.name || c.id}` : c.name || c.id].filter(Boolean).join(' ');
  const fields = Array.isArray(c.fields) ? c.fields.map((f) => (typeof f === 'string' ? f : f.field || f.name)).join(', ') : '';
  return h('li', h(`span.op.${op}`, op), ' ', what, fields ? ` (${fields})` : '', c.file ? h('span.muted', ` ${c.file}`) : '');
}

export function renderChanges(data) {
  const parts = [];
  const list = Array.isArray(data) ? data : data?.changes;
  if (Array.isArray(list) && list.length) parts.push(h('ul.changes', list.map(changeLine)));
  const diff = data?.diff || data?.text;
  if (typeof diff === 'string' && diff) parts.push(h('pre.code.diff', diff));
  if (!parts.length) parts.push(h('p', 'No changes waiting.'));
  return h('div', parts);
}

function renderPlan(plan) {
  const p = plan?.plan || plan || {};
  const rows = [];
  const add = (label, units) => {
    if (Array.isArray(units) && units.length) rows.push(h('li', `${label}: `, units.map((u) => (typeof u === 'string' ? u : u.unit || u.name)).join(', ')));
  };
  add('Restarts', p.restart || p.restarts);
  add('Reloads', p.reload || p.reloads);
  add('Starts', p.start);
  add('Stops', p.stop);
  const out = [h('p', 'Applying will:'), rows.length ? h('ul', rows) : h('p', 'restart nothing (no running unit is affected).')];
  const web = (p.changes || []).find((c) => c.kind === 'web');
  if (web) {
    out.push(notice('warn', `This changes the web listener itself. Open the page at the new address and confirm within ${web.confirm_timeout_s} s, or the change is rolled back.`));
  }
  return h('div', out);
}

function stageLine(s) {
  const what = s.stage === 'snapshot' ? `Snapshot ${s.snapshot} of the configuration`
    : s.stage === 'restore' ? 'Snapshot restored'
      : `${s.stage[0].toUpperCase()}${s.stage.slice(1)} ${s.unit}`;
  const state = !s.done ? 'running…' : s.result || (s.ok === false ? 'failed' : 'done');
  const kind = !s.done ? 'running' : s.ok === false ? 'failed' : 'done';
  return h(`li.stage.${kind}`, what, ': ', state);
}

// While the apply runs (a unit's restart waits for its READY=1, an exporter
// up to 10 s), its stages as GET apply reports them; the returned function
// ends the display.
function showProgress() {
  const list = h('ol.apply-stages', h('li.stage.running', 'Starting…'));
  let stopped = false;
  let timer = null;
  dialog('Applying…', h('div', h('p', 'Each unit is changed in turn; a start or restart waits until the unit reports it is ready.'), list), []);
  const tick = async () => {
    try {
      const st = await get('apply', { noRedirect: true });
      if (stopped) return;
      if (Array.isArray(st?.stages) && st.stages.length) clear(list).append(...st.stages.map(stageLine));
    } catch { /* the answer of the POST tells */ }
    if (!stopped) timer = setTimeout(tick, 500);
  };
  timer = setTimeout(tick, 200);
  return () => {
    stopped = true;
    clearTimeout(timer);
    const dlg = document.getElementById('dialog');
    if (dlg.open) dlg.close();
  };
}

async function apply(refreshPage) {
  let plan;
  try {
    plan = await post('apply', { dry_run: true });
  } catch (err) {
    await dialog('Apply', errorNotice(err, 'Apply plan'));
    return;
  }
  const go = await dialog('Apply these changes?', h('div', renderChanges(last), renderPlan(plan)), [
    { label: 'Cancel', value: false },
    { label: 'Apply now', value: true, primary: true },
  ]);
  if (!go) return;
  const stop = showProgress();
  try {
    const res = await post('apply', {});
    stop();
    const body = [notice(res && res.applied === false ? 'warn' : 'ok', res && res.applied === false ? 'Written, but not every unit was changed:' : 'Applied.')];
    const results = (res?.changes || []).filter((c) => c.result);
    if (results.length) body.push(h('ul.apply-results', results.map((c) => h('li', `${c.unit}: ${c.result}`))));
    if (res && res.confirm) {
      const url = new URL(window.location.href);
      url.protocol = res.confirm.tls ? 'https:' : 'http:';
      url.port = String(res.confirm.port);
      body.push(h('p', `The web listener moves in a moment. Open `, h('a', { href: url.href }, url.href),
        ` and confirm there within ${res.confirm.timeout_s} s, or it moves back.`));
    }
    await dialog('Apply', h('div', body));
  } catch (err) {
    stop();
    await dialog('Apply failed', errorNotice(err, 'Apply'));
  }
  await refresh();
  if (refreshPage) refreshPage();
}

export async function refresh() {
  const bar = document.getElementById('changes-bar');
  try {
    last = await get('changes', { noRedirect: true });
  } catch (err) {
    if (err instanceof ApiError && err.notImplemented) {
      bar.hidden = false;
      bar.classList.add('todo');
      document.getElementById('changes-text').textContent = 'Staged changes: not implemented by this gateway yet (api/v1/changes answers 501).';
      document.getElementById('changes-review').hidden = true;
      document.getElementById('changes-apply').hidden = true;
    }
    return;
  }
  bar.classList.remove('todo');
  const applyBtn = document.getElementById('changes-apply');
  if (last?.listener?.pending) {
    // Only the new listener is open: being here is what confirm proves.
    bar.hidden = false;
    document.getElementById('changes-text').textContent = `The web listener changed: confirm within ${last.listener.seconds_left} s or it rolls back.`;
    applyBtn.textContent = 'Confirm';
    const id = last.listener.id; // the apply this page confirms
    applyBtn.onclick = async () => {
      try { await post(`apply/${encodeURIComponent(id)}/confirm`, {}); } catch (err) { await dialog('Confirm failed', errorNotice(err, 'Confirm')); }
      applyBtn.textContent = 'Apply';
      applyBtn.onclick = () => apply(lastRefreshPage);
      await refresh();
    };
    return;
  }
  const n = count(last);
  bar.hidden = n === 0;
  document.getElementById('changes-review').hidden = false;
  document.getElementById('changes-apply').hidden = false;
  document.getElementById('changes-text').textContent = n === 1
    ? '1 change not applied yet' : `${n} changes not applied yet`;
}

export function startChanges(refreshPage) {
  document.getElementById('changes-review').onclick = () => dialog('Changes not applied yet', renderChanges(last));
  lastRefreshPage = refreshPage;
  document.getElementById('changes-apply').onclick = () => apply(refreshPage);
  window.addEventListener('fb-changed', refresh);
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 10000);
}

export function stopChanges() {
  clearInterval(timer);
  document.getElementById('changes-bar').hidden = true;
}

export { apply as applyChanges };
