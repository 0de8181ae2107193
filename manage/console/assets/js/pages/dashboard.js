// dashboard.js: the agent at a glance. It polls the API every 2 s (the
// history every 10 s, its sampling interval) and changes the tables in
// place; charts are uPlot (vendor/uPlot.iife.min.js, a global).

import * as api from '../api.js';
import { h, setText, syncRows, scrollBox, emptyRow, table, badge, toneOf, clear,
  fmtNum, fmtBytes, fmtTime, fmtAgo, fmtDuration } from '../dom.js';

const POLL_MS = 2000;
const HISTORY_EVERY = 5; // polls: 10 s
const HISTORY_INTERVAL_S = 10; // the daemon samples its history this often
const palette = ['#1f5fa8', '#b3541e', '#2e7d4f', '#7b3fa0', '#a8323e', '#56606b', '#b08a00', '#1a7f86'];

export function mount(main) {
  const agent = h('dl', { id: 'agent-state', class: 'facts' });
  const error = h('p', { id: 'dashboard-error', class: 'form-error', role: 'alert' });
  const targets = table('targets', 'SNMP targets: notifications since the daemon started',
    ['Target', 'Kind', 'Sent', 'Acknowledged', 'Failed', 'Dropped', 'Queued']);
  const loghosts = table('loghosts', 'Loghosts: the forwarder\u2019s collectors',
    ['Loghost', 'Connected', 'Lines/s', 'Lag', 'Spool', 'Last error']);
  const collectors = table('collectors', 'Collectors: the sources the agent reads', ['Collector', 'Enabled', 'State', 'Last run', 'Detail']);
  const vms = table('vms', 'Virtual machines', ['ID', 'Name', 'State', 'Configuration']);
  const sensors = table('sensors', 'Sensors', ['Sensor', 'Subsystem', 'Status', 'Reading']);
  const chartLoghosts = h('div', { id: 'chart-loghosts', class: 'chart', role: 'img', 'aria-label': 'Lines per second per loghost, the last hour' });
  const chartTargets = h('div', { id: 'chart-targets', class: 'chart', role: 'img', 'aria-label': 'Notifications per minute per target, the last hour' });

  main.append(
    h('h1', {}, 'Dashboard'),
    error,
    h('section', { 'aria-labelledby': 'h-agent', class: 'card' }, h('h2', { id: 'h-agent' }, 'Agent'), agent),
    h('section', { 'aria-labelledby': 'h-charts', class: 'card' },
      h('h2', { id: 'h-charts' }, 'The last hour'),
      h('div', { class: 'charts' },
        h('figure', {}, h('figcaption', {}, 'Lines per second, per loghost'), chartLoghosts),
        h('figure', {}, h('figcaption', {}, 'Notifications per minute, per target'), chartTargets))),
    h('section', { 'aria-labelledby': 'h-snmp', class: 'card' }, h('h2', { id: 'h-snmp' }, 'SNMP'), scrollBox(targets)),
    h('section', { 'aria-labelledby': 'h-syslog', class: 'card' }, h('h2', { id: 'h-syslog' }, 'Syslog forwarding'), scrollBox(loghosts)),
    h('section', { 'aria-labelledby': 'h-host', class: 'card' }, h('h2', { id: 'h-host' }, 'Host'),
      scrollBox(collectors), scrollBox(vms), scrollBox(sensors)));

  // configured: how many loghosts and targets the settings name (null
  // until known), so that a chart without samples can say whether they
  // are coming or nothing is configured; waiting: no sample yet, so the
  // history is asked for at every poll until the first one shows.
  const state = { prev: new Map(), historyRate: new Map(), charts: {}, polls: 0, stopped: false, timer: 0,
    configured: { loghosts: null, targets: null }, waiting: true };

  async function poll() {
    const history = state.waiting || state.polls % HISTORY_EVERY === 0;
    state.polls++;
    const [snmp, syslog, host, hist] = await Promise.allSettled([
      api.get('/api/v1/snmp'), api.get('/api/v1/syslog'), api.get('/api/v1/host'),
      history ? api.get('/api/v1/history') : Promise.resolve(undefined)]);
    if (state.stopped) return;
    const failed = [snmp, syslog].filter((r) => r.status === 'rejected').map((r) => r.reason.message);
    setText(error, failed.length ? `Not updated: ${failed[0]}. Retrying every 2 s.` : '');
    const val = (r) => (r.status === 'fulfilled' ? r.value : null);
    showAgent(agent, val(snmp), val(syslog), host);
    if (snmp.status === 'fulfilled') {
      showTargets(targets.tBodies[0], snmp.value.targets || []);
      state.configured.targets = (snmp.value.targets || []).length;
    }
    if (syslog.status === 'fulfilled') {
      showLoghosts(loghosts.tBodies[0], syslog.value, state);
      state.configured.loghosts = (syslog.value.loghosts || []).length;
    }
    showHost(collectors.tBodies[0], vms.tBodies[0], sensors.tBodies[0], host);
    if (history) showHistory(hist, chartLoghosts, chartTargets, state);
    state.timer = setTimeout(poll, POLL_MS);
  }

  const onResize = () => {
    for (const [key, c] of Object.entries(state.charts)) {
      const el = key === 'loghosts' ? chartLoghosts : chartTargets;
      if (c.plot) c.plot.setSize({ width: chartWidth(el), height: 200 });
    }
  };
  window.addEventListener('resize', onResize);
  poll();
  return () => {
    state.stopped = true;
    clearTimeout(state.timer);
    window.removeEventListener('resize', onResize);
    for (const c of Object.values(state.charts)) if (c.plot) c.plot.destroy();
  };
}

