import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import { EMPTY, FakeSink, declareExchange, declareQueue, message, openBroker, owner, table } from './fixtures.js';

describe('auto-delete queues', () => {
  it('are deleted when their last consumer is cancelled, with their bindings', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { autoDelete: true });
    vhost.queueBind('q', 'amq.direct', 'k', EMPTY, o);
    const s1 = new FakeSink(o, 's1');
    const s2 = new FakeSink(o, 's2');
    const q = vhost.consume(s1, { queue: 'q', arguments: EMPTY });
    vhost.consume(s2, { queue: 'q', arguments: EMPTY });
    vhost.cancel(q, s1);
    expect(vhost.getQueue('q')).toBeDefined();
    vhost.cancel(q, s2);
    expect(vhost.getQueue('q')).toBeUndefined();
    expect(s2.cancelled).toBe(0);
    expect(vhost.getExchange('amq.direct')?.bindings.size).toBe(0);
    vhost.cancel(q, s2); // a late cancel is harmless
    vhost.invariants();
  });

  it('are never deleted if they never had a consumer', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { autoDelete: true });
    vhost.publish('', message(vhost, { routingKey: 'q' }));
    const e = vhost.basicGet('q', o) as Envelope;
    e.queue.ack(e);
    expect(vhost.getQueue('q')).toBeDefined();
  });
});

describe('persistence through the store', () => {
  it('writes persistent messages on durable queues only and removes them on ack', () => {
    const { vhost, store } = openBroker();
    const o = owner();
    declareQueue(vhost, 'd', o, { durable: true });
    declareQueue(vhost, 't', o);
    vhost.queueBind('d', 'amq.fanout', '', EMPTY, o);
    vhost.queueBind('t', 'amq.fanout', '', EMPTY, o);
    const r1 = vhost.publish('amq.fanout', message(vhost, { persistent: true }));
    expect(r1).toEqual({ routedQueues: 2, needsDurableWrite: true });
    const r2 = vhost.publish('amq.fanout', message(vhost, { persistent: false }));
    expect(r2).toEqual({ routedQueues: 2, needsDurableWrite: false });
    const key = { vhost: '/', name: 'd' };
    expect(store.countMessages(key)).toBe(1);
    expect(store.countMessages({ vhost: '/', name: 't' })).toBe(0);
    const e = vhost.basicGet('d', o) as Envelope;
    expect(store.loadMessages(key, 0, 10)[0]).toMatchObject({ redelivered: true, deliveryCount: 1 });
    e.queue.ack(e);
    expect(store.countMessages(key)).toBe(0);
    expect(store.bodyCount()).toBe(0);
  });

  it('a message routed to two durable queues is stored once as a body and twice as positions', () => {
    const { vhost, store } = openBroker();
    const o = owner();
    for (const q of ['a', 'b']) {
      declareQueue(vhost, q, o, { durable: true });
      vhost.queueBind(q, 'amq.fanout', '', EMPTY, o);
    }
    vhost.publish('amq.fanout', message(vhost, { persistent: true }));
    expect(store.bodyCount()).toBe(1);
    expect(store.countMessages({ vhost: '/', name: 'a' }) + store.countMessages({ vhost: '/', name: 'b' })).toBe(2);
    vhost.queuePurge('a', o);
    expect(store.bodyCount()).toBe(1);
    vhost.queueDelete('b', { ifUnused: false, ifEmpty: false }, o);
    expect(store.bodyCount()).toBe(0);
  });

  it('whenDurable calls back after writes', async () => {
    const { broker } = openBroker();
    const done = await new Promise<boolean>((resolve) => broker.whenDurable(() => resolve(true)));
    expect(done).toBe(true);
  });
});

