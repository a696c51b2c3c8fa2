// Admin pages: virtual hosts, users and their permissions, policies, definitions export/import.
// The API enforces the tags (administrator; policymaker for policies): the UI only hides what the
// user cannot use. Policies come from /api/policies; a broker without it (404) says so.
import { api, seg } from '../api.js';
import { act, field, h, jsonText, notice, section } from '../dom.js';
import { dataTable, numColumn } from '../table.js';
import { vhostSelect } from './queues.js';

/** A form whose submit runs `fn()`, shows its outcome, then runs `after`; inputs are [label, element] pairs. */
function form(id, inputs, button, fn, okText, after) {
  const out = h('p', { class: 'notice' });
  const f = h('form', { class: 'form', id }, inputs.map(([l, el]) => field(l, el)), h('button', { type: 'submit' }, button), out);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await act(out, fn, okText)) await after();
  });
  return f;
}

/** A column of Delete buttons: `what(row)` gives [the thing's description, its API path]. */
function deleteColumn(what, after, out) {
  const remove = async (row) => {
    const [text, path] = what(row);
    if (!confirm(`Delete ${text}?`)) return;
    if (await act(out, () => api('DELETE', path), `Deleted ${text}.`)) await after();
  };
  return { label: '', sort: false, cell: (row) => h('button', { class: 'small danger', onclick: () => void remove(row) }, 'Delete') };
}

export async function mountVhosts(root) {
  const out = h('p', { class: 'notice' });
  const refresh = async () => table.update(await api('GET', '/vhosts'));
  const columns = [
    { label: 'Name', cell: (v) => v.name },
    numColumn('Ready', (v) => v.messages_ready),
    numColumn('Unacked', (v) => v.messages_unacknowledged),
    numColumn('Total', (v) => v.messages),
    deleteColumn((v) => [`virtual host ${v.name}`, `/vhosts/${seg(v.name)}`], refresh, out),
  ];
  const table = dataTable({ id: 'vhosts', columns, rows: await api('GET', '/vhosts'), state: {}, filterOf: (v) => v.name });
  const name = h('input', { name: 'name', required: true });
  const put = () => api('PUT', `/vhosts/${seg(name.value)}`, {});
  const add = form('add-vhost', [['Name', name]], 'Add virtual host', put, 'Virtual host added.', refresh);
  root.append(h('h1', {}, 'Virtual hosts'), section('All virtual hosts', table, out), section('Add a virtual host', add));
  return refresh;
}