function showAgent(dl, snmp, syslog, host) {
  const facts = [];
  if (host.status === 'fulfilled') {
    const s = host.value;
    setText(document.getElementById('host-name'), s.hostname || '');
    facts.push(['Host', s.hostname || '—']);
    facts.push(['Version', [s.product, s.version, s.build].filter(Boolean).join(' ') || '—']);
    facts.push(['Running since', s.started ? `${fmtTime(s.started)} (${fmtDuration((Date.now() - Date.parse(s.started)) / 1000)})` : '—']);
  } else {
    facts.push(['Host details', api.notAvailable(host.reason) ? 'not available on this daemon' : host.reason.message]);
  }
  if (snmp) {
    facts.push(['SNMP agent', badge(snmp.config.enabled ? 'enabled' : 'disabled', snmp.config.enabled ? 'ok' : 'neutral')]);
    const p = snmp.polling || {};
    facts.push(['Polling', p.mode === 'off' || !p.mode ? 'off'
      : [badge(p.on ? 'answering' : 'not answering', p.on ? 'ok' : 'warn'), ` ${p.mode}${p.reason ? `: ${p.reason}` : ''}`]]);
  }
  if (syslog) {
    const up = (syslog.loghosts || []).filter((l) => l.connected).length;
    const all = (syslog.loghosts || []).length;
    facts.push(['Loghosts', all ? `${up} of ${all} connected` : 'none configured']);
  }
  clear(dl);
  for (const [k, v] of facts) dl.append(h('div', {}, h('dt', {}, k), h('dd', {}, v)));
}

function showTargets(tbody, list) {
  if (!list.length) { emptyRow(tbody, 7, 'No targets: set them under Settings, SNMP.'); return; }
  tbody.querySelector('tr.empty')?.remove();
  // Keyed by the target as shown; a reader without Host.Config.SNMP sees
  // communities as ****, so two targets differing only by community would
  // share a key: the second and later take a suffix.
  const seen = new Map();
  const keyed = list.map((t) => {
    const n = (seen.get(t.target) || 0) + 1;
    seen.set(t.target, n);
    return { ...t, key: n === 1 ? t.target : `${t.target} #${n}` };
  });
  syncRows(tbody, keyed, (t) => t.key, 'target',
    (t) => h('tr', {}, h('th', { scope: 'row' }, t.target), h('td', { class: 'kind' }),
      ...['sent', 'acknowledged', 'failed', 'dropped', 'queued'].map((c) => h('td', { class: `${c} num` }))),
    (row, t) => {
      setText(row.querySelector('.kind'), t.kind || '');
      for (const c of ['sent', 'acknowledged', 'failed', 'dropped', 'queued']) setText(row.querySelector(`.${c}`), fmtNum(t[c]));
      row.querySelector('.failed').classList.toggle('attention', t.failed > 0);
      row.querySelector('.dropped').classList.toggle('attention', t.dropped > 0);
    });
}

// The rate of a loghost: lines it confirmed (or sent, on UDP, which
// confirms nothing) per second between two polls; before the second
// poll, the history's last sample.
function rateOf(l, state, now) {
  const count = l.loghost.startsWith('udp://') ? l.sent : l.confirmed;
  const prev = state.prev.get(l.loghost);
  state.prev.set(l.loghost, { count, at: now });
  if (prev && now > prev.at && count >= prev.count) return (count - prev.count) / ((now - prev.at) / 1000);
  return state.historyRate.get(l.loghost);
}

// A loghost more than this behind is shown as needing attention.
const LAG_ATTENTION_MS = 60000;

