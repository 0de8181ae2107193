// settings.js: the settings pages (SNMP, syslog, users and roles,
// lockdown, backup). Each form is one API request through the same
// validation as vicfg; a role without the privilege sees values only.

import * as api from '../api.js';
import * as session from '../session.js';
import { h, setText, clear, table, badge, fmtTime, fmtBytes, scrollBox } from '../dom.js';
import { settingsForm, showServerError, fieldOf, section } from '../forms.js';

const pages = { snmp, syslog, users, lockdown, backup };
const titles = { snmp: 'SNMP', syslog: 'Syslog forwarding', users: 'Users and roles', lockdown: 'Lockdown', backup: 'Backup and restore' };

export function mount(main, ctx, which) {
  main.dataset.form = which;
  const body = h('div', { class: 'settings-body' }, h('p', { class: 'muted', role: 'status' }, 'Loading\u2026'));
  main.append(h('h1', {}, titles[which]), body);
  const alive = { stopped: false };
  pages[which](body, alive).catch((e) => {
    if (alive.stopped) return;
    clear(body);
    body.append(h('p', { id: `${which}-error`, class: 'form-error', role: 'alert' },
      api.notAvailable(e) ? 'Not available on this daemon.' : e.message));
  });
  return () => { alive.stopped = true; };
}

function lacks(privilege) {
  const s = session.current();
  return `Read only: your role ${s ? s.role : ''} lacks ${privilege}, which changing these settings needs.`;
}

// ---- SNMP ----------------------------------------------------------------

const snmpFields = [
  { key: 'enabled', label: 'Agent enabled', type: 'checkbox', group: 'General' },
  { key: 'port', label: 'Port', type: 'number', help: 'UDP port the agent listens on (161 on ESXi).', group: 'General' },
  { key: 'communities', label: 'Communities', type: 'lines', help: 'One per line; at most 10.', group: 'General' },
  { key: 'targets', label: 'Targets', type: 'lines', help: 'One per line: host@port/community, e.g. 192.0.2.10@162/public.', group: 'General' },
  { key: 'notraps', label: 'Notifications not sent', type: 'lines', help: 'One per line: MIB names or OIDs.', group: 'General' },
  { key: 'syscontact', label: 'System contact', group: 'General' },
  { key: 'syslocation', label: 'System location', group: 'General' },
  { key: 'loglevel', label: 'Log level', type: 'select', options: ['debug', 'info', 'warning', 'error'], group: 'General' },
  { key: 'engineid', label: 'Engine ID', help: 'Hex; empty for the one the daemon generated.', group: 'SNMPv3' },
  { key: 'authentication', label: 'Authentication protocol', help: 'none, MD5, SHA1, SHA224, SHA256, SHA384 or SHA512.', group: 'SNMPv3' },
  { key: 'privacy', label: 'Privacy protocol', help: 'none, AES128 and others vicfg-snmp --help lists.', group: 'SNMPv3' },
  { key: 'users', label: 'Users', type: 'lines', help: 'One per line: name/authhash/privhash/model (keys from vicfg-snmp --hash).', group: 'SNMPv3' },
  { key: 'v3targets', label: 'v3 targets', type: 'lines', help: 'One per line: host@port/user/level/trap|inform.', group: 'SNMPv3' },
  { key: 'remoteusers', label: 'Remote users', type: 'lines', help: 'One per line, for inform receivers.', group: 'SNMPv3' },
];

const snmpAliases = { community: 'communities', target: 'targets', notrap: 'notraps', 'v3 target': 'v3targets', user: 'users', 'remote user': 'remoteusers', 'engine ID': 'engineid' };

function pick(obj, fields) {
  const out = {};
  for (const f of fields) out[f.key] = obj[f.key];
  return out;
}

async function snmp(body, alive) {
  const st = await api.get('/api/v1/snmp');
  if (alive.stopped) return;
  const editable = session.can('Host.Config.SNMP');
  const form = settingsForm('snmp', snmpFields, pick(st.config, snmpFields), {
    editable,
    readOnlyNote: lacks('Host.Config.SNMP'),
    aliases: snmpAliases,
    submit: async (changes) => pick((await api.patch('/api/v1/snmp', changes)).config, snmpFields),
  });
  clear(body);
  body.append(section('h-snmp-config', 'Agent settings', form));
  if (editable) body.append(snmpTest());
}

