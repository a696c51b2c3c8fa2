// Connections (with a Close button: DELETE /api/connections/{name} with an X-Reason header) and
// channels.
import { api, seg } from '../api.js';
import { fmtBytes, h, notice, section } from '../dom.js';
import { dataTable, numColumn, rateColumn } from '../table.js';

const connState = { sortCol: 0 };
const chanState = { sortCol: 0 };

function clientOf(c) {
  const p = c.client_properties || {};
  return [p.product, p.version].filter(Boolean).join(' ');
}

export async function mount(root) {
  const out = h('p', { class: 'notice', id: 'connection-status' });
  const close = async (c) => {
    if (!confirm(`Close the connection ${c.name}?`)) return;
    try {
      await api('DELETE', `/connections/${seg(c.name)}`, undefined, { 'X-Reason': 'Closed via management plugin' });
      notice(out, true, `Connection ${c.name} closed.`);
      await refresh();
    } catch (err) {
      notice(out, false, `Failed: ${err.message}`);
    }
  };
  const columns = [
    { label: 'Name', cell: (c) => c.name },
    { label: 'Virtual host', cell: (c) => c.vhost },
    { label: 'User', cell: (c) => c.user },
    { label: 'Client', cell: clientOf },
    { label: 'State', cell: (c) => c.state },
    numColumn('Channels', (c) => c.channels),
    { label: 'From client', cell: (c) => fmtBytes(c.recv_oct), sort: (c) => c.recv_oct, num: true },
    { label: 'To client', cell: (c) => fmtBytes(c.send_oct), sort: (c) => c.send_oct, num: true },
    {
      label: '',
      sort: false,
      cell: (c) => h('button', { class: 'small danger', 'data-connection': c.name, onclick: () => void close(c) }, 'Close'),
    },
  ];
  const rows = await api('GET', '/connections');
  const table = dataTable({ id: 'connections', columns, rows, state: connState, filterOf: (c) => c.name, empty: 'No connections.' });
  root.append(h('h1', {}, 'Connections'), section('All connections', table, out));
  const refresh = async () => table.update(await api('GET', '/connections'));
  return refresh;
}

const CHANNEL_COLUMNS = [
  { label: 'Channel', cell: (c) => c.name },
  { label: 'Virtual host', cell: (c) => c.vhost },
  { label: 'User', cell: (c) => c.user },
  { label: 'Mode', cell: (c) => (c.confirm ? 'confirm' : c.transactional ? 'tx' : '') },
  { label: 'State', cell: (c) => c.state },
  numColumn('Consumers', (c) => c.consumer_count),
  numColumn('Prefetch', (c) => c.prefetch_count),
  numColumn('Unacked', (c) => c.messages_unacknowledged),
  rateColumn('Publish', 'publish'),
  rateColumn('Deliver / get', 'deliver_get'),
];

export async function mountChannels(root) {
  const rows = await api('GET', '/channels');
  const filterOf = (c) => c.name;
  const table = dataTable({ id: 'channels', columns: CHANNEL_COLUMNS, rows, state: chanState, filterOf, empty: 'No channels.' });
  root.append(h('h1', {}, 'Channels'), section('All channels', table));
  return async () => table.update(await api('GET', '/channels'));
}