// lagText is what a loghost has not confirmed: bytes (spool and files)
// and how long ago its oldest unsent line was read ("4.0 KiB, 12 s
// behind"); a daemon without lag_bytes gives the unconfirmed count.
function lagText(l, now) {
  if (typeof l.lag_bytes !== 'number') return `${fmtNum(l.unconfirmed)} unconfirmed`;
  if (!l.oldest_unsent) return l.lag_bytes ? fmtBytes(l.lag_bytes) : 'none';
  return `${fmtBytes(l.lag_bytes)}, ${fmtDuration((now - Date.parse(l.oldest_unsent)) / 1000)} behind`;
}

function showLoghosts(tbody, syslog, state) {
  const list = syslog.loghosts || [];
  if (!list.length) { emptyRow(tbody, 6, 'No loghosts: set them under Settings, Syslog.'); return; }
  tbody.querySelector('tr.empty')?.remove();
  const now = Date.now();
  const spoolMax = syslog.config && syslog.config.spool_max;
  syncRows(tbody, list, (l) => l.loghost, 'loghost',
    (l) => h('tr', {}, h('th', { scope: 'row' }, l.loghost),
      h('td', { class: 'connected' }), h('td', { class: 'rate num' }), h('td', { class: 'lag' }),
      h('td', { class: 'spool' }), h('td', { class: 'last-error' })),
    (row, l) => {
      const c = row.querySelector('.connected');
      const word = l.connected ? 'connected' : 'disconnected';
      if (c.textContent !== word) c.replaceChildren(badge(word, toneOf(word)));
      const rate = rateOf(l, state, now);
      setText(row.querySelector('.rate'), typeof rate === 'number' ? rate.toFixed(rate < 10 ? 1 : 0) : '—');
      const lag = row.querySelector('.lag');
      setText(lag, lagText(l, now));
      lag.title = l.oldest_unsent ? `Oldest unsent line read ${fmtTime(l.oldest_unsent)}; ${fmtNum(l.unconfirmed)} messages unconfirmed` : '';
      lag.classList.toggle('attention', !!l.oldest_unsent && now - Date.parse(l.oldest_unsent) > LAG_ATTENTION_MS);
      const spool = `${fmtBytes(l.queued)}${spoolMax ? ` of ${fmtBytes(spoolMax)}` : ''}${l.dropped ? `, ${fmtNum(l.dropped)} dropped` : ''}`;
      setText(row.querySelector('.spool'), spool);
      row.querySelector('.spool').classList.toggle('attention', l.dropped > 0);
      setText(row.querySelector('.last-error'), l.last_error || '');
    });
}

function showHost(collectors, vms, sensors, host) {
  if (host.status !== 'fulfilled') {
    const why = api.notAvailable(host.reason) ? 'Not available on this daemon.' : host.reason.message;
    emptyRow(collectors, 5, why); emptyRow(vms, 4, why); emptyRow(sensors, 4, why);
    return;
  }
  const s = host.value;
  fill(collectors, s.collectors, 5, 'No collectors.', (c) => c.name, 'collector',
    () => h('tr', {}, h('th', { scope: 'row', class: 'name' }), h('td', { class: 'enabled' }), h('td', { class: 'state' }), h('td', { class: 'last-run' }), h('td', { class: 'detail' })),
    (row, c) => {
      setText(row.querySelector('.name'), c.name);
      setText(row.querySelector('.enabled'), c.enabled ? 'yes' : 'no');
      setBadge(row.querySelector('.state'), c.state);
      const run = row.querySelector('.last-run');
      setText(run, c.last_run ? fmtAgo(c.last_run) : 'never');
      run.title = c.last_run ? fmtTime(c.last_run) : '';
      setText(row.querySelector('.detail'), c.last_error || c.detail || '');
    });
  fill(vms, s.vms, 4, 'No virtual machines.', (v) => String(v.id), 'vm',
    () => h('tr', {}, h('td', { class: 'id num' }), h('th', { scope: 'row', class: 'name' }), h('td', { class: 'state' }), h('td', { class: 'path' })),
    (row, v) => {
      setText(row.querySelector('.id'), v.id);
      setText(row.querySelector('.name'), v.name);
      setBadge(row.querySelector('.state'), v.state);
      setText(row.querySelector('.path'), v.config_path || '');
    });
  fill(sensors, s.sensors, 4, 'No sensors.', (x) => `${x.subsystem}/${x.name}`, 'sensor',
    () => h('tr', {}, h('th', { scope: 'row', class: 'name' }), h('td', { class: 'subsystem' }), h('td', { class: 'status' }), h('td', { class: 'reading num' })),
    (row, x) => {
      setText(row.querySelector('.name'), x.name);
      setText(row.querySelector('.subsystem'), x.subsystem);
      setBadge(row.querySelector('.status'), x.status);
      setText(row.querySelector('.reading'), x.reading || '');
    });
}