function snmpTest() {
  const results = h('ul', { id: 'snmp-test-results', class: 'plain-list' });
  const error = h('p', { id: 'snmp-test-error', class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'form-status', role: 'status' });
  const button = h('button', { id: 'snmp-test', type: 'button', class: 'button-secondary' }, 'Send a test notification');
  button.addEventListener('click', async () => {
    setText(error, ''); setText(status, ''); clear(results);
    button.disabled = true;
    try {
      const res = await api.post('/api/v1/snmp/test');
      setText(status, res && res.length ? `Sent warmStart to ${res.length} target(s):` : 'No targets to test.');
      for (const r of res || []) {
        results.append(h('li', { 'data-target': r.target }, badge(r.result, r.result === 'failed' ? 'bad' : 'ok'), ' ', r.target,
          r.reason ? h('span', { class: 'muted' }, ` (${r.reason})`) : null));
      }
    } catch (e) {
      setText(error, e.message);
    } finally {
      button.disabled = false;
    }
  });
  return section('h-snmp-test', 'Test', h('p', {}, 'Sends warmStart to every target and reports what became of each, as vicfg-snmp --test.'),
    error, status, h('div', { class: 'actions' }, button), results);
}

// ---- Syslog --------------------------------------------------------------

// The syslog form is its own (not settingsForm): besides the loghosts it
// edits the list of [[files]], a fieldset per file, and sends both in one
// PATCH. A list sent replaces the daemon's whole list, so every row goes
// as it stands and the server's "files[n].key" names row n.

const loghostsHelp = 'One per line: udp://host:514, tcp://host:1514, ssl://host:1514, relp://host:2514, kafka://broker:9092/TOPIC, nats://server:4222/SUBJECT. None stops forwarding. Each loghost\u2019s options follow below.';

// The keys of a loghost's options (syslogd.LoghostOptions), as syslog.toml
// and the API name them; empty is the scheme's default. kind: text,
// number, select (choices: [value, text]) or bool (true, or absent).
const dflt = ['', 'default'];
const optionKeys = [
  { key: 'format', label: 'Format', kind: 'select', choices: [dflt, ['rfc5424', 'RFC 5424'], ['rfc3164', 'RFC 3164 (BSD)']] },
  { key: 'framing', label: 'Framing', kind: 'select', choices: [dflt, ['octet-counting', 'octet counting'], ['newline', 'newline']], help: 'tcp:// and ssl:// only.' },
  { key: 'max_message', label: 'Longest message', kind: 'number', help: 'Octets, 480 to 65535; empty for the default.' },
  { key: 'retry_max', label: 'Longest reconnection wait', kind: 'text', help: 'e.g. 30s or 5m; empty for the default.' },
  { key: 'ca_file', label: 'CA file', kind: 'text', help: 'TLS loghosts. Over the network a path may not change: set it from the local console or in syslog.toml.' },
  { key: 'cert_file', label: 'Client certificate file', kind: 'text' },
  { key: 'key_file', label: 'Client key file', kind: 'text' },
  { key: 'verify', label: 'Verify the server', kind: 'select', choices: [['', 'default (yes)'], ['true', 'yes'], ['false', 'no']] },
  { key: 'tls', label: 'TLS to the bus', kind: 'bool', help: 'kafka:// and nats://; kafkas:// always uses TLS.' },
  { key: 'sasl', label: 'Kafka SASL', kind: 'select', choices: [['', 'none'], ['plain', 'plain'], ['scram-sha-256', 'scram-sha-256'], ['scram-sha-512', 'scram-sha-512']] },
  { key: 'username', label: 'User name', kind: 'text', help: 'Kafka SASL or NATS user.' },
  { key: 'password_file', label: 'Password file', kind: 'text', help: 'The password is read from this file, never shown or stored here.' },
  { key: 'key', label: 'Kafka record key', kind: 'select', choices: [['', 'default (hostname)'], ['hostname', 'hostname'], ['source', 'source'], ['none', 'none']] },
  { key: 'compression', label: 'Kafka compression', kind: 'select', choices: [['', 'default (none)'], ['none', 'none'], ['gzip', 'gzip'], ['snappy', 'snappy'], ['lz4', 'lz4'], ['zstd', 'zstd']] },
  { key: 'credentials_file', label: 'NATS credentials file', kind: 'text' },
  { key: 'nkey_file', label: 'NATS NKey seed file', kind: 'text' },
];

// optionValues is a loghost's options as the form's strings.
function optionValues(o) {
  const v = {};
  for (const k of optionKeys) {
    const x = (o || {})[k.key];
    if (x === undefined || x === null || x === 0) v[k.key] = '';
    else if (typeof x === 'boolean') v[k.key] = k.kind === 'bool' && !x ? '' : String(x); // tls false is absent
    else v[k.key] = String(x);
  }
  return v;
}

