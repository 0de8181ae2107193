// app.js: the console's shell. It routes on location.hash to one page
// module at a time, keeps the header (who is logged in, when the session
// ends if unused, log out) and logs out when the idle timeout passes.

import * as api from './api.js';
import * as session from './session.js';
import { h, setText, fmtDuration } from './dom.js';
import * as login from './pages/login.js';
import * as dashboard from './pages/dashboard.js';
import * as notifications from './pages/notifications.js';
import * as settings from './pages/settings.js';
import * as audit from './pages/audit.js';

// Each route: its page module, the id of <main>, the argument given, and
// the privilege without which the page is not mounted (its polls would
// only be refused, and each refusal audited).
const routes = {
  'login': { page: login, id: 'page-login', title: 'Log in' },
  'dashboard': { page: dashboard, id: 'page-dashboard', title: 'Dashboard', needs: 'System.Read' },
  'notifications': { page: notifications, id: 'page-notifications', title: 'Notifications', needs: 'System.Read' },
  'settings/snmp': { page: settings, id: 'page-settings', arg: 'snmp', title: 'SNMP settings' },
  'settings/syslog': { page: settings, id: 'page-settings', arg: 'syslog', title: 'Syslog settings' },
  'settings/users': { page: settings, id: 'page-settings', arg: 'users', title: 'Users and roles' },
  'settings/lockdown': { page: settings, id: 'page-settings', arg: 'lockdown', title: 'Lockdown' },
  'settings/backup': { page: settings, id: 'page-settings', arg: 'backup', title: 'Backup' },
  'audit': { page: audit, id: 'page-audit', title: 'Audit trail', needs: 'Host.Config.Users' },
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const sessionBox = document.getElementById('session');
let stopPage = null;
let wanted = 'dashboard'; // where to go after logging in
let loginNotice = '';

function routeName() {
  const name = location.hash.replace(/^#\/?/, '');
  return routes[name] ? name : '';
}

function go(name) {
  if (location.hash !== `#/${name}`) location.hash = `#/${name}`;
  else render();
}

function render() {
  let name = routeName();
  if (!api.loggedIn()) {
    if (name && name !== 'login') wanted = name;
    if (name !== 'login') { go('login'); return; }
  } else if (!name || name === 'login') {
    go(wanted || 'dashboard');
    return;
  }
  if (stopPage) { stopPage(); stopPage = null; }
  const r = routes[name];
  main.replaceChildren();
  main.id = r.id;
  main.dataset.route = name;
  document.title = `${r.title} · hostagent`;
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (r.needs && !session.can(r.needs)) {
    main.append(h('h1', {}, r.title),
      h('p', { class: 'notice', role: 'status' }, `Your role (${session.current()?.role || 'none'}) lacks ${r.needs}, which this page needs.`));
    return;
  }
  const ctx = { loggedIn, notice: loginNotice, go };
  loginNotice = '';
  stopPage = r.page.mount(main, ctx, r.arg) || null;
}

async function loggedIn(info) {
  await session.start(info);
  setText(document.getElementById('session-user'), `${info.user} (${info.role})`);
  for (const a of nav.querySelectorAll('a[data-needs]')) {
    a.parentElement.hidden = !session.can(a.dataset.needs);
  }
  // A group's heading goes when none of its links is left.
  for (const g of nav.querySelectorAll('.nav-group')) {
    let any = false;
    for (let li = g.nextElementSibling; li && !li.classList.contains('nav-group'); li = li.nextElementSibling) any ||= !li.hidden;
    g.hidden = !any;
  }
  nav.hidden = false;
  sessionBox.hidden = false;
  tick();
  go(wanted || 'dashboard');
}

// logout tells the server (unless it already ended the session) and
// returns to the login page with notice.
async function logout(notice, tellServer = true) {
  if (tellServer && api.loggedIn()) {
    try { await api.del('/api/v1/session'); } catch { /* gone already */ }
  }
  session.end();
  setText(document.getElementById('session-user'), '');
  setText(document.getElementById('session-expiry'), '');
  nav.hidden = true;
  sessionBox.hidden = true;
  loginNotice = notice || '';
  wanted = routeName() && routeName() !== 'login' ? routeName() : 'dashboard';
  go('login');
}

// tick shows the idle expiry and logs out once it passed.
function tick() {
  const s = session.current();
  if (!s) return;
  const left = session.expiresAt() - Date.now();
  if (left <= 0) {
    logout(`Logged out after ${fmtDuration(s.idleMs / 1000)} without activity.`);
    return;
  }
  const at = new Date(session.expiresAt()).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  setText(document.getElementById('session-expiry'),
    `Idle timeout ${fmtDuration(s.idleMs / 1000)}: ends at ${at} if unused (${fmtDuration(left / 1000)} left)`);
}

api.onUnauthorized((msg) => logout(`Your session ended: ${msg}`, false));
document.getElementById('logout').addEventListener('click', () => logout('You are logged out.'));
// A button, not a link to #main: the hash is the router's.
document.getElementById('skip').addEventListener('click', () => main.focus());
for (const type of ['click', 'keydown', 'submit']) {
  document.addEventListener(type, () => { if (api.loggedIn()) session.touch(); }, true);
}
setInterval(tick, 1000);
window.addEventListener('hashchange', render);
render();
