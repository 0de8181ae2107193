// notifications.js: what the agent sent, newest first, decoded with MIB
// names as the demo receiver shows them. It asks every 2 s for those
// after the newest it has (?after=SEQ) and keeps the last 200.

import * as api from '../api.js';
import { h, setText, fmtTime } from '../dom.js';

const POLL_MS = 2000;
const KEEP = 200;

export function mount(main) {
  const feed = h('ol', { id: 'feed', class: 'feed', 'aria-label': 'Notifications sent, newest first' });
  const status = h('p', { id: 'feed-status', class: 'muted' }, 'Loading\u2026');
  const error = h('p', { id: 'notifications-error', class: 'form-error', role: 'alert' });
  main.append(h('h1', {}, 'Notifications'),
    h('p', { class: 'lead' }, 'Traps and informs the agent sent, newest first, as the receivers decode them.'),
    error, status, feed);

  let after = 0;
  let stopped = false;
  let timer = 0;
  async function poll() {
    try {
      const page = await api.get(`/api/v1/notifications?after=${after}`);
      if (stopped) return;
      setText(error, '');
      const list = (page.notifications || []).filter((n) => n.seq > after).sort((a, b) => a.seq - b.seq);
      for (const n of list) feed.prepend(item(n));
      while (feed.children.length > KEEP) feed.lastElementChild.remove();
      if (typeof page.latest === 'number' && page.latest > after) after = page.latest;
      for (const n of list) after = Math.max(after, n.seq);
      setText(status, feed.children.length ? `${feed.children.length} shown; updated ${new Date().toLocaleTimeString('en-GB')}`
        : 'Nothing sent yet. Try vicfg-snmp --test, or the SNMP settings\u2019 test button.');
    } catch (e) {
      if (stopped) return;
      if (api.notAvailable(e)) {
        setText(status, 'The notification feed is not available on this daemon.');
        return; // no point asking again
      }
      setText(error, `Not updated: ${e.message}. Retrying every 2 s.`);
    }
    timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

function item(n) {
  const vbs = n.varbinds || [];
  return h('li', { 'data-seq': n.seq, class: 'feed-item' },
    h('div', { class: 'feed-head' },
      h('span', { class: 'feed-name' }, n.name || n.oid),
      h('time', { class: 'feed-time', datetime: n.time }, fmtTime(n.time)),
      h('span', { class: 'feed-seq muted' }, `#${n.seq}`)),
    n.name && n.oid ? h('div', { class: 'feed-oid muted' }, n.oid) : null,
    h('div', { class: 'feed-targets' }, h('span', { class: 'muted' }, 'To: '),
      (n.targets || []).length ? n.targets.join(', ') : 'no target'),
    vbs.length ? h('table', { class: 'varbinds' },
      h('caption', { class: 'visually-hidden' }, 'Variable bindings'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Variable'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', {}, vbs.map((v) => h('tr', {}, h('td', { class: 'vb-name' }, v.name), h('td', { class: 'vb-value' }, v.value)))))
      : null);
}
