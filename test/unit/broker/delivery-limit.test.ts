/**
 * Delivery limit on classic queues (src/broker/queue/delivery-limit.ts; ours: RabbitMQ has it on
 * quorum queues, ../shared/reference/rabbitmq-extensions.md §7): with x-delivery-limit N a message
 * is delivered at most N+1 times, and the next return (reject/nack requeue, or unacked at channel
 * close) hands it to dead-lettering as 'delivery_limit' (dropped without a hook). Deliveries after
 * the first carry x-delivery-count (long) = earlier deliveries; a queue without the limit sends
 * the message's own properties.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import { decodeProperties } from '../../../src/codec/properties.js';
import { FakeSink, owner } from './fixtures.js';
import { lifecycleQueue, msg } from './queue-lifecycle-helpers.js';

/** The x-delivery-count header the delivery carries (undefined: none, or the message's own properties). */
function deliveryCount(e: Envelope): bigint | number | undefined {
  if (e.deliveryProperties === undefined) return undefined;
  const v = decodeProperties(e.deliveryProperties).headers?.get('x-delivery-count');
  expect(v?.tag).toBe('l');
  return v?.value as bigint | undefined;
}

describe('x-delivery-limit', () => {
  it('limit 2: three deliveries (reject requeue), then the next return dead-letters it as delivery_limit', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-delivery-limit': 2 });
    publish(msg('poison'));
    const counts: (bigint | number | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const e = q.take()!;
      expect(e.redelivered).toBe(i > 0);
      counts.push(deliveryCount(e));
      q.reject(e, true);
      q.invariants();
    }
    expect(counts).toEqual([undefined, 1n, 2n]);
    expect(deaths).toEqual([['poison', 'delivery_limit']]);
    expect([q.messageCount(), q.unackedCount()]).toEqual([0, 0]);
  });

  it('limit 0: exactly one delivery; unacked at channel close counts as a return', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-delivery-limit': 0 });
    publish(msg('a'));
    publish(msg('b'));
    const sink = new FakeSink(owner(), 'c', { credit: 2 });
    q.addConsumer(sink);
    q.removeConsumer(sink);
    q.requeueAll(sink.delivered);
    expect(deaths).toEqual([['a', 'delivery_limit'], ['b', 'delivery_limit']]);
    expect(q.messageCount()).toBe(0);
  });

  it('drops silently without a dead-letter hook; other messages are unaffected', () => {
    const { q, publish } = lifecycleQueue({ 'x-delivery-limit': 1 }, { hook: false });
    publish(msg('p'));
    publish(msg('ok'));
    for (let i = 0; i < 2; i++) {
      const e = q.take()!;
      expect(e.message.body.toString()).toBe('p');
      q.reject(e, true);
    }
    const e = q.take()!;
    expect([e.message.body.toString(), deliveryCount(e)]).toEqual(['ok', undefined]);
    expect(q.messageCount()).toBe(0);
  });

  it('a reject without requeue is still "rejected", not delivery_limit', () => {
    const { q, deaths, publish } = lifecycleQueue({ 'x-delivery-limit': 5 });
    publish(msg('r'));
    q.reject(q.take()!, false);
    expect(deaths).toEqual([['r', 'rejected']]);
  });

  it('the header keeps the message headers and counts the persisted count across a restart', () => {
    const args = { 'x-delivery-limit': 10 };
    const first = lifecycleQueue(args, { durable: true });
    const headers = new Map([['app', { tag: 'S' as const, value: Buffer.from('v') }]]);
    first.publish(msg('m', { persistent: true, props: { headers } }));
    first.q.reject(first.q.take()!, true);
    first.q.take();
    const second = first.reopen();
    const e = second.q.take()!;
    expect(e.redelivered).toBe(true);
    expect(deliveryCount(e)).toBe(2n);
    const h = decodeProperties(e.deliveryProperties!).headers!;
    expect(h.get('app')).toEqual({ tag: 'S', value: Buffer.from('v') });
    expect(decodeProperties(e.deliveryProperties!).deliveryMode).toBe(2);
  });

  it('a queue without the limit redelivers forever with the message\'s own properties', () => {
    const { q, deaths, publish } = lifecycleQueue({});
    publish(msg('m'));
    for (let i = 0; i < 20; i++) {
      const e = q.take()!;
      expect(e.deliveryProperties).toBeUndefined();
      q.reject(e, true);
    }
    expect([q.messageCount(), deaths]).toEqual([1, []]);
  });
});