// optionsOf is the options the form's strings say, empty ones left out
// (the scheme's default), each in the type the API takes.
function optionsOf(v) {
  const o = {};
  for (const k of optionKeys) {
    const x = v[k.key];
    if (x === '') continue;
    if (k.kind === 'number') o[k.key] = /^-?\d+$/.test(x) ? Number(x) : x; // not a number: the server says so
    else if (k.kind === 'bool' || k.key === 'verify') o[k.key] = x === 'true';
    else o[k.key] = x;
  }
  return o;
}

function optionsText(o) {
  const v = optionValues(o);
  return optionKeys.filter((k) => v[k.key] !== '').map((k) => `${k.key} = ${v[k.key]}`).join(', ');
}

// The keys of a file (syslogd.FileInput), as syslog.toml and the API name them.
const fileKeys = [
  { key: 'glob', label: 'Pattern', help: 'An absolute path pattern, e.g. /var/log/vmware/*.log. Over the network it must lie under the daemon\u2019s log roots (--log-root).' },
  { key: 'priority', label: 'Priority', help: 'facility.severity of its lines; empty for local0.info.' },
  { key: 'app_name', label: 'Application name', help: 'Empty: the file\u2019s name without .log (hostd.log \u2192 hostd).' },
];

async function syslog(body, alive) {
  const st = await api.get('/api/v1/syslog');
  if (alive.stopped) return;
  const file = h('div');
  showSyslogFile(file, st.config);
  const editable = session.can('Host.Config.Syslog');
  const form = editable
    ? syslogForm(st.config, (config) => showSyslogFile(file, config))
    : syslogReadOnly(st.config);
  clear(body);
  body.append(section('h-syslog-loghosts', 'Loghosts and log files', form),
    section('h-syslog-file', 'Inputs and limits', h('p', { class: 'muted' }, 'Set in syslog.toml; shown here as the daemon holds them.'), file));
}

function fileText(f) {
  return `${f.glob}  ${f.priority || 'local0.info'}${f.app_name ? `  app_name ${f.app_name}` : ''}`;
}

function syslogReadOnly(c) {
  const files = c.files || [];
  return h('div', { class: 'readonly-form', 'data-form': 'syslog' },
    h('p', { class: 'notice' }, lacks('Host.Config.Syslog')),
    h('dl', { class: 'facts facts-wide' },
      h('div', {}, h('dt', {}, 'Loghosts'), h('dd', { 'data-field': 'loghosts', class: 'pre' }, (c.loghosts || []).length ? c.loghosts.join('\n') : 'none')),
      h('div', {}, h('dt', {}, 'Log files'), h('dd', { 'data-field': 'files', class: 'pre' }, files.length ? files.map(fileText).join('\n') : 'none')),
      h('div', {}, h('dt', {}, 'Loghost options'), h('dd', { 'data-field': 'loghost_options', class: 'pre' },
        (c.loghosts || []).filter((l) => optionsText((c.loghost_options || {})[l]) !== '')
          .map((l) => `${l}: ${optionsText(c.loghost_options[l])}`).join('\n') || 'defaults'))));
}

// normalFiles is a list of files as the form reads it back.
function normalFiles(files) {
  return (files || []).map((f) => ({ glob: f.glob || '', priority: f.priority || '', app_name: f.app_name || '' }));
}