describe('restart from a MemoryStore', () => {
  it('restores durable exchanges, queues, bindings and messages, and drops transient ones', async () => {
    const first = openBroker();
    const v1 = first.vhost;
    const o = owner();
    declareExchange(v1, 'dx', 'topic', { durable: true, arguments: table({ 'alternate-exchange': 'amq.fanout' }) });
    declareExchange(v1, 'tx', 'direct');
    declareQueue(v1, 'dq', o, { durable: true, arguments: table({ 'x-max-length': 10 }) });
    declareQueue(v1, 'tq', o);
    declareQueue(v1, 'xq', o, { durable: true, exclusive: true });
    v1.queueBind('dq', 'dx', 'a.#', EMPTY, o);
    v1.queueBind('tq', 'dx', 'a.#', EMPTY, o); // transient end: not stored
    v1.exchangeBind('dx', 'amq.direct', 'k', EMPTY, owner());
    for (let i = 0; i < 4; i++) v1.publish('dx', message(v1, { routingKey: 'a.b', body: `p${i}`, persistent: true }));
    v1.publish('dx', message(v1, { routingKey: 'a.b', body: 'transient' }));
    const delivered = v1.basicGet('dq', o) as Envelope; // p0: delivered, never acked
    const acked = v1.basicGet('dq', o) as Envelope;
    acked.queue.ack(acked);
    expect(delivered.message.body.toString()).toBe('p0');
    const lastId = v1.nextMessageId();
    await first.broker.close();

    const { vhost: v2 } = openBroker(first.store);
    expect(v2.getExchange('dx')?.type).toBe('topic');
    expect(v2.getExchange('dx')?.alternateExchange).toBe('amq.fanout');
    expect(v2.getExchange('tx')).toBeUndefined();
    expect(v2.getQueue('tq')).toBeUndefined();
    expect(v2.getQueue('xq')).toBeUndefined();
    expect(v2.getQueue('dq')?.arguments.get('x-max-length')).toEqual({ tag: 'I', value: 10 });
    expect(v2.nextMessageId()).toBeGreaterThan(lastId - 2); // the last persistent id was lastId - 2
    const s = new FakeSink(owner(), 's');
    v2.consume(s, { queue: 'dq', arguments: EMPTY });
    expect(s.seen).toEqual([['p0', true], ['p2', false], ['p3', false]]);
    // bindings came back: e2e amq.direct → dx → dq
    expect(v2.publish('amq.direct', message(v2, { routingKey: 'k' })).routedQueues).toBe(0); // 'k' does not match a.#
    expect(v2.publish('amq.direct', message(v2, { routingKey: 'k', persistent: true })).routedQueues).toBe(0);
    v2.exchangeUnbind('dx', 'amq.direct', 'k', EMPTY, owner());
    expect(v2.publish('dx', message(v2, { routingKey: 'a.z' })).routedQueues).toBe(1);
    v2.invariants();
  });

  it('restores an e2e binding that routes', async () => {
    const first = openBroker();
    const o = owner();
    declareExchange(first.vhost, 'dx', 'fanout', { durable: true });
    declareQueue(first.vhost, 'dq', o, { durable: true });
    first.vhost.queueBind('dq', 'dx', '', EMPTY, o);
    first.vhost.exchangeBind('dx', 'amq.topic', '#', EMPTY, owner());
    await first.broker.close();
    const { vhost } = openBroker(first.store);
    expect(vhost.publish('amq.topic', message(vhost, { routingKey: 'any.thing' })).routedQueues).toBe(1);
  });

  it('deleted durable entities stay deleted after a restart', async () => {
    const first = openBroker();
    const o = owner();
    declareExchange(first.vhost, 'dx', 'direct', { durable: true });
    declareQueue(first.vhost, 'dq', o, { durable: true });
    first.vhost.queueBind('dq', 'dx', 'k', EMPTY, o);
    first.vhost.publish('dx', message(first.vhost, { routingKey: 'k', persistent: true }));
    first.vhost.queueDelete('dq', { ifUnused: false, ifEmpty: false }, o);
    first.vhost.exchangeDelete('dx', false, owner());
    await first.broker.close();
    const { vhost, store } = openBroker(first.store);
    expect(vhost.getQueue('dq')).toBeUndefined();
    expect(vhost.getExchange('dx')).toBeUndefined();
    expect(store.loadTopology().bindings).toEqual([]);
    expect(store.bodyCount()).toBe(0);
  });
});

describe('no-ack deliveries from a durable queue', () => {
  it('leave nothing in the store once the channel acks them', () => {
    const { vhost, store } = openBroker();
    const o = owner();
    declareQueue(vhost, 'd', o, { durable: true });
    vhost.publish('', message(vhost, { routingKey: 'd', persistent: true }));
    const s = new FakeSink(o, 's', { noAck: true });
    vhost.consume(s, { queue: 'd', arguments: EMPTY });
    expect(s.delivered.length).toBe(1);
    expect(store.countMessages({ vhost: '/', name: 'd' })).toBe(0);
    expect(vhost.getQueue('d')?.unackedCount()).toBe(0);
    vhost.invariants();
  });
});