function fill(tbody, list, cols, none, key, attr, make, update) {
  if (!list || !list.length) { emptyRow(tbody, cols, none); return; }
  tbody.querySelector('tr.empty')?.remove();
  syncRows(tbody, list, key, attr, make, update);
}

function setBadge(td, word) {
  if (td.textContent !== word) td.replaceChildren(badge(word || 'unknown', toneOf(word)));
}

function showHistory(hist, elLoghosts, elTargets, state) {
  if (!hist || hist.status !== 'fulfilled') {
    state.waiting = false; // back to every 10 s: no asking every poll while it fails
    const why = hist && api.notAvailable(hist.reason) ? 'Not available on this daemon.' : `Not updated: ${hist ? hist.reason.message : ''}`;
    for (const el of [elLoghosts, elTargets]) if (!el.querySelector('canvas')) note(el, why);
    return;
  }
  const H = hist.value;
  const xs = (H.times || []).map((t) => Date.parse(t) / 1000);
  state.waiting = !xs.length;
  const lh = H.loghosts || [];
  const tg = H.targets || [];
  for (const l of lh) {
    const v = l.lines_per_second || [];
    if (v.length) state.historyRate.set(l.loghost, v[v.length - 1]);
  }
  draw('loghosts', elLoghosts, xs, lh.map((l) => l.loghost), lh.map((l) => l.lines_per_second || []), 'lines/s', state);
  draw('targets', elTargets, xs, distinct(tg.map((t) => t.target)), tg.map((t) => t.notifications_per_minute || []), 'notifications/min', state);
}

// note puts text in place of a chart (kept as it is when unchanged: it is
// set at every poll while no sample came).
function note(el, text) {
  const p = el.firstElementChild;
  if (p && p.classList.contains('chart-note') && el.childElementCount === 1) { setText(p, text); return; }
  el.replaceChildren(h('p', { class: 'chart-note' }, text));
}

function chartWidth(el) {
  return Math.max(240, Math.floor(el.getBoundingClientRect().width || 480));
}

// The x scale is always the last hour, ending now (or at the newest
// sample if the daemon's clock is ahead): with few samples uPlot would
// otherwise stretch them over years. Seconds, as uPlot's time scale takes.
const WINDOW_S = 3600;

function lastHour(u) {
  const xs = u.data[0];
  const end = Math.max(Date.now() / 1000, xs.length ? xs[xs.length - 1] : 0);
  return [end - WINDOW_S, end];
}

function draw(key, el, xs, names, series, unit, state) {
  const uPlot = globalThis.uPlot;
  if (!uPlot) { note(el, 'Charts unavailable: the chart library did not load.'); return; }
  if (!names.length || !xs.length) {
    if (state.charts[key]) { state.charts[key].plot.destroy(); delete state.charts[key]; }
    // History names only what it sampled: before the first sample the
    // settings tell whether something is configured.
    const configured = names.length || state.configured[key] > 0;
    note(el, configured ? `Collecting: the first sample comes within ${fmtDuration(HISTORY_INTERVAL_S)}.` : 'Nothing to draw: none configured.');
    return;
  }
  const data = [xs, ...series];
  const sig = names.join('\n');
  const c = state.charts[key];
  if (c && c.sig === sig) { c.plot.setData(data); return; }
  if (c) c.plot.destroy();
  clear(el);
  const opts = {
    width: chartWidth(el),
    height: 200,
    scales: { x: { time: true, range: lastHour }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      { stroke: '#4a5561', grid: { stroke: '#e3e7ec', width: 1 }, ticks: { stroke: '#e3e7ec', width: 1 } },
      { stroke: '#4a5561', grid: { stroke: '#e3e7ec', width: 1 }, ticks: { stroke: '#e3e7ec', width: 1 }, size: 56, label: unit, labelSize: 18 },
    ],
    series: [{ label: 'time' }, ...names.map((n, i) => ({
      // Points: uPlot's default shows them only while they are sparse,
      // so a first lone sample is visible.
      label: n, stroke: palette[i % palette.length], width: 1.5,
      value: (u, v) => (v == null ? '—' : v.toFixed(v < 10 ? 2 : 0)),
    }))],
  };
  state.charts[key] = { sig, plot: new uPlot(opts, data, el) };
}

// distinct suffixes the second and later of equal names (targets a reader
// sees with **** for their communities) so that each series is told apart.
function distinct(names) {
  const seen = new Map();
  return names.map((n) => {
    const k = (seen.get(n) || 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} #${k}`;
  });
}
