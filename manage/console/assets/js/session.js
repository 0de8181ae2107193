// session.js: who is logged in, what their role may do, and the idle
// expiry. Only user actions (clicks, keys, form submits) count as
// activity; the dashboard's polling does not, so an unattended console
// logs out when the idle timeout passes, as the daemon's sessions do.

import * as api from './api.js';

// What each built-in role holds, for a daemon whose session answer does
// not list the privileges yet.
const builtIn = {
  Administrator: ['Host.Config.Backup', 'Host.Config.SNMP', 'Host.Config.Syslog', 'Host.Config.Users', 'System.Read'],
  ReadOnly: ['System.Read'],
  NoAccess: [],
};

let info = null; // {user, role, privileges: Set, idleMs}
let lastAction = 0;

export function current() { return info; }

// can reports whether the session's role holds privilege: edit controls
// are shown only then (the server refuses a forged request anyway).
export function can(privilege) {
  return Boolean(info && info.privileges.has(privilege));
}

// start records a login's answer (api.SessionInfo) and starts the clock.
export async function start(s) {
  api.setToken(s.token);
  let privs = s.privileges;
  if (!Array.isArray(privs)) privs = await privilegesOf(s.role);
  info = { user: s.user, role: s.role, privileges: new Set(privs), idleMs: parseDuration(s.idle_timeout) };
  touch();
}

async function privilegesOf(role) {
  if (builtIn[role]) return builtIn[role];
  try {
    const roles = await api.get('/api/v1/roles');
    const r = roles.find((x) => x.name === role);
    if (r) return r.privileges;
  } catch { /* a role without Host.Config.Users cannot list roles */ }
  return ['System.Read'];
}

// end forgets the session (after the server was told, or could not be).
export function end() {
  info = null;
  api.setToken('');
}

export function touch() { lastAction = Date.now(); }

// expiresAt is when the session ends if unused (ms since the epoch).
export function expiresAt() {
  return info && info.idleMs ? lastAction + info.idleMs : Infinity;
}

// parseDuration reads a Go duration ("30m0s", "1h0m0s", "90s") as ms.
export function parseDuration(s) {
  const units = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };
  let ms = 0;
  const re = /([0-9.]+)(h|ms|m|s|us|µs|ns)/g;
  let m;
  while ((m = re.exec(String(s || ''))) !== null) ms += parseFloat(m[1]) * units[m[2]];
  return ms;
}
