// One queue (#/queue/{vhost}/{name}): details and depth, consumers, bindings (and a form to add
// one), publish to it, get messages (requeueing by default, so the queue keeps them: a peek),
// purge and delete.
import { api, seg } from '../api.js';
import { act, field, fmtBytes, fmtNum, fmtRate, h, jsonText, kv, link, notice, rateOf, replace, section } from '../dom.js';
import { dataTable, numColumn } from '../table.js';
import { publishForm } from '../publish.js';

export async function mount(root, [vhost, name], app) {
  const path = `/queues/${seg(vhost)}/${seg(name)}`;
  const details = h('div', { id: 'queue-details' });
  const consumers = dataTable({ id: 'consumers', columns: CONSUMER_COLUMNS, rows: [], empty: 'No consumers.' });
  const bindings = dataTable({ id: 'bindings', columns: bindingColumns(vhost, name, () => refresh()), rows: [], empty: 'No bindings.' });
  const refresh = async () => {
    const q = await api('GET', path);
    replace(details, detailsOf(q));
    consumers.update(q.consumer_details || []);
    bindings.update(await api('GET', `${path}/bindings`));
  };
  root.append(
    h('h1', {}, 'Queue ', h('span', { id: 'queue-name' }, name), h('span', { class: 'muted' }, ` in ${vhost}`)),
    section('Details', details),
    section('Consumers', consumers),
    section('Bindings', bindings, addBindingForm(vhost, name, refresh)),
    publishForm({ vhost, routingKey: name, after: refresh }),
    getForm(path, refresh),
    dangerZone(path, name, refresh, app),
  );
  await refresh();
  return refresh;
}

function detailsOf(q) {
  const ms = q.message_stats;
  return h(
    'div',
    { class: 'cols' },
    kv([
      ['Type', q.type],
      ['State', q.state],
      ['Durable', String(q.durable)],
      ['Auto delete', String(q.auto_delete)],
      ['Arguments', jsonText(q.arguments)],
      ['Policy', q.policy || ''],
      ['Consumers', fmtNum(q.consumers)],
    ]),
    kv([
      ['Ready', h('span', { id: 'q-ready' }, fmtNum(q.messages_ready))],
      ['Unacked', h('span', { id: 'q-unacked' }, fmtNum(q.messages_unacknowledged))],
      ['Total', h('span', { id: 'q-total' }, fmtNum(q.messages))],
      ...(typeof q.message_bytes === 'number' ? [['Bytes', fmtBytes(q.message_bytes)]] : []),
      ['Incoming', fmtRate(rateOf(ms, 'publish'))],
      ['Deliver / get', fmtRate(rateOf(ms, 'deliver_get'))],
      ['Ack', fmtRate(rateOf(ms, 'ack'))],
    ]),
  );
}

const CONSUMER_COLUMNS = [
  { label: 'Channel', cell: (c) => (c.channel_details ? c.channel_details.name : '') },
  { label: 'Consumer tag', cell: (c) => c.consumer_tag },
  { label: 'Ack required', cell: (c) => String(c.ack_required) },
  { label: 'Exclusive', cell: (c) => String(c.exclusive) },
  numColumn('Prefetch', (c) => c.prefetch_count),
  { label: 'Active', cell: (c) => String(c.active) },
];

function bindingColumns(vhost, queue, after) {
  const unbind = async (b) => {
    if (!confirm(`Remove the binding from ${b.source} with key ${b.routing_key}?`)) return;
    await api('DELETE', `/bindings/${seg(vhost)}/e/${seg(b.source)}/q/${seg(queue)}/${seg(b.properties_key)}`);
    await after();
  };
  return [
    {
      label: 'From',
      cell: (b) => (b.source === '' ? '(default exchange)' : link(b.source, 'exchange', vhost, b.source)),
      sort: (b) => b.source,
    },
    { label: 'Routing key', cell: (b) => b.routing_key },
    { label: 'Arguments', cell: (b) => jsonText(b.arguments) },
    {
      label: '',
      sort: false,
      cell: (b) => (b.source === '' ? '' : h('button', { class: 'small', onclick: () => void unbind(b) }, 'Unbind')),
    },
  ];
}