function syslogForm(config, shown) {
  let original = { loghosts: config.loghosts || [], files: normalFiles(config.files), options: config.loghost_options || {} };
  const formError = h('p', { id: 'syslog-error', class: 'form-error', role: 'alert' });
  const status = h('p', { id: 'syslog-status', class: 'form-status', role: 'status' });
  const loghosts = h('textarea', { id: 'syslog-loghosts', name: 'loghosts', rows: Math.max(3, Math.min(10, original.loghosts.length + 1)),
    spellcheck: 'false', 'aria-describedby': 'syslog-loghosts-help syslog-loghosts-error' }, original.loghosts.join('\n'));
  const loghostsError = h('p', { id: 'syslog-loghosts-error', class: 'field-error', role: 'alert' });
  const filesError = h('p', { id: 'syslog-files-error', class: 'field-error', role: 'alert' });
  const rows = h('div', { id: 'syslog-files' });
  const add = h('button', { id: 'syslog-files-add', type: 'button', class: 'button-secondary' }, 'Add a file');
  const optionRows = h('div', { id: 'syslog-options' });
  const button = h('button', { id: 'syslog-submit', type: 'submit', class: 'button-primary' }, 'Save');
  const form = h('form', { id: 'syslog-form', class: 'settings-form', 'data-form': 'syslog', novalidate: true },
    formError, status,
    h('div', { class: 'field field-lines' }, h('label', { for: 'syslog-loghosts' }, 'Loghosts'), loghosts,
      h('p', { id: 'syslog-loghosts-help', class: 'help' }, loghostsHelp), loghostsError),
    h('fieldset', { 'data-group': 'files', 'aria-describedby': 'syslog-files-error' }, h('legend', {}, 'Log files'),
      h('p', { class: 'help' }, 'Each file pattern\u2019s lines go to every loghost. An empty list reads no file.'),
      rows, filesError, h('div', { class: 'actions' }, add)),
    h('div', { 'data-group': 'loghost_options' }, h('h3', {}, 'Loghost options'),
      h('p', { class: 'help' }, 'One set per loghost listed above; empty fields take the scheme\u2019s defaults. Options of a loghost removed from the list go with it.'),
      optionRows),
    h('div', { class: 'actions' }, button));

  // The options fieldsets follow the loghosts as typed: rebuilt when the
  // list changes, what was entered kept by loghost.
  let entered = {};
  const listed = () => loghosts.value.split('\n').map((x) => x.trim()).filter((x) => x !== '');
  const readOptions = () => {
    for (const set of optionRows.children) {
      const v = {};
      for (const k of optionKeys) v[k.key] = set.querySelector(`[name="${k.key}"]`).value.trim();
      entered[set.dataset.loghost] = v;
    }
    return entered;
  };
  const setOptions = () => {
    readOptions();
    const want = listed();
    if (JSON.stringify(want) === JSON.stringify([...optionRows.children].map((x) => x.dataset.loghost))) return;
    clear(optionRows);
    want.forEach((uri, n) => optionRows.append(optionSet(n, uri, entered[uri] || optionValues(original.options[uri]))));
  };
  loghosts.addEventListener('input', setOptions);
  setOptions();

  // Rows are numbered by their place: the ids say which entry of the list
  // sent each one is, as the server's messages do.
  const renumber = () => [...rows.children].forEach((row, n) => fileRow(row, n));
  const addRow = (f) => { rows.append(fileRow(null, rows.children.length, f, () => { renumber(); })); };
  const setFiles = (files) => { clear(rows); for (const f of files) addRow(f); };
  setFiles(original.files);
  add.addEventListener('click', () => {
    addRow({ glob: '', priority: '', app_name: '' });
    rows.lastElementChild.querySelector('input').focus();
  });

  const readFiles = () => [...rows.children].map((row) => {
    const f = {};
    for (const k of fileKeys) f[k.key] = row.querySelector(`input[name="${k.key}"]`).value.trim();
    return f;
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const e of form.querySelectorAll('.field-error, .form-error, .form-status')) setText(e, '');
    const changes = {};
    const lh = loghosts.value.split('\n').map((x) => x.trim()).filter((x) => x !== '');
    if (JSON.stringify(lh) !== JSON.stringify(original.loghosts)) changes.loghosts = lh;
    const files = readFiles();
    if (JSON.stringify(files) !== JSON.stringify(original.files)) changes.files = files;
    // The map sent replaces the daemon's: sent only when an option was
    // edited, with each loghost whose options were not edited as the
    // daemon gave them (unchanged, so over the network a path in force,
    // such as a bus's secret file, stays allowed).
    const values = readOptions();
    if (lh.some((uri) => JSON.stringify(values[uri]) !== JSON.stringify(optionValues(original.options[uri])))) {
      const opts = {};
      for (const uri of lh) {
        const o = JSON.stringify(values[uri]) === JSON.stringify(optionValues(original.options[uri])) && original.options[uri]
          ? original.options[uri] : optionsOf(values[uri]);
        if (Object.keys(o).length) opts[uri] = o;
      }
      changes.loghost_options = opts;
    }
    if (!Object.keys(changes).length) { setText(status, 'Nothing changed.'); return; }
    button.disabled = true;
    try {
      const now = await api.patch('/api/v1/syslog', changes);
      original = { loghosts: now.config.loghosts || [], files: normalFiles(now.config.files), options: now.config.loghost_options || {} };
      loghosts.value = original.loghosts.join('\n');
      setFiles(original.files);
      entered = {};
      clear(optionRows);
      setOptions();
      shown(now.config);
      setText(status, 'Saved: the daemon accepted the change.');
    } catch (e) {
      showSyslogError(e, form, lh, { loghosts: loghostsError, files: filesError }, formError, { loghosts, files: add });
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// fileRow builds (row null) or renumbers the fieldset of file n: ids
// "syslog-files-<n>-<key>", each control with its label and its error.
function fileRow(row, n, f, removed) {
  const id = (key) => `syslog-files-${n}-${key}`;
  if (row) {
    row.dataset.file = String(n);
    setText(row.querySelector('legend'), `File ${n + 1}`);
    for (const k of fileKeys) {
      const input = row.querySelector(`input[name="${k.key}"]`);
      input.id = id(k.key);
      input.setAttribute('aria-describedby', `${id(k.key)}-help ${id(k.key)}-error`);
      row.querySelector(`label[data-key="${k.key}"]`).htmlFor = id(k.key);
      row.querySelector(`.help[data-key="${k.key}"]`).id = `${id(k.key)}-help`;
      row.querySelector(`.field-error[data-key="${k.key}"]`).id = `${id(k.key)}-error`;
    }
    row.querySelector('button[data-action="remove"]').setAttribute('aria-label', `Remove file ${n + 1}`);
    return row;
  }
  const remove = h('button', { type: 'button', class: 'button-danger', 'data-action': 'remove', 'aria-label': `Remove file ${n + 1}` }, 'Remove');
  const el = h('fieldset', { class: 'file-input', 'data-file': String(n) }, h('legend', {}, `File ${n + 1}`),
    fileKeys.map((k) => h('div', { class: 'field' },
      h('label', { for: id(k.key), 'data-key': k.key }, k.label),
      h('input', { id: id(k.key), name: k.key, type: 'text', spellcheck: 'false', autocomplete: 'off', value: f[k.key] || '',
        'aria-describedby': `${id(k.key)}-help ${id(k.key)}-error` }),
      h('p', { id: `${id(k.key)}-help`, class: 'help', 'data-key': k.key }, k.help),
      h('p', { id: `${id(k.key)}-error`, class: 'field-error', role: 'alert', 'data-key': k.key }))),
    h('div', { class: 'actions' }, remove));
  remove.addEventListener('click', () => {
    const next = el.nextElementSibling || el.previousElementSibling;
    el.remove();
    removed();
    (next ? next.querySelector('input') : document.getElementById('syslog-files-add')).focus();
  });
  return el;
}

// optionSet is the fieldset of loghost n's options: ids
// "syslog-options-<n>-<key>", each control with its label and its error;
// "syslog-options-<n>-error" for a message naming the loghost only.
function optionSet(n, uri, v) {
  const id = (key) => `syslog-options-${n}-${key}`;
  const control = (k) => {
    const attrs = { id: id(k.key), name: k.key, 'aria-describedby': `${k.help ? `${id(k.key)}-help ` : ''}${id(k.key)}-error` };
    if (k.kind === 'select' || k.kind === 'bool') {
      const choices = k.kind === 'bool' ? [['', 'no'], ['true', 'yes']] : [...k.choices];
      if (!choices.some(([c]) => c === v[k.key])) choices.push([v[k.key], v[k.key]]); // a value the form does not know: kept
      return h('select', attrs, choices.map(([c, text]) => h('option', { value: c, selected: c === v[k.key] }, text)));
    }
    return h('input', { ...attrs, type: 'text', inputmode: k.kind === 'number' ? 'numeric' : null, spellcheck: 'false', autocomplete: 'off', value: v[k.key] });
  };
  return h('fieldset', { class: 'loghost-options', 'data-loghost': uri, 'aria-describedby': id('error') },
    h('legend', {}, `Options of ${uri}`),
    h('p', { id: id('error'), class: 'field-error', role: 'alert' }),
    optionKeys.map((k) => h('div', { class: 'field' },
      h('label', { for: id(k.key) }, k.label), control(k),
      k.help ? h('p', { id: `${id(k.key)}-help`, class: 'help' }, k.help) : null,
      h('p', { id: `${id(k.key)}-error`, class: 'field-error', role: 'alert' }))));
}

// showSyslogError puts each line of the server's message next to what it
// names: "files[n].key" the field of file n, a loghost's option (the
// message quotes the loghost, then the key) its field in that loghost's
// fieldset, else the loghosts or the files as a whole, else above the
// form; the first field named gets the focus.
function showSyslogError(e, form, sent, errors, formError, controls) {
  const general = [];
  let first = null;
  const put = (el, line, control) => {
    setText(el, el.textContent ? `${el.textContent} ${line}` : line);
    if (!first) first = control;
  };
  for (const line of String(e && e.message ? e.message : e).split('\n').filter((l) => l.trim() !== '')) {
    const m = /files\[(\d+)\]\.(glob|priority|app_name)\b/.exec(line);
    const input = m && form.querySelector(`#syslog-files-${m[1]}-${m[2]}`);
    if (input) { put(form.querySelector(`#syslog-files-${m[1]}-${m[2]}-error`), line, input); continue; }
    const o = /loghost_options\.?\s*"([^"]+)"[.:]?\s*([a-z_]+)?/.exec(line);
    const n = o ? sent.indexOf(o[1]) : -1;
    if (n >= 0) {
      const key = optionKeys.some((k) => k.key === o[2]) ? o[2] : '';
      const field = key && form.querySelector(`#syslog-options-${n}-${key}`);
      if (field) put(form.querySelector(`#syslog-options-${n}-${key}-error`), line, field);
      else put(form.querySelector(`#syslog-options-${n}-error`), line, form.querySelector(`#syslog-options-${n}-format`));
      continue;
    }
    const key = fieldOf(line, ['loghosts', 'files'], { loghost: 'loghosts' });
    if (key) put(errors[key], line, controls[key]);
    else general.push(line);
  }
  if (general.length) setText(formError, general.join(' '));
  if (first) first.focus();
}

function showSyslogFile(el, c) {
  clear(el);
  const v = (x) => (x === '' || x === undefined || x === null ? 'none' : String(x));
  el.append(h('dl', { class: 'facts' },
    [['Local socket', v(c.socket)], ['UDP listener', v(c.udp)], ['Hostname', c.hostname || 'this host\u2019s name'],
      ['Longest line', `${c.max_line} bytes`], ['Spool per loghost', fmtBytes(c.spool_max)],
      ['Follow symbolic links', c.follow_symlinks ? 'yes' : 'no']]
      .map(([k, x]) => h('div', {}, h('dt', {}, k), h('dd', {}, x)))));
}

// ---- Users and roles -----------------------------------------------------

async function users(body, alive) {
  if (!session.can('Host.Config.Users')) {
    clear(body);
    body.append(h('p', { class: 'notice' }, `Your role ${session.current().role} lacks Host.Config.Users, which listing and changing users needs.`));
    return;
  }
  const [list, roles] = await Promise.all([api.get('/api/v1/users'), api.get('/api/v1/roles')]);
  if (alive.stopped) return;
  const reload = () => users(body, alive);
  const roleNames = roles.map((r) => r.name);

  const userTable = table('users-table', 'Users and their roles', ['User', 'Role', 'Change role', 'Remove'], { hideCaption: true });
  for (const u of list) userTable.tBodies[0].append(userRow(u, roleNames, reload));

  const add = settingsForm('users', [
    { key: 'name', label: 'User name' },
    { key: 'password', label: 'Password', type: 'password', help: 'The server says what it requires.' },
    { key: 'role', label: 'Role', type: 'select', options: roleNames },
  ], { name: '', password: '', role: roleNames.includes('ReadOnly') ? 'ReadOnly' : roleNames[0] }, {
    editable: true,
    alwaysSend: true,
    submitLabel: 'Add user',
    aliases: { user: 'name' },
    submit: async (u) => { await api.post('/api/v1/users', u); await reload(); return null; },
  });

  const roleTable = table('roles-table', 'Roles and their privileges', ['Role', 'Privileges', 'Remove'], { hideCaption: true });
  for (const r of roles) roleTable.tBodies[0].append(roleRow(r, reload));

  clear(body);
  body.append(
    section('h-users', 'Users', scrollBox(userTable)),
    section('h-users-add', 'Add a user', add),
    section('h-roles', 'Roles', scrollBox(roleTable)),
    section('h-roles-add', 'Add a role', roleForm(reload)));
}

// A row's actions each send one request; the row's message shows in it.
function userRow(u, roleNames, reload) {
  const selId = `users-role-${u.name}`;
  const error = h('p', { id: `${selId}-error`, class: 'field-error', role: 'alert' });
  const select = h('select', { id: selId, 'aria-describedby': `${selId}-error` },
    roleNames.map((r) => h('option', { value: r, selected: r === u.role }, r)));
  const change = h('button', { type: 'button', class: 'button-secondary', 'data-action': 'role' }, 'Change');
  change.addEventListener('click', async () => {
    setText(error, '');
    if (select.value === u.role) { setText(error, 'Pick another role first.'); return; }
    try { await api.patch(`/api/v1/users/${encodeURIComponent(u.name)}`, { role: select.value }); await reload(); } catch (e) { setText(error, e.message); }
  });
  const remove = confirmButton(`Remove ${u.name}`, 'Remove', async () => {
    try { await api.del(`/api/v1/users/${encodeURIComponent(u.name)}`); await reload(); } catch (e) { setText(error, e.message); }
  });
  return h('tr', { 'data-user': u.name },
    h('th', { scope: 'row' }, u.name), h('td', {}, u.role),
    h('td', {}, h('div', { class: 'inline' }, h('label', { for: selId, class: 'visually-hidden' }, `Role of ${u.name}`), select, change), error),
    h('td', {}, remove));
}

function roleRow(r, reload) {
  const error = h('p', { class: 'field-error', role: 'alert' });
  return h('tr', { 'data-role': r.name },
    h('th', { scope: 'row' }, r.name, r.built_in ? h('span', { class: 'muted' }, ' (built in)') : null),
    h('td', {}, (r.privileges || []).length ? r.privileges.join(', ') : 'none'),
    h('td', {}, r.built_in ? h('span', { class: 'muted' }, '—') : confirmButton(`Remove role ${r.name}`, 'Remove', async () => {
      try { await api.del(`/api/v1/roles/${encodeURIComponent(r.name)}`); await reload(); } catch (e) { setText(error, e.message); }
    }), error));
}

// confirmButton asks for a second press before fn runs (no modal dialog:
// it would block keyboard users' flow and browser automation alike).
function confirmButton(label, text, fn) {
  const b = h('button', { type: 'button', class: 'button-danger', 'aria-label': label }, text);
  let armed = false;
  b.addEventListener('click', async () => {
    if (!armed) { armed = true; b.textContent = 'Confirm'; b.setAttribute('aria-label', `Confirm: ${label}`); return; }
    b.disabled = true;
    await fn();
    b.disabled = false;
  });
  b.addEventListener('blur', () => { armed = false; b.textContent = text; b.setAttribute('aria-label', label); });
  return b;
}

const allPrivileges = ['Host.Config.Backup', 'Host.Config.SNMP', 'Host.Config.Syslog', 'Host.Config.Users', 'System.Read'];

function roleForm(reload) {
  const formError = h('p', { id: 'roles-error', class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'form-status', role: 'status' });
  const nameError = h('p', { id: 'roles-name-error', class: 'field-error', role: 'alert' });
  const privError = h('p', { id: 'roles-privileges-error', class: 'field-error', role: 'alert' });
  const name = h('input', { id: 'roles-name', type: 'text', 'aria-describedby': 'roles-name-error', spellcheck: 'false' });
  const boxes = allPrivileges.map((p, i) => h('input', { id: `roles-privileges-${i}`, type: 'checkbox', value: p }));
  const form = h('form', { id: 'roles-form', class: 'settings-form', novalidate: true },
    formError, status,
    h('div', { class: 'field' }, h('label', { for: 'roles-name' }, 'Role name'), name, nameError),
    h('fieldset', { class: 'field' }, h('legend', {}, 'Privileges'),
      boxes.map((b, i) => h('div', { class: 'check' }, b, h('label', { for: b.id }, allPrivileges[i]))), privError),
    h('div', { class: 'actions' }, h('button', { id: 'roles-submit', type: 'submit', class: 'button-primary' }, 'Add role')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const e of [formError, status, nameError, privError]) setText(e, '');
    try {
      await api.post('/api/v1/roles', { name: name.value, privileges: boxes.filter((b) => b.checked).map((b) => b.value) });
      await reload();
    } catch (e) {
      showServerError(e, ['name', 'privileges'], { name: nameError, privileges: privError }, formError, { name, privileges: boxes[0] }, { role: 'name', privilege: 'privileges' });
    }
  });
  return form;
}

