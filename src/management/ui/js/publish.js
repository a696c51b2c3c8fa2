// The "Publish message" form shared by the queue page (default exchange, routing key = the queue)
// and the exchange page: POST /api/exchanges/{vhost}/{exchange}/publish, which answers {routed}.
import { api, seg } from './api.js';
import { act, field, h, section } from './dom.js';

/** publishForm({ vhost, exchange, routingKey?, after }) */
export function publishForm(opts) {
  const key = h('input', { name: 'routing_key', value: opts.routingKey ?? '' });
  if (opts.routingKey !== undefined) key.readOnly = true;
  const mode = h(
    'select',
    { name: 'delivery_mode' },
    h('option', { value: '1' }, '1 - Non-persistent'),
    h('option', { value: '2' }, '2 - Persistent'),
  );
  const headers = h('input', { name: 'headers', placeholder: '{"k": "v"}' });
  const contentType = h('input', { name: 'content_type', placeholder: 'text/plain' });
  const payload = h('textarea', { name: 'payload', rows: 4 });
  const out = h('p', { class: 'notice', id: 'publish-status' });
  const form = h(
    'form',
    { class: 'form', id: 'publish' },
    field('Routing key', key),
    field('Delivery mode', mode),
    field('Headers (JSON)', headers),
    field('Content type', contentType),
    field('Payload', payload),
    h('button', { type: 'submit' }, 'Publish message'),
    out,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const properties = { delivery_mode: Number(mode.value) };
    if (contentType.value) properties.content_type = contentType.value;
    const ok = await act(
      out,
      () => {
        if (headers.value.trim()) properties.headers = JSON.parse(headers.value);
        const body = { properties, routing_key: key.value, payload: payload.value, payload_encoding: 'string' };
        return api('POST', `/exchanges/${seg(opts.vhost)}/${seg(opts.exchange || 'amq.default')}/publish`, body);
      },
      (r) => (r && r.routed ? 'Message published.' : 'Message published, but not routed.'),
    );
    if (ok && opts.after) await opts.after();
  });
  return section('Publish message', form);
}
