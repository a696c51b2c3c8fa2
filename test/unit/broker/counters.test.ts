/**
 * Engine-side counters (src/broker/counters.ts): routing counts what reaches each exchange and
 * queue, totals only grow, and the helpers cover every field. The channel-side counters
 * (deliveries, gets, acks, returns, confirms) are tested through a channel in
 * test/unit/protocol/session-registry.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { addCounters, deliverGet, MessageCounters, snapshot } from '../../../src/broker/counters.js';
import { EMPTY, declareQueue, message, openBroker, owner } from './fixtures.js';

describe('message counters', () => {
  it('counts publishes on the exchange published to, on e2e destinations and on each queue reached', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'a', o);
    declareQueue(vhost, 'b', o);
    vhost.queueBind('a', 'amq.direct', 'k', EMPTY, o);
    vhost.queueBind('b', 'amq.fanout', '', EMPTY, o);
    vhost.exchangeBind('amq.fanout', 'amq.direct', 'k', EMPTY, o);
    vhost.publish('amq.direct', message(vhost, { routingKey: 'k', body: 'hello' }));
    vhost.publish('amq.direct', message(vhost, { routingKey: 'nowhere', body: 'lost' }));
    vhost.publish('', message(vhost, { routingKey: 'a', body: 'xy' }));
    vhost.publish('', message(vhost, { routingKey: 'missing' }));

    expect(vhost.exchange('amq.direct')!.counters).toMatchObject({ published: 2, routed: 1, unroutable: 1 });
    expect(vhost.exchange('amq.fanout')!.counters).toMatchObject({ published: 1, routed: 1, unroutable: 0 });
    expect(vhost.defaultExchangeCounters).toMatchObject({ published: 2, routed: 1, unroutable: 1 });
    expect(vhost.queue('a')!.counters).toMatchObject({ published: 2, bytesIn: 'hello'.length + 'xy'.length });
    expect(vhost.queue('b')!.counters).toMatchObject({ published: 1, bytesIn: 'hello'.length });
  });

  it('adds and snapshots every field, and deliverGet sums the four ways out', () => {
    const a = new MessageCounters();
    const fields = Object.keys(a) as (keyof MessageCounters)[];
    expect(fields.length).toBeGreaterThanOrEqual(14);
    fields.forEach((f, i) => (a[f] = i + 1));
    const b = new MessageCounters();
    addCounters(b, a);
    addCounters(b, a);
    for (const [i, f] of fields.entries()) expect(b[f], f).toBe(2 * (i + 1));
    const s = snapshot(a);
    a.published++;
    expect(s.published).toBe(1);
    expect(deliverGet(a)).toBe(a.delivered + a.deliveredNoAck + a.got + a.gotNoAck);
    expect(deliverGet(a)).toBeGreaterThan(0);
  });
});