// ---- Lockdown ------------------------------------------------------------

async function lockdown(body, alive) {
  const st = await api.get('/api/v1/lockdown');
  if (alive.stopped) return;
  const fields = [
    { key: 'mode', label: 'Mode', type: 'select', options: ['disabled', 'normal', 'strict'],
      help: 'Normal and strict: only the exception users log in over the network. Only the console (the local socket) weakens or leaves lockdown.' },
    { key: 'exception_users', label: 'Exception users', type: 'lines', help: 'One per line.' },
  ];
  const form = settingsForm('lockdown', fields, { mode: st.mode, exception_users: st.exception_users || [] }, {
    editable: session.can('Host.Config.Users'),
    readOnlyNote: lacks('Host.Config.Users'),
    aliases: { 'exception user': 'exception_users', 'lockdown mode': 'mode' },
    submit: async (changes) => {
      const now = await api.put('/api/v1/lockdown', changes);
      showMode(now);
      return { mode: now.mode, exception_users: now.exception_users || [] };
    },
  });
  const mode = h('p', { id: 'lockdown-now' });
  const showMode = (l) => mode.replaceChildren('In force: ', badge(l.mode, l.enabled ? 'warn' : 'neutral'));
  showMode(st);
  clear(body);
  body.append(section('h-lockdown', 'Lockdown mode', mode, form));
}

