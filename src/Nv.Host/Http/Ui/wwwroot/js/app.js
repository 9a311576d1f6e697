// The audit explorer: a hash-routed page over Nv's HTTP API. It shows only the views the API key's roles allow (from
// GET /v1/me); the server enforces the same roles on every call, so hiding a view is a courtesy, not the protection.
import { ApiError, get, session } from './api.js';
import { append, clear, h, message, route } from './dom.js';
import { home } from './views/home.js';
import { keyView } from './views/key.js';
import { search } from './views/search.js';
import { timeline } from './views/timeline.js';
import { requestView } from './views/request.js';
import { userView } from './views/user.js';
import { entryView } from './views/entry.js';
import { opsView } from './views/ops.js';

const routes = [
  { pattern: /^\/?$/, view: home },
  { pattern: /^\/key$/, view: keyView },
  { pattern: /^\/search$/, view: search, role: 'auditor' },
  { pattern: /^\/entity\/([^/]+)\/([^/]+)$/, names: ['dtoType', 'entityId'], view: timeline, role: 'auditor' },
  { pattern: /^\/request\/([^/]+)$/, names: ['requestId'], view: requestView, role: 'auditor' },
  { pattern: /^\/user\/([^/]+)$/, names: ['userId'], view: userView, role: 'auditor' },
  { pattern: /^\/entry\/([^/]+)$/, names: ['id'], view: entryView, role: 'auditor' },
  { pattern: /^\/ops$/, view: opsView, role: 'operator' },
];

const NAV = [
  { href: '#/search', text: 'Search', role: 'auditor', match: /^\/search/ },
  { href: '#/', text: 'Entity · user · request', role: 'auditor', match: /^\/(entity|user|request|entry)\// },
  { href: '#/ops', text: 'Operations', role: 'operator', match: /^\/ops/ },
  { href: '#/key', text: 'API key', match: /^\/key/ },
];

let me = null;
let meError = null;
let cleanup = null;

const has = (role) => !!me && me.roles.includes(role);

async function loadSession() {
  meError = null;
  try {
    me = await get('/v1/me');
  } catch (e) {
    me = null;
    if (e instanceof ApiError && e.status === 401) {
      // The key in this tab is not (or no longer) known: drop it and ask again.
      session.key = null;
      meError = 'The API key of this tab was refused (' + e.message + '). Enter a key again.';
      try { me = await get('/v1/me', { key: null }); } catch { me = null; }
    } else {
      meError = 'Nv does not answer: ' + (e.message || e);
    }
  }
}

function renderHeader(path) {
  const nav = clear(document.getElementById('nav'));
  for (const item of NAV) {
    if (item.role && !has(item.role)) continue;
    nav.append(h('a', { href: item.href, class: item.match.test(path) ? 'active' : null, text: item.text }));
  }
  const who = clear(document.getElementById('who'));
  if (!me) return;
  if (!me.keysRequired) {
    append(who, [h('span', { class: 'pill warn', title: 'No API keys are configured on this host; it listens on loopback only.', text: 'authentication off' })]);
  } else if (me.authenticated) {
    append(who, [
      h('span', { class: 'user', dataset: { testid: 'who' }, text: me.user }),
      ' ',
      me.roles.map((r) => h('span', { class: 'pill', text: r })),
      h('button', {
        type: 'button', class: 'link', dataset: { testid: 'forget-key' }, text: 'Forget key',
        on: { click: async () => { session.key = null; await loadSession(); location.hash = '#/key'; render(); } },
      }),
    ]);
  }
}

function denied(role) {
  const who = me.authenticated ? `This key (${me.user}) has ${me.roles.length ? 'roles ' + me.roles.join(', ') : 'no role'}` : 'Without a key you have no role';
  return h('div', { class: 'message error denied', role: 'alert', dataset: { testid: 'denied', role } },
    h('strong', { text: 'Not allowed. ' }), `${who}; this view needs role ${role}. `,
    h('a', { href: '#/key', text: 'Use another key' }), '.');
}

function render() {
  if (cleanup) { try { cleanup(); } catch { /* a view's cleanup never blocks navigation */ } cleanup = null; }
  const hash = location.hash.replace(/^#/, '');
  const at = hash.indexOf('?');
  const path = at < 0 ? hash : hash.slice(0, at);
  const query = Object.fromEntries(new URLSearchParams(at < 0 ? '' : hash.slice(at + 1)));
  renderHeader(path);
  const main = clear(document.getElementById('main'));
  if (!me) {
    main.append(message('error', meError || 'Nv does not answer.'));
    return;
  }

  let matched = null;
  let params = {};
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    matched = r;
    try {
      params = Object.fromEntries((r.names || []).map((n, k) => [n, decodeURIComponent(m[k + 1])]));
    } catch {
      matched = null;
    }
    break;
  }
  if (!matched) {
    main.append(message('error', 'No such view. ', h('a', { href: '#/', text: 'Start page' })));
    return;
  }
  if (me.keysRequired && !me.authenticated && matched.view !== keyView) {
    location.replace(route('/key', { then: hash }));
    return;
  }
  if (meError && matched.view === keyView) main.append(message('error', meError));
  if (matched.role && !has(matched.role)) {
    main.append(denied(matched.role));
    return;
  }
  const context = {
    params, query, me, has,
    onSession: async () => { await loadSession(); },
  };
  cleanup = matched.view(main, context) || null;
  document.title = (main.querySelector('h1')?.textContent || 'Audit explorer') + ' · Nv';
}

window.addEventListener('hashchange', render);
await loadSession();
render();
