// dom.js: small helpers that build elements. Text always goes in as
// textContent, never as HTML, so nothing the server sends is parsed.

// h creates an element: attrs sets attributes (class, id, for, data-*,
// aria-*, boolean ones when true), functions on "on..." keys become
// listeners; children are nodes or strings (text), null is skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked') {
      el.checked = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear removes every child of el.
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

// setText sets el's text if it changed (no layout work when it did not).
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

// badge is a status shown as a word with a colour: the colour never
// carries the meaning alone.
export function badge(text, tone) {
  return h('span', { class: `badge badge-${tone || 'neutral'}` }, text);
}

// toneOf maps the states the daemon reports to a badge tone.
export function toneOf(state) {
  switch (String(state).toLowerCase()) {
    case 'ok': case 'normal': case 'running': case 'poweredon': case 'connected': case 'yes': case 'on':
      return 'ok';
    case 'marginal': case 'suspended': case 'stopped': case 'degraded': case 'invalid':
      return 'warn';
    case 'critical': case 'failed': case 'failing': case 'denied': case 'disconnected': case 'no':
      return 'bad';
    default:
      return 'neutral';
  }
}

// syncRows keeps tbody's rows in step with items: one row per key (in the
// data attribute attr), created by make(item) when new, updated by
// update(row, item) each time, removed when its item is gone. Rows keep
// their identity across polls, so counters change in place.
export function syncRows(tbody, items, key, attr, make, update) {
  const seen = new Set();
  let prev = null;
  for (const item of items) {
    const k = key(item);
    seen.add(k);
    let row = null;
    for (const r of tbody.rows) {
      if (r.dataset[attr] === k) { row = r; break; }
    }
    if (!row) {
      row = make(item);
      row.dataset[attr] = k;
    }
    update(row, item);
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== row) tbody.insertBefore(row, want);
    prev = row;
  }
  for (const r of [...tbody.rows]) {
    if (!seen.has(r.dataset[attr])) r.remove();
  }
}

// emptyRow is a table's single row saying why it has no data.
export function emptyRow(tbody, columns, text) {
  clear(tbody);
  tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: columns }, text)));
}

// table builds a table with a caption (for screen readers only when a
// heading above says the same) and header cells; the body is
// table.tBodies[0].
export function table(id, caption, headers, { hideCaption = false } = {}) {
  return h('table', { id, class: 'data' },
    h('caption', { class: hideCaption ? 'visually-hidden' : null }, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody'));
}

// scrollBox wraps a wide table in a region that scrolls sideways; it takes
// the focus so that keyboard users can scroll it too.
export function scrollBox(t) {
  const label = t.caption ? t.caption.textContent : 'Table';
  return h('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-label': label }, t);
}

export function fmtNum(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

// fmtAgo is how long ago iso was, roughly ("12 s ago", "3 min ago").
export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(s)) return String(iso);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// fmtDuration writes seconds as "1 h 5 min", "30 min", "45 s".
export function fmtDuration(sec) {
  sec = Math.max(0, Math.round(sec));
  const d = Math.floor(sec / 86400), hr = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (hr) parts.push(`${hr} h`);
  if (m && !d) parts.push(`${m} min`);
  if (s && !d && !hr) parts.push(`${s} s`);
  return parts.length ? parts.join(' ') : '0 s';
}
