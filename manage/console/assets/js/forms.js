// forms.js: the settings forms. A form sends one API request with the
// fields that changed; nothing is applied in the page before the server
// accepts. The server's message goes next to the field whose key it
// names (the daemon's messages start with the setting: "port 99999: ..."),
// else above the form. Without the privilege, the values are shown as
// text, with no control to change them.

import { h, setText, clear } from './dom.js';
import { ApiError } from './api.js';

// Field types: text, number, checkbox, select (options), lines (a
// textarea, one list entry per line), password.
function control(id, f, value) {
  const described = f.help ? `${id}-help ${id}-error` : `${id}-error`;
  const common = { id, name: f.key, 'aria-describedby': described };
  switch (f.type) {
    case 'checkbox':
      return h('input', { ...common, type: 'checkbox', checked: Boolean(value) });
    case 'number':
      return h('input', { ...common, type: 'number', inputmode: 'numeric', value: value ?? '' });
    case 'select':
      return h('select', common, f.options.map((o) => h('option', { value: o, selected: o === value }, o)));
    case 'lines':
      return h('textarea', { ...common, rows: Math.max(3, Math.min(10, (value || []).length + 1)), spellcheck: 'false' }, (value || []).join('\n'));
    case 'password':
      return h('input', { ...common, type: 'password', autocomplete: 'new-password', value: value ?? '' });
    default:
      return h('input', { ...common, type: 'text', spellcheck: 'false', autocomplete: 'off', value: value ?? '' });
  }
}

function read(el, f) {
  switch (f.type) {
    case 'checkbox': return el.checked;
    case 'number': return el.value.trim() === '' ? null : Number(el.value);
    case 'lines': return el.value.split('\n').map((s) => s.trim()).filter((s) => s !== '');
    default: return el.value;
  }
}

function shown(f, v) {
  if (f.type === 'checkbox') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length ? v.join('\n') : 'none';
  return v === '' || v === null || v === undefined ? 'not set' : String(v);
}

// settingsForm builds form `name` (ids "<name>-<key>") over values.
// submit(changes) sends the request and resolves to the values the server
// now holds; when editable is false the fields are text only.
export function settingsForm(name, fields, values, { editable, submit, submitLabel = 'Save', readOnlyNote, alwaysSend = false, aliases }) {
  let original = { ...values };
  const formError = h('p', { id: `${name}-error`, class: 'form-error', role: 'alert' });
  const status = h('p', { id: `${name}-status`, class: 'form-status', role: 'status' });
  if (!editable) {
    return h('div', { class: 'readonly-form', 'data-form': name },
      readOnlyNote ? h('p', { class: 'notice' }, readOnlyNote) : null,
      h('dl', { class: 'facts facts-wide' }, fields.map((f) => h('div', {},
        h('dt', {}, f.label), h('dd', { 'data-field': f.key, class: f.type === 'lines' ? 'pre' : '' }, shown(f, values[f.key]))))));
  }
  const controls = {};
  const errors = {};
  const rows = fields.map((f) => {
    const id = `${name}-${f.key}`;
    const el = control(id, f, values[f.key]);
    controls[f.key] = el;
    errors[f.key] = h('p', { id: `${id}-error`, class: 'field-error', role: 'alert' });
    const label = h('label', { for: id }, f.label);
    return h('div', { class: `field field-${f.type || 'text'}` },
      f.type === 'checkbox' ? h('div', { class: 'check' }, el, label) : [label, el],
      f.help ? h('p', { id: `${id}-help`, class: 'help' }, f.help) : null,
      errors[f.key]);
  });
  const button = h('button', { id: `${name}-submit`, type: 'submit', class: 'button-primary' }, submitLabel);
  const form = h('form', { id: `${name}-form`, class: 'settings-form', 'data-form': name, novalidate: true },
    formError, status, grouped(fields, rows), h('div', { class: 'actions' }, button));

  function clearErrors() {
    setText(formError, '');
    setText(status, '');
    for (const e of Object.values(errors)) setText(e, '');
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const changes = {};
    for (const f of fields) {
      const v = read(controls[f.key], f);
      if (alwaysSend || JSON.stringify(v) !== JSON.stringify(normal(f, original[f.key]))) changes[f.key] = v;
    }
    if (!Object.keys(changes).length) { setText(status, 'Nothing changed.'); return; }
    button.disabled = true;
    try {
      const now = await submit(changes);
      if (now) {
        original = { ...now };
        for (const f of fields) setControl(controls[f.key], f, now[f.key]);
      }
      setText(status, 'Saved: the daemon accepted the change.');
    } catch (e) {
      showServerError(e, fields.map((f) => f.key), errors, formError, controls, aliases);
    } finally {
      button.disabled = false;
    }
  });
  form.controls = controls;
  return form;
}

// grouped wraps the rows of fields with a group in a fieldset per group.
function grouped(fields, rows) {
  const out = [];
  let set = null;
  fields.forEach((f, i) => {
    if (!f.group) { set = null; out.push(rows[i]); return; }
    if (!set || set.dataset.group !== f.group) {
      set = h('fieldset', { 'data-group': f.group }, h('legend', {}, f.group));
      out.push(set);
    }
    set.append(rows[i]);
  });
  return out;
}

// normal is a value as read() would read it back from its control.
function normal(f, v) {
  switch (f.type) {
    case 'checkbox': return Boolean(v);
    case 'number': return typeof v === 'number' ? v : null;
    case 'lines': return v || [];
    default: return v ?? '';
  }
}

function setControl(el, f, v) {
  if (f.type === 'checkbox') el.checked = Boolean(v);
  else if (f.type === 'lines') el.value = (v || []).join('\n');
  else if (f.type === 'password') el.value = '';
  else el.value = v ?? '';
}

// fieldOf returns the key among keys that a line of a server message
// names: the one named first, as a whole word ("targets" in "targets:
// ...", "loghosts[1] ..."), or '' for none.
export function fieldOf(line, keys, aliases = {}) {
  let best = '';
  let at = Infinity;
  const names = keys.map((k) => [k, k]).concat(Object.entries(aliases).map(([a, k]) => [a, k]));
  for (const [word, key] of names) {
    const re = new RegExp(`(^|[^A-Za-z0-9_])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`, 'i');
    const m = re.exec(line);
    if (m && m.index < at) { at = m.index; best = key; }
  }
  return best;
}

// showServerError puts each line of the server's message next to the
// field it names, the others above the form; the first field named gets
// the focus.
export function showServerError(e, keys, errors, formError, controls, aliases) {
  const msg = e instanceof ApiError ? e.message : String(e && e.message ? e.message : e);
  const general = [];
  let first = null;
  for (const line of msg.split('\n').filter((l) => l.trim() !== '')) {
    const key = fieldOf(line, keys, aliases);
    if (key && errors[key]) {
      setText(errors[key], errors[key].textContent ? `${errors[key].textContent} ${line}` : line);
      if (!first) first = key;
    } else {
      general.push(line);
    }
  }
  if (general.length) setText(formError, general.join(' '));
  if (first && controls && controls[first]) controls[first].focus();
}

// section builds a titled card.
export function section(id, title, ...content) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...content);
}

export { clear };
