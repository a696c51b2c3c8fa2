// Queues: the queues the user may see, a page at a time (the API filters by a regex on the name,
// sorts and pages, so a broker with 100k queues lists as fast as one with ten), with depth (ready,
// unacked, total) and rates; a form to add a queue.
import { api, seg } from '../api.js';
import { act, field, fmtNum, fmtRate, h, link, rateOf, section } from '../dom.js';
import { pagedTable } from '../paged-table.js';

/** Page, sort and filter survive refreshes and page visits. */
const state = { sortCol: 1 };

function features(q) {
  const f = [];
  if (q.durable) f.push('D');
  if (q.auto_delete) f.push('AD');
  if (q.exclusive) f.push('Excl');
  for (const k of Object.keys(q.arguments || {})) f.push(k.replace(/^x-/, ''));
  return f.join(' ');
}

const num = (label, key) => ({ label, key, cell: (q) => fmtNum(q[key]), num: true });
const rate = (label, stat) => ({
  label,
  key: `message_stats.${stat}_details.rate`,
  cell: (q) => fmtRate(rateOf(q.message_stats, stat)),
  num: true,
});

/** `key`: the API's sort key of the column. */
const COLUMNS = [
  { label: 'Virtual host', key: 'vhost', cell: (q) => q.vhost },
  { label: 'Name', key: 'name', cell: (q) => link(q.name, 'queue', q.vhost, q.name) },
  { label: 'Type', key: 'type', cell: (q) => q.type },
  { label: 'Features', cell: features },
  { label: 'State', key: 'state', cell: (q) => q.state },
  num('Ready', 'messages_ready'),
  num('Unacked', 'messages_unacknowledged'),
  num('Total', 'messages'),
  num('Consumers', 'consumers'),
  rate('Incoming', 'publish'),
  rate('Deliver / get', 'deliver_get'),
  rate('Ack', 'ack'),
];

export async function mount(root) {
  const load = (query) => api('GET', `/queues?${query}`);
  const table = await pagedTable({ id: 'queues', columns: COLUMNS, load, state, empty: 'No queues.', noun: 'queues' });
  root.append(h('h1', {}, 'Queues'), section('All queues', table), await addQueueForm(() => table.refresh()));
  return () => table.refresh();
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
