// Exchanges: the list (sortable, filterable, with publish rates) and one exchange's page
// (#/exchange/{vhost}/{name}) with its bindings and a form to publish a message to it.
import { api, seg } from '../api.js';
import { h, jsonText, kv, link, section } from '../dom.js';
import { dataTable, rateColumn } from '../table.js';
import { publishForm } from '../publish.js';

const state = { sortCol: 1 };
const shownName = (name) => (name === '' ? '(AMQP default)' : name);
const routeName = (name) => (name === '' ? 'amq.default' : name);

const COLUMNS = [
  { label: 'Virtual host', cell: (x) => x.vhost },
  { label: 'Name', cell: (x) => link(shownName(x.name), 'exchange', x.vhost, routeName(x.name)), sort: (x) => x.name },
  { label: 'Type', cell: (x) => x.type },
  { label: 'Features', cell: (x) => [x.durable ? 'D' : '', x.auto_delete ? 'AD' : '', x.internal ? 'I' : ''].filter(Boolean).join(' ') },
  rateColumn('Rate in', 'publish_in'),
  rateColumn('Rate out', 'publish_out'),
];

export async function mount(root) {
  const table = dataTable({ id: 'exchanges', columns: COLUMNS, rows: await api('GET', '/exchanges'), state, filterOf: (x) => x.name });
  root.append(h('h1', {}, 'Exchanges'), section('All exchanges', table));
  return async () => table.update(await api('GET', '/exchanges'));
}

const BINDING_COLUMNS = [
  {
    label: 'To',
    cell: (b) => (b.destination_type === 'queue' ? link(b.destination, 'queue', b.vhost, b.destination) : b.destination),
    sort: (b) => b.destination,
  },
  { label: 'Type', cell: (b) => b.destination_type },
  { label: 'Routing key', cell: (b) => b.routing_key },
  { label: 'Arguments', cell: (b) => jsonText(b.arguments) },
];

export async function mountExchange(root, [vhost, name]) {
  const path = `/exchanges/${seg(vhost)}/${seg(name)}`;
  const x = await api('GET', path);
  const bindings = dataTable({ id: 'exchange-bindings', columns: BINDING_COLUMNS, rows: [], empty: 'No bindings.' });
  const refresh = async () => {
    // The default exchange has no listed bindings (every queue is implicitly bound to it).
    if (x.name !== '') bindings.update(await api('GET', `${path}/bindings/source`));
  };
  root.append(
    h('h1', {}, 'Exchange ', h('span', { id: 'exchange-name' }, shownName(x.name)), h('span', { class: 'muted' }, ` in ${vhost}`)),
    section(
      'Details',
      kv([
        ['Type', x.type],
        ['Durable', String(x.durable)],
        ['Auto delete', String(x.auto_delete)],
        ['Internal', String(x.internal)],
        ['Arguments', jsonText(x.arguments)],
      ]),
    ),
    section('Bindings from this exchange', bindings),
    publishForm({ vhost, exchange: name }),
  );
  await refresh();
  return refresh;
}
