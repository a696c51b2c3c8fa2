// Queues: every queue the user may see, sortable by any column and filtered by a regex on the
// name, with depth (ready, unacked, total) and rates; a form to add a queue.
import { api, seg } from '../api.js';
import { act, field, h, link, section } from '../dom.js';
import { dataTable, numColumn, rateColumn } from '../table.js';

/** Sort and filter survive refreshes and page visits. */
const state = { sortCol: 1 };

function features(q) {
  const f = [];
  if (q.durable) f.push('D');
  if (q.auto_delete) f.push('AD');
  if (q.exclusive) f.push('Excl');
  for (const k of Object.keys(q.arguments || {})) f.push(k.replace(/^x-/, ''));
  return f.join(' ');
}

const COLUMNS = [
  { label: 'Virtual host', cell: (q) => q.vhost },
  { label: 'Name', cell: (q) => link(q.name, 'queue', q.vhost, q.name), sort: (q) => q.name },
  { label: 'Type', cell: (q) => q.type },
  { label: 'Features', cell: features },
  { label: 'State', cell: (q) => q.state },
  numColumn('Ready', (q) => q.messages_ready),
  numColumn('Unacked', (q) => q.messages_unacknowledged),
  numColumn('Total', (q) => q.messages),
  numColumn('Consumers', (q) => q.consumers),
  rateColumn('Incoming', 'publish'),
  rateColumn('Deliver / get', 'deliver_get'),
  rateColumn('Ack', 'ack'),
];

export async function mount(root) {
  const rows = await api('GET', '/queues');
  const table = dataTable({ id: 'queues', columns: COLUMNS, rows, state, filterOf: (q) => q.name, empty: 'No queues.' });
  root.append(h('h1', {}, 'Queues'), section('All queues', table), await addQueueForm(() => refresh()));
  const refresh = async () => table.update(await api('GET', '/queues'));
  return refresh;
}

/** A vhost picker filled from /api/vhosts. */
export async function vhostSelect(name = 'vhost') {
  const vhosts = await api('GET', '/vhosts');
  return h('select', { name }, vhosts.map((v) => h('option', { value: v.name }, v.name)));
}

async function addQueueForm(after) {
  const vhost = await vhostSelect();
  const name = h('input', { name: 'name', required: true });
  const durable = h('select', { name: 'durable' }, h('option', { value: 'true' }, 'Durable'), h('option', { value: 'false' }, 'Transient'));
  const autoDelete = h('select', { name: 'auto_delete' }, h('option', { value: 'false' }, 'No'), h('option', { value: 'true' }, 'Yes'));
  const args = h('input', { name: 'arguments', placeholder: '{"x-max-length": 1000}' });
  const out = h('p', { class: 'notice' });
  const form = h(
    'form',
    { id: 'add-queue', class: 'form' },
    field('Virtual host', vhost),
    field('Name', name),
    field('Durability', durable),
    field('Auto delete', autoDelete),
    field('Arguments (JSON)', args),
    h('button', { type: 'submit' }, 'Add queue'),
    out,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await act(
      out,
      () => {
        const body = {
          durable: durable.value === 'true',
          auto_delete: autoDelete.value === 'true',
          arguments: args.value.trim() ? JSON.parse(args.value) : {},
        };
        return api('PUT', `/queues/${seg(vhost.value)}/${seg(name.value)}`, body);
      },
      `Queue ${name.value} declared`,
    );
    if (ok) await after();
  });
  return section('Add a queue', form);
}