function addBindingForm(vhost, queue, after) {
  const source = h('input', { name: 'source', required: true, placeholder: 'amq.direct' });
  const key = h('input', { name: 'routing_key' });
  const out = h('p', { class: 'notice' });
  const button = h('button', { type: 'submit' }, 'Bind');
  const fields = [field('From exchange', source), field('Routing key', key)];
  const form = h('form', { class: 'form inline', id: 'add-binding' }, fields, button, out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const path = `/bindings/${seg(vhost)}/e/${seg(source.value)}/q/${seg(queue)}`;
    if (await act(out, () => api('POST', path, { routing_key: key.value, arguments: {} }), 'Binding added.')) await after();
  });
  return form;
}

/** Get messages: the default ackmode requeues them (RabbitMQ's "Nack message requeue true"). */
function getForm(path, after) {
  const ackmode = h(
    'select',
    { name: 'ackmode' },
    h('option', { value: 'reject_requeue_true' }, 'Nack message requeue true (peek)'),
    h('option', { value: 'ack_requeue_false' }, 'Automatic ack (removes them)'),
    h('option', { value: 'reject_requeue_false' }, 'Reject requeue false (removes them)'),
  );
  const encoding = h(
    'select',
    { name: 'encoding' },
    h('option', { value: 'auto' }, 'Auto string / base64'),
    h('option', { value: 'base64' }, 'base64'),
  );
  const count = h('input', { name: 'count', type: 'number', min: 1, value: 1 });
  const out = h('p', { class: 'notice' });
  const list = h('div', { id: 'messages' });
  const form = h(
    'form',
    { class: 'form', id: 'get-messages' },
    field('Ack mode', ackmode),
    field('Encoding', encoding),
    field('Messages', count),
    h('button', { type: 'submit' }, 'Get message(s)'),
    out,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await act(
      out,
      async () => {
        const body = { count: Number(count.value), ackmode: ackmode.value, encoding: encoding.value, truncate: 50000 };
        const msgs = await api('POST', `${path}/get`, body);
        replace(list, msgs.length === 0 ? h('p', { class: 'muted' }, 'Queue is empty.') : msgs.map(messageView));
        return msgs;
      },
      (msgs) => `${msgs.length} message(s) got.`,
    );
    if (ok) await after();
  });
  return section('Get messages', form, list);
}

function messageView(m, i) {
  return h(
    'div',
    { class: 'message' },
    h('h3', {}, `Message ${i + 1}`),
    kv([
      ['Exchange', m.exchange === '' ? '(default exchange)' : m.exchange],
      ['Routing key', m.routing_key],
      ['Redelivered', String(m.redelivered)],
      ['Properties', jsonText(m.properties)],
      ['Payload', h('span', {}, `${fmtNum(m.payload_bytes)} bytes, encoding: ${m.payload_encoding}`)],
    ]),
    h('pre', { class: 'payload' }, m.payload),
  );
}

function dangerZone(path, name, after, app) {
  const out = h('p', { class: 'notice', id: 'queue-action-status' });
  const purge = async () => {
    if (!confirm(`Purge every ready message of ${name}?`)) return;
    if (await act(out, () => api('DELETE', `${path}/contents`), 'Queue purged.')) await after();
  };
  const del = async () => {
    if (!confirm(`Delete the queue ${name}?`)) return;
    try {
      await api('DELETE', path);
      app.go('queues');
    } catch (err) {
      notice(out, false, `Failed: ${err.message}`);
    }
  };
  return section(
    'Purge / delete',
    h(
      'div',
      { class: 'actions' },
      h('button', { id: 'purge', onclick: () => void purge() }, 'Purge messages'),
      h('button', { id: 'delete-queue', class: 'danger', onclick: () => void del() }, 'Delete queue'),
    ),
    out,
  );
}
