// The amqpd web UI: login, the navigation bar, hash routing (#/queues, #/queue/{vhost}/{name}, …)
// and the refresh loop. Each page module exports `mount(root, params, app)`, which draws the page
// and may return an async `refresh()` that the loop calls every REFRESH_MS while the page is shown.
import { api, clearCredentials, hasCredentials, onUnauthorized, setCredentials } from './api.js';
import { h, notice, replace } from './dom.js';
import * as overview from './pages/overview.js';
import * as queues from './pages/queues.js';
import * as queue from './pages/queue.js';
import * as exchanges from './pages/exchanges.js';
import * as connections from './pages/connections.js';
import * as admin from './pages/admin.js';

/** How often the shown page re-reads the API (the broker samples rates every 5 s). */
export const REFRESH_MS = 5000;

const ROUTES = {
  overview: { page: overview, label: 'Overview' },
  connections: { page: connections, label: 'Connections' },
  channels: { page: connections, label: 'Channels', mount: 'mountChannels' },
  exchanges: { page: exchanges, label: 'Exchanges' },
  exchange: { page: exchanges, mount: 'mountExchange', nav: 'exchanges' },
  queues: { page: queues, label: 'Queues' },
  queue: { page: queue, nav: 'queues' },
  vhosts: { page: admin, label: 'Virtual hosts', mount: 'mountVhosts', tag: 'administrator' },
  users: { page: admin, label: 'Users', mount: 'mountUsers', tag: 'administrator' },
  policies: { page: admin, label: 'Policies', mount: 'mountPolicies', tag: 'policymaker' },
  definitions: { page: admin, label: 'Definitions', mount: 'mountDefinitions', tag: 'administrator' },
};

const app = {
  user: undefined,
  overview: undefined,
  go(...parts) {
    location.hash = `#/${parts.map(encodeURIComponent).join('/')}`;
  },
  has(tag) {
    const tags = this.user ? this.user.tags : [];
    return tags.includes('administrator') || tags.includes(tag);
  },
};

const top = document.getElementById('top');
const main = document.getElementById('main');
let generation = 0;
let timer;
/** The name last typed, kept when the login form is drawn again after a failure. */
let lastUser = '';

function showLogin(message) {
  generation++;
  clearTimeout(timer);
  app.user = undefined;
  top.hidden = true;
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true, value: lastUser });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const out = h('p', { class: 'notice', id: 'login-status' });
  if (message) notice(out, false, message);
  const form = h(
    'form',
    { class: 'login panel', id: 'login' },
    h('h1', {}, 'amqpd'),
    h('label', { class: 'field' }, h('span', {}, 'Username'), user),
    h('label', { class: 'field' }, h('span', {}, 'Password'), pass),
    h('button', { type: 'submit' }, 'Login'),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    lastUser = user.value;
    setCredentials(user.value, pass.value);
    void start();
  });
  replace(main, form);
}

async function start() {
  try {
    app.user = await api('GET', '/whoami');
    app.overview = await api('GET', '/overview');
  } catch (err) {
    clearCredentials();
    showLogin(err.status === 401 ? 'Login failed' : `Cannot reach the API: ${err.message}`);
    return;
  }
  void route();
}

function drawNav(current) {
  const items = Object.entries(ROUTES)
    .filter(([, r]) => r.label && (!r.tag || app.has(r.tag)))
    .map(([name, r]) => h('a', { href: `#/${name}`, class: name === current ? 'active' : undefined, id: `nav-${name}` }, r.label));
  const ov = app.overview || {};
  const version = `${ov.product_name || ''} ${ov.rabbitmq_version || ''}`;
  const logout = h('button', { class: 'link', id: 'logout', onclick: logoutNow }, 'Log out');
  replace(
    top,
    h('div', { class: 'brand' }, 'amqpd', h('span', { class: 'muted' }, ` ${version} · ${ov.cluster_name || ''}`)),
    h('nav', {}, items),
    h('div', { class: 'who' }, 'User ', h('b', { id: 'whoami' }, app.user.name), ' ', logout),
  );
  top.hidden = false;
}

function logoutNow() {
  clearCredentials();
  location.hash = '#/';
  showLogin();
}

async function route() {
  if (!app.user) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter((p) => p !== '').map(decodeURIComponent);
  const name = ROUTES[parts[0]] ? parts[0] : 'overview';
  const r = ROUTES[name];
  drawNav(r.nav || name);
  const gen = ++generation;
  clearTimeout(timer);
  const root = h('div', { class: 'page', id: `page-${name}` });
  replace(main, root);
  if (r.tag && !app.has(r.tag)) {
    root.append(h('p', { class: 'notice err' }, `This page needs the ${r.tag} tag.`));
    return;
  }
  let refresh;
  try {
    refresh = await r.page[r.mount || 'mount'](root, parts.slice(1), app);
  } catch (err) {
    root.append(h('p', { class: 'notice err' }, `Failed: ${err.message}`));
  }
  if (typeof refresh === 'function') loop(gen, refresh);
}

function loop(gen, refresh) {
  timer = setTimeout(async () => {
    if (gen !== generation) return;
    try {
      await refresh();
    } catch {
      // shown again on the next tick; a 401 goes to the login page through onUnauthorized
    }
    if (gen === generation) loop(gen, refresh);
  }, REFRESH_MS);
}

onUnauthorized(() => {
  clearCredentials();
  showLogin('Session expired: log in again');
});
window.addEventListener('hashchange', () => void route());
if (hasCredentials()) void start();
else showLogin();
