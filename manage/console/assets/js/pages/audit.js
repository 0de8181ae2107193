// audit.js: the audit trail, newest first, filtered by the server
// (GET /api/v1/audit?user=&action=&setting=&result=&limit=). A refused
// filter shows the server's message next to the filter it names.

import * as api from '../api.js';
import * as session from '../session.js';
import { h, setText, clear, badge, toneOf, fmtTime, scrollBox } from '../dom.js';
import { showServerError } from '../forms.js';

const keys = ['user', 'action', 'setting', 'result', 'limit'];

export function mount(main) {
  main.append(h('h1', {}, 'Audit trail'));
  if (!session.can('Host.Config.Users')) {
    main.append(h('p', { class: 'notice' }, `Your role ${session.current().role} lacks Host.Config.Users, which reading the audit trail needs.`));
    return null;
  }
  const controls = {};
  const errors = {};
  const field = (key, label, el) => {
    controls[key] = el;
    errors[key] = h('p', { id: `audit-${key}-error`, class: 'field-error', role: 'alert' });
    el.setAttribute('aria-describedby', `audit-${key}-error`);
    return h('div', { class: 'field' }, h('label', { for: el.id }, label), el, errors[key]);
  };
  const text = (key, placeholder) => h('input', { id: `audit-${key}`, name: key, type: 'text', placeholder, spellcheck: 'false' });
  const formError = h('p', { id: 'audit-error', class: 'form-error', role: 'alert' });
  const status = h('p', { id: 'audit-status', class: 'muted', role: 'status' });
  const form = h('form', { id: 'audit-form', class: 'filters', novalidate: true, role: 'search', 'aria-label': 'Filter the audit trail' },
    field('user', 'User', text('user', 'any')),
    field('action', 'Action', text('action', 'any, or a prefix: snmp.')),
    field('setting', 'Setting', text('setting', 'any')),
    field('result', 'Result', h('select', { id: 'audit-result', name: 'result' },
      [['', 'any'], ['ok', 'ok'], ['denied', 'denied'], ['invalid', 'invalid'], ['failed', 'failed']].map(([v, t]) => h('option', { value: v }, t)))),
    field('limit', 'Entries', h('select', { id: 'audit-limit', name: 'limit' },
      ['50', '200', '1000'].map((v) => h('option', { value: v, selected: v === '200' }, v)))),
    h('div', { class: 'actions' }, h('button', { id: 'audit-apply', type: 'submit', class: 'button-primary' }, 'Apply')));
  const tbody = h('tbody');
  const tableEl = h('table', { id: 'audit-table', class: 'data' },
    h('caption', {}, 'Entries, newest first'),
    h('thead', {}, h('tr', {}, ['Time', 'User', 'Source', 'Action', 'Setting', 'Old', 'New', 'Result', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  main.append(h('section', { class: 'card', 'aria-label': 'Filters' }, formError, form), status, h('div', { class: 'card' }, scrollBox(tableEl)));

  let stopped = false;
  async function load() {
    setText(formError, '');
    for (const e of Object.values(errors)) setText(e, '');
    const q = new URLSearchParams();
    for (const k of keys) if (controls[k].value.trim() !== '') q.set(k, controls[k].value.trim());
    try {
      const page = await api.get(`/api/v1/audit?${q}`);
      if (stopped) return;
      clear(tbody);
      for (const e of page.entries || []) tbody.append(row(e));
      const n = (page.entries || []).length;
      setText(status, `${n} ${n === 1 ? 'entry' : 'entries'}${page.truncated ? ', more exist: narrow the filters or raise the number of entries' : ''}.`);
      if (!n) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 9 }, 'No entries match.')));
    } catch (e) {
      if (stopped) return;
      if (api.notAvailable(e)) { setText(formError, 'The audit trail is not available on this daemon.'); return; }
      showServerError(e, keys, errors, formError, controls);
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  load();
  return () => { stopped = true; };
}

function row(e) {
  const cell = (cls, v) => h('td', { class: cls }, v || '');
  return h('tr', { class: 'audit-entry', 'data-result': e.result },
    h('td', { class: 'time' }, h('time', { datetime: e.time }, fmtTime(e.time))),
    cell('user', e.user), cell('source', e.source), cell('action', e.action), cell('setting', e.setting),
    cell('old', e.old), cell('new', e.new),
    h('td', { class: 'result' }, badge(e.result, toneOf(e.result))),
    cell('detail', e.detail));
}