// ---- Backup --------------------------------------------------------------

async function backup(body) {
  clear(body);
  if (!session.can('Host.Config.Backup')) {
    body.append(h('p', { class: 'notice' }, `Your role ${session.current().role} lacks Host.Config.Backup, which backups need.`));
    return;
  }
  body.append(downloadSection(), restoreSection(), resetSection());
}

function downloadSection() {
  const error = h('p', { id: 'backup-download-error', class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'form-status', role: 'status' });
  const certs = h('input', { id: 'backup-certificates', type: 'checkbox', checked: true });
  const button = h('button', { id: 'backup-download', type: 'button', class: 'button-primary' }, 'Download a backup');
  button.addEventListener('click', async () => {
    setText(error, ''); setText(status, '');
    button.disabled = true;
    try {
      const b = await api.get(`/api/v1/backup${certs.checked ? '' : '?certificates=false'}`);
      const url = URL.createObjectURL(new Blob([JSON.stringify(b, null, 2)], { type: 'application/json' }));
      const a = h('a', { href: url, download: `hostagent-${b.host || 'host'}-${(b.created || '').replace(/[:]/g, '')}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      setText(status, `Backup of ${b.host} taken ${fmtTime(b.created)}${(b.omitted || []).length ? `; left out: ${b.omitted.join(', ')}` : ''}.`);
    } catch (e) {
      setText(error, e.message);
    } finally {
      button.disabled = false;
    }
  });
  return section('h-backup-download', 'Download', h('p', {}, 'Every setting in one file, as vicfg-cfgbackup --save.'),
    error, status, h('div', { class: 'check' }, certs, h('label', { for: 'backup-certificates' }, 'Include the TLS identity')),
    h('div', { class: 'actions' }, button));
}

function restoreSection() {
  const error = h('p', { id: 'backup-error', class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'form-status', role: 'status' });
  const file = h('input', { id: 'backup-file', type: 'file', accept: 'application/json,.json', 'aria-describedby': 'backup-error' });
  const form = h('form', { id: 'backup-form', class: 'settings-form', novalidate: true }, error, status,
    h('div', { class: 'field' }, h('label', { for: 'backup-file' }, 'Backup file'), file),
    h('div', { class: 'actions' }, h('button', { id: 'backup-submit', type: 'submit', class: 'button-danger' }, 'Restore')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setText(error, ''); setText(status, '');
    const f = file.files[0];
    if (!f) { setText(error, 'Choose a backup file first.'); return; }
    let b;
    try { b = JSON.parse(await f.text()); } catch (e) { setText(error, `${f.name} is not a backup: ${e.message}`); return; }
    try {
      await api.put('/api/v1/backup', b);
      setText(status, `Restored ${f.name}: the daemon applied it.`);
    } catch (e) {
      setText(error, e.message);
    }
  });
  return section('h-backup-restore', 'Restore', h('p', {}, 'Replaces the settings with those of a backup, all or nothing, as vicfg-cfgbackup --load.'), form);
}

function resetSection() {
  const error = h('p', { id: 'backup-reset-error', class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'form-status', role: 'status' });
  const button = confirmButtonWith('backup-reset', 'Reset to factory defaults', async () => {
    setText(error, ''); setText(status, '');
    try { await api.post('/api/v1/backup/reset'); setText(status, 'The daemon is back to its factory defaults.'); } catch (e) { setText(error, e.message); }
  });
  return section('h-backup-reset', 'Factory defaults', h('p', {}, 'Every setting back to its default; needs every privilege.'),
    error, status, h('div', { class: 'actions' }, button));
}

function confirmButtonWith(id, text, fn) {
  const b = confirmButton(text, text, fn);
  b.id = id;
  return b;
}