export async function mountUsers(root) {
  const out = h('p', { class: 'notice' });
  const refresh = async () => {
    users.update(await api('GET', '/users'));
    perms.update(await api('GET', '/permissions'));
  };
  const userColumns = [
    { label: 'Name', cell: (u) => u.name },
    { label: 'Tags', cell: (u) => (u.tags || []).join(', ') },
    deleteColumn((u) => [`user ${u.name}`, `/users/${seg(u.name)}`], refresh, out),
  ];
  const permColumns = [
    { label: 'User', cell: (p) => p.user },
    { label: 'Virtual host', cell: (p) => p.vhost },
    { label: 'Configure', cell: (p) => p.configure },
    { label: 'Write', cell: (p) => p.write },
    { label: 'Read', cell: (p) => p.read },
    deleteColumn((p) => [`permissions of ${p.user} in ${p.vhost}`, `/permissions/${seg(p.vhost)}/${seg(p.user)}`], refresh, out),
  ];
  const users = dataTable({ id: 'users', columns: userColumns, rows: [], state: {}, filterOf: (u) => u.name });
  const perms = dataTable({ id: 'permissions', columns: permColumns, rows: [], state: {} });
  const name = h('input', { name: 'username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
  const tags = h('input', { name: 'tags', placeholder: 'administrator, monitoring' });
  const addUser = form(
    'add-user',
    [['Username', name], ['Password', pass], ['Tags', tags]],
    'Add user',
    () => api('PUT', `/users/${seg(name.value)}`, { password: pass.value, tags: tags.value }),
    'User added.',
    refresh,
  );
  const [pUser, pVhost] = [h('input', { name: 'user', required: true }), await vhostSelect()];
  const [conf, write, read] = ['configure', 'write', 'read'].map((n) => h('input', { name: n, value: '.*' }));
  const setPerm = form(
    'set-permission',
    [['User', pUser], ['Virtual host', pVhost], ['Configure', conf], ['Write', write], ['Read', read]],
    'Set permission',
    () => {
      const body = { configure: conf.value, write: write.value, read: read.value };
      return api('PUT', `/permissions/${seg(pVhost.value)}/${seg(pUser.value)}`, body);
    },
    'Permission set.',
    refresh,
  );
  root.append(
    h('h1', {}, 'Users'),
    section('All users', users, out),
    section('Add a user', addUser),
    section('Permissions', perms),
    section('Set permission', setPerm),
  );
  await refresh();
  return refresh;
}

export async function mountPolicies(root) {
  const out = h('p', { class: 'notice', id: 'policies-status' });
  const refresh = async () => {
    try {
      table.update(await api('GET', '/policies'));
    } catch (err) {
      if (err.status !== 404) throw err;
      notice(out, false, 'This broker has no policies API yet (GET /api/policies answered 404).');
    }
  };
  const columns = [
    { label: 'Virtual host', cell: (p) => p.vhost },
    { label: 'Name', cell: (p) => p.name },
    { label: 'Pattern', cell: (p) => p.pattern },
    { label: 'Apply to', cell: (p) => p['apply-to'] },
    { label: 'Definition', cell: (p) => jsonText(p.definition) },
    numColumn('Priority', (p) => p.priority),
    deleteColumn((p) => [`policy ${p.name}`, `/policies/${seg(p.vhost)}/${seg(p.name)}`], refresh, out),
  ];
  const table = dataTable({ id: 'policies', columns, rows: [], state: {}, filterOf: (p) => p.name, empty: 'No policies.' });
  const vhost = await vhostSelect();
  const name = h('input', { name: 'name', required: true });
  const pattern = h('input', { name: 'pattern', value: '.*' });
  const def = h('input', { name: 'definition', placeholder: '{"max-length": 1000}' });
  const prio = h('input', { name: 'priority', type: 'number', value: 0 });
  const applyTo = h('select', { name: 'apply-to' }, ['all', 'queues', 'exchanges'].map((v) => h('option', { value: v }, v)));
  const add = form(
    'add-policy',
    [['Virtual host', vhost], ['Name', name], ['Pattern', pattern], ['Apply to', applyTo], ['Definition (JSON)', def], ['Priority', prio]],
    'Add / update policy',
    () => {
      const definition = JSON.parse(def.value || '{}');
      const body = { pattern: pattern.value, definition, priority: Number(prio.value), 'apply-to': applyTo.value };
      return api('PUT', `/policies/${seg(vhost.value)}/${seg(name.value)}`, body);
    },
    'Policy set.',
    refresh,
  );
  root.append(h('h1', {}, 'Policies'), section('User policies', table, out), section('Add / update a policy', add));
  await refresh();
  return refresh;
}

export async function mountDefinitions(root) {
  const out = h('p', { class: 'notice', id: 'definitions-status' });
  const exportLink = h('a', { class: 'button', id: 'export-definitions', href: '#/definitions' }, 'Download broker definitions');
  exportLink.addEventListener('click', async (e) => {
    e.preventDefault();
    await act(
      out,
      async () => {
        const defs = await api('GET', '/definitions');
        const url = URL.createObjectURL(new Blob([JSON.stringify(defs, null, 2)], { type: 'application/json' }));
        const a = h('a', { href: url, download: `amqpd-definitions-${new Date().toISOString().slice(0, 10)}.json` });
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        return defs;
      },
      (d) => `Exported ${d.queues.length} queue(s), ${d.exchanges.length} exchange(s), ${d.bindings.length} binding(s).`,
    );
  });
  const file = h('input', { type: 'file', id: 'definitions-file', accept: '.json,application/json' });
  const upload = form(
    'import-definitions',
    [['Definitions file', file]],
    'Upload broker definitions',
    async () => {
      if (!file.files || file.files.length === 0) throw new Error('choose a file first');
      const text = await file.files[0].text();
      let defs;
      try {
        defs = JSON.parse(text);
      } catch {
        throw new Error('the file is not JSON');
      }
      await api('POST', '/definitions', defs);
      return defs;
    },
    'Definitions imported.',
    async () => {},
  );
  root.append(h('h1', {}, 'Definitions'), section('Export', h('p', {}, exportLink), out), section('Import', upload));
}
