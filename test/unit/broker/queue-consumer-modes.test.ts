/**
 * Single active consumer and consumer priorities through the vhost and queue (basic.consume with
 * x-priority, x-single-active-consumer queues), as RabbitMQ 3.10.8 behaves
 * (../shared/reference/rabbitmq-extensions.md §5, §6): who receives, failover on cancel and on
 * channel close (cancel, then the channel requeues its unacked), 403 for an exclusive consume,
 * basic.get bypassing SAC, queue.delete cancelling every consumer, x-priority's 406 text.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/broker/api.js';
import type { FieldTable } from '../../../src/codec/field-types.js';
import type { Vhost } from '../../../src/broker/vhost.js';
import { EMPTY, FakeSink, declareQueue, errorOf, message, openBroker, owner, table } from './fixtures.js';

const SAC = table({ 'x-single-active-consumer': true });
const prio = (n: number | bigint): FieldTable =>
  new Map([['x-priority', typeof n === 'bigint' ? { tag: 'l', value: n } : { tag: 'I', value: n }]]);

function publish(vhost: Vhost, from: number, to: number): void {
  for (let i = from; i < to; i++) vhost.publish('', message(vhost, { routingKey: 'q', body: `m${i}` }));
}

/** Lets the queue's deferred pump (after a single-active takeover) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('consumer priorities through the queue', () => {
  it('distributes the reference example: A, B at 10 (prefetch 2), C at 1, D unset', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const [a, b, c, d] = [new FakeSink(o, 'A', { credit: 2 }), new FakeSink(o, 'B', { credit: 2 }), new FakeSink(o, 'C'), new FakeSink(o, 'D')];
    vhost.consume(a, { queue: 'q', arguments: prio(10) });
    vhost.consume(b, { queue: 'q', arguments: prio(10n) });
    vhost.consume(c, { queue: 'q', arguments: prio(1) });
    vhost.consume(d, { queue: 'q', arguments: EMPTY });
    publish(vhost, 0, 10);
    expect(a.bodies()).toEqual(['m0', 'm2']);
    expect(b.bodies()).toEqual(['m1', 'm3']);
    expect(c.bodies()).toEqual(['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(d.bodies()).toEqual([]);
    vhost.invariants();
  });

  it('takes negative and 64-bit priorities and refuses a non-integer with RabbitMQ 406 text', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o);
    const [low, high] = [new FakeSink(o, 'low'), new FakeSink(o, 'high', { credit: 1 })];
    vhost.consume(low, { queue: 'q', arguments: prio(-7) });
    vhost.consume(high, { queue: 'q', arguments: prio(9_007_199_254_740_000n) });
    publish(vhost, 0, 3);
    expect(high.bodies()).toEqual(['m0']);
    expect(low.bodies()).toEqual(['m1', 'm2']);
    expect(errorOf(() => vhost.consume(new FakeSink(o, 'bad'), { queue: 'q', arguments: table({ 'x-priority': 'high' }) }))).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'q' in vhost '/': "expected integer, got longstr"`,
    });
    expect(vhost.getQueue('q')?.consumerCount()).toBe(2);
  });
});

describe('single active consumer through the queue', () => {
  it('only the first consumer receives; a full prefetch is waited for; basic.get bypasses it', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: SAC });
    const [a, b] = [new FakeSink(o, 'a', { credit: 2 }), new FakeSink(o, 'b')];
    vhost.consume(a, { queue: 'q', arguments: EMPTY });
    vhost.consume(b, { queue: 'q', arguments: prio(50) });
    publish(vhost, 0, 5);
    expect(a.bodies()).toEqual(['m0', 'm1']);
    expect(b.bodies()).toEqual([]);
    expect(vhost.basicGet('q', o)?.message.body.toString()).toBe('m2');
    expect(vhost.getQueue('q')?.messageCount()).toBe(2);
    vhost.invariants();
  });

  it('on basic.cancel of the active one the next takes over; its unacked messages stay unacked', async () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: SAC });
    const [a, b, c] = [new FakeSink(o, 'a', { credit: 2 }), new FakeSink(o, 'b'), new FakeSink(o, 'c')];
    const q = vhost.consume(a, { queue: 'q', arguments: EMPTY });
    vhost.consume(b, { queue: 'q', arguments: EMPTY });
    vhost.consume(c, { queue: 'q', arguments: prio(3) });
    publish(vhost, 0, 4);
    vhost.cancel(q, a);
    await settle();
    expect(c.seen).toEqual([['m2', false], ['m3', false]]); // highest priority among the waiting
    expect(b.bodies()).toEqual([]);
    expect(vhost.getQueue('q')?.unackedCount()).toBe(4); // a's two are not requeued
    vhost.invariants();
  });

  it('on channel close the unacked messages go back and reach the new active consumer in publish order', async () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: SAC });
    const [a, b] = [new FakeSink(o, 'a', { credit: 3 }), new FakeSink(o, 'b', { credit: 5 })];
    const q = vhost.consume(a, { queue: 'q', arguments: EMPTY });
    vhost.consume(b, { queue: 'q', arguments: EMPTY });
    publish(vhost, 0, 6);
    vhost.basicGet('q', o); // m3 leaves by basic.get
    q.ack(a.delivered[1] as Envelope); // m1 acked
    // What the channel does at close: cancel its consumers, then requeue its unacked in order.
    vhost.cancel(q, a);
    q.requeueAll([a.delivered[0] as Envelope, a.delivered[2] as Envelope]);
    await settle();
    expect(b.seen).toEqual([['m0', true], ['m2', true], ['m4', false], ['m5', false]]);
    vhost.invariants();
  });

  it('refuses an exclusive consume with 403 even on an idle queue; queue.delete cancels active and waiting', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: SAC });
    expect(errorOf(() => vhost.consume(new FakeSink(o, 'ex', { exclusive: true }), { queue: 'q', arguments: EMPTY }))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use",
    });
    const [a, b] = [new FakeSink(o, 'a'), new FakeSink(o, 'b')];
    vhost.consume(a, { queue: 'q', arguments: EMPTY });
    vhost.consume(b, { queue: 'q', arguments: EMPTY });
    expect(vhost.queueDelete('q', { ifUnused: false, ifEmpty: false }, o)).toBe(0);
    expect([a.cancelled, b.cancelled]).toEqual([1, 1]);
    vhost.invariants();
  });

  it('a queue declared with x-single-active-consumer = false dispatches to all consumers', () => {
    const { vhost } = openBroker();
    const o = owner();
    declareQueue(vhost, 'q', o, { arguments: table({ 'x-single-active-consumer': false }) });
    const [a, b] = [new FakeSink(o, 'a'), new FakeSink(o, 'b')];
    vhost.consume(a, { queue: 'q', arguments: EMPTY });
    vhost.consume(b, { queue: 'q', arguments: EMPTY });
    publish(vhost, 0, 2);
    expect([a.bodies(), b.bodies()]).toEqual([['m0'], ['m1']]);
  });

  it('a durable single-active-consumer queue is still one after a restart (its arguments pick the policy)', async () => {
    const first = openBroker();
    const o = owner();
    declareQueue(first.vhost, 'q', o, { durable: true, arguments: SAC });
    await first.broker.close();
    const { vhost } = openBroker(first.store);
    const [a, b] = [new FakeSink(o, 'a', { credit: 1 }), new FakeSink(o, 'b')];
    vhost.consume(a, { queue: 'q', arguments: EMPTY });
    vhost.consume(b, { queue: 'q', arguments: EMPTY });
    publish(vhost, 0, 3);
    expect([a.bodies(), b.bodies()]).toEqual([['m0'], []]);
    expect(errorOf(() => vhost.consume(new FakeSink(o, 'ex', { exclusive: true }), { queue: 'q', arguments: EMPTY })).code).toBe(403);
    vhost.invariants();
  });
});
